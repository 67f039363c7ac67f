/**
 * Teams end to end through the built CLI against a real `saltbox server` process: create,
 * add, show, list, encrypt to `team:acme` and decrypt as members, a non-member refused, a
 * removal that rotates the key so the removed member cannot read what follows, roles, rotate,
 * subteams.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountHomes,
  ensureBuilt,
  errorCode,
  json,
  ok,
  runAs as sb,
  startAccountServer,
} from './helpers.js';

let stopServer = (): Promise<void> => Promise.resolve();
let url = '';
const { newHome, cleanup } = accountHomes();

beforeAll(async () => {
  await ensureBuilt();
  const started = await startAccountServer();
  url = started.url;
  stopServer = started.stop;
}, 120_000);

afterAll(async () => {
  await stopServer();
  cleanup();
});

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
