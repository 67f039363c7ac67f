/**
 * `saltbox device revoke` rotates team keys (spec keybase-identity §6.4 "Rotation triggers
 * (CLKR)"), through the built CLI against a real `saltbox server` process (SQLite): alice owns
 * `acme` (bob a writer) and has her self-team; in bob's `rteam` she is a reader. A copy of her
 * home is kept before she adds a2 (the stolen laptop a1). Revoking a1 rotates acme and the
 * self-team and lists rteam with a hint; encrypting to rteam warns; bob's next `kv put` rotates
 * rteam. The stolen home is refused; a2, bob and a paper-key login read old and new values.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountHomes, errorCode, json, ok, runAs as sb, useAccountServer } from './helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

const generation = async (home: Parameters<typeof sb>[0], team: string): Promise<unknown> =>
  json(await sb(home, ['team', 'show', team, '--json'])).generation;

describe('device revoke rotates team keys', { timeout: 600_000 }, () => {
  const alice = newHome();
  const bob = newHome();
  const stolen = newHome();
  const paper = newHome();

  it('rotates what alice may, lists what she may not with a hint; the owner’s next write rotates the rest; the revoked home reads nothing new', async () => {
    const signed = json(
      await sb(alice, ['signup', 'alice', '--server', url, '--device-name', 'a1', '--json']),
    );
    const phrase = (signed.paperKey as { phrase: string }).phrase;
    ok(await sb(bob, ['signup', 'bob', '--server', url, '--device-name', 'b1']));
    ok(await sb(bob, ['team', 'create', 'rteam']));
    ok(await sb(bob, ['team', 'add', 'rteam', 'alice', '--role', 'reader']));
    ok(await sb(bob, ['kv', 'put', '--team', 'rteam', 'ns', 'old', 'rteam before']));
    ok(await sb(alice, ['team', 'create', 'acme']));
    ok(await sb(alice, ['team', 'add', 'acme', 'bob', '--role', 'writer']));
    ok(await sb(alice, ['kv', 'put', '--team', 'acme', 'ns', 'old', 'acme before']));
    ok(await sb(alice, ['kv', 'put', 'ns', 'old', 'self before']));
    expect(ok(await sb(alice, ['kv', 'get', '--team', 'rteam', 'ns', 'old'])).out).toBe(
      'rteam before',
    );
    // The laptop a1 as it is now: its keystore holds every team key it opened.
    cpSync(alice.dir, stolen.dir, { recursive: true });

    ok(await sb(alice, ['device', 'add', '--name', 'a2']));
    const revoked = ok(await sb(alice, ['device', 'revoke', 'a1']));
    expect(revoked.stderr).toContain('saltbox: rotated the team keys of acme, alice\n');
    expect(revoked.stderr).toContain(
      'saltbox: warning: the revoked device can still read new data of rteam (reader) until the team key rotates\n',
    );
    expect(revoked.stderr).toContain("saltbox: hint: a writer's or admin's next write rotates it");
    expect([await generation(alice, 'acme'), await generation(alice, 'rteam')]).toEqual([2, 1]);

    // A reader encrypting to rteam is warned; the message still goes out.
    const msg = join(alice.dir, 'msg.txt');
    writeFileSync(msg, 'to rteam');
    const enc = ok(
      await sb(alice, ['encrypt', '-r', 'team:rteam', '-i', msg, '-o', join(alice.dir, 'm.sp')]),
    );
    expect(enc.stderr).toContain(
      'saltbox: warning: team rteam awaits a key rotation (alice revoked a device since its key was made)',
    );
    // The owner's next write rotates rteam first.
    ok(await sb(bob, ['kv', 'put', '--team', 'rteam', 'ns', 'new', 'rteam after']));
    expect(await generation(bob, 'rteam')).toBe(2);
    ok(await sb(alice, ['kv', 'put', '--team', 'acme', 'ns', 'new', 'acme after']));
    ok(await sb(alice, ['kv', 'put', 'ns', 'new', 'self after']));
    expect(await generation(alice, 'acme')).toBe(2);

    // The stolen home is refused by the server.
    const denied = await sb(stolen, ['kv', 'get', '--team', 'acme', 'ns', 'new', '--json']);
    expect(denied.code).not.toBe(0);
    // `kv` reports in the kvstore api's terms: CLI_KV, the client's message inside.
    expect(errorCode(denied)).toBe('CLI_KV');
    expect(denied.stderr).toContain('revoked');

    const reads = async (home: typeof alice, teams: (string | null)[]) => {
      for (const team of teams) {
        const t = team === null ? [] : ['--team', team];
        const got = [
          ok(await sb(home, ['kv', 'get', ...t, 'ns', 'old'])).out,
          ok(await sb(home, ['kv', 'get', ...t, 'ns', 'new'])).out,
        ];
        const name = team ?? 'self';
        expect([name, ...got]).toEqual([name, `${name} before`, `${name} after`]);
      }
    };
    await reads(alice, ['acme', 'rteam', null]);
    await reads(bob, ['acme', 'rteam']);
    ok(await sb(paper, ['login', 'alice', '--server', url], { SALTBOX_PAPERKEY: phrase }));
    await reads(paper, ['acme', 'rteam', null]);
  });
});
