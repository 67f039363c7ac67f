import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as npmSaltpack from '@samuelthomas2774/saltpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, ensureBuilt, makeKey, read, run, stderrJson, tempHome } from './helpers.js';
import type { TestKey } from './helpers.js';

const MIB = 1024 * 1024;

describe('saltbox sign / verify', () => {
  const home = tempHome();
  let alice: TestKey;
  let bob: TestKey;
  const msgPath = join(home.dir, 'msg.bin');
  const msg = bytes(2 * MIB + 7, 3);

  beforeAll(async () => {
    await ensureBuilt();
    [alice, bob] = await Promise.all([makeKey(home.dir, 'alice'), makeKey(home.dir, 'bob')]);
    writeFileSync(msgPath, msg);
  });
  afterAll(home.cleanup);

  it('attached, binary, file to file; --signer accepts the right key', async () => {
    const signed = join(home.dir, 'msg.signed');
    const s = await run(['sign', '-k', alice.path, '-i', msgPath, '-o', signed]);
    expect(s.code).toBe(0);
    const out = join(home.dir, 'msg.verified');
    const v = await run(['verify', '-i', signed, '-o', out, '--signer', alice.signing]);
    expect(v.code).toBe(0);
    expect(v.stderr).toBe(`saltbox: good signature by signer: ${alice.signing}\n`);
    expect(read(out).equals(msg)).toBe(true);
  });

  it('attached, hashed on the thread pool (SALTBOX_CRYPTO_ENGINE=threadpool): same verdicts', async () => {
    const pool = { env: { SALTBOX_CRYPTO_ENGINE: 'threadpool' } };
    const signed = join(home.dir, 'pool.signed');
    const s = await run(['sign', '-k', alice.path, '-i', msgPath, '-o', signed], pool);
    expect(s.code).toBe(0);
    // Verified on the main thread and on the pool.
    for (const env of ['inline', 'threadpool']) {
      const v = await run(['verify', '-i', signed], { env: { SALTBOX_CRYPTO_ENGINE: env } });
      expect(v.code, env).toBe(0);
      expect(v.stdout.equals(msg)).toBe(true);
    }
    // A flipped byte in the second chunk: the first chunk only, then the bad signature.
    const bad = read(signed);
    bad[bad.length - MIB] = bad[bad.length - MIB]! ^ 0x01;
    const badPath = join(home.dir, 'pool-bad.signed');
    writeFileSync(badPath, bad);
    const v = await run(['verify', '-i', badPath, '--json'], pool);
    expect(v.code).toBe(1);
    expect((stderrJson(v).error as { code: string }).code).toBe('SALTPACK_BAD_SIGNATURE');
    // Only whole verified chunks (the stream may drop what it had queued when it fails).
    expect(v.stdout.length % MIB).toBe(0);
    expect(v.stdout.length).toBeLessThanOrEqual(MIB);
    expect(v.stdout.equals(msg.subarray(0, v.stdout.length))).toBe(true);
  });

  it('attached, armored, stdin to stdout, with --json info', async () => {
    const s = await run(['sign', '-k', alice.path, '--armor'], { input: 'signed words\n' });
    expect(s.out).toMatch(/^BEGIN SALTPACK SIGNED MESSAGE\. /);
    const v = await run(['verify', '--json'], { input: s.out });
    expect(v.code).toBe(0);
    expect(v.out).toBe('signed words\n');
    expect(stderrJson(v)).toEqual({
      mode: 'attached',
      version: '2.0',
      armored: true,
      signer: alice.signing,
      // A home without an account keeps the key and names nobody (#12.9).
      signerKid: `0120${alice.signing}0a`,
      signerUsername: null,
      signerKeyStatus: 'unchecked',
    });
  });

  it('--signer refuses another signer, with a hint', async () => {
    const s = await run(['sign', '-k', alice.path], { input: 'x' });
    const v = await run(['verify', '--signer', bob.signing], { input: s.stdout });
    expect(v.code).toBe(3);
    expect(v.out).toBe('');
    expect(v.stderr).toContain(
      'saltbox: hint: the message was signed by another key than --signer allows (for a user: a live signing key of theirs)',
    );
  });

  it('a tampered attached signature fails and writes no output file', async () => {
    const signed = join(home.dir, 'tamper.signed');
    await run(['sign', '-k', alice.path, '-i', msgPath, '-o', signed]);
    const bad = read(signed);
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 0x40;
    const badPath = join(home.dir, 'tamper-bad.signed');
    writeFileSync(badPath, bad);
    const out = join(home.dir, 'tamper.out');
    const v = await run(['verify', '-i', badPath, '-o', out, '--json']);
    expect(v.code).toBe(1);
    expect((stderrJson(v).error as { code: string }).code).toBe('SALTPACK_BAD_SIGNATURE');
    expect(existsSync(out)).toBe(false);
  });

  it('detached, binary and armored; a different message fails', async () => {
    const sig = join(home.dir, 'msg.sig');
    expect(
      (await run(['sign', '-k', alice.path, '--detached', '-i', msgPath, '-o', sig])).code,
    ).toBe(0);
    const ok = await run(['verify', '--detached-signature', sig, '-i', msgPath]);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe('');
    expect(ok.stderr).toBe(`saltbox: good signature by signer: ${alice.signing}\n`);

    const asc = await run(['sign', '-k', alice.path, '-d', '-a', '--brand', 'ACME'], {
      input: msg,
    });
    expect(asc.out).toMatch(/^BEGIN ACME SALTPACK DETACHED SIGNATURE\. /);
    const ascPath = join(home.dir, 'msg.sig.asc');
    writeFileSync(ascPath, asc.out);
    const ok2 = await run(['verify', '-s', ascPath, '--json'], { input: msg });
    expect(ok2.code).toBe(0);
    expect(stderrJson(ok2)).toMatchObject({
      mode: 'detached',
      armored: true,
      signer: alice.signing,
    });

    const other = await run(['verify', '-s', sig], { input: 'not the message' });
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      'saltbox: invalid signature\n' +
        'saltbox: hint: the message or the signature was modified, or the signature is for another message\n',
    );
  });

  it("an independent implementation (npm's saltpack) verifies what `sign` writes", async () => {
    // #12.21: the npm library refuses any header nonce but the specification's 32 bytes.
    const key = Buffer.from(alice.signing, 'hex');
    expect(key.length).toBe(32);
    const signed = join(home.dir, 'npm.signed');
    expect((await run(['sign', '-k', alice.path, '-i', msgPath, '-o', signed])).code).toBe(0);
    expect((await npmSaltpack.verify(read(signed), key)).equals(msg)).toBe(true);

    const armored = await run(['sign', '-k', alice.path, '-a'], { input: 'armored words' });
    expect((await npmSaltpack.verifyArmored(armored.out, key)).toString()).toBe('armored words');

    const empty = await run(['sign', '-k', alice.path], { input: '' });
    expect((await npmSaltpack.verify(empty.stdout, key)).length).toBe(0);

    const sig = await run(['sign', '-k', alice.path, '-d'], { input: msg });
    await expect(npmSaltpack.verifyDetached(sig.stdout, msg, key)).resolves.toBeDefined();
    await expect(npmSaltpack.verifyDetached(sig.stdout, 'other', key)).rejects.toThrow();

    const sigAsc = await run(['sign', '-k', alice.path, '-d', '-a'], { input: msg });
    await expect(npmSaltpack.verifyDetachedArmored(sigAsc.out, msg, key)).resolves.toBeDefined();
  });

  it('points to the right command for the wrong kind of input', async () => {
    const det = await run(['sign', '-k', alice.path, '-d'], { input: 'x' });
    const v = await run(['verify'], { input: det.stdout });
    expect(v.code).toBe(1);
    expect(v.stderr).toBe(
      'saltbox: the input is a detached signature, not a signed message\n' +
        "saltbox: hint: use 'saltbox verify --detached-signature FILE -i MESSAGE'\n",
    );
    const enc = await run(['encrypt', '--anonymous', '-a', '-r', bob.encryption], { input: 'x' });
    const v2 = await run(['verify', '--json'], { input: enc.out });
    expect(stderrJson(v2)).toEqual({
      error: {
        code: 'CLI_WRONG_MESSAGE_TYPE',
        message: 'the input is an encrypted message, not a signed message',
      },
    });
  });
});

describe('saltbox signcrypt / signcrypt-open', () => {
  const home = tempHome();
  let alice: TestKey;
  let bob: TestKey;
  let carol: TestKey;

  beforeAll(async () => {
    await ensureBuilt();
    [alice, bob, carol] = await Promise.all([
      makeKey(home.dir, 'alice'),
      makeKey(home.dir, 'bob'),
      makeKey(home.dir, 'carol'),
    ]);
  });
  afterAll(home.cleanup);

  it('round-trips to box receivers, armored, and decrypt opens it too', async () => {
    const plain = bytes(MIB + 3, 9);
    const sc = await run(
      ['signcrypt', '-k', alice.path, '-r', bob.encryption, '-r', carol.encryption, '-a'],
      {
        input: plain,
      },
    );
    expect(sc.code).toBe(0);
    expect(sc.out).toMatch(/^BEGIN SALTPACK ENCRYPTED MESSAGE\. /);
    const opened = await run(
      ['signcrypt-open', '-k', bob.path, '--json', '--signer', alice.signing],
      {
        input: sc.out,
      },
    );
    expect(opened.code).toBe(0);
    expect(opened.stdout.equals(plain)).toBe(true);
    expect(stderrJson(opened)).toMatchObject({
      mode: 'signcryption',
      signer: alice.signing,
      anonymousSigner: false,
      receiverKind: 'box',
    });
    const viaDecrypt = await run(['decrypt', '-k', carol.path], { input: sc.out });
    expect(viaDecrypt.stdout.equals(plain)).toBe(true);
    expect(viaDecrypt.stderr).toBe(`saltbox: signer: ${alice.signing}\n`);
  });

  it('symmetric-key receivers and anonymous signers', async () => {
    const keyPath = join(home.dir, 'team.sym');
    writeFileSync(keyPath, JSON.stringify({ identifier: 'c0ffee', key: 'ab'.repeat(32) }));
    const sc = await run(['signcrypt', '--anonymous', '--symmetric-key-file', keyPath], {
      input: 'for the team',
      env: { SALTBOX_HOME: join(home.dir, 'no-home') },
    });
    expect(sc.code).toBe(0);
    const opened = await run(['signcrypt-open', '--symmetric-key-file', keyPath], {
      input: sc.stdout,
      env: { SALTBOX_HOME: join(home.dir, 'no-home') },
    });
    expect(opened.code).toBe(0);
    expect(opened.out).toBe('for the team');
    expect(opened.stderr).toBe('saltbox: signer: anonymous\n');
    const wrong = await run(['signcrypt-open', '-k', bob.path], { input: sc.stdout });
    expect(wrong.code).toBe(3);
  });

  it('signcrypt-open refuses plain encryption with a hint', async () => {
    const enc = await run(['encrypt', '--anonymous', '-r', bob.encryption], { input: 'x' });
    const r = await run(['signcrypt-open', '-k', bob.path], { input: enc.stdout });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'saltbox: the input is an encrypted message, not a signcrypted message',
    );
    expect(r.stderr).toContain("saltbox: hint: use 'saltbox decrypt' to read it");
  });
});
