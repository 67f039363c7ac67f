/**
 * Teams end to end through the built CLI against a real `saltbox server` process: create,
 * add, show, list, encrypt to `team:acme` and decrypt as members, a non-member refused, a
 * removal that rotates the key so the removed member cannot read what follows, roles, rotate,
 * subteams.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountHomes, errorCode, json, ok, runAs as sb, useAccountServer } from './helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

describe('saltbox teams end to end', { timeout: 600_000 }, () => {
  const alice = newHome();
  const bob = newHome();
  const carol = newHome();

  it('members encrypt to team:acme and decrypt; removal rotates the key', async () => {
    for (const [home, name] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const)
      ok(await sb(home, ['signup', name, '--server', url, '--device-name', `${name}-pc`]));

    ok(await sb(alice, ['team', 'create', 'acme']));
    ok(await sb(alice, ['team', 'add', 'acme', 'bob']));
    const shown = json(await sb(bob, ['team', 'show', 'acme', '--json']));
    expect(shown).toMatchObject({ name: 'acme', generation: 1 });
    expect(shown.members).toEqual(
      expect.arrayContaining([
        { username: 'alice', role: 'owner' },
        { username: 'bob', role: 'writer' },
      ]),
    );
    const listed = json(await sb(bob, ['team', 'list', '--json']));
    expect(listed.teams).toEqual([expect.objectContaining({ name: 'acme', role: 'writer' })]);

    const msg = join(bob.dir, 'm1.txt');
    writeFileSync(msg, 'for acme\n');
    const ct1 = join(bob.dir, 'm1.saltpack');
    ok(await sb(bob, ['encrypt', '-r', 'team:acme', '-a', '-i', msg, '-o', ct1]));
    expect(ok(await sb(alice, ['decrypt', '-i', ct1])).out).toBe('for acme\n');
    expect(ok(await sb(bob, ['decrypt', '-i', ct1])).out).toBe('for acme\n');
    expect(errorCode(await sb(carol, ['decrypt', '-i', ct1, '--json']))).toBe(
      'SALTPACK_NO_DECRYPTION_KEY',
    );

    const removed = json(await sb(alice, ['team', 'remove', 'acme', 'bob', '--json']));
    expect(removed).toMatchObject({ generation: 2 });
    const msg2 = join(alice.dir, 'm2.txt');
    writeFileSync(msg2, 'after bob left\n');
    const ct2 = join(alice.dir, 'm2.saltpack');
    ok(await sb(alice, ['encrypt', '-r', 'team:acme', '-a', '-i', msg2, '-o', ct2]));
    expect(ok(await sb(alice, ['decrypt', '-i', ct2])).out).toBe('after bob left\n');
    expect(errorCode(await sb(bob, ['decrypt', '-i', ct2, '--json']))).toBe(
      'SALTPACK_NO_DECRYPTION_KEY',
    );
    // Bob still reads what he could read before.
    expect(ok(await sb(bob, ['decrypt', '-i', ct1])).out).toBe('for acme\n');
  });

  it('roles, permissions, rotate and subteams', async () => {
    ok(await sb(alice, ['team', 'add', 'acme', 'carol', '--role', 'reader']));
    const denied = await sb(carol, ['team', 'add', 'acme', 'bob', '--json']);
    expect(denied.code).not.toBe(0);
    expect(errorCode(denied)).toBe('CLIENT_TEAM_PERMISSION');
    ok(await sb(alice, ['team', 'role', 'acme', 'carol', 'admin']));
    const shown = json(await sb(alice, ['team', 'show', 'acme', '--json']));
    expect(shown.members).toEqual(expect.arrayContaining([{ username: 'carol', role: 'admin' }]));
    const rotated = json(await sb(carol, ['team', 'rotate', 'acme', '--json']));
    expect(rotated).toMatchObject({ generation: 3 });
    ok(await sb(alice, ['team', 'create', 'acme.infra']));
    const sub = json(await sb(alice, ['team', 'show', 'acme.infra', '--json']));
    expect(sub).toMatchObject({ name: 'acme.infra', generation: 1 });
    const bad = await sb(alice, ['team', 'add', 'acme', 'carol', '--role', 'boss', '--json']);
    expect(errorCode(bad)).toBe('CLI_USAGE');
  });
});

describe('leaving and deleting teams (#12.6)', { timeout: 600_000 }, () => {
  const frank = newHome();
  const dave = newHome();
  const erin = newHome();

  it('the last owner cannot remove, demote or leave; others leave; the next change rotates', async () => {
    for (const [home, name] of [
      [frank, 'frank'],
      [dave, 'dave'],
      [erin, 'erin'],
    ] as const)
      ok(await sb(home, ['signup', name, '--server', url, '--device-name', `${name}-pc`]));
    ok(await sb(frank, ['team', 'create', 'tt']));
    ok(await sb(frank, ['team', 'add', 'tt', 'dave', '--role', 'admin']));
    const self = await sb(frank, ['team', 'remove', 'tt', 'frank']);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('no owner left');
    expect(self.stderr).toContain("hint: make another member owner first ('saltbox team role");
    for (const args of [
      ['team', 'remove', 'tt', 'frank', '--json'],
      ['team', 'role', 'tt', 'frank', 'admin', '--json'],
      ['team', 'leave', 'tt', '--json'],
    ])
      expect(errorCode(await sb(frank, args))).toBe('CLIENT_TEAM_LAST_OWNER');
    const still = json(await sb(dave, ['team', 'show', 'tt', '--json']));
    expect(still.members).toEqual(expect.arrayContaining([{ username: 'frank', role: 'owner' }]));
    // Dave leaves: no new key yet; frank's next change (adding erin) rotates.
    expect(json(await sb(dave, ['team', 'leave', 'tt', '--json']))).toMatchObject({
      name: 'tt',
      left: true,
    });
    expect(errorCode(await sb(dave, ['team', 'show', 'tt', '--json']))).toBe(
      'CLIENT_TEAM_NOT_FOUND',
    );
    const after = json(await sb(frank, ['team', 'show', 'tt', '--json']));
    expect(after).toMatchObject({ generation: 1, members: [{ username: 'frank', role: 'owner' }] });
    const added = json(await sb(frank, ['team', 'add', 'tt', 'erin', '--json']));
    expect(added).toMatchObject({ generation: 2 });
    // The last member cannot leave; the hint names team delete.
    ok(await sb(erin, ['team', 'create', 'solo']));
    const alone = await sb(erin, ['team', 'leave', 'solo']);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain("hint: to get rid of the team, delete it ('saltbox team delete");
  });

  it('team delete: owners only, subteams first, --yes, the name stays reserved', async () => {
    ok(await sb(frank, ['team', 'create', 'tt.sub']));
    ok(await sb(frank, ['kv', 'put', '--team', 'tt', 'ns', 'k', 'v']));
    expect(errorCode(await sb(frank, ['team', 'delete', 'tt', '--json']))).toBe('CLI_USAGE');
    expect(errorCode(await sb(erin, ['team', 'delete', 'tt', '--yes', '--json']))).toBe(
      'CLIENT_TEAM_PERMISSION',
    );
    const withSub = await sb(frank, ['team', 'delete', 'tt', '--yes']);
    expect(withSub.code).toBe(1);
    expect(withSub.stderr).toContain('TEAM_HAS_SUBTEAMS');
    expect(withSub.stderr).toContain('hint: delete the subteams first');
    ok(await sb(frank, ['team', 'delete', 'tt.sub', '--yes']));
    const gone = json(await sb(frank, ['team', 'delete', 'tt', '--yes', '--json']));
    expect(gone).toMatchObject({ name: 'tt', deleted: true, kvEntriesDeleted: 1 });
    const kvGone = await sb(erin, ['kv', 'get', '--team', 'tt', 'ns', 'k']);
    expect(kvGone.code).toBe(1);
    expect(kvGone.stderr).toContain('does not exist');
    expect(errorCode(await sb(erin, ['team', 'show', 'tt', '--json']))).toBe(
      'CLIENT_TEAM_NOT_FOUND',
    );
    const again = await sb(erin, ['team', 'create', 'tt']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('names of deleted teams are not reused');
  });
});

describe('verify_proofs=true with a team recipient (#12.7)', { timeout: 600_000 }, () => {
  const gina = newHome();

  it('follow team:NAME pins the team ID the provider checks', async () => {
    ok(await sb(gina, ['signup', 'gina', '--server', url, '--device-name', 'gina-pc']));
    ok(await sb(gina, ['team', 'create', 'proofs']));
    ok(await sb(gina, ['agent', 'start']));
    try {
      ok(await sb(gina, ['unlock']));
      const plain = join(gina.dir, 'p.txt');
      writeFileSync(plain, 'data key\n');
      const ct = join(gina.dir, 'p.saltpack');
      ok(await sb(gina, ['encrypt', '-r', 'gina', '-i', plain, '-o', ct]));
      const url = 'keybase://team:proofs?verify_proofs=true';
      const rewrap = ['rewrap', '--to', url, '-i', ct, '-o', join(gina.dir, 'out')];
      const before = await sb(gina, rewrap);
      expect(before.code).not.toBe(0);
      expect(before.stderr).toContain("run 'saltbox follow team:proofs'");
      const followed = json(await sb(gina, ['follow', 'team:proofs', '--json']));
      const shown = json(await sb(gina, ['team', 'show', 'proofs', '--json']));
      expect(followed).toMatchObject({ team: 'proofs', teamId: shown.teamId });
      ok(await sb(gina, rewrap));
      // A team the caller cannot see is not followed.
      const missing = await sb(gina, ['follow', 'team:nosuchteam', '--json']);
      expect(errorCode(missing)).toBe('CLIENT_TEAM_NOT_FOUND');
    } finally {
      await sb(gina, ['agent', 'stop']);
    }
  });
});

describe('kv values of a member removed or gone since', { timeout: 600_000 }, () => {
  const hank = newHome();
  const ivy = newHome();

  it('kv get reads what a removed member and a member who left wrote', async () => {
    ok(await sb(hank, ['signup', 'hank', '--server', url, '--device-name', 'hank-pc']));
    ok(await sb(ivy, ['signup', 'ivy', '--server', url, '--device-name', 'ivy-pc']));
    for (const team of ['kvgone', 'kvleft']) {
      ok(await sb(hank, ['team', 'create', team]));
      ok(await sb(hank, ['team', 'add', team, 'ivy']));
      ok(await sb(ivy, ['kv', 'put', '--team', team, 'ns', 'k', `ivy wrote to ${team}`]));
    }
    // A removal rotates the key; the value ivy wrote under the old one still reads, in a
    // new process whose writer check knows ivy only from the team's chain.
    expect(json(await sb(hank, ['team', 'remove', 'kvgone', 'ivy', '--json']))).toMatchObject({
      generation: 2,
    });
    expect(ok(await sb(hank, ['kv', 'get', '--team', 'kvgone', 'ns', 'k'])).out).toContain(
      'ivy wrote to kvgone',
    );
    ok(await sb(ivy, ['team', 'leave', 'kvleft']));
    expect(ok(await sb(hank, ['kv', 'get', '--team', 'kvleft', 'ns', 'k'])).out).toContain(
      'ivy wrote to kvleft',
    );
  });
});
