/**
 * KvClient against a real server (SQLite, real socket) and real keystores: sealing and
 * verification end to end, revisions, tombstones, listings, batch get, change notifications,
 * the persisted rollback cache, limits, roles, and a removed member after a key rotation.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvRollbackCache, isClientError, kvCacheFile } from '../src/index.js';
import type { KvClient } from '../src/index.js';
import { startTestServer } from './helpers.js';
import { backend, createTeam, kvUser, rotateTeamKey, setMembers } from './kv-helpers.js';
import type { KvUser } from './kv-helpers.js';

async function code(p: Promise<unknown>): Promise<string> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isClientError(e)) throw new Error(`expected a ClientError, got ${String(e)}`);
  return e.code;
}

describe('KvClient end to end', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: KvUser;
  let bob: KvUser;
  let rita: KvUser;
  let teamId: string;
  let a: KvClient;
  let b: KvClient;
  let dir: string;

  beforeAll(async () => {
    srv = await startTestServer({ rateLimit: { burst: 100_000, perSecond: 100_000 } });
    alice = await kvUser(srv.server.url, 'alice');
    bob = await kvUser(srv.server.url, 'bob');
    rita = await kvUser(srv.server.url, 'rita');
    teamId = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'writer'],
      [rita, 'reader'],
    ]);
    a = alice.kv();
    b = bob.kv();
    dir = await mkdtemp(join(tmpdir(), 'saltbox-kv-'));
  }, 60_000);
  afterAll(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts and gets across members; revisions 1, 2, …; the writer is verified', async () => {
    expect(await a.get(teamId, 'pw', 'geo')).toEqual({
      teamId,
      namespace: 'pw',
      entryKey: 'geo',
      revision: 0,
      value: null,
      bytes: null,
      teamKeyGen: 0,
      writer: null,
    });
    expect(await a.put(teamId, 'pw', 'geo', 'all my secrets')).toEqual({ revision: 1 });
    const got = await b.get(teamId, 'pw', 'geo');
    expect(got).toMatchObject({
      revision: 1,
      value: 'all my secrets',
      teamKeyGen: 1,
      writer: { uid: alice.uid, deviceId: alice.deviceId },
    });
    expect(await b.put(teamId, 'pw', 'geo', 'bob was here')).toEqual({ revision: 2 });
    expect((await rita.kv().get(teamId, 'pw', 'geo')).value).toBe('bob was here');
    // The server stores no plaintext.
    const row = await srv.server.storage.kv.get(teamId, 'pw', 'geo');
    expect(row!.ciphertext).not.toContain(Buffer.from('bob was here').toString('base64'));
  });

  it('explicit revisions: 1 is create-only; stale ones fail locally and at the server', async () => {
    expect(await a.put(teamId, 'rev', 'k', 'v1', { revision: 1 })).toEqual({ revision: 1 });
    // The cache of `a` knows revision 1: refused before sending.
    expect(await code(a.put(teamId, 'rev', 'k', 'again', { revision: 1 }))).toBe(
      'CLIENT_KV_WRONG_REVISION',
    );
    // `b` has never seen it: the server refuses.
    expect(await code(b.put(teamId, 'rev', 'k', 'again', { revision: 1 }))).toBe(
      'CLIENT_KV_WRONG_REVISION',
    );
    expect(await code(b.put(teamId, 'rev', 'k', 'skip', { revision: 3 }))).toBe(
      'CLIENT_KV_WRONG_REVISION',
    );
    expect(await b.put(teamId, 'rev', 'k', 'v2', { revision: 2 })).toEqual({ revision: 2 });
    expect((await a.get(teamId, 'rev', 'k')).value).toBe('v2');
  });

  it('deletes with a tombstone; a second delete is not found; writing again continues', async () => {
    await a.put(teamId, 'del', 'k', 'x');
    expect(await a.del(teamId, 'del', 'k')).toEqual({ revision: 2 });
    expect(await b.get(teamId, 'del', 'k')).toMatchObject({
      revision: 2,
      value: null,
      teamKeyGen: 1,
    });
    expect(await code(a.del(teamId, 'del', 'k'))).toBe('CLIENT_KV_NOT_FOUND');
    expect(await code(b.del(teamId, 'del', 'never'))).toBe('CLIENT_KV_NOT_FOUND');
    expect(await b.put(teamId, 'del', 'k', 'y')).toEqual({ revision: 3 });
    expect(await b.del(teamId, 'del', 'k', { revision: 4 })).toEqual({ revision: 4 });
  });

  it('lists namespaces and keys (live, no __ names, paginated) and batch-gets verified values', async () => {
    const t = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'reader'],
    ]);
    for (const [ns, k] of [
      ['n1', 'a'],
      ['n1', 'b'],
      ['n1', '__hidden'],
      ['n2', 'c'],
      ['__ns', 'd'],
    ] as const)
      await a.put(t, ns, k, `${ns}/${k}`);
    await a.del(t, 'n2', 'c');
    expect(await b.listAllNamespaces(t)).toEqual(['n1']);
    expect(await b.listEntryKeys(t, 'n1', { limit: 1 })).toEqual({
      items: [{ entryKey: 'a', revision: 1 }],
      next: 'a',
    });
    expect(await b.listAllEntryKeys(t, 'n1')).toEqual([
      { entryKey: 'a', revision: 1 },
      { entryKey: 'b', revision: 1 },
    ]);
    const many = await b.getMany(t, [
      { namespace: 'n1', entryKey: 'b' },
      { namespace: '__ns', entryKey: 'd' },
      { namespace: 'n1', entryKey: 'zzz' },
    ]);
    expect(many.map((v) => [v.entryKey, v.revision, v.value])).toEqual([
      ['b', 1, 'n1/b'],
      ['d', 1, '__ns/d'],
      ['zzz', 0, null],
    ]);
  });

  it('watch yields changes made after it starts, per namespace', async () => {
    const t = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [rita, 'reader'],
    ]);
    await a.put(t, 'w', 'before', '1');
    const ac = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const c of rita
        .kv()
        .watch(t, { namespace: 'w', signal: ac.signal, waitMs: 5000 })) {
        seen.push(`${c.entryKey}@${c.revision}${c.deleted ? ' deleted' : ''}`);
        if (seen.length === 3) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await a.put(t, 'other', 'x', 'not watched');
    await a.put(t, 'w', 'k1', 'v');
    await a.put(t, 'w', 'k2', 'v');
    await a.del(t, 'w', 'k1');
    await watching;
    expect(seen).toEqual(['k1@1', 'k2@1', 'k1@2 deleted']);
  });

  it('persists the rollback cache (0600, atomic) and checks it after a restart', async () => {
    const path = join(dir, 'kv-cache.json');
    const c1 = bob.kv({ cache: await KvRollbackCache.open(backend, kvCacheFile(path)) });
    await a.put(teamId, 'persist', 'k', 'v1');
    await a.put(teamId, 'persist', 'k', 'v2');
    expect((await c1.get(teamId, 'persist', 'k')).revision).toBe(2);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await readFile(path, 'utf8')) as { v: number; entries: unknown[][] };
    expect(onDisk.v).toBe(1);
    expect(onDisk.entries).toContainEqual([teamId, 'persist', 'k', 2, expect.any(String), 1]);
    // A new process (new cache object from the file) refuses a server that went back to 1.
    const reopened = await KvRollbackCache.open(backend, kvCacheFile(path));
    expect(() => {
      reopened.check({ teamId, namespace: 'persist', entryKey: 'k' }, 'x', 1, 1);
    }).toThrow(/revision decreased from 2 to 1/);
    expect(
      await code(bob.kv({ cache: reopened }).put(teamId, 'persist', 'k', 'old', { revision: 2 })),
    ).toBe('CLIENT_KV_WRONG_REVISION');
  });

  it('enforces size limits with clear codes before sending, and the server agrees', async () => {
    expect(await code(a.put(teamId, 'é'.repeat(128), 'k', 'v'))).toBe('CLIENT_KV_TOO_LARGE');
    expect(await code(a.get(teamId, 'ns', 'k'.repeat(256)))).toBe('CLIENT_KV_TOO_LARGE');
    expect(await code(a.put(teamId, 'ns', 'big', new Uint8Array((1 << 20) + 1)))).toBe(
      'CLIENT_KV_TOO_LARGE',
    );
    // Exactly 1 MiB goes through and reads back byte for byte (two chunks: 1 MiB and empty).
    const value = backend.randomBytes(1 << 20);
    expect(await a.put(teamId, 'ns', 'big', value)).toEqual({ revision: 1 });
    const got = await b.get(teamId, 'ns', 'big');
    expect(Buffer.compare(Buffer.from(got.bytes!), Buffer.from(value))).toBe(0);
  });

  it('refuses names with a NUL or a lone surrogate before sending, as the server does (#12.5)', async () => {
    for (const bad of ['x\u0000y', 'x\ud800y', 'x\udc00y']) {
      expect(await code(a.put(teamId, bad, 'k', 'v'))).toBe('CLIENT_INVALID_ARGUMENT');
      expect(await code(a.put(teamId, 'ns', bad, 'v'))).toBe('CLIENT_INVALID_ARGUMENT');
      expect(await code(a.get(teamId, 'ns', bad))).toBe('CLIENT_INVALID_ARGUMENT');
      expect(await code(a.del(teamId, bad, 'k', { revision: 2 }))).toBe('CLIENT_INVALID_ARGUMENT');
      expect(await code(a.getMany(teamId, [{ namespace: 'ns', entryKey: bad }]))).toBe(
        'CLIENT_INVALID_ARGUMENT',
      );
      expect(await code(a.listEntryKeys(teamId, bad))).toBe('CLIENT_INVALID_ARGUMENT');
      expect(await code(a.listNamespaces(teamId, { after: bad }))).toBe('CLIENT_INVALID_ARGUMENT');
    }
    // A surrogate pair is one character, and fine.
    expect(await a.put(teamId, 'ns', 'emoji-😀', 'v')).toEqual({ revision: 1 });
    expect((await b.get(teamId, 'ns', 'emoji-😀')).value).toBe('v');
  });

  it('readers cannot write; non-members cannot read', async () => {
    const r = rita.kv();
    expect((await r.get(teamId, 'pw', 'geo')).revision).toBeGreaterThan(0);
    expect(await code(r.put(teamId, 'pw', 'geo', 'nope', { revision: 99 }))).toBe(
      'CLIENT_KV_READ_ONLY',
    );
    const mallory = await kvUser(srv.server.url, 'mallory');
    expect(await code(mallory.kv().get(teamId, 'pw', 'geo'))).toBe('CLIENT_KV_NOT_A_MEMBER');
  });

  it('a removed member cannot read values written after the key rotation', async () => {
    const t = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'writer'],
    ]);
    await a.put(t, 'rot', 'k', 'before removal');
    expect((await b.get(t, 'rot', 'k')).value).toBe('before removal');
    await setMembers(srv.server.storage, t, [[alice, 'owner']]);
    expect(await rotateTeamKey(srv.server.storage, t, alice, [])).toBe(2);
    expect(await a.put(t, 'rot', 'k', 'after removal')).toEqual({ revision: 2 });
    expect(await a.get(t, 'rot', 'k')).toMatchObject({ value: 'after removal', teamKeyGen: 2 });
    // The server refuses him…
    expect(await code(b.get(t, 'rot', 'k'))).toBe('CLIENT_KV_NOT_A_MEMBER');
    // …and a server that leaked the entry to him anyway would not help: he has no key for it.
    const leaky = bob.kv({
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.pathname.endsWith('/entry') && (init?.method ?? 'GET') === 'GET') {
          const row = (await srv.server.storage.kv.get(t, 'rot', 'k'))!;
          return Response.json({
            teamId: t,
            namespace: 'rot',
            entryKey: 'k',
            revision: row.revision,
            ciphertext: row.ciphertext,
            formatVersion: row.formatVersion,
            teamKeyGen: row.teamKeyGen,
            writer: row.writer,
          });
        }
        return fetch(input, init);
      },
    });
    expect(await code(leaky.get(t, 'rot', 'k'))).toBe('CLIENT_KV_NO_TEAM_KEY');
  });
});
