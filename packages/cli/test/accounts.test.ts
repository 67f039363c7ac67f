/**
 * Accounts end to end through the built CLI against a real `saltbox server` process (SQLite):
 * three users sign up in their own homes and encrypt to each other by name; a paper-key login
 * on a fresh home, a device added there, and a revocation after which a new message cannot be
 * read by the revoked device while older ones still decrypt. Keystores are in-process
 * (`SALTBOX_PASSPHRASE`), so every command runs non-interactively, as on CI.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT_PASSPHRASE as PASS,
  accountHomes,
  ensureBuilt,
  errorCode,
  json,
  ok,
  runAs,
  startAccountServer,
} from './helpers.js';
import type { AccountHome as Home } from './helpers.js';
import { keystoreHome } from './keystore-helpers.js';

let stopServer = (): Promise<void> => Promise.resolve();
let url = '';
const { newHome, cleanup } = accountHomes();

/** Every output of the suite, to check that no secret was printed where it should not be. */
const outputs: { args: string; stdout: string; stderr: string }[] = [];
async function sb(home: Home, args: string[], extra: NodeJS.ProcessEnv = {}, input?: string) {
  const r = await runAs(home, args, extra, input);
  outputs.push({ args: args.join(' '), stdout: r.out, stderr: r.stderr });
  return r;
}

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

describe('saltbox accounts end to end', { timeout: 600_000 }, () => {
  const alice = newHome();
  const bob = newHome();
  const carol = newHome();
  const alice2 = newHome();
  const paper: Record<string, string> = {};

  it('three users sign up; the paper key is printed once', async () => {
    for (const [home, name] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      const r = json(
        await sb(home, [
          'signup',
          name,
          '--server',
          url,
          '--device-name',
          `${name}-laptop`,
          '--json',
        ]),
      );
      expect(r.username).toBe(name);
      const pk = r.paperKey as { phrase: string; name: string };
      expect(pk.phrase.split(' ')).toHaveLength(13);
      paper[name] = pk.phrase;
      const config = JSON.parse(readFileSync(join(home.dir, 'config.json'), 'utf8')) as {
        server: string;
        username: string;
      };
      expect(config).toMatchObject({ server: url, username: name });
      expect(statSync(join(home.dir, 'config.json')).mode & 0o777).toBe(0o600);
      // Four words in a row (one word alone may be a JSON word such as "type").
      expect(JSON.stringify(config)).not.toContain(pk.phrase.split(' ').slice(2, 6).join(' '));
    }
    // Human output: the phrase on stdout, the warning on stderr.
    const dave = newHome();
    const r = ok(await sb(dave, ['signup', 'dave', '--server', url]));
    expect(r.out.trim().split(' ')).toHaveLength(13);
    expect(r.stderr).toContain('shown only this once');
    // The same name again is refused with the server's code and a hint.
    const again = await sb(newHome(), ['signup', 'dave', '--server', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('USERNAME_TAKEN');
    expect(again.stderr).toContain('hint: choose another username');
    // A second sign-up in a home that already has an account.
    const twice = await sb(dave, ['signup', 'dave2', '--server', url, '--json']);
    expect(errorCode(twice)).toBe('CLI_ALREADY_LOGGED_IN');
  });

  it('whoami, status, id and follow', async () => {
    expect(json(await sb(alice, ['whoami', '--json']))).toMatchObject({
      username: 'alice',
      server: url,
      device: { name: 'alice-laptop', type: 'desktop' },
    });
    const status = json(await sb(alice, ['status', '--json']));
    expect(status).toMatchObject({
      server: { url, reachable: true },
      account: { username: 'alice' },
      keystore: { via: 'in-process', state: 'locked' },
      agent: { running: false },
    });
    const id = json(await sb(alice, ['id', 'bob', '--json']));
    expect(id).toMatchObject({ username: 'bob', followed: 'no' });
    expect(id.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const devices = id.devices as { name: string; type: string; status: string }[];
    expect(devices.map((d) => [d.type, d.status])).toEqual([
      ['desktop', 'active'],
      ['backup', 'active'],
    ]);
    const followed = json(await sb(alice, ['follow', 'bob', '--json']));
    expect(followed.fingerprint).toBe(id.fingerprint);
    expect(json(await sb(alice, ['id', 'bob', '--json'])).followed).toBe('yes');
    const unknown = await sb(alice, ['id', 'nobody_here', '--json']);
    expect(errorCode(unknown)).toBe('CLIENT_USER_NOT_FOUND');
    // Without an account the account commands say how to get one.
    const none = await sb(newHome(), ['whoami']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain("hint: create an account with 'saltbox signup");
  });

  it('users encrypt to each other by name and decrypt', async () => {
    const msg = join(bob.dir, 'msg.txt');
    writeFileSync(msg, 'to alice and carol, from bob\n');
    const ct = join(bob.dir, 'msg.saltpack');
    ok(await sb(bob, ['encrypt', '-r', 'alice', '-r', 'carol', '-a', '-i', msg, '-o', ct]));
    for (const home of [alice, carol]) {
      const r = ok(await sb(home, ['decrypt', '-i', ct]));
      expect(r.out).toBe('to alice and carol, from bob\n');
    }
    // Bob is not a recipient (no self-encryption was asked for).
    const own = await sb(bob, ['decrypt', '-i', ct, '--json']);
    expect(errorCode(own)).toBe('SALTPACK_NO_DECRYPTION_KEY');
    const nobody = await sb(bob, ['encrypt', '-r', 'nobody_here', '-a', '-i', msg, '--json']);
    expect(errorCode(nobody)).toBe('CLIENT_USER_NOT_FOUND');
    const team = await sb(bob, ['encrypt', '-r', 'team:acme', '-a', '-i', msg, '--json']);
    expect(errorCode(team)).toBe('CLIENT_TEAM_NOT_FOUND'); // teams.test.ts covers real teams
  });

  it('logs in with a paper key on a fresh home, adds a device, revokes the old one', async () => {
    const msg = join(bob.dir, 'old.txt');
    writeFileSync(msg, 'before the revocation\n');
    const oldCt = join(bob.dir, 'old.saltpack');
    ok(await sb(bob, ['encrypt', '-r', 'alice', '-a', '-i', msg, '-o', oldCt]));

    // A wrong paper key (bob's) is refused; the right one comes from standard input.
    const wrong = await sb(alice2, ['login', 'alice', '--server', url, '--json'], {
      SALTBOX_PAPERKEY: paper.bob!,
    });
    expect(errorCode(wrong)).toBe('CLIENT_PAPER_KEY_UNKNOWN');
    const login = json(
      await sb(alice2, ['login', 'alice', '--server', url, '--json'], {}, `${paper.alice!}\n`),
    );
    expect(login).toMatchObject({
      username: 'alice',
      oneshot: false,
      device: { type: 'backup' },
      perUserKeyGenerations: [1],
    });
    expect(ok(await sb(alice2, ['decrypt', '-i', oldCt])).out).toBe('before the revocation\n');

    const added = json(await sb(alice2, ['device', 'add', '--name', 'alice-desk', '--json']));
    expect(added).toMatchObject({ device: { name: 'alice-desk', type: 'desktop' } });
    const list = json(await sb(alice2, ['device', 'list', '--json']));
    const devs = list.devices as { name: string; type: string; status: string; current: boolean }[];
    expect(devs.map((d) => [d.name, d.status, d.current])).toEqual([
      ['alice-laptop', 'active', false],
      [expect.any(String), 'active', false],
      ['alice-desk', 'active', true],
    ]);
    const human = ok(await sb(alice2, ['device', 'list']));
    expect(human.out).toMatch(/^\* alice-desk/m);

    const revoked = json(await sb(alice2, ['device', 'revoke', 'alice-laptop', '--json']));
    expect(revoked).toMatchObject({ revoked: { name: 'alice-laptop' }, perUserKeyGeneration: 2 });
    const self = await sb(alice2, ['device', 'revoke', 'alice-desk', '--json']);
    expect(errorCode(self)).toBe('CLIENT_INVALID_ARGUMENT');

    const newMsg = join(bob.dir, 'new.txt');
    writeFileSync(newMsg, 'after the revocation\n');
    const newCt = join(bob.dir, 'new.saltpack');
    ok(await sb(bob, ['encrypt', '-r', 'alice', '-a', '-i', newMsg, '-o', newCt]));
    // The revoked laptop cannot read the new message; it still reads the old one.
    const denied = await sb(alice, ['decrypt', '-i', newCt, '--json']);
    expect(errorCode(denied)).toBe('SALTPACK_NO_DECRYPTION_KEY');
    expect(ok(await sb(alice, ['decrypt', '-i', oldCt])).out).toBe('before the revocation\n');
    // The new device reads both.
    expect(ok(await sb(alice2, ['decrypt', '-i', newCt])).out).toBe('after the revocation\n');
    expect(ok(await sb(alice2, ['decrypt', '-i', oldCt])).out).toBe('before the revocation\n');
    // The revoked device's own requests are refused.
    const gone = await sb(alice, ['whoami', '--json']);
    expect(errorCode(gone)).toBe('CLIENT_DEVICE_REVOKED');
  });

  it('login through an agent keeps the paper key in the agent only (oneshot)', async () => {
    const k = keystoreHome();
    try {
      await k.startAgent();
      ok(await k.sb(['unlock', '--create'], { env: { SALTBOX_PASSPHRASE: PASS } }));
      const login = await k.sb(['login', 'carol', '--server', url, '--json'], {
        env: { SALTBOX_PAPERKEY: paper.carol! },
      });
      outputs.push({ args: 'login carol (agent)', stdout: login.out, stderr: login.stderr });
      expect(json(login)).toMatchObject({ username: 'carol', oneshot: true });
      expect(json(await k.sb(['whoami', '--json']))).toMatchObject({ username: 'carol' });
      // No device record reached the disk: the paper device lives in the agent's memory.
      const files = readdirSync(join(k.dir, 'keystore'));
      expect(files.some((f) => f.includes('device'))).toBe(false);
      ok(await k.sb(['lock']));
      ok(await k.sb(['unlock'], { env: { SALTBOX_PASSPHRASE: PASS } }));
      const gone = await k.sb(['whoami', '--json']);
      expect(errorCode(gone)).toBe('CLI_DEVICE_MISSING');
      expect((await k.sb(['whoami'])).stderr).toContain(
        "the paper key lived only in the agent, which has locked or stopped since; run 'saltbox login carol --paperkey' again",
      );
    } finally {
      await k.cleanup();
    }
  });

  it('logout forgets the account; secrets never appear in output', async () => {
    ok(await sb(carol, ['logout']));
    const after = await sb(carol, ['whoami', '--json']);
    expect(errorCode(after)).toBe('CLI_NOT_LOGGED_IN');
    for (const o of outputs) {
      expect(o.stdout + o.stderr, o.args).not.toContain(PASS);
      for (const [name, phrase] of Object.entries(paper)) {
        // A paper key appears only on the stdout of the sign-up that made it.
        if (o.args.startsWith(`signup ${name} `)) continue;
        expect(o.stdout + o.stderr, o.args).not.toContain(phrase.split(' ').slice(2, 6).join(' '));
      }
    }
  });
});
