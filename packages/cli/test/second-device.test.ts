/**
 * One user on two machines, end to end through the built CLI against a real `saltbox server`
 * process (SQLite): what one machine does with a device it added must be readable on the
 * other at once, and the Saltpack commands of a home with several devices act as the device
 * its config names. Both were found by the walkthrough of the merged main.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountHomes, json, ok, runAs as sb, useAccountServer } from './helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

describe('one user, two machines', { timeout: 600_000 }, () => {
  const laptop = newHome();
  const desk = newHome();

  it('a device added on one machine is trusted on the other at once (its cached chain predates it)', async () => {
    const signed = json(await sb(laptop, ['signup', 'ruth', '--server', url, '--json']));
    const phrase = (signed.paperKey as { phrase: string }).phrase;
    ok(await sb(laptop, ['kv', 'put', 'ns', 'k', 'v1']));
    ok(await sb(desk, ['login', 'ruth', '--server', url], { SALTBOX_PAPERKEY: phrase }));
    // The desk verifies and caches ruth's chain (one hour) while reading.
    expect(ok(await sb(desk, ['kv', 'get', 'ns', 'k'])).out).toBe('v1');

    // The laptop adds a device; the new device creates a team and writes.
    ok(await sb(laptop, ['device', 'add', '--name', 'laptop-2']));
    ok(await sb(laptop, ['team', 'create', 'ruthteam']));
    ok(await sb(laptop, ['kv', 'put', 'ns', 'k', 'v2']));
    ok(await sb(laptop, ['kv', 'put', '--team', 'ruthteam', 'ns', 'k', 't1']));

    // Before the fix: "the writer's device is not in the writer's verified chain" and "the
    // chain of team ruthteam does not verify … check --server", for as long as the cache lived.
    expect(ok(await sb(desk, ['kv', 'get', 'ns', 'k'])).out).toBe('v2');
    const team = json(await sb(desk, ['team', 'show', 'ruthteam', '--json']));
    expect(team.members).toEqual([{ username: 'ruth', role: 'owner' }]);
    expect(ok(await sb(desk, ['kv', 'get', '--team', 'ruthteam', 'ns', 'k'])).out).toBe('t1');
  });

  it('keygen --keystore reports the device the config names, not the first one in the keystore', async () => {
    // The laptop's keystore now holds its sign-up device and laptop-2; config.json names laptop-2.
    const config = JSON.parse(readFileSync(join(laptop.dir, 'config.json'), 'utf8')) as {
      device: { name: string; signingKid: string };
    };
    expect(config.device.name).toBe('laptop-2');
    const keys = json(await sb(laptop, ['keygen', '--keystore', '--json']));
    expect(keys).toMatchObject({
      created: false,
      deviceName: 'laptop-2',
      signingKid: config.device.signingKid,
    });
  });
});
