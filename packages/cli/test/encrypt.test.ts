import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, ensureBuilt, MAIN, makeKey, read, run, stderrJson, tempHome } from './helpers.js';
import type { TestKey } from './helpers.js';

const MIB = 1024 * 1024;

describe('saltbox encrypt / decrypt', () => {
  const home = tempHome();
  let alice: TestKey;
  let bob: TestKey;
  let carol: TestKey;
  const plainPath = join(home.dir, 'plain.bin');
  const plain = bytes(3 * MIB + 12345); // spans four 1 MiB chunks

  beforeAll(async () => {
    await ensureBuilt();
    [alice, bob, carol] = await Promise.all([
      makeKey(home.dir, 'alice'),
      makeKey(home.dir, 'bob'),
      makeKey(home.dir, 'carol'),
    ]);
    writeFileSync(plainPath, plain);
  });
  afterAll(home.cleanup);

  /** Files in the scratch directory that look like leftover temporary outputs. */
  const leftovers = () => readdirSync(home.dir).filter((f) => f.includes('.saltbox-'));

  it('round-trips a 3 MiB file, binary, file to file, and names the sender', async () => {
    const ct = join(home.dir, 'a.saltpack');
    // Sealed by the worker engine, opened on the main thread: the engines must agree.
    const enc = await run(
      ['encrypt', '-k', alice.path, '-r', bob.encryption, '-i', plainPath, '-o', ct],
      { env: { SALTBOX_CRYPTO_ENGINE: 'workers' } },
    );
    expect(enc.code).toBe(0);
    expect(enc.stderr).toBe('');
    const out = join(home.dir, 'a.out');
    const dec = await run(['decrypt', '-k', bob.path, '-i', ct, '-o', out]);
    expect(dec.code).toBe(0);
    expect(read(out).equals(plain)).toBe(true);
    if (process.platform !== 'win32') expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(dec.stderr).toBe(`saltbox: sender: ${alice.encryption}\n`);
    expect(leftovers()).toEqual([]);
  });

  it('the bulk pipeline (SALTBOX_CRYPTO_ENGINE=threadpool) interoperates with the streams', async () => {
    const pipeline = { env: { SALTBOX_CRYPTO_ENGINE: 'threadpool' } };
    const ct = join(home.dir, 'p.saltpack');
    const enc = await run(
      ['encrypt', '-k', alice.path, '-r', bob.encryption, '-i', plainPath, '-o', ct],
      pipeline,
    );
    expect(enc.code).toBe(0);
    // Opened by the streams on the main thread, and by the pipeline to standard output.
    const out = join(home.dir, 'p.out');
    const dec = await run(['decrypt', '-k', bob.path, '-i', ct, '-o', out], {
      env: { SALTBOX_CRYPTO_ENGINE: 'inline' },
    });
    expect(dec.code).toBe(0);
    expect(read(out).equals(plain)).toBe(true);
    const toStdout = await run(['decrypt', '-k', bob.path, '-i', ct], pipeline);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(plain)).toBe(true);
    expect(toStdout.stderr).toBe(`saltbox: sender: ${alice.encryption}\n`);
    // Damaged in the last chunk: the pipeline writes exactly the three chunks before it.
    const bad = read(ct);
    bad[bad.length - 5000] = bad[bad.length - 5000]! ^ 0x01;
    const badPath = join(home.dir, 'p-bad.saltpack');
    writeFileSync(badPath, bad);
    const broken = await run(['decrypt', '-k', bob.path, '-i', badPath], pipeline);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^saltbox: in packet 4: bad authenticator/);
    expect(broken.stdout.equals(plain.subarray(0, 3 * MIB))).toBe(true);
    const brokenFile = await run(
      ['decrypt', '-k', bob.path, '-i', badPath, '-o', out + '2'],
      pipeline,
    );
    expect(brokenFile.code).toBe(1);
    expect(existsSync(out + '2')).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('pipes stdin to stdout, armored, with a brand, to several recipients (KID form too)', async () => {
    const enc = await run(
      [
        'encrypt',
        '-k',
        alice.path,
        '-r',
        bob.encryption,
        '-r',
        `0121${carol.encryption}0a`,
        '--armor',
        '--brand',
        'SALTBOX',
      ],
      { input: 'attack at dawn\n' },
    );
    expect(enc.code).toBe(0);
    expect(enc.out).toMatch(/^BEGIN SALTBOX SALTPACK ENCRYPTED MESSAGE\. /);
    expect(enc.out).toMatch(/END SALTBOX SALTPACK ENCRYPTED MESSAGE\.\n$/);
    for (const key of [bob, carol]) {
      const dec = await run(['decrypt', '-k', key.path], { input: enc.out });
      expect(dec.code).toBe(0);
      expect(dec.out).toBe('attack at dawn\n');
    }
  });

  it('encrypts anonymously without any key file, and hides recipients', async () => {
    const env = { SALTBOX_HOME: join(home.dir, 'empty-home') };
    const enc = await run(['encrypt', '--anonymous', '--hide-recipients', '-r', bob.encryption], {
      input: plain.subarray(0, 1000),
      env,
    });
    expect(enc.code).toBe(0);
    expect(enc.stdout.includes(Buffer.from(bob.encryption, 'hex'))).toBe(false);
    const dec = await run(['decrypt', '-k', bob.path, '--json'], { input: enc.stdout });
    expect(dec.code).toBe(0);
    expect(dec.stdout.equals(plain.subarray(0, 1000))).toBe(true);
    expect(stderrJson(dec)).toEqual({
      mode: 'encryption',
      version: '2.0',
      armored: false,
      sender: null,
      senderKid: null,
      senderUsername: null,
      senderKeyStatus: null,
      anonymousSender: true,
      receiver: bob.encryption,
      receiverHidden: true,
      bytes: 1000,
    });
  });

  it('uses $SALTBOX_HOME/saltpack.key by default', async () => {
    const defaultHome = join(home.dir, 'default-home');
    const env = { SALTBOX_HOME: defaultHome };
    const kg = await run(['keygen'], { env });
    const me = kg.out.split('\n')[0]!;
    const enc = await run(['encrypt', '-r', me], { input: 'to myself', env });
    expect(enc.code).toBe(0);
    const dec = await run(['decrypt'], { input: enc.stdout, env });
    expect(dec.out).toBe('to myself');
    expect(dec.stderr).toBe(`saltbox: sender: ${me}\n`);
  });

  it('wrong key: coded error, key hint, and no output file', async () => {
    const ct = join(home.dir, 'wrong.saltpack');
    await run(['encrypt', '-k', alice.path, '-r', bob.encryption, '-i', plainPath, '-o', ct]);
    const out = join(home.dir, 'wrong.out');
    const dec = await run(['decrypt', '-k', carol.path, '-i', ct, '-o', out]);
    expect(dec.code).toBe(3);
    expect(dec.stderr).toBe(
      'saltbox: no decryption key found for message\n' +
        `saltbox: hint: the message is not encrypted to the key in ${carol.path}; use -k to choose another key file\n`,
    );
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
    const json = await run(['decrypt', '-k', carol.path, '-i', ct, '--json']);
    expect(stderrJson(json)).toEqual({
      error: { code: 'SALTPACK_NO_DECRYPTION_KEY', message: 'no decryption key found for message' },
    });
  });

  it('missing key file: hint to run keygen', async () => {
    const dec = await run(['decrypt', '-k', join(home.dir, 'nope.key')], { input: 'x' });
    expect(dec.code).toBe(3);
    expect(dec.stderr).toContain('saltbox: no key file at');
    expect(dec.stderr).toContain("saltbox: hint: create a key with 'saltbox keygen'");
  });

  it('truncated input: truncation error with a hint, no output file', async () => {
    const ct = join(home.dir, 'trunc.saltpack');
    await run(['encrypt', '--anonymous', '-r', bob.encryption, '-i', plainPath, '-o', ct]);
    const cut = join(home.dir, 'trunc-cut.saltpack');
    writeFileSync(cut, read(ct).subarray(0, 2 * MIB + 100));
    const out = join(home.dir, 'trunc.out');
    const dec = await run(['decrypt', '-k', bob.path, '-i', cut, '-o', out]);
    expect(dec.code).toBe(1);
    expect(dec.stderr).toContain('saltbox: message truncated');
    expect(dec.stderr).toContain(
      'saltbox: hint: the input ended early; the file may be incomplete',
    );
    expect(existsSync(out)).toBe(false);
    // Armored and cut: the armor itself is incomplete.
    const armored = await run(['encrypt', '--anonymous', '-a', '-r', bob.encryption], {
      input: 'short',
    });
    const dec2 = await run(['decrypt', '-k', bob.path, '--json'], {
      input: armored.out.slice(0, armored.out.length - 20),
    });
    expect(dec2.code).toBe(1);
    expect((stderrJson(dec2).error as { code: string }).code).toBe('SALTPACK_TRUNCATED');
  });

  it('tampered input: no output file; on stdout only authenticated chunks, then a warning', async () => {
    const ct = join(home.dir, 'tamper.saltpack');
    await run(['encrypt', '--anonymous', '-r', bob.encryption, '-i', plainPath, '-o', ct]);
    const bad = read(ct);
    bad[bad.length - 5000] = bad[bad.length - 5000]! ^ 0x01; // inside the last chunk's box
    const badPath = join(home.dir, 'tamper-bad.saltpack');
    writeFileSync(badPath, bad);
    const out = join(home.dir, 'tamper.out');
    const dec = await run(['decrypt', '-k', bob.path, '-i', badPath, '-o', out]);
    expect(dec.code).toBe(1);
    expect(dec.stderr).toMatch(/^saltbox: in packet \d+: bad authenticator/);
    expect(dec.stderr).toContain('saltbox: hint: the message was modified or damaged');
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);

    // Through the worker engine this time (the file case above ran on the main thread).
    const toStdout = await run(['decrypt', '-k', bob.path, '-i', badPath], {
      env: { SALTBOX_CRYPTO_ENGINE: 'workers' },
    });
    expect(toStdout.code).toBe(1);
    // Only whole chunks before the damaged one were released (the last ones queued may be
    // dropped when the stream fails, never a byte of the damaged chunk).
    const released = toStdout.stdout.length;
    expect(released % MIB).toBe(0);
    expect(released).toBeGreaterThanOrEqual(MIB);
    expect(released).toBeLessThanOrEqual(3 * MIB);
    expect(toStdout.stdout.equals(plain.subarray(0, released))).toBe(true);
    expect(toStdout.stderr).toContain(
      'saltbox: the output written so far is incomplete and must be discarded',
    );
  });

  it('refuses the wrong kind of message with a hint naming the right command', async () => {
    const signed = await run(['sign', '-k', alice.path, '-a'], { input: 'hi' });
    const dec = await run(['decrypt', '-k', bob.path], { input: signed.out });
    expect(dec.code).toBe(1);
    expect(dec.stderr).toBe(
      'saltbox: the input is a signed message, not an encrypted message\n' +
        "saltbox: hint: use 'saltbox verify' to check it and print the message\n",
    );
    const garbage = await run(['decrypt', '-k', bob.path, '--json'], { input: 'hello world' });
    expect(garbage.code).toBe(1);
    expect(stderrJson(garbage)).toEqual({
      error: { code: 'SALTPACK_MALFORMED', message: 'the input is not a saltpack message' },
    });
    const badArmor = await run(['decrypt', '-k', bob.path, '--json'], {
      input: 'BEGIN SALTPACK ENCRYPTED MESSAGE. abc$%. END SALTPACK ENCRYPTED MESSAGE.',
    });
    expect(badArmor.code).toBe(1);
    expect((stderrJson(badArmor).error as { code: string }).code).toBe('SALTPACK_BAD_ARMOR');
  });

  it('rejects bad recipients; usernames and teams need an account', async () => {
    const bad = await run(['encrypt', '--anonymous', '-r', 'abc!'], { input: 'x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('saltbox: invalid recipient "abc!"');
    // A home without an account (accounts.test.ts covers users with one).
    const fresh = tempHome();
    try {
      const user = await run(['encrypt', '--anonymous', '-r', 'alice', '--json'], {
        input: 'x',
        env: fresh.env,
      });
      expect(user.code).toBe(3);
      expect(stderrJson(user)).toEqual({
        error: { code: 'CLI_NOT_LOGGED_IN', message: `no account is set up in ${fresh.dir}` },
      });
      const team = await run(['encrypt', '--anonymous', '-r', 'team:acme.infra'], {
        input: 'x',
        env: fresh.env,
      });
      expect(team.stderr).toContain("saltbox: hint: create an account with 'saltbox signup");
    } finally {
      fresh.cleanup();
    }
    const none = await run(['encrypt', '--anonymous'], { input: 'x' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('saltbox: encrypt needs at least one recipient (-r)');
  });

  // util-linux `script` runs the CLI on a pseudo-terminal; skipped where it is missing.
  const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
  it.runIf(hasScript)('draws a progress bar on a terminal for large input', () => {
    const big = join(home.dir, 'tty.bin');
    writeFileSync(big, Buffer.alloc(20 * MIB, 1));
    const command = [
      process.execPath,
      MAIN,
      'encrypt',
      '--anonymous',
      '-r',
      bob.encryption,
      '-i',
      big,
      '-o',
      `${big}.saltpack`,
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\r\[#*-*\] +\d+% {2}[\d.]+\/20\.0 MiB {2}\d+ MB\/s/);
    expect(r.stdout.endsWith('\r\x1b[K')).toBe(true); // the bar erases itself
  });

  it('a decrypt -o killed with SIGKILL mid-write leaves plaintext that the next run removes (a running one keeps its own)', async () => {
    const dir = join(home.dir, 'killed');
    mkdirSync(dir);
    const big = bytes(24 * MIB, 17);
    const ct = join(dir, 'big.saltpack');
    writeFileSync(join(dir, 'big.bin'), big);
    const enc = await run([
      'encrypt',
      '--anonymous',
      '-r',
      bob.encryption,
      '-i',
      join(dir, 'big.bin'),
      '-o',
      ct,
    ]);
    expect(enc.code).toBe(0);
    const ciphertext = read(ct);
    const temps = (name: string) =>
      readdirSync(dir).filter((f) => f.startsWith(`.${name}.saltbox-`) && f.endsWith('.tmp'));

    // A real decrypt fed half of the message on a pipe: it has written megabytes of plaintext
    // to its temporary file and waits for the rest — mid-write, for as long as we like.
    const midWrite = async (name: string): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        [MAIN, 'decrypt', '-k', bob.path, '-o', join(dir, name)],
        {
          stdio: ['pipe', 'ignore', 'ignore'],
        },
      );
      child.stdin.on('error', () => undefined);
      child.stdin.write(ciphertext.subarray(0, ciphertext.length / 2));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [t] = temps(name);
        if (t !== undefined && statSync(join(dir, t)).size >= 4 * MIB) return child;
        if (Date.now() > deadline) throw new Error('decrypt wrote no plaintext in 30 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const killed = await midWrite('out.bin');
    const live = await midWrite('live.bin');
    const exited = new Promise((r) => killed.once('exit', r));
    killed.kill('SIGKILL');
    await exited;
    expect(temps('out.bin')).toHaveLength(1); // what kill -9 leaves: no handler ran

    // The next run writing to the directory removes it, and not the running decrypt's file.
    const again = await run(['decrypt', '-k', bob.path, '-i', ct, '-o', join(dir, 'out.bin')]);
    expect(again.code).toBe(0);
    expect(read(join(dir, 'out.bin')).equals(big)).toBe(true);
    expect(temps('out.bin')).toEqual([]);
    expect(temps('live.bin')).toHaveLength(1);

    // The running one finishes unharmed.
    const done = new Promise<number | null>((r) => live.once('exit', r));
    live.stdin!.end(ciphertext.subarray(ciphertext.length / 2));
    expect(await done).toBe(0);
    expect(read(join(dir, 'live.bin')).equals(big)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('shows no progress bar when stderr is not a terminal, even for large input', async () => {
    const big = join(home.dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(17 * MIB, 7));
    const ct = join(home.dir, 'big.saltpack');
    const enc = await run(['encrypt', '--anonymous', '-r', bob.encryption, '-i', big, '-o', ct]);
    expect(enc.code).toBe(0);
    expect(enc.stderr).toBe('');
    const dec = await run(['decrypt', '-k', bob.path, '-i', ct, '-o', join(home.dir, 'big.out')]);
    expect(dec.stderr).toBe(`saltbox: sender: anonymous\n`);
    expect(read(join(home.dir, 'big.out')).equals(read(big))).toBe(true);
  });
});
