/**
 * The team routes through `app.request()` with real keys, links and boxes, on any storage
 * (run on SQLite and on PostgreSQL by `teams-*.test.ts`).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { generateSubteamId, openTeamKeyBox } from '@saltbox/identity';
import {
  teamChainPath,
  teamChainResponseSchema,
  teamKeyBoxesPath,
  teamKeyBoxesResponseSchema,
  teamListResponseSchema,
  teamPath,
} from '@saltbox/protocol';
import type { ChainLink } from '@saltbox/protocol';
import { derivePerUserKeys } from '@saltbox/identity';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import type { Storage } from '../src/storage/types.js';
import { addDeviceLinks, errorCode, newUser, revokeDeviceLinks, signed } from './helpers.js';
import type { TestDevice, TestUser } from './helpers.js';
import { boxPost, rootTeam, teamLink, uv } from './team-helpers.js';
import type { TestTeam } from './team-helpers.js';

const backend = await defaultBackend();

/** Registers the team route tests on storage from `open` (a fresh database per test). */
export function runTeamRouteSuite(label: string, open: () => Promise<Storage>): void {
  describe(`team routes (${label})`, () => {
    let storage: Storage;
    let app: App;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;

    async function signup(name: string): Promise<TestUser> {
      const { user, request } = newUser(backend, name);
      const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', { body: request });
      expect(res.status, await res.clone().text()).toBe(201);
      return user;
    }

    const dev = (u: TestUser): TestDevice => u.devices[0]!;
    const post = (by: TestDevice, path: string, body: unknown) =>
      signed(backend, app, by, path, { body });
    const get = (by: TestDevice, path: string) => signed(backend, app, by, path);
    const del = (by: TestDevice, path: string) =>
      signed(backend, app, by, path, { method: 'DELETE' });

    async function expectError(res: Promise<Response>, status: number, code: string) {
      const r = await res;
      expect(await errorCode(r)).toBe(code);
      expect(r.status).toBe(status);
    }

    /** Creates `acme` owned by alice. */
    async function acme(): Promise<TestTeam> {
      const { team, request } = rootTeam(backend, 'acme', alice);
      const res = await post(dev(alice), '/api/v1/teams', request);
      expect(res.status, await res.clone().text()).toBe(201);
      return team;
    }

    /** Alice adds `who` with `role` (boxes of the current generation to the new member). */
    async function add(team: TestTeam, who: TestUser, role: string): Promise<Response> {
      const link = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { [role]: [uv(who)] },
      });
      const gen = team.seeds.length;
      const res = await post(dev(alice), teamChainPath(team.id), {
        links: [link.link],
        perTeamKey: boxPost(backend, dev(alice), team.seeds[gen - 1]!, gen, [who]),
      });
      if (res.status === 200) team.links.push(link);
      return res;
    }

    beforeEach(async () => {
      storage = await open();
      app = createApp({ storage, backend, logger: () => undefined });
      alice = await signup('alice');
      bob = await signup('bob');
      carol = await signup('carol');
      return () => storage.close();
    });

    it('creates a team, shows it to members only, and lists it', async () => {
      const team = await acme();
      const res = await get(dev(alice), teamChainPath('acme'));
      expect(res.status).toBe(200);
      const chain = teamChainResponseSchema.parse(await res.json());
      expect(chain.teamId).toBe(team.id);
      expect(chain.links.map((l) => l.payload_hash)).toEqual([team.links[0]!.linkId]);
      expect(chain.usernames).toEqual({ [alice.uid]: 'alice' });
      // The same by ID; a non-member sees no team at all.
      expect((await get(dev(alice), teamChainPath(team.id))).status).toBe(200);
      await expectError(get(dev(bob), teamChainPath('acme')), 404, 'TEAM_NOT_FOUND');
      await expectError(get(dev(bob), teamKeyBoxesPath('acme')), 404, 'TEAM_NOT_FOUND');
      const list = teamListResponseSchema.parse(
        await (await get(dev(alice), '/api/v1/teams')).json(),
      );
      expect(list.teams).toEqual([
        { teamId: team.id, name: 'acme', parentId: null, implicit: false, role: 'owner' },
      ]);
      // Alice's generation-1 box opens with her PUK and yields the seed she boxed.
      const boxes = teamKeyBoxesResponseSchema.parse(
        await (await get(dev(alice), teamKeyBoxesPath('acme'))).json(),
      );
      expect(boxes.boxes.map((b) => b.generation)).toEqual([1]);
      const pukSecret = derivePerUserKeys(backend, alice.pukSeeds[0]!).encryptionSecretKey;
      const seed = openTeamKeyBox(backend, boxes.boxes[0]!, pukSecret);
      expect(bytesEqual(seed, team.seeds[0]!)).toBe(true);
      // The name is taken now, by name or by id.
      await expectError(
        post(dev(alice), '/api/v1/teams', rootTeam(backend, 'acme', alice).request),
        409,
        'TEAM_NAME_TAKEN',
      );
    });

    it('refuses a root link signed for someone else, a bad name, and boxes for non-members', async () => {
      // Bob sends a root link alice signed.
      const { request } = rootTeam(backend, 'acme', alice);
      await expectError(post(dev(bob), '/api/v1/teams', request), 403, 'FORBIDDEN');
      await expectError(
        post(dev(alice), '/api/v1/teams', rootTeam(backend, 'Acme', alice).request),
        400,
        'VALIDATION_FAILED',
      );
      // Generation-1 boxes must be for exactly the members: bob is not one.
      const extra = rootTeam(backend, 'acme', alice, {}, { recipients: [alice, bob] });
      await expectError(
        post(dev(alice), '/api/v1/teams', extra.request),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      const none = rootTeam(backend, 'acme', alice, {}, { recipients: [] });
      await expectError(
        post(dev(alice), '/api/v1/teams', none.request),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      expect(await storage.teams.getTeamByName('acme')).toBeNull();
    });

    it('lets admins add members with boxes of the current generation, and no one else', async () => {
      const team = await acme();
      expect((await add(team, bob, 'writer')).status).toBe(200);
      const bobBoxes = teamKeyBoxesResponseSchema.parse(
        await (await get(dev(bob), teamKeyBoxesPath(team.id))).json(),
      );
      expect(bobBoxes.boxes.map((b) => b.generation)).toEqual([1]);
      // Bob is a writer: his change_membership is refused by the verifier's role check.
      const byBob = teamLink(backend, team, bob, dev(bob), 'team.change_membership', {
        members: { reader: [uv(carol)] },
      });
      await expectError(
        post(dev(bob), teamChainPath(team.id), {
          links: [byBob.link],
          perTeamKey: boxPost(backend, dev(bob), team.seeds[0]!, 1, [carol]),
        }),
        403,
        'FORBIDDEN',
      );
      // Alice's link relayed by bob: links must be signed by the caller.
      const byAlice = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { reader: [uv(carol)] },
      });
      await expectError(
        post(dev(bob), teamChainPath(team.id), {
          links: [byAlice.link],
          perTeamKey: boxPost(backend, dev(alice), team.seeds[0]!, 1, [carol]),
        }),
        403,
        'FORBIDDEN',
      );
      // A new member without a box, or boxed for a generation the chain does not have.
      await expectError(
        post(dev(alice), teamChainPath(team.id), { links: [byAlice.link] }),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      await expectError(
        post(dev(alice), teamChainPath(team.id), {
          links: [byAlice.link],
          perTeamKey: boxPost(backend, dev(alice), team.seeds[0]!, 2, [carol]),
        }),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      // A stale tail is a conflict.
      const stale = { ...byAlice.link, seqno: 2 } as ChainLink;
      await expectError(
        post(dev(alice), teamChainPath(team.id), { links: [stale] }),
        409,
        'CHAIN_CONFLICT',
      );
      expect((await storage.teams.getMembers(team.id)).map((m) => m.role).sort()).toEqual([
        'owner',
        'writer',
      ]);
    });

    it('requires a rotation boxed to exactly the remaining members on every removal', async () => {
      const team = await acme();
      expect((await add(team, bob, 'writer')).status).toBe(200);
      expect((await add(team, carol, 'reader')).status).toBe(200);
      const remove = (seed?: { seed: Uint8Array; generation: number }) =>
        teamLink(
          backend,
          team,
          alice,
          dev(alice),
          'team.change_membership',
          { members: { none: [uv(bob)] } },
          seed,
        );
      await expectError(
        post(dev(alice), teamChainPath(team.id), { links: [remove().link] }),
        400,
        'TEAM_ROTATION_REQUIRED',
      );
      const seed2 = backend.randomBytes(32);
      const rotated = remove({ seed: seed2, generation: 2 });
      // Still boxed to the removed bob: refused.
      await expectError(
        post(dev(alice), teamChainPath(team.id), {
          links: [rotated.link],
          perTeamKey: boxPost(backend, dev(alice), seed2, 2, [alice, bob, carol], team.seeds[0]),
        }),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      // Without the prev secretbox: refused.
      await expectError(
        post(dev(alice), teamChainPath(team.id), {
          links: [rotated.link],
          perTeamKey: boxPost(backend, dev(alice), seed2, 2, [alice, carol]),
        }),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      const ok = await post(dev(alice), teamChainPath(team.id), {
        links: [rotated.link],
        perTeamKey: boxPost(backend, dev(alice), seed2, 2, [alice, carol], team.seeds[0]),
      });
      expect(ok.status, await ok.clone().text()).toBe(200);
      team.links.push(rotated);
      team.seeds.push(seed2);
      const carolBoxes = teamKeyBoxesResponseSchema.parse(
        await (await get(dev(carol), teamKeyBoxesPath(team.id))).json(),
      );
      expect(carolBoxes.boxes.map((b) => b.generation)).toEqual([1, 2]);
      expect(carolBoxes.prevs.map((p) => p.generation)).toEqual([2]);
      await expectError(get(dev(bob), teamChainPath(team.id)), 404, 'TEAM_NOT_FOUND');
      // A plain rotation on request, by the writer... carol is a reader: refused.
      const seed3 = backend.randomBytes(32);
      const rot = teamLink(
        backend,
        team,
        carol,
        dev(carol),
        'team.rotate_key',
        {},
        {
          seed: seed3,
          generation: 3,
        },
      );
      await expectError(
        post(dev(carol), teamChainPath(team.id), {
          links: [rot.link],
          perTeamKey: boxPost(backend, dev(carol), seed3, 3, [alice, carol], seed2),
        }),
        403,
        'FORBIDDEN',
      );
      const rotA = teamLink(
        backend,
        team,
        alice,
        dev(alice),
        'team.rotate_key',
        {},
        {
          seed: seed3,
          generation: 3,
        },
      );
      const r = await post(dev(alice), teamChainPath(team.id), {
        links: [rotA.link],
        perTeamKey: boxPost(backend, dev(alice), seed3, 3, [alice, carol], seed2),
      });
      expect(r.status, await r.clone().text()).toBe(200);
    });

    it('refuses a revoked device, as a request signer and as a link signer', async () => {
      const team = await acme();
      const { device: phone, links } = addDeviceLinks(backend, alice, dev(alice));
      expect((await post(dev(alice), '/api/v1/users/alice/chain', { links })).status).toBe(200);
      // The phone signs a membership change while live; it is posted after the revocation.
      const byPhone = teamLink(backend, team, alice, phone, 'team.change_membership', {
        members: { reader: [uv(bob)] },
      });
      const revoke = revokeDeviceLinks(backend, alice, dev(alice), phone);
      const rv = await post(dev(alice), '/api/v1/users/alice/chain', revoke);
      expect(rv.status, await rv.clone().text()).toBe(200);
      await expectError(get(phone, teamChainPath(team.id)), 403, 'DEVICE_REVOKED');
      await expectError(
        post(dev(alice), teamChainPath(team.id), {
          links: [byPhone.link],
          perTeamKey: boxPost(backend, dev(alice), team.seeds[0]!, 1, [bob]),
        }),
        400,
        'CHAIN_INVALID',
      );
      // Boxes must go to members' CURRENT PUKs: alice rotated hers, so a box to generation 1 of
      // her PUK is refused on the next rotation.
      const seed2 = backend.randomBytes(32);
      const rot = teamLink(
        backend,
        team,
        alice,
        dev(alice),
        'team.rotate_key',
        {},
        {
          seed: seed2,
          generation: 2,
        },
      );
      const stalePuk = {
        ...alice,
        pukSeeds: alice.pukSeeds.slice(0, 1),
        links: alice.links.slice(0, 3),
      };
      await expectError(
        post(dev(alice), teamChainPath(team.id), {
          links: [rot.link],
          perTeamKey: boxPost(backend, dev(alice), seed2, 2, [stalePuk], team.seeds[0]),
        }),
        400,
        'TEAM_KEY_BOXES_INVALID',
      );
      const ok = await post(dev(alice), teamChainPath(team.id), {
        links: [rot.link],
        perTeamKey: boxPost(backend, dev(alice), seed2, 2, [alice], team.seeds[0]),
      });
      expect(ok.status, await ok.clone().text()).toBe(200);
    });

    /** Posts `link` (optionally with boxes) on `team`; on success the link joins the team. */
    async function append(
      team: TestTeam,
      by: TestUser,
      link: ReturnType<typeof teamLink>,
      perTeamKey?: ReturnType<typeof boxPost>,
    ): Promise<Response> {
      const res = await post(dev(by), teamChainPath(team.id), {
        links: [link.link],
        ...(perTeamKey ? { perTeamKey } : {}),
      });
      if (res.status === 200) team.links.push(link);
      return res;
    }

    it('never leaves a root team without an owner (#12.6): removal, demotion, leave', async () => {
      const team = await acme();
      expect((await add(team, bob, 'admin')).status).toBe(200);
      // Alice, the only owner, removes herself (with the rotation a removal needs).
      const seed2 = backend.randomBytes(32);
      const selfRemoval = teamLink(
        backend,
        team,
        alice,
        dev(alice),
        'team.change_membership',
        { members: { none: [uv(alice)] } },
        { seed: seed2, generation: 2 },
      );
      await expectError(
        append(
          team,
          alice,
          selfRemoval,
          boxPost(backend, dev(alice), seed2, 2, [bob], team.seeds[0]),
        ),
        409,
        'TEAM_LAST_OWNER',
      );
      const demote = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { admin: [uv(alice)] },
      });
      await expectError(append(team, alice, demote), 409, 'TEAM_LAST_OWNER');
      const leave = teamLink(backend, team, alice, dev(alice), 'team.leave', {});
      await expectError(append(team, alice, leave), 409, 'TEAM_LAST_OWNER');
      // Nothing was stored: alice is still the owner.
      expect((await storage.teams.getMembers(team.id)).find((m) => m.uid === alice.uid)?.role).toBe(
        'owner',
      );
      // With a second owner, the first may go.
      const promote = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { owner: [uv(bob)] },
      });
      expect((await append(team, alice, promote)).status).toBe(200);
      const leaveNow = teamLink(backend, team, alice, dev(alice), 'team.leave', {});
      const left = await append(team, alice, leaveNow);
      expect(left.status, await left.clone().text()).toBe(200);
      await expectError(get(dev(alice), teamChainPath(team.id)), 404, 'TEAM_NOT_FOUND');
    });

    it('lets a member leave without a rotation; the next membership change rotates (#12.6)', async () => {
      const team = await acme();
      expect((await add(team, bob, 'writer')).status).toBe(200);
      const leave = teamLink(backend, team, bob, dev(bob), 'team.leave', {});
      const left = await append(team, bob, leave);
      expect(left.status, await left.clone().text()).toBe(200);
      await expectError(get(dev(bob), teamKeyBoxesPath(team.id)), 404, 'TEAM_NOT_FOUND');
      expect((await storage.teams.getMembers(team.id)).map((m) => m.uid)).toEqual([alice.uid]);
      // Adding carol with the current generation would hand her a key bob still holds: refused.
      const addCarol = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { reader: [uv(carol)] },
      });
      await expectError(
        append(team, alice, addCarol, boxPost(backend, dev(alice), team.seeds[0]!, 1, [carol])),
        400,
        'TEAM_ROTATION_REQUIRED',
      );
      const seed2 = backend.randomBytes(32);
      const rotating = teamLink(
        backend,
        team,
        alice,
        dev(alice),
        'team.change_membership',
        { members: { reader: [uv(carol)] } },
        { seed: seed2, generation: 2 },
      );
      const ok = await append(
        team,
        alice,
        rotating,
        boxPost(backend, dev(alice), seed2, 2, [alice, carol], team.seeds[0]),
      );
      expect(ok.status, await ok.clone().text()).toBe(200);
      team.seeds.push(seed2);
      // The rotation settled it: a plain role change needs no new key.
      const role = teamLink(backend, team, alice, dev(alice), 'team.change_membership', {
        members: { writer: [uv(carol)] },
      });
      expect((await append(team, alice, role)).status).toBe(200);
    });

    it('refuses the last member leaving or removing themselves (#12.6)', async () => {
      const team = await acme();
      const leave = teamLink(backend, team, alice, dev(alice), 'team.leave', {});
      await expectError(append(team, alice, leave), 409, 'TEAM_LAST_MEMBER');
      expect(await storage.teams.getTeam(team.id)).not.toBeNull();
    });

    it('deletes a team for its owner: chain, members, keys and KV entries; the name stays reserved (#12.6)', async () => {
      const team = await acme();
      expect((await add(team, bob, 'admin')).status).toBe(200);
      await storage.kv.put({
        teamId: team.id,
        namespace: 'ns',
        entryKey: 'k',
        revision: 1,
        ciphertext: 'AAAA',
        formatVersion: 1,
        teamKeyGen: 1,
        writer: { uid: alice.uid, eldestSeqno: 1, deviceId: alice.devices[0]!.id },
      });
      // A subteam first: refused while it exists.
      const subId = generateSubteamId(backend);
      const announce = teamLink(backend, team, alice, dev(alice), 'team.new_subteam', {
        subteam: { id: subId, name: 'acme.infra' },
      });
      const sub: TestTeam = {
        id: subId,
        name: 'acme.infra',
        links: [],
        seeds: [backend.randomBytes(32)],
      };
      const head = teamLink(
        backend,
        sub,
        alice,
        dev(alice),
        'team.subteam_head',
        {
          name: 'acme.infra',
          parent: { id: team.id, seqno: team.links.length + 1, seq_type: 3 },
          members: { admin: [uv(carol)] },
        },
        { seed: sub.seeds[0]!, generation: 1 },
      );
      const made = await post(dev(alice), '/api/v1/teams', {
        links: [head.link],
        perTeamKey: boxPost(backend, dev(alice), sub.seeds[0]!, 1, [carol]),
        parentLinks: [announce.link],
      });
      expect(made.status, await made.clone().text()).toBe(201);
      team.links.push(announce);
      // An admin is not an owner, nor is a subteam admin (who may read the parent).
      await expectError(del(dev(bob), teamPath('acme')), 403, 'FORBIDDEN');
      await expectError(del(dev(carol), teamPath('acme')), 403, 'FORBIDDEN');
      await expectError(del(dev(alice), teamPath('acme')), 409, 'TEAM_HAS_SUBTEAMS');
      // The parent's owner deletes the subteam (an implicit admin), then the team.
      const subGone = await del(dev(alice), teamPath('acme.infra'));
      expect(subGone.status, await subGone.clone().text()).toBe(200);
      const gone = await del(dev(alice), teamPath('acme'));
      expect(gone.status, await gone.clone().text()).toBe(200);
      expect(await gone.json()).toEqual({ teamId: team.id, name: 'acme', kvEntriesDeleted: 1 });
      await expectError(get(dev(alice), teamChainPath('acme')), 404, 'TEAM_NOT_FOUND');
      await expectError(get(dev(bob), teamKeyBoxesPath(team.id)), 404, 'TEAM_NOT_FOUND');
      await expectError(del(dev(alice), teamPath('acme')), 404, 'TEAM_NOT_FOUND');
      expect(await storage.kv.get(team.id, 'ns', 'k')).toBeNull();
      const list = teamListResponseSchema.parse(
        await (await get(dev(bob), '/api/v1/teams')).json(),
      );
      expect(list.teams).toEqual([]);
      // The name is never registered again: a new "acme" would share the old team's ID.
      await expectError(
        post(dev(carol), '/api/v1/teams', rootTeam(backend, 'acme', carol).request),
        409,
        'TEAM_NAME_TAKEN',
      );
    });

    it('creates subteams with the parent announcement; subteam members may read the parent', async () => {
      const team = await acme();
      const subId = generateSubteamId(backend);
      const announce = teamLink(backend, team, alice, dev(alice), 'team.new_subteam', {
        subteam: { id: subId, name: 'acme.infra' },
      });
      const sub: TestTeam = {
        id: subId,
        name: 'acme.infra',
        links: [],
        seeds: [backend.randomBytes(32)],
      };
      const head = teamLink(
        backend,
        sub,
        alice,
        dev(alice),
        'team.subteam_head',
        {
          name: 'acme.infra',
          parent: { id: team.id, seqno: 2, seq_type: 3 },
          members: { admin: [uv(alice)], writer: [uv(carol)] },
        },
        { seed: sub.seeds[0]!, generation: 1 },
      );
      const perTeamKey = boxPost(backend, dev(alice), sub.seeds[0]!, 1, [alice, carol]);
      // Without the parent's announcement: refused; bob (not a parent admin) cannot create it.
      await expectError(
        post(dev(alice), '/api/v1/teams', { links: [head.link], perTeamKey }),
        400,
        'VALIDATION_FAILED',
      );
      const res = await post(dev(alice), '/api/v1/teams', {
        links: [head.link],
        perTeamKey,
        parentLinks: [announce.link],
      });
      expect(res.status, await res.clone().text()).toBe(201);
      expect((await storage.teams.getTeam(team.id))?.tailSeqno).toBe(2);
      // Carol is in the subteam only: she reads both chains, lists only the subteam.
      expect((await get(dev(carol), teamChainPath('acme.infra'))).status).toBe(200);
      expect((await get(dev(carol), teamChainPath('acme'))).status).toBe(200);
      await expectError(get(dev(carol), teamKeyBoxesPath('acme')), 404, 'TEAM_NOT_FOUND');
      const list = teamListResponseSchema.parse(
        await (await get(dev(carol), '/api/v1/teams')).json(),
      );
      expect(list.teams.map((t) => [t.name, t.parentId, t.role])).toEqual([
        ['acme.infra', team.id, 'writer'],
      ]);
      await expectError(get(dev(bob), teamChainPath('acme.infra')), 404, 'TEAM_NOT_FOUND');
    });

    it('creates implicit teams named by exactly their members, unlisted by default', async () => {
      const members = { owner: [uv(alice), uv(bob)] };
      // Not canonical (unsorted), members not the named users, creator not named: refused.
      await expectError(
        post(
          dev(bob),
          '/api/v1/teams',
          rootTeam(backend, 'bob,alice', bob, members, { implicit: true, recipients: [alice, bob] })
            .request,
        ),
        400,
        'VALIDATION_FAILED',
      );
      await expectError(
        post(
          dev(bob),
          '/api/v1/teams',
          rootTeam(
            backend,
            'alice,bob',
            bob,
            { owner: [uv(alice), uv(bob), uv(carol)] },
            {
              implicit: true,
              recipients: [alice, bob, carol],
            },
          ).request,
        ),
        400,
        'VALIDATION_FAILED',
      );
      await expectError(
        post(
          dev(carol),
          '/api/v1/teams',
          rootTeam(backend, 'alice,bob', carol, members, {
            implicit: true,
            recipients: [alice, bob],
          }).request,
        ),
        403,
        'FORBIDDEN',
      );
      const { team, request } = rootTeam(backend, 'alice,bob', bob, members, {
        implicit: true,
        recipients: [alice, bob],
      });
      const res = await post(dev(bob), '/api/v1/teams', request);
      expect(res.status, await res.clone().text()).toBe(201);
      expect((await get(dev(alice), teamChainPath('alice,bob'))).status).toBe(200);
      const plain = teamListResponseSchema.parse(
        await (await get(dev(alice), '/api/v1/teams')).json(),
      );
      expect(plain.teams).toEqual([]);
      const all = teamListResponseSchema.parse(
        await (await get(dev(alice), '/api/v1/teams?implicit=true')).json(),
      );
      expect(all.teams.map((t) => [t.name, t.implicit, t.role])).toEqual([
        ['alice,bob', true, 'owner'],
      ]);
      // Members are fixed: a membership change is refused.
      const change = teamLink(backend, team, bob, dev(bob), 'team.change_membership', {
        members: { reader: [uv(carol)] },
      });
      await expectError(
        post(dev(bob), teamChainPath(team.id), {
          links: [change.link],
          perTeamKey: boxPost(backend, dev(bob), team.seeds[0]!, 1, [carol]),
        }),
        400,
        'CHAIN_INVALID',
      );
    });
  });
}
