import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, makeKey, ROOT, stderrJson } from './helpers.js';
import type { TestKey } from './helpers.js';
import { keystoreHome, snapshot } from './keystore-helpers.js';

const PASS = 'tr0ub4dor&3';
const plain = 'the eagle lands at noon\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Saltpack commands with the keystore in-process (no agent)', () => {
  const home = keystoreHome();
  const withPass = { env: { SALTBOX_PASSPHRASE: PASS } };
  const passFile = join(home.dir, 'pass');
  let alice: TestKey;
  let device: { encryption: string; signing: string };
  let ciphertext: string;

  beforeAll(async () => {
    await ensureBuilt();
    writeFileSync(passFile, `${PASS}\n`);
    alice = await makeKey(home.dir, 'alice');
  });
  afterAll(home.cleanup);

  it('keygen --keystore creates the keystore and its device in-process', async () => {
    const r = await home.sb(['keygen', '--keystore', '--json'], withPass);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Record<string, string>;
    expect(out).toMatchObject({ via: 'in-process', created: true });
    device = { encryption: out.encryptionPublicKey!, signing: out.signingPublicKey! };
    expect(r.out + r.stderr).not.toContain(PASS);
  });

  it('encrypts to it with a key file sender; decrypts with SALTBOX_PASSPHRASE and --passphrase-file', async () => {
    const enc = await home.sb(['encrypt', '-k', alice.path, '-r', device.encryption, '-a'], {
      input: plain,
    });
    expect(enc.code).toBe(0);
    ciphertext = enc.out;
    const [a, b] = await Promise.all([
      home.sb(['decrypt'], { ...withPass, input: ciphertext }),
      home.sb(['decrypt', '--passphrase-file', passFile], { input: ciphertext }),
    ]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      expect(r.out).toBe(plain);
      expect(r.stderr).toBe(`saltbox: sender: ${alice.encryption}\n`);
    }
  });

  it('signs with the keystore device', async () => {
    const signed = await home.sb(['sign', '-a'], { ...withPass, input: plain });
    expect(signed.code).toBe(0);
    const verified = await home.sb(['verify', '--signer', device.signing], { input: signed.out });
    expect(verified.code).toBe(0);
    expect(verified.out).toBe(plain);
  });

  it('a wrong or missing passphrase is a coded error and leaves the keystore intact', async () => {
    const before = snapshot(home.dir);
    const wrong = await home.sb(['decrypt', '--json'], {
      env: { SALTBOX_PASSPHRASE: 'guess' },
      input: ciphertext,
    });
    expect(wrong.code).toBe(3);
    expect(wrong.out).toBe('');
    expect(stderrJson(wrong)).toEqual({
      error: { code: 'KEYSTORE_WRONG_PASSPHRASE', message: 'wrong passphrase' },
    });
    // No terminal (a new session), no variable, no file: nobody to ask.
    const none = await home.sb(['sign', '--json'], { input: plain });
    expect(none.code).toBe(3);
    expect(stderrJson(none)).toMatchObject({ error: { code: 'CLI_NO_PASSPHRASE' } });
    expect(snapshot(home.dir)).toEqual(before);
    const right = await home.sb(['decrypt', '--passphrase-file', passFile], { input: ciphertext });
    expect(right.out).toBe(plain);
  });
});

describe('the agent killed mid-session', () => {
  const home = keystoreHome();
  let alice: TestKey;
  let device: string;
  let ciphertext: string;

  beforeAll(async () => {
    await ensureBuilt();
    alice = await makeKey(home.dir, 'alice');
    await home.startAgent();
    const unlocked = await home.sb(['unlock', '--create'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(unlocked.code).toBe(0);
    device = (await home.sb(['keygen', '--keystore'])).out.split('\n')[0]!;
    ciphertext = (
      await home.sb(['encrypt', '-k', alice.path, '-r', device, '-a'], { input: plain })
    ).out;
  });
  afterAll(home.cleanup);

  it('fails the running command with KEYSTORE_TRANSPORT; the store stays intact', async () => {
    const pid = await home.agentPid();
    expect(pid).toBeDefined();
    const before = snapshot(home.dir);

    // A decrypt that has connected and read its keys, and now waits for its input.
    const child = spawn(process.execPath, [MAIN, 'decrypt', '--json'], {
      env: { ...process.env, ...home.env },
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    // Its connection plus the one asking.
    while (((await home.agentStatus())?.connections ?? 0) < 2) await sleep(50);
    process.kill(pid!, 'SIGKILL');
    while (
      (() => {
        try {
          process.kill(pid!, 0);
          return true;
        } catch {
          return false;
        }
      })()
    ) {
      await sleep(20);
    }
    child.stdin.end(ciphertext);
    const code = await exited;
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(JSON.parse(stderr.trim())).toMatchObject({ error: { code: 'KEYSTORE_TRANSPORT' } });

    // The next commands get coded errors, not crashes (the socket is stale).
    const unlock = await home.sb(['unlock', '--json'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(unlock.code).toBe(1);
    expect(stderrJson(unlock)).toMatchObject({ error: { code: 'KEYSTORE_AGENT_NOT_RUNNING' } });
    const dec = await home.sb(['decrypt'], { input: ciphertext });
    expect(dec.code).toBe(3);
    expect(dec.stderr).toContain('saltbox: a passphrase is needed to open the keystore');
    expect(dec.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace

    // The keystore files are untouched, and a new agent unlocks them.
    expect(snapshot(home.dir)).toEqual(before);
    await home.startAgent();
    const again = await home.sb(['unlock'], { env: { SALTBOX_PASSPHRASE: PASS } });
    expect(again.code).toBe(0);
    const opened = await home.sb(['decrypt'], { input: ciphertext });
    expect(opened.code).toBe(0);
    expect(opened.out).toBe(plain);
  });
});

// util-linux `script` runs the CLI on a pseudo-terminal; skipped where it is missing.
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;

/**
 * Runs `saltbox args…` on a pseudo-terminal and types each answer once the output shows the
 * matching prompt, so the answer arrives after the terminal went into no-echo mode.
 */
function onTerminal(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  answers: readonly { after: RegExp; type: string }[],
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let next = 0;
  const onData = (b: Buffer): void => {
    output += b.toString();
    const answer = answers[next];
    if (answer?.after.test(output)) {
      next++;
      output += '<typed>';
      child.stdin.write(answer.type);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

describe.runIf(hasScript)('passphrase prompt on a terminal', () => {
  const home = keystoreHome();
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('asks twice without echo for a new keystore, once to open it, and refuses a mismatch', async () => {
    const secret = 'typed-on-the-tty';
    const mismatch = await onTerminal(['keygen', '--keystore'], home.env, [
      { after: /new passphrase for the keystore in .*: $/, type: `${secret}\r` },
      { after: /confirm the passphrase: $/, type: 'something else\r' },
    ]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.output).toContain('saltbox: the passphrases differ');
    expect(mismatch.output).not.toContain(secret);

    const created = await onTerminal(['keygen', '--keystore'], home.env, [
      { after: /new passphrase for the keystore in .*: $/, type: `${secret}\r` },
      { after: /confirm the passphrase: $/, type: `${secret}\r` },
    ]);
    expect(created.code).toBe(0);
    expect(created.output).toMatch(/[0-9a-f]{64}/);
    expect(created.output).not.toContain(secret);

    const signed = await onTerminal(['sign', '-a', '-i', MAIN], home.env, [
      { after: /saltbox: passphrase for the keystore in .*: $/, type: `${secret}\r` },
    ]);
    expect(signed.code).toBe(0);
    expect(signed.output).toContain('BEGIN SALTPACK SIGNED MESSAGE');
    expect(signed.output).not.toContain(secret);
  });
});
