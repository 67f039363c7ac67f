/**
 * The KV routes through the real app on SQLite and on PostgreSQL: access by team role,
 * revisions, tombstones, listings, batch get, size limits, the team key generation a put must
 * carry, and change polls. Teams are created through storage directly (the team routes are
 * another part's), with a generation-1 key box per member (what the server keeps of a team key).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import {
  kvBatchGetResponseSchema,
  kvChangesResponseSchema,
  kvEntrySchema,
  kvKeysResponseSchema,
  kvMaxCiphertextChars,
  kvNamespacesResponseSchema,
  kvPath,
  kvWriteResponseSchema,
} from '@saltbox/protocol';
import { createApp } from '../src/http/app.js';
import type { App, Limits } from '../src/http/app.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import type { Storage, TeamRole } from '../src/storage/types.js';
import { errorCode, newUser, signed } from './helpers.js';
import type { TestUser } from './helpers.js';
import { usePostgresStorage } from './use-postgres.js';

const backend = await defaultBackend();
const hex = (n: number) => randomBytes(n).toString('hex');

let storage: Storage | undefined;
let app: App;
let openStorage: () => Promise<Storage>;

async function setup(limits: Partial<Limits> = {}): Promise<void> {
  await storage?.close();
  storage = await openStorage();
  app = createApp({
    storage,
    backend,
    limits: { rateLimit: { burst: 10_000, perSecond: 10_000 }, ...limits },
    logger: () => undefined,
  });
}

async function signup(name: string): Promise<TestUser> {
  const { user, request } = newUser(backend, name);
  const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', { body: request });
  expect(res.status).toBe(201);
  return user;
}

/** Generation `generation` boxed to each member (the box itself is opaque to the server). */
const boxes = (members: TestUser[], generation: number) =>
  members.map((u) => ({ generation, uid: u.uid, receiverKid: `0121${hex(33)}`, box: '{}' }));

async function team(members: [TestUser, TeamRole][]): Promise<string> {
  const teamId = hex(16);
  await storage!.teams.createTeam({
    team: {
      teamId,
      name: `t_${hex(4)}`,
      parentId: null,
      implicit: false,
      tailSeqno: 1,
      tailLinkId: hex(32),
      ctime: 1,
    },
    links: [],
    projection: { members: members.map(([u, role]) => ({ uid: u.uid, role })) },
    keyBoxes: boxes(
      members.map(([u]) => u),
      1,
    ),
  });
  return teamId;
}

const q = (o: Record<string, string | number>) =>
  '?' + new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();

function put(
  u: TestUser,
  teamId: string,
  namespace: string,
  entryKey: string,
  revision: number,
  ciphertext = 'Y3Q=',
  teamKeyGen = 1,
) {
  return signed(backend, app, u.devices[0]!, kvPath('kvEntry', teamId), {
    body: { namespace, entryKey, revision, teamKeyGen, ciphertextVersion: 1, ciphertext },
  });
}
const get = (u: TestUser, teamId: string, namespace: string, entryKey: string) =>
  signed(backend, app, u.devices[0]!, kvPath('kvEntry', teamId) + q({ namespace, entryKey }));
const del = (u: TestUser, teamId: string, namespace: string, entryKey: string, revision: number) =>
  signed(
    backend,
    app,
    u.devices[0]!,
    kvPath('kvEntry', teamId) + q({ namespace, entryKey, revision }),
    { method: 'DELETE' },
  );

let alice: TestUser;
let rita: TestUser;
let mallory: TestUser;
let teamId: string;

function suite(label: string, open: () => Promise<Storage>): void {
  describe(`kv routes (${label})`, () => {
    afterEach(async () => {
      await storage?.close();
      storage = undefined;
    });
    beforeEach(async () => {
      openStorage = open;
      await setup();
      alice = await signup('alice');
      rita = await signup('rita');
      mallory = await signup('mallory');
      teamId = await team([
        [alice, 'writer'],
        [rita, 'reader'],
      ]);
    });

    it('puts, gets, deletes with exact revisions; records the authenticated writer', async () => {
      let res = await get(alice, teamId, 'ns', 'k');
      expect(kvEntrySchema.parse(await res.json())).toEqual({
        teamId,
        namespace: 'ns',
        entryKey: 'k',
        revision: 0,
        ciphertext: null,
        formatVersion: 0,
        teamKeyGen: 0,
        writer: null,
      });
      res = await put(alice, teamId, 'ns', 'k', 1, 'YWJj');
      expect(kvWriteResponseSchema.parse(await res.json())).toEqual({
        teamId,
        namespace: 'ns',
        entryKey: 'k',
        revision: 1,
      });
      res = await put(alice, teamId, 'ns', 'k', 1);
      expect(res.status).toBe(409);
      expect(await errorCode(res)).toBe('KV_WRONG_REVISION');
      res = await get(rita, teamId, 'ns', 'k');
      expect(kvEntrySchema.parse(await res.json())).toMatchObject({
        revision: 1,
        ciphertext: 'YWJj',
        formatVersion: 1,
        teamKeyGen: 1,
        writer: { uid: alice.uid, eldestSeqno: 1, deviceId: alice.devices[0]!.id },
      });
      res = await del(alice, teamId, 'ns', 'k', 2);
      expect(kvWriteResponseSchema.parse(await res.json()).revision).toBe(2);
      res = await del(alice, teamId, 'ns', 'k', 3);
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe('KV_NOT_FOUND');
      res = await get(alice, teamId, 'ns', 'k');
      expect(await res.json()).toMatchObject({ revision: 2, ciphertext: null, teamKeyGen: 1 });
    });

    it('readers read but cannot write; non-members and unknown teams get the same 403', async () => {
      await put(alice, teamId, 'ns', 'k', 1);
      let res = await put(rita, teamId, 'ns', 'k', 2);
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe('KV_READ_ONLY');
      res = await del(rita, teamId, 'ns', 'k', 2);
      expect(await errorCode(res)).toBe('KV_READ_ONLY');
      for (const [u, t] of [
        [mallory, teamId],
        [alice, hex(16)],
      ] as const) {
        for (const r of [
          await get(u, t, 'ns', 'k'),
          await put(u, t, 'ns', 'k', 2),
          await signed(backend, app, u.devices[0]!, kvPath('kvNamespaces', t)),
        ]) {
          expect(r.status).toBe(403);
          expect(await errorCode(r)).toBe('KV_NOT_A_MEMBER');
        }
      }
      expect((await (await get(alice, teamId, 'ns', 'k')).json()) as unknown).toMatchObject({
        revision: 1,
      });
      res = await signed(
        backend,
        app,
        alice.devices[0]!,
        kvPath('kvEntry', 'nothex') + q({ namespace: 'a', entryKey: 'b' }),
      );
      expect(await errorCode(res)).toBe('VALIDATION_FAILED');
    });

    it('lists live names without __ names, paginated', async () => {
      for (const ns of ['b', 'a', '__h'])
        for (const k of ['x', 'y', '__z']) await put(alice, teamId, ns, k, 1);
      await del(alice, teamId, 'a', 'x', 2);
      let res = await signed(
        backend,
        app,
        rita.devices[0]!,
        kvPath('kvNamespaces', teamId) + q({ limit: 1 }),
      );
      const p1 = kvNamespacesResponseSchema.parse(await res.json());
      expect(p1).toEqual({ teamId, namespaces: ['a'], next: 'a' });
      res = await signed(
        backend,
        app,
        rita.devices[0]!,
        kvPath('kvNamespaces', teamId) + q({ limit: 1, after: 'a' }),
      );
      expect(kvNamespacesResponseSchema.parse(await res.json())).toEqual({
        teamId,
        namespaces: ['b'],
        next: null,
      });
      res = await signed(
        backend,
        app,
        rita.devices[0]!,
        kvPath('kvKeys', teamId) + q({ namespace: 'a' }),
      );
      expect(kvKeysResponseSchema.parse(await res.json())).toEqual({
        teamId,
        namespace: 'a',
        entryKeys: [{ entryKey: 'y', revision: 1 }],
        next: null,
      });
    });

    it('batch get answers every item in order', async () => {
      await put(alice, teamId, 'a', 'x', 1, 'eA==');
      const res = await signed(backend, app, rita.devices[0]!, kvPath('kvBatchGet', teamId), {
        body: {
          items: [
            { namespace: 'a', entryKey: 'nope' },
            { namespace: 'a', entryKey: 'x' },
          ],
        },
      });
      const body = kvBatchGetResponseSchema.parse(await res.json());
      expect(body.entries.map((e) => [e.entryKey, e.revision, e.ciphertext])).toEqual([
        ['nope', 0, null],
        ['x', 1, 'eA=='],
      ]);
    });

    it('refuses names over 255 bytes and values over the configured limit with 413', async () => {
      const long = 'é'.repeat(128); // 256 bytes
      let res = await put(alice, teamId, long, 'k', 1);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: { code: 'PAYLOAD_TOO_LARGE', message: 'namespace is longer than 255 bytes' },
      });
      res = await get(alice, teamId, 'ns', long);
      expect(res.status).toBe(413);
      expect(await put(alice, teamId, 'é'.repeat(127), 'k', 1)).toHaveProperty('status', 200);

      await setup({ kvMaxValueBytes: 1000 });
      alice = await signup('alice');
      teamId = await team([[alice, 'owner']]);
      const max = kvMaxCiphertextChars(1000);
      res = await put(alice, teamId, 'ns', 'k', 1, 'A'.repeat(max + 4));
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /^kv value is larger than 1000 bytes/,
      );
      res = await put(alice, teamId, 'ns', 'k', 1, 'A'.repeat(max));
      expect(res.status).toBe(200);
      // A body far over the limit is cut off while reading, with the same code.
      res = await put(alice, teamId, 'ns', 'k', 2, 'A'.repeat(max * 20));
      expect(await errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('long-polls changes: answers at once with changes, wakes on a write, times out empty', async () => {
      const changes = (o: Record<string, string | number>) =>
        signed(backend, app, rita.devices[0]!, kvPath('kvChanges', teamId) + q(o)).then(async (r) =>
          kvChangesResponseSchema.parse(await r.json()),
        );
      const start = await changes({});
      expect(start).toEqual({ teamId, changes: [], cursor: 0 });
      await put(alice, teamId, 'a', 'x', 1);
      expect(await changes({ since: 0 })).toEqual({
        teamId,
        changes: [{ namespace: 'a', entryKey: 'x', revision: 1, deleted: false }],
        cursor: 1,
      });
      const waiting = changes({ since: 1, waitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 50));
      await del(alice, teamId, 'a', 'x', 2);
      expect(await waiting).toEqual({
        teamId,
        changes: [{ namespace: 'a', entryKey: 'x', revision: 2, deleted: true }],
        cursor: 2,
      });
      const t0 = Date.now();
      expect(await changes({ since: 2, waitMs: 200 })).toEqual({ teamId, changes: [], cursor: 2 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      // stop() answers open polls at once.
      const open = changes({ since: 2, waitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 50));
      app.stop();
      expect(await open).toEqual({ teamId, changes: [], cursor: 2 });
    });
    it('an open poll does not query storage on a timer while nothing changes (#17.1)', async () => {
      // The real storage, with its change reads counted.
      let reads = 0;
      const kv = storage!.kv;
      const counted: Storage = {
        ...storage!,
        kv: new Proxy(kv, {
          get(t, prop) {
            if (prop === 'changes') reads++;
            const v: unknown = Reflect.get(t, prop, t);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        }),
      };
      const polling = createApp({ storage: counted, backend, logger: () => undefined });
      const polls = Array.from({ length: 5 }, () =>
        signed(
          backend,
          polling,
          rita.devices[0]!,
          kvPath('kvChanges', teamId) + q({ since: 0, waitMs: 2500 }),
        ),
      );
      for (const res of await Promise.all(polls)) expect(res.status).toBe(200);
      // One read when each poll starts and one at its deadline; the 1 s recheck read 3 more.
      expect(reads).toBe(10);
      polling.stop();
    });
    it("accepts a put only under the team's current key generation (#12.2)", async () => {
      const s = storage!;
      // A generation that does not exist (yet) is refused, and writes nothing.
      for (const gen of [999_999_999, 2]) {
        const res = await put(alice, teamId, 'ns', 'k', 1, 'Y3Q=', gen);
        expect([res.status, await errorCode(res)]).toEqual([409, 'KV_BAD_GENERATION']);
      }
      expect(await s.kv.get(teamId, 'ns', 'k')).toBeNull();
      // Out of range for the storage's integer columns: a validation error, not a 500.
      for (const gen of [0, 2 ** 31, 1.5]) {
        const res = await put(alice, teamId, 'ns', 'k', 1, 'Y3Q=', gen);
        expect([res.status, await errorCode(res)]).toEqual([400, 'VALIDATION_FAILED']);
      }
      expect((await put(alice, teamId, 'ns', 'k', 1)).status).toBe(200);
      // After a rotation, only generation 2: generation 1 is what a removed member still holds.
      await s.teams.putTeamKeyBoxes(teamId, boxes([alice, rita], 2));
      let res = await put(alice, teamId, 'ns', 'k', 2, 'Y3Q=', 1);
      expect([res.status, await errorCode(res)]).toEqual([409, 'KV_BAD_GENERATION']);
      expect((await put(alice, teamId, 'ns', 'k', 2, 'Y3Q=', 2)).status).toBe(200);
      // An entry stamped with a generation that never existed (accepted before this fix) is
      // not unwritable for ever: a put under the current generation replaces it.
      await s.kv.put({
        teamId,
        namespace: 'ns',
        entryKey: 'poisoned',
        revision: 1,
        ciphertext: 'Y3Q=',
        formatVersion: 1,
        teamKeyGen: 999_999_999,
        writer: { uid: alice.uid, eldestSeqno: 1, deviceId: alice.devices[0]!.id },
      });
      res = await put(alice, teamId, 'ns', 'poisoned', 2, 'YWJj', 2);
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await s.kv.get(teamId, 'ns', 'poisoned')).toMatchObject({
        revision: 2,
        teamKeyGen: 2,
      });
      // Revisions and cursors past the columns' range are validation errors too.
      res = await put(alice, teamId, 'ns', 'k', 2 ** 31);
      expect([res.status, await errorCode(res)]).toEqual([400, 'VALIDATION_FAILED']);
      res = await del(alice, teamId, 'ns', 'k', 2 ** 31);
      expect([res.status, await errorCode(res)]).toEqual([400, 'VALIDATION_FAILED']);
      res = await signed(
        backend,
        app,
        alice.devices[0]!,
        kvPath('kvChanges', teamId) + q({ since: '1e300' }),
      );
      expect([res.status, await errorCode(res)]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('a member removed during a long poll learns nothing written after the removal (#12.4)', async () => {
      const s = storage!;
      const poll = signed(
        backend,
        app,
        rita.devices[0]!,
        kvPath('kvChanges', teamId) + q({ since: 0, waitMs: 20_000 }),
      );
      await new Promise((r) => setTimeout(r, 100));
      // Rita is removed (a verified membership change replaces the projection)…
      const t = (await s.teams.getTeam(teamId))!;
      const seqno = t.tailSeqno + 1;
      await s.teams.appendTeamLinks({
        teamId,
        expectedTailSeqno: t.tailSeqno,
        links: [
          {
            seqno,
            linkId: hex(32),
            sigId: hex(33),
            type: 'team.change_membership',
            link: {
              seqno,
              prev: t.tailLinkId,
              sig: 'c2ln',
              payload_json: `{"seqno":${seqno}}`,
              kid: `0120${hex(32)}0a`,
              sig_version: 2,
            },
          },
        ],
        projection: { members: [{ uid: alice.uid, role: 'writer' }] },
        keyBoxes: [],
      });
      // …then alice writes a name rita must not see; the write wakes rita's poll.
      expect((await put(alice, teamId, 'after-removal', 'secret-name', 1)).status).toBe(200);
      const res = await poll;
      const text = await res.text();
      expect(text).not.toContain('secret-name');
      expect(res.status).toBe(403);
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('KV_NOT_A_MEMBER');
    });
  });
}

suite('sqlite', () => openSqliteStorage({ dataDir: ':memory:' }));
suite('postgresql', usePostgresStorage());
