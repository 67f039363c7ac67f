/**
 * Team operations end to end: real keystores (one per user), a real server on SQLite over a
 * real socket, every link built and signed through the keystore, every team verified by
 * `TeamLoader` before use, and Saltpack messages to `team:acme` decrypted with the keystore
 * keyring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, defaultBackend, encrypt } from '@saltbox/saltpack';
import { bytesEqual, utf8 } from '@saltbox/saltpack/encoding';
import { keystoreKeyring } from '@saltbox/keystore';
import { rootTeamId } from '@saltbox/identity';
import { isClientError } from '../src/index.js';
import type { ClientErrorCode } from '../src/index.js';
import { startTestServer } from './helpers.js';
import { keystoreUser } from './team-helpers.js';
import type { KeystoreUser } from './team-helpers.js';

const backend = await defaultBackend();

async function expectCode(p: Promise<unknown>, code: ClientErrorCode): Promise<void> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isClientError(e) ? e.code : e).toBe(code);
}

async function heldGenerations(k: KeystoreUser, teamId: string): Promise<number[]> {
  const b = await k.ks.getPublicKeyBundle();
  return b.teams
    .filter((t) => t.teamId === teamId)
    .map((t) => t.generation)
    .sort((a, b) => a - b);
}

describe('team operations through the keystore against a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: KeystoreUser;
  let bob: KeystoreUser;
  let carol: KeystoreUser;

  beforeAll(async () => {
    srv = await startTestServer();
    alice = await keystoreUser(backend, srv.server.url, 'alice');
    bob = await keystoreUser(backend, srv.server.url, 'bob');
    carol = await keystoreUser(backend, srv.server.url, 'carol');
  });
  afterAll(() => srv.close());

  it('creates a team whose verified chain names the caller owner and generation 1', async () => {
    const team = await alice.manager.createTeam('Acme');
    expect(team.id).toBe(rootTeamId(backend, 'acme'));
    expect(team.name).toBe('acme');
    expect(team.members).toEqual([{ uid: alice.user.uid, username: 'alice', role: 'owner' }]);
    expect(team.perTeamKeys.map((k) => k.generation)).toEqual([1]);
    expect(await heldGenerations(alice, team.id)).toEqual([1]);
    const bundle = await alice.ks.getPublicKeyBundle();
    expect(bundle.teams.find((t) => t.teamId === team.id)?.encryptionKid).toBe(
      team.perTeamKeys[0]!.encryptionKid,
    );
    await expectCode(alice.manager.createTeam('acme'), 'CLIENT_INVALID_ARGUMENT');
    // A malformed name says what a name may be (walkthrough: 'acme.a' only said "not valid").
    const rule = 'each part between dots is 2–16 of a-z, 0-9 and _ (no leading or double _)';
    await expect(alice.manager.createTeam('Bad Name')).rejects.toMatchObject({
      code: 'CLIENT_INVALID_ARGUMENT',
      message: `not a valid team name: ${rule}`,
    });
    await expect(alice.manager.createSubteam('acme', 'a')).rejects.toMatchObject({
      code: 'CLIENT_INVALID_ARGUMENT',
      message: `not a valid subteam name: ${rule}`,
    });
    await expectCode(bob.teams.load('acme'), 'CLIENT_TEAM_NOT_FOUND');
    // Bob cannot see acme; his attempt is refused by the server and the seed it left in his
    // keystore is replaced by the chain's once he is added (next test).
    await expectCode(bob.manager.createTeam('acme'), 'CLIENT_HTTP');
    expect(await heldGenerations(alice, team.id)).toEqual([1]);
  });

  it('adds members who open the current generation and decrypt messages to team:acme', async () => {
    const team = await alice.manager.addMember('acme', 'bob', 'writer');
    expect(team.members.map((m) => [m.username, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'writer'],
    ]);
    const bobView = await bob.teams.load('acme');
    expect(bobView.tail).toEqual(team.tail);
    expect(await bob.manager.openTeamKeys(bobView)).toEqual([1]);
    const bobHeld = (await bob.ks.getPublicKeyBundle()).teams.filter((t) => t.teamId === team.id);
    expect(bobHeld.map((t) => t.encryptionKid)).toEqual([team.perTeamKeys[0]!.encryptionKid]);
    // A writer cannot change membership: refused locally from the verified chain.
    await expectCode(bob.manager.addMember('acme', 'carol', 'reader'), 'CLIENT_TEAM_PERMISSION');
    const r = await alice.manager.recipient('acme');
    expect(r.generation).toBe(1);
    const ct = await encrypt(utf8('to the team'), { recipients: [r.publicKey] });
    const { plaintext } = await decrypt(ct, { keyring: await keystoreKeyring(bob.ks) });
    expect(new TextDecoder().decode(plaintext)).toBe('to the team');
  });

  it('rotates on removal: the removed member gets no new generation, the others every one', async () => {
    await alice.manager.addMember('acme', 'carol', 'reader');
    const gen1Message = await encrypt(utf8('old'), {
      recipients: [(await alice.manager.recipient('acme')).publicKey],
    });
    const team = await alice.manager.removeMember('acme', 'bob');
    expect(team.members.map((m) => m.username)).toEqual(['alice', 'carol']);
    expect(team.perTeamKeys.map((k) => k.generation)).toEqual([1, 2]);
    expect(await heldGenerations(alice, team.id)).toEqual([1, 2]);
    // Carol (added at generation 1) opens 2 and keeps 1; both messages decrypt for her.
    const carolView = await carol.teams.load('acme');
    expect(await carol.manager.openTeamKeys(carolView)).toEqual([1, 2]);
    const r = await alice.manager.recipient('acme');
    expect(r.generation).toBe(2);
    const gen2Message = await encrypt(utf8('new'), { recipients: [r.publicKey] });
    const carolRing = await keystoreKeyring(carol.ks);
    expect(
      new TextDecoder().decode((await decrypt(gen1Message, { keyring: carolRing })).plaintext),
    ).toBe('old');
    expect(
      new TextDecoder().decode((await decrypt(gen2Message, { keyring: carolRing })).plaintext),
    ).toBe('new');
    // Bob no longer sees the team and holds only generation 1: the new message is not his.
    await expectCode(bob.teams.load('acme', { refresh: true }), 'CLIENT_TEAM_NOT_FOUND');
    expect(await heldGenerations(bob, team.id)).toEqual([1]);
    await expect(
      decrypt(gen2Message, { keyring: await keystoreKeyring(bob.ks) }),
    ).rejects.toThrow();
  });

  it('changes roles and rotates on request', async () => {
    const team = await alice.manager.changeRole('acme', 'carol', 'admin');
    expect(team.members.find((m) => m.username === 'carol')?.role).toBe('admin');
    expect(team.perTeamKeys).toHaveLength(2);
    // Carol, now an admin, adds bob back; bob gets the current generation (2) and its prevs.
    await carol.manager.addMember('acme', 'bob', 'reader');
    const bobView = await bob.teams.load('acme', { refresh: true });
    expect(await bob.manager.openTeamKeys(bobView)).toEqual([1, 2]);
    const rotated = await carol.manager.rotate('acme');
    expect(rotated.perTeamKeys.map((k) => k.generation)).toEqual([1, 2, 3]);
    expect(await bob.manager.openTeamKeys(await bob.teams.load('acme', { refresh: true }))).toEqual(
      [1, 2, 3],
    );
    const held = await bob.ks.getPublicKeyBundle();
    const g3 = held.teams.find((t) => t.teamId === rotated.id && t.generation === 3);
    expect(g3?.encryptionKid).toBe(rotated.perTeamKeys[2]!.encryptionKid);
  });

  it('creates subteams that a member of the subteam only can load and use', async () => {
    const sub = await alice.manager.createSubteam('acme', 'Infra');
    expect(sub.name).toBe('acme.infra');
    expect(sub.parentId).toBe(rootTeamId(backend, 'acme'));
    const parent = await alice.teams.load('acme');
    expect(parent.subteams).toEqual([{ id: sub.id, name: 'acme.infra' }]);
    // Dave is in acme.infra only: his client resolves the name through the parent's
    // announcement and verifies the subteam against the parent chain.
    const dave = await keystoreUser(backend, srv.server.url, 'dave');
    await alice.manager.addMember('acme.infra', 'dave', 'writer');
    const daveView = await dave.teams.load('acme.infra');
    expect(daveView.id).toBe(sub.id);
    expect(await dave.manager.openTeamKeys(daveView)).toEqual([1]);
    const mine = await dave.manager.listMyTeams();
    expect(mine.map((t) => [t.name, t.role])).toEqual([['acme.infra', 'writer']]);
  });

  it('creates an implicit team on first use, finds it afterwards, and keeps it out of lists', async () => {
    const t = await bob.manager.loadOrCreateImplicitTeam(['Carol', 'bob', 'bob']);
    expect(t.name).toBe('bob,carol');
    expect(t.implicit).toBe(true);
    expect(t.id).toBe(rootTeamId(backend, 'bob,carol'));
    expect(t.members.map((m) => [m.username, m.role])).toEqual([
      ['bob', 'owner'],
      ['carol', 'owner'],
    ]);
    const again = await carol.manager.loadOrCreateImplicitTeam('carol,bob');
    expect(again.id).toBe(t.id);
    expect(await carol.manager.openTeamKeys(again)).toEqual([1]);
    // Alice is not named: she can neither create it nor see it.
    await expectCode(
      alice.manager.loadOrCreateImplicitTeam('bob,carol'),
      'CLIENT_INVALID_ARGUMENT',
    );
    const plain = await carol.manager.listMyTeams();
    expect(plain.map((x) => x.name)).toEqual(['acme']);
    const all = await carol.manager.listMyTeams({ includeImplicit: true });
    expect(all.map((x) => [x.name, x.implicit])).toEqual([
      ['acme', false],
      ['bob,carol', true],
    ]);
    // Its members are fixed.
    await expectCode(
      bob.manager.addMember('bob,carol', 'alice', 'reader'),
      'CLIENT_INVALID_ARGUMENT',
    );
    const r = await bob.manager.recipient('bob,carol');
    const ct = await encrypt(utf8('just us'), { recipients: [r.publicKey] });
    const out = await decrypt(ct, { keyring: await keystoreKeyring(carol.ks) });
    expect(bytesEqual(out.plaintext, utf8('just us'))).toBe(true);
  });
});
