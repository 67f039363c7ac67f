/**
 * The storage conformance suite: one function, run against every backend
 * (`storage-sqlite.test.ts`, `storage-postgres.test.ts`). Each case uses its own usernames and
 * KIDs, so cases share one database without interfering.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainLink } from '@saltbox/protocol';
import { ServerError } from '../src/errors.js';
import type { Storage, StoredLink, UserProjection, UserRecord } from '../src/storage/types.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const kid = (type = '20') => `01${type}${hex(32)}0a`;
let seq = 0;
const uname = () => `u${process.pid % 1000}_${seq++}_${hex(2)}`.slice(0, 16);

function link(seqno: number): StoredLink {
  const l: ChainLink = {
    seqno,
    prev: seqno === 1 ? null : hex(32),
    sig: 'c2ln',
    payload_json: `{"seqno":${seqno}}`,
    kid: kid(),
    sig_version: 1,
  };
  return {
    seqno,
    linkId: hex(32),
    sigId: hex(33),
    type: seqno === 1 ? 'eldest' : 'subkey',
    link: l,
  };
}

function fixture(): {
  user: UserRecord;
  links: StoredLink[];
  projection: UserProjection;
  sibkey: string;
  subkey: string;
  deviceId: string;
} {
  const links = [link(1), link(2)];
  const sibkey = kid('20');
  const subkey = kid('21');
  const deviceId = hex(16);
  return {
    user: {
      uid: hex(16),
      username: uname(),
      eldestKid: sibkey,
      tailSeqno: 2,
      tailLinkId: links[1]!.linkId,
      ctime: 1_700_000_000_123,
    },
    links,
    sibkey,
    subkey,
    deviceId,
    projection: {
      keys: [
        { kid: sibkey, uid: '', role: 'sibkey', status: 'live', deviceId, seqno: 1 },
        { kid: subkey, uid: '', role: 'subkey', status: 'live', deviceId, seqno: 2 },
      ],
      devices: [{ id: deviceId, name: 'laptop', type: 'desktop', status: 'active' }],
      perUserKeys: [{ generation: 1, seqno: 2, signingKid: kid('20'), encryptionKid: kid('21') }],
    },
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ServerError);
  expect((e as ServerError).code).toBe(code);
}

/** Runs the conformance suite against storages made by `factory`. */
export function runStorageConformance(name: string, factory: () => Promise<Storage>): void {
  describe(`storage conformance: ${name}`, () => {
    let s: Storage;
    beforeAll(async () => {
      s = await factory();
    });
    afterAll(async () => {
      await s.close();
    });

    it('migrates idempotently and answers ping', async () => {
      await s.migrate();
      await s.migrate();
      await s.ping();
    });

    it('creates a user and reads it by name, uid and in batch', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      expect(await s.users.getUser(f.user.username)).toEqual(f.user);
      expect(await s.users.getUserByUid(f.user.uid)).toEqual(f.user);
      const other = fixture();
      await s.users.createUser({ ...other, pukBoxes: [] });
      const m = await s.users.getUsers([f.user.username, 'nobody_here', other.user.username]);
      expect([...m.keys()].sort()).toEqual([f.user.username, other.user.username].sort());
      expect(await s.users.getUser('nobody_here')).toBeNull();
      expect(await s.users.getUsers([])).toEqual(new Map());
    });

    it('stores links verbatim and returns them since a seqno, in order', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      expect(await s.users.getLinks(f.user.uid, 0)).toEqual(f.links);
      expect(await s.users.getLinks(f.user.uid, 1)).toEqual([f.links[1]]);
      expect(await s.users.getLinks(f.user.uid, 2)).toEqual([]);
      expect(await s.users.getLinks(hex(16), 0)).toEqual([]);
    });

    it('refuses a taken username (USERNAME_TAKEN) and a registered key (KEY_IN_USE)', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      const dupName = fixture();
      dupName.user.username = f.user.username;
      await expectCode(s.users.createUser({ ...dupName, pukBoxes: [] }), 'USERNAME_TAKEN');
      const dupKey = fixture();
      dupKey.projection.keys[0]!.kid = f.sibkey;
      await expectCode(s.users.createUser({ ...dupKey, pukBoxes: [] }), 'KEY_IN_USE');
      // Neither failed registration left anything behind.
      expect(await s.users.getUser(dupKey.user.username)).toBeNull();
      expect(await s.users.getUserByUid(dupName.user.uid)).toBeNull();
    });

    it('keeps the projection: keys by kid, devices, per-user keys', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      const key = await s.users.getKey(f.sibkey);
      expect(key).toEqual({ ...f.projection.keys[0], uid: f.user.uid });
      expect(await s.users.getKey(kid())).toBeNull();
      const p = (await s.users.getProjections([f.user.uid, hex(16)])).get(f.user.uid)!;
      expect(p.keys.map((k) => k.kid)).toEqual([f.sibkey, f.subkey]);
      expect(p.devices).toEqual(f.projection.devices);
      expect(p.perUserKeys).toEqual(f.projection.perUserKeys);
    });

    it('appends after the expected tail and replaces the projection', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      const l3 = link(3);
      const projection: UserProjection = {
        ...f.projection,
        keys: f.projection.keys.map((k) => ({ ...k, status: 'revoked' as const })),
        devices: [{ ...f.projection.devices[0]!, status: 'revoked' }],
      };
      await s.users.appendLinks({
        uid: f.user.uid,
        expectedTailSeqno: 2,
        links: [l3],
        projection,
        pukBoxes: [],
      });
      const u = await s.users.getUser(f.user.username);
      expect(u?.tailSeqno).toBe(3);
      expect(u?.tailLinkId).toBe(l3.linkId);
      expect((await s.users.getLinks(f.user.uid, 2)).map((l) => l.linkId)).toEqual([l3.linkId]);
      expect((await s.users.getKey(f.sibkey))?.status).toBe('revoked');
      const p = (await s.users.getProjections([f.user.uid])).get(f.user.uid)!;
      expect(p.devices[0]?.status).toBe('revoked');
    });

    it('refuses an append on a stale tail (CHAIN_CONFLICT) and for an unknown user', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      await expectCode(
        s.users.appendLinks({
          uid: f.user.uid,
          expectedTailSeqno: 1,
          links: [link(2)],
          projection: f.projection,
          pukBoxes: [],
        }),
        'CHAIN_CONFLICT',
      );
      await expectCode(
        s.users.appendLinks({
          uid: hex(16),
          expectedTailSeqno: 2,
          links: [link(3)],
          projection: { keys: [], devices: [], perUserKeys: [] },
          pukBoxes: [],
        }),
        'USER_NOT_FOUND',
      );
      expect((await s.users.getUser(f.user.username))?.tailSeqno).toBe(2);
    });

    it('lets exactly one of concurrent appends on one tail win', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      const attempts = Array.from({ length: 8 }, () =>
        s.users.appendLinks({
          uid: f.user.uid,
          expectedTailSeqno: 2,
          links: [link(3)],
          projection: f.projection,
          pukBoxes: [],
        }),
      );
      const results = await Promise.allSettled(attempts);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect((r.reason as ServerError).code).toBe('CHAIN_CONFLICT');
      expect(await s.users.getLinks(f.user.uid, 2)).toHaveLength(1);
    });

    it('refuses an append that delegates another user’s key (KEY_IN_USE), atomically', async () => {
      const a = fixture();
      const b = fixture();
      await s.users.createUser({ ...a, pukBoxes: [] });
      await s.users.createUser({ ...b, pukBoxes: [] });
      const projection: UserProjection = {
        ...b.projection,
        keys: [...b.projection.keys, { ...a.projection.keys[0]!, seqno: 3 }],
      };
      await expectCode(
        s.users.appendLinks({
          uid: b.user.uid,
          expectedTailSeqno: 2,
          links: [link(3)],
          projection,
          pukBoxes: [],
        }),
        'KEY_IN_USE',
      );
      expect((await s.users.getUser(b.user.username))?.tailSeqno).toBe(2);
      expect(await s.users.getLinks(b.user.uid, 2)).toEqual([]);
      expect((await s.users.getKey(a.sibkey))?.uid).toBe(a.user.uid);
    });

    it('stores PUK boxes, replaces by receiver and generation, filters by generation', async () => {
      const f = fixture();
      const box1 = { generation: 1, receiverKid: f.subkey, box: 'Ym94MQ==' };
      await s.users.createUser({ ...f, pukBoxes: [box1] });
      expect(await s.keyBoxes.getPukBoxes(f.user.uid, [f.subkey])).toEqual([box1]);
      const box2 = { generation: 2, receiverKid: f.subkey, box: 'Ym94Mg==' };
      const other = { generation: 2, receiverKid: kid('21'), box: 'b3RoZXI=' };
      await s.keyBoxes.putPukBoxes(f.user.uid, [box2, other]);
      await s.keyBoxes.putPukBoxes(f.user.uid, [{ ...box1, box: 'bmV3' }]);
      expect(await s.keyBoxes.getPukBoxes(f.user.uid, [f.subkey])).toEqual([
        { ...box1, box: 'bmV3' },
        box2,
      ]);
      expect(await s.keyBoxes.getPukBoxes(f.user.uid, [f.subkey], 2)).toEqual([box2]);
      expect(await s.keyBoxes.getPukBoxes(f.user.uid, [])).toEqual([]);
      // Boxes are per user: another user's uid sees none of them.
      expect(await s.keyBoxes.getPukBoxes(hex(16), [f.subkey])).toEqual([]);
    });

    it('claims a nonce once, also under concurrency, and prunes expired ones', async () => {
      const k = kid();
      expect(await s.nonces.claimNonce(k, 'nonce-aaaaaaaaaaaa', 1000)).toBe(true);
      expect(await s.nonces.claimNonce(k, 'nonce-aaaaaaaaaaaa', 1000)).toBe(false);
      // The same nonce under another key is a different request.
      expect(await s.nonces.claimNonce(kid(), 'nonce-aaaaaaaaaaaa', 1000)).toBe(true);
      const racing = await Promise.all(
        Array.from({ length: 10 }, () => s.nonces.claimNonce(k, 'nonce-racing-bbbbbb', 5000)),
      );
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect(await s.nonces.pruneNonces(2000)).toBeGreaterThanOrEqual(2);
      // Pruned: the key may use it again (it is long stale by then, so auth still refuses it).
      expect(await s.nonces.claimNonce(k, 'nonce-aaaaaaaaaaaa', 1000)).toBe(true);
      expect(await s.nonces.claimNonce(k, 'nonce-racing-bbbbbb', 5000)).toBe(false);
    });
  });
}
