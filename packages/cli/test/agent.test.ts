import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSocketPath } from '@saltbox/keystore/node';
import { ensureBuilt, MAIN, makeKey, ROOT, stderrJson } from './helpers.js';
import type { TestKey } from './helpers.js';
import { keystoreHome, snapshot } from './keystore-helpers.js';

const PASS = 'correct horse battery staple';

describe('saltbox agent start|status|stop', () => {
  const home = keystoreHome();
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('starts detached, reports status, refuses a second agent, stops', async () => {
    const none = await home.sb(['agent', 'status']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      "saltbox: no keystore agent is running\nsaltbox: hint: start one with 'saltbox agent start'\n",
    );
    const noneJson = await home.sb(['agent', 'status', '--json']);
    expect(stderrJson(noneJson)).toMatchObject({ error: { code: 'KEYSTORE_AGENT_NOT_RUNNING' } });

    const start = await home.sb(['agent', 'start', '--idle-lock', '10m']);
    expect(start.code).toBe(0);
    expect(start.stderr).toMatch(/^saltbox: keystore agent started \(pid \d+\) on /);
    expect(start.stderr).toContain(
      "saltbox: next: create the keystore with 'saltbox unlock --create'",
    );
    const status = await home.sb(['agent', 'status', '--json']);
    expect(status.code).toBe(0);
    const pid = (JSON.parse(status.out) as { pid: number }).pid;
    expect(start.stderr).toContain(`(pid ${pid})`);
    expect(JSON.parse(status.out)).toMatchObject({
      running: true,
      socketPath: home.socketPath,
      keystore: { state: 'uninitialized', idleLockMs: 600_000 },
    });
    const human = await home.sb(['agent', 'status']);
    expect(human.out).toContain(`agent: running (pid ${pid})`);
    expect(human.out).toContain('keystore: uninitialized');
    expect(human.out).toContain('idle lock: 10m');

    const again = await home.sb(['agent', 'start']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`saltbox: a keystore agent is already running (pid ${pid})`);
    expect(again.stderr).toContain('saltbox: hint: ');

    const stop = await home.sb(['agent', 'stop']);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toBe(`saltbox: keystore agent stopped (pid ${pid})\n`);
    expect(existsSync(home.socketPath)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await home.sb(['agent', 'status'])).code).toBe(1);
    const stopNone = await home.sb(['agent', 'stop', '--json']);
    expect(stopNone.code).toBe(1);
    expect(stderrJson(stopNone)).toMatchObject({ error: { code: 'KEYSTORE_AGENT_NOT_RUNNING' } });
  });

  it('runs in the foreground until SIGTERM, then stops cleanly', async () => {
    const child = spawn(process.execPath, [MAIN, 'agent', 'start', '--foreground'], {
      env: { ...process.env, ...home.env },
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const listening = new Promise<void>((resolve) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('listening')) resolve();
      });
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await listening;
      expect(stderr).toMatch(
        /^saltbox: keystore agent listening on .*agent-[0-9a-f]{16}\.sock \(pid \d+, idle lock 15m\)/,
      );
      expect(await home.agentPid()).toBe(child.pid);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('saltbox: keystore agent stopped\n');
      expect(existsSync(home.socketPath)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('rejects a bad --idle-lock and unknown agent subcommands with usage errors', async () => {
    const bad = await home.sb(['agent', 'start', '--idle-lock', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('saltbox: invalid duration "soon" for --idle-lock');
    const unknown = await home.sb(['agent', 'frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('saltbox: unknown command "agent frob"');
  });

  it('unlock and lock without an agent explain how to start one', async () => {
    const unlock = await home.sb(['unlock'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(unlock.code).toBe(1);
    expect(unlock.stderr).toContain('saltbox: no keystore agent is running');
    expect(unlock.stderr).toMatch(/saltbox: hint: .*'saltbox agent start'/);
    const lock = await home.sb(['lock', '--json']);
    expect(stderrJson(lock)).toMatchObject({ error: { code: 'KEYSTORE_AGENT_NOT_RUNNING' } });
  });
});

describe('Saltpack commands through the agent', () => {
  const home = keystoreHome();
  const plain = 'attack at dawn\n';
  const passFile = join(home.dir, 'pass.txt');
  const wrongFile = join(home.dir, 'wrong.txt');
  let alice: TestKey;
  let device: { encryption: string; signing: string };
  let ciphertext: string;

  beforeAll(async () => {
    await ensureBuilt();
    writeFileSync(passFile, `${PASS}\n`);
    writeFileSync(wrongFile, 'not it\n');
    alice = await makeKey(home.dir, 'alice');
    await home.startAgent();
  });
  afterAll(home.cleanup);

  it('unlock needs --create for a new keystore, then creates it from SALTBOX_PASSPHRASE', async () => {
    const noCreate = await home.sb(['unlock'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(noCreate.code).toBe(3);
    expect(noCreate.stderr).toContain(
      "saltbox: hint: create the keystore with 'saltbox unlock --create'",
    );
    const create = await home.sb(['unlock', '--create'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(create.code).toBe(0);
    expect(create.stderr).toMatch(/^saltbox: created the keystore in .*, unlocked/);
    expect(create.stderr + create.out).not.toContain(PASS);
  });

  it('keygen --keystore creates the device once and reports it afterwards', async () => {
    const first = await home.sb(['keygen', '--keystore']);
    expect(first.code).toBe(0);
    const [encryption, signing] = first.out.trim().split('\n');
    expect(encryption).toMatch(/^[0-9a-f]{64}$/);
    expect(signing).toMatch(/^[0-9a-f]{64}$/);
    expect(first.stderr).toContain('saltbox: created device');
    const again = await home.sb(['keygen', '--keystore', '--json']);
    expect(JSON.parse(again.out)).toMatchObject({
      created: false,
      via: 'agent',
      encryptionPublicKey: encryption,
      signingPublicKey: signing,
      encryptionKid: `0121${encryption}0a`,
    });
    device = { encryption: encryption!, signing: signing! };
    // No key file was written: the secrets stay in the keystore.
    expect(existsSync(join(home.dir, 'saltpack.key'))).toBe(false);
  });

  it('a wrong passphrase is a coded error and changes nothing; the right one unlocks', async () => {
    expect((await home.sb(['lock'])).stderr).toBe('saltbox: keystore locked\n');
    const before = snapshot(home.dir);
    const wrong = await home.sb(['unlock', '--passphrase-file', wrongFile]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('saltbox: wrong passphrase\n');
    expect(wrong.stderr).toContain('saltbox: hint: nothing was changed');
    expect(wrong.stderr).not.toContain('not it');
    expect(snapshot(home.dir)).toEqual(before);
    const status = await home.sb(['agent', 'status', '--json']);
    expect(JSON.parse(status.out).keystore.state).toBe('locked');
    const right = await home.sb(['unlock', '--passphrase-file', passFile]);
    expect(right.code).toBe(0);
    expect(right.stderr).toMatch(/^saltbox: keystore unlocked/);
  });

  it('encrypts to the keystore key with a key file sender and decrypts through the agent', async () => {
    const enc = await home.sb(['encrypt', '-k', alice.path, '-r', device.encryption, '-a'], {
      input: plain,
    });
    expect(enc.code).toBe(0);
    ciphertext = enc.out;
    const dec = await home.sb(['decrypt'], { input: ciphertext });
    expect(dec.code).toBe(0);
    expect(dec.out).toBe(plain);
    expect(dec.stderr).toBe(`saltbox: sender: ${alice.encryption}\n`);
    // And the keystore device as the sender (header boxes made inside the keystore).
    const fromDevice = await home.sb(['encrypt', '-r', alice.encryption, '-a'], { input: plain });
    expect(fromDevice.code).toBe(0);
    const opened = await home.sb(['decrypt', '-k', alice.path], { input: fromDevice.out });
    expect(opened.out).toBe(plain);
    expect(opened.stderr).toBe(`saltbox: sender: ${device.encryption}\n`);
  });

  it('two concurrent decrypts share the agent', async () => {
    const [a, b] = await Promise.all([
      home.sb(['decrypt', '--json'], { input: ciphertext }),
      home.sb(['decrypt', '--json'], { input: ciphertext }),
    ]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      expect(r.out).toBe(plain);
      expect(stderrJson(r)).toMatchObject({
        sender: alice.encryption,
        receiver: device.encryption,
      });
    }
  });

  it('signs and signcrypts through the agent', async () => {
    const signed = await home.sb(['sign', '-a'], { input: plain });
    expect(signed.code).toBe(0);
    const verified = await home.sb(['verify', '--signer', device.signing], { input: signed.out });
    expect(verified.code).toBe(0);
    expect(verified.out).toBe(plain);
    const sealed = await home.sb(['signcrypt', '-r', device.encryption, '-a'], { input: plain });
    expect(sealed.code).toBe(0);
    const unsealed = await home.sb(['signcrypt-open', '--signer', device.signing], {
      input: sealed.out,
    });
    expect(unsealed.code).toBe(0);
    expect(unsealed.out).toBe(plain);
  });

  it('a locked agent fails with KEYSTORE_LOCKED and the unlock hint', async () => {
    await home.sb(['lock']);
    const dec = await home.sb(['decrypt'], { input: ciphertext });
    expect(dec.code).toBe(3);
    expect(dec.out).toBe('');
    expect(dec.stderr).toBe(
      "saltbox: the keystore agent is locked\nsaltbox: hint: run 'saltbox unlock'\n",
    );
    const sign = await home.sb(['sign', '-a', '--json'], { input: plain });
    expect(sign.code).toBe(3);
    expect(stderrJson(sign)).toMatchObject({ error: { code: 'KEYSTORE_LOCKED' } });
    // -k still works with the agent locked.
    const withFile = await home.sb(['sign', '-a', '-k', alice.path], { input: plain });
    expect(withFile.code).toBe(0);
  });
});

describe('a home whose path is longer than a Unix socket path may be (#12.23)', () => {
  // 160+ characters: `<home>/agent.sock` would exceed the 108-byte sun_path, so before the fix
  // the agent was unreachable and commands fell back to asking for a passphrase.
  const home = keystoreHome({ dirName: join('l'.repeat(60), 'o'.repeat(60), 'n'.repeat(40)) });
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('agent start, unlock, and a command through the agent all work', async () => {
    expect(home.dir.length).toBeGreaterThan(150);
    expect(home.socketPath.length).toBeLessThan(104);
    await home.startAgent();
    const create = await home.sb(['unlock', '--create'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(create.code, create.stderr).toBe(0);
    const keygen = await home.sb(['keygen', '--keystore', '--json']);
    expect(keygen.code, keygen.stderr).toBe(0);
    expect(JSON.parse(keygen.out)).toMatchObject({ created: true, via: 'agent' });
    const sealed = await home.sb(['sign', '-a'], { input: 'hello\n' });
    expect(sealed.code, sealed.stderr).toBe(0);
    const status = await home.sb(['agent', 'status', '--json']);
    expect(JSON.parse(status.out)).toMatchObject({ socketPath: home.socketPath });
  });
});

describe('an unusable socket directory is reported before the agent detaches (#12.23)', () => {
  const home = keystoreHome();
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('a socket directory others may enter: KEYSTORE_REFUSED naming it, no agent left', async () => {
    // XDG_RUNTIME_DIR points the socket into this test's own directory, so the shared
    // /tmp/saltbox-<uid> is never made hostile.
    const runtime = join(home.dir, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    mkdirSync(join(runtime, 'saltbox'), { mode: 0o700 });
    chmodSync(join(runtime, 'saltbox'), 0o777);
    const env = { XDG_RUNTIME_DIR: runtime };
    const socketPath = agentSocketPath(home.dir, { env: { ...home.env, ...env } });
    expect(socketPath.startsWith(join(runtime, 'saltbox', 'agent-'))).toBe(true);
    const start = await home.sb(['agent', 'start', '--json'], { env });
    expect(start.code).toBe(1);
    expect(stderrJson(start)).toMatchObject({
      error: {
        code: 'KEYSTORE_REFUSED',
        message: `the agent socket directory ${join(runtime, 'saltbox')} is open to other users (mode 0777); it must be 0700`,
      },
    });
    expect(existsSync(socketPath)).toBe(false);
    const status = await home.sb(['agent', 'status'], { env });
    expect(status.code).toBe(1);
  });
});

describe('a relative SALTBOX_HOME', () => {
  const home = keystoreHome({ dirName: 'rel-home' });
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('the detached agent (working directory /) serves the same home and socket', async () => {
    const cwd = dirname(home.dir);
    const env = { SALTBOX_HOME: 'rel-home' };
    const start = await home.sb(['agent', 'start', '--json'], { env, cwd });
    expect(start.code, start.stderr).toBe(0);
    expect(JSON.parse(start.out)).toMatchObject({ socketPath: home.socketPath });
    const create = await home.sb(['unlock', '--create'], {
      env: { ...env, SALTBOX_PASSPHRASE: PASS },
      cwd,
    });
    expect(create.code, create.stderr).toBe(0);
    // The keystore was made in the home, not in /rel-home.
    expect(existsSync(join(home.dir, 'keystore'))).toBe(true);
  });
});
