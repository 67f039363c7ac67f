/**
 * The storage conformance suite: one function, run against every backend
 * (`storage-sqlite.test.ts`, `storage-postgres.test.ts`). Each case uses its own usernames and
 * KIDs, so cases share one database without interfering.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainLink } from '@saltbox/protocol';
import { StorageError } from '../src/storage/errors.js';
import { storageErrorToServerError } from '../src/storage-errors-map.js';
import { runKvConformance } from './storage-kv-conformance.js';
import type {
  Storage,
  StoredLink,
  TeamKeyBoxRecord,
  TeamProjection,
  TeamRecord,
  UserProjection,
  UserRecord,
} from '../src/storage/types.js';

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

function teamFixture(): {
  team: TeamRecord;
  links: StoredLink[];
  projection: TeamProjection;
  owner: string;
  writer: string;
} {
  const root = { ...link(1), type: 'team.root' };
  const owner = hex(16);
  const writer = hex(16);
  return {
    team: {
      teamId: hex(16),
      name: `t${process.pid % 1000}_${seq++}_${hex(2)}`,
      parentId: null,
      implicit: false,
      tailSeqno: 1,
      tailLinkId: root.linkId,
      ctime: 1_700_000_000_456,
    },
    links: [root],
    owner,
    writer,
    projection: {
      members: [
        { uid: owner, role: 'owner' },
        { uid: writer, role: 'writer' },
      ],
    },
  };
}

const sortByUid = <T extends { uid: string }>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(apiCode(e)).toBe(code);
}

/** A storage error's API code: storage speaks its own codes, the server maps them (#16.3). */
function apiCode(e: unknown): string | undefined {
  expect(e).toBeInstanceOf(StorageError);
  return storageErrorToServerError(e as StorageError)?.code;
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

    it('stores pgp bundles with their links, keeps a stored version, reads them by seqno', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      expect(await s.users.getPgpBundles(f.user.uid)).toEqual([]);
      const pgpKid = kid('16');
      const v1 = { kid: pgpKid, fullHash: hex(32), bundle: '-----BEGIN PGP v1', seqno: 3 };
      await s.users.appendLinks({
        uid: f.user.uid,
        expectedTailSeqno: 2,
        links: [link(3)],
        projection: f.projection,
        pukBoxes: [],
        pgpBundles: [v1],
      });
      const v2 = { kid: pgpKid, fullHash: hex(32), bundle: '-----BEGIN PGP v2', seqno: 4 };
      // A version already stored (same full hash) is kept as it is, not duplicated.
      await s.users.appendLinks({
        uid: f.user.uid,
        expectedTailSeqno: 3,
        links: [link(4)],
        projection: f.projection,
        pukBoxes: [],
        pgpBundles: [v2, { ...v1, seqno: 4 }],
      });
      expect(await s.users.getPgpBundles(f.user.uid)).toEqual([v1, v2]);
      // A refused append stores none of its bundles.
      await expectCode(
        s.users.appendLinks({
          uid: f.user.uid,
          expectedTailSeqno: 3,
          links: [link(4)],
          projection: f.projection,
          pukBoxes: [],
          pgpBundles: [{ ...v2, fullHash: hex(32), seqno: 4 }],
        }),
        'CHAIN_CONFLICT',
      );
      expect(await s.users.getPgpBundles(f.user.uid)).toHaveLength(2);
    });

    it('stores exactly the new projection when rows change, appear and disappear', async () => {
      const f = fixture();
      await s.users.createUser({ ...f, pukBoxes: [] });
      const added = kid('21');
      const uid = f.user.uid;
      const [sib, sub] = f.projection.keys.map((k) => ({ ...k, uid }));
      const projection: UserProjection = {
        // sibkey changed, subkey dropped, a new key added
        keys: [
          { ...sib!, status: 'revoked' },
          { kid: added, uid, role: 'subkey', status: 'live', deviceId: null, seqno: 3 },
        ],
        devices: [{ ...f.projection.devices[0]!, name: 'renamed' }],
        perUserKeys: [
          { ...f.projection.perUserKeys[0]!, seqno: 3 },
          { generation: 2, seqno: 3, signingKid: kid('20'), encryptionKid: kid('21') },
        ],
      };
      await s.users.appendLinks({
        uid,
        expectedTailSeqno: 2,
        links: [link(3)],
        projection,
        pukBoxes: [],
      });
      const p = (await s.users.getProjections([uid])).get(uid)!;
      expect(p).toEqual(projection);
      expect(await s.users.getKey(sub!.kid)).toBeNull();
      expect((await s.users.getKey(added))?.uid).toBe(uid);
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
        if (r.status === 'rejected') expect(apiCode(r.reason)).toBe('CHAIN_CONFLICT');
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

    it('creates a team with its root link and reads it by id and name', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      expect(await s.teams.getTeam(f.team.teamId)).toEqual(f.team);
      expect(await s.teams.getTeamByName(f.team.name)).toEqual(f.team);
      expect(await s.teams.getTeam(hex(16))).toBeNull();
      expect(await s.teams.getTeamByName('no_such_team')).toBeNull();
      expect(await s.teams.getTeamLinks(f.team.teamId, 0)).toEqual(f.links);
      expect(await s.teams.getTeamLinks(f.team.teamId, 1)).toEqual([]);
      expect(await s.teams.getTeamLinks(hex(16), 0)).toEqual([]);
      expect(await s.teams.getMembers(f.team.teamId)).toEqual(sortByUid(f.projection.members));
      // Subteams and implicit teams keep their parent and flag.
      const sub = teamFixture();
      sub.team = { ...sub.team, name: `${f.team.name}.infra`, parentId: f.team.teamId };
      const imp = teamFixture();
      imp.team = { ...imp.team, name: `${imp.team.name},bob`, implicit: true };
      await s.teams.createTeam({ ...sub, keyBoxes: [] });
      await s.teams.createTeam({ ...imp, keyBoxes: [] });
      expect(await s.teams.getTeam(sub.team.teamId)).toEqual(sub.team);
      expect(await s.teams.getTeam(imp.team.teamId)).toEqual(imp.team);
    });

    it('refuses a taken team name or id (TEAM_NAME_TAKEN), atomically', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      const dupName = teamFixture();
      dupName.team.name = f.team.name;
      await expectCode(s.teams.createTeam({ ...dupName, keyBoxes: [] }), 'TEAM_NAME_TAKEN');
      const dupId = teamFixture();
      dupId.team.teamId = f.team.teamId;
      await expectCode(s.teams.createTeam({ ...dupId, keyBoxes: [] }), 'TEAM_NAME_TAKEN');
      expect(await s.teams.getTeam(dupName.team.teamId)).toBeNull();
      expect(await s.teams.getTeamByName(dupId.team.name)).toBeNull();
      expect(await s.teams.listTeamsForUser(dupName.owner)).toEqual([]);
      expect(await s.teams.getTeamLinks(f.team.teamId, 0)).toEqual(f.links);
    });

    it('appends team links after the expected tail and replaces the members', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      const l2 = { ...link(2), type: 'team.change_membership' };
      const l3 = { ...link(3), type: 'team.rotate_key' };
      const reader = hex(16);
      const box: TeamKeyBoxRecord = {
        generation: 2,
        uid: reader,
        receiverKid: kid('21'),
        box: 'Yg==',
      };
      await s.teams.appendTeamLinks({
        teamId: f.team.teamId,
        expectedTailSeqno: 1,
        links: [l2, l3],
        projection: {
          members: [
            { uid: f.owner, role: 'owner' },
            { uid: reader, role: 'reader' },
          ],
        },
        keyBoxes: [box],
      });
      const t = await s.teams.getTeam(f.team.teamId);
      expect(t?.tailSeqno).toBe(3);
      expect(t?.tailLinkId).toBe(l3.linkId);
      expect(await s.teams.getTeamLinks(f.team.teamId, 0)).toEqual([...f.links, l2, l3]);
      expect(await s.teams.getTeamLinks(f.team.teamId, 2)).toEqual([l3]);
      expect(await s.teams.getMembers(f.team.teamId)).toEqual(
        sortByUid([
          { uid: f.owner, role: 'owner' },
          { uid: reader, role: 'reader' },
        ]),
      );
      expect(await s.teams.listTeamsForUser(f.writer)).toEqual([]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, reader)).toEqual([box]);
    });

    it('stores one prev per generation with the links that introduce it, atomically', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      expect(await s.teams.getTeamPrevs(f.team.teamId)).toEqual([]);
      await s.teams.appendTeamLinks({
        teamId: f.team.teamId,
        expectedTailSeqno: 1,
        links: [{ ...link(2), type: 'team.rotate_key' }],
        projection: f.projection,
        keyBoxes: [],
        prevs: [{ generation: 2, prev: 'cHJldi0y' }],
      });
      await s.teams.appendTeamLinks({
        teamId: f.team.teamId,
        expectedTailSeqno: 2,
        links: [{ ...link(3), type: 'team.rotate_key' }],
        projection: f.projection,
        keyBoxes: [],
        prevs: [{ generation: 3, prev: 'cHJldi0z' }],
      });
      // A second prev for generation 3 fails the whole append: the tail stays at 3.
      await expectCode(
        s.teams.appendTeamLinks({
          teamId: f.team.teamId,
          expectedTailSeqno: 3,
          links: [{ ...link(4), type: 'team.rotate_key' }],
          projection: f.projection,
          keyBoxes: [],
          prevs: [{ generation: 3, prev: 'b3RoZXI=' }],
        }),
        'CHAIN_CONFLICT',
      );
      expect((await s.teams.getTeam(f.team.teamId))?.tailSeqno).toBe(3);
      expect(await s.teams.getTeamPrevs(f.team.teamId)).toEqual([
        { generation: 2, prev: 'cHJldi0y' },
        { generation: 3, prev: 'cHJldi0z' },
      ]);
      expect(await s.teams.getTeamPrevs(hex(16))).toEqual([]);
    });

    it('refuses a team append on a stale tail (CHAIN_CONFLICT) and for an unknown team', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      await s.teams.appendTeamLinks({
        teamId: f.team.teamId,
        expectedTailSeqno: 1,
        links: [link(2)],
        projection: f.projection,
        keyBoxes: [],
      });
      await expectCode(
        s.teams.appendTeamLinks({
          teamId: f.team.teamId,
          expectedTailSeqno: 1,
          links: [link(2)],
          projection: { members: [] },
          keyBoxes: [],
        }),
        'CHAIN_CONFLICT',
      );
      await expectCode(
        s.teams.appendTeamLinks({
          teamId: hex(16),
          expectedTailSeqno: 1,
          links: [link(2)],
          projection: { members: [] },
          keyBoxes: [],
        }),
        'TEAM_NOT_FOUND',
      );
      expect((await s.teams.getTeam(f.team.teamId))?.tailSeqno).toBe(2);
      expect(await s.teams.getMembers(f.team.teamId)).toHaveLength(2);
    });

    it('lets exactly one of concurrent team appends on one tail win', async () => {
      const f = teamFixture();
      await s.teams.createTeam({ ...f, keyBoxes: [] });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          s.teams.appendTeamLinks({
            teamId: f.team.teamId,
            expectedTailSeqno: 1,
            links: [link(2)],
            projection: f.projection,
            keyBoxes: [],
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(apiCode(r.reason)).toBe('CHAIN_CONFLICT');
      expect(await s.teams.getTeamLinks(f.team.teamId, 1)).toHaveLength(1);
    });

    it('stores team key boxes per member per generation, replaces, filters', async () => {
      const f = teamFixture();
      const g1Owner: TeamKeyBoxRecord = {
        generation: 1,
        uid: f.owner,
        receiverKid: kid('21'),
        box: 'b3du',
      };
      const g1Writer: TeamKeyBoxRecord = {
        generation: 1,
        uid: f.writer,
        receiverKid: kid('21'),
        box: 'd3I=',
      };
      await s.teams.createTeam({ ...f, keyBoxes: [g1Owner, g1Writer] });
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, f.owner)).toEqual([g1Owner]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, f.writer)).toEqual([g1Writer]);
      const g2Owner = { ...g1Owner, generation: 2, box: 'ZzI=' };
      await s.teams.putTeamKeyBoxes(f.team.teamId, [g2Owner]);
      const g1Replaced = { ...g1Owner, receiverKid: kid('21'), box: 'bmV3' };
      await s.teams.putTeamKeyBoxes(f.team.teamId, [g1Replaced]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, f.owner)).toEqual([g1Replaced, g2Owner]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, f.owner, 2)).toEqual([g2Owner]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, f.owner, 3)).toEqual([]);
      // Boxes are per team and per member.
      expect(await s.teams.getTeamKeyBoxes(hex(16), f.owner)).toEqual([]);
      expect(await s.teams.getTeamKeyBoxes(f.team.teamId, hex(16))).toEqual([]);
    });

    it('lists the teams a user is a member of, with roles, by name', async () => {
      const a = teamFixture();
      const b = teamFixture();
      const uid = a.owner;
      b.projection.members.push({ uid, role: 'reader' });
      await s.teams.createTeam({ ...a, keyBoxes: [] });
      await s.teams.createTeam({ ...b, keyBoxes: [] });
      const got = await s.teams.listTeamsForUser(uid);
      expect(got).toEqual(
        [
          { team: a.team, role: 'owner' },
          { team: b.team, role: 'reader' },
        ].sort((x, y) => (x.team.name < y.team.name ? -1 : 1)),
      );
      expect(await s.teams.listTeamsForUser(hex(16))).toEqual([]);
    });

    runKvConformance(() => s);

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
