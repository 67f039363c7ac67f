/**
 * Senders and signers by verified username (#12.9), end to end through the built CLI against a
 * real `saltbox server` process (SQLite): alice encrypts, signs and signcrypts to bob; bob's
 * decrypt, verify and signcrypt-open name "alice" (the key and KID in --json); `verify --signer`
 * takes a username; after alice revokes the device that signed, its messages still name her,
 * marked as a revoked key, and `--signer alice` no longer accepts them; a key no user holds is
 * shown as an unknown key. (A server lying about a key's owner: client's key-owners.test.ts.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountHomes, errorCode, json, makeKey, ok, runAs, useAccountServer } from './helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

/** The single JSON line a successful `--json` crypto command printed on stderr. */
function info(r: { code: number | null; stderr: string }): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stderr.trim()) as Record<string, unknown>;
}

describe('senders and signers by name', { timeout: 600_000 }, () => {
  const alice = newHome();
  const bob = newHome();
  const carol = newHome();
  const alice2 = newHome();
  let paper = '';
  let aliceKeys: { encryptionKid: string; signingKid: string };
  const file = (name: string) => join(alice.dir, name);

  it('alice encrypts, signs and signcrypts to bob; bob sees "alice"', async () => {
    for (const [home, name] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      const r = json(
        await runAs(home, [
          'signup',
          name,
          '--server',
          url,
          '--device-name',
          `${name}-laptop`,
          '--json',
        ]),
      );
      if (name === 'alice') paper = (r.paperKey as { phrase: string }).phrase;
    }
    const device = json(await runAs(alice, ['whoami', '--json'])).device as {
      signingKid: string;
      encryptionKid: string;
    };
    aliceKeys = { signingKid: device.signingKid, encryptionKid: device.encryptionKid };
    writeFileSync(file('msg.txt'), 'from alice\n');
    const a = (args: string[]) => runAs(alice, args).then(ok);
    await a(['encrypt', '-r', 'bob', '-a', '-i', file('msg.txt'), '-o', file('enc')]);
    await a(['sign', '-a', '-i', file('msg.txt'), '-o', file('signed')]);
    await a(['sign', '--detached', '-a', '-i', file('msg.txt'), '-o', file('sig')]);
    await a(['signcrypt', '-r', 'bob', '-a', '-i', file('msg.txt'), '-o', file('sc')]);

    const dec = ok(await runAs(bob, ['decrypt', '-i', file('enc')]));
    expect(dec.out).toBe('from alice\n');
    expect(dec.stderr).toBe('saltbox: sender: alice\n');
    expect(info(await runAs(bob, ['decrypt', '-i', file('enc'), '--json']))).toMatchObject({
      sender: aliceKeys.encryptionKid.slice(4, 68),
      senderKid: aliceKeys.encryptionKid,
      senderUsername: 'alice',
      senderKeyStatus: 'live',
      anonymousSender: false,
    });

    const v = ok(await runAs(bob, ['verify', '-i', file('signed')]));
    expect(v.out).toBe('from alice\n');
    expect(v.stderr).toBe('saltbox: good signature by signer: alice\n');
    expect(info(await runAs(bob, ['verify', '-i', file('signed'), '--json']))).toEqual({
      mode: 'attached',
      version: '2.0',
      armored: true,
      signer: aliceKeys.signingKid.slice(4, 68),
      signerKid: aliceKeys.signingKid,
      signerUsername: 'alice',
      signerKeyStatus: 'live',
    });
    const detached = ok(
      await runAs(bob, ['verify', '-s', file('sig'), '-i', file('msg.txt'), '--signer', 'alice']),
    );
    expect(detached.stderr).toBe('saltbox: good signature by signer: alice\n');

    const sc = ok(await runAs(bob, ['signcrypt-open', '-i', file('sc'), '--signer', 'Alice']));
    expect(sc.out).toBe('from alice\n');
    expect(sc.stderr).toBe('saltbox: signer: alice\n');
    expect(info(await runAs(bob, ['decrypt', '-i', file('sc'), '--json']))).toMatchObject({
      mode: 'signcryption',
      signerKid: aliceKeys.signingKid,
      signerUsername: 'alice',
      signerKeyStatus: 'live',
    });
  });

  it('verify --signer takes a username: alice passes, carol and unknown users fail', async () => {
    ok(await runAs(bob, ['verify', '-i', file('signed'), '--signer', 'alice']));
    // A KID of alice's device is still accepted.
    ok(await runAs(bob, ['verify', '-i', file('signed'), '--signer', aliceKeys.signingKid]));
    const carolSigner = await runAs(bob, ['verify', '-i', file('signed'), '--signer', 'carol']);
    expect(carolSigner.code).toBe(3);
    expect(carolSigner.out).toBe('');
    expect(carolSigner.stderr).toContain(
      'hint: the message was signed by another key than --signer allows',
    );
    const asJson = ['verify', '-i', file('signed'), '--json', '--signer'];
    expect(errorCode(await runAs(bob, [...asJson, 'carol']))).toBe('SALTPACK_UNKNOWN_SENDER');
    expect(errorCode(await runAs(bob, [...asJson, 'nobody_here']))).toBe('CLIENT_USER_NOT_FOUND');
    expect(errorCode(await runAs(bob, [...asJson, 'not-a-name']))).toBe('CLI_BAD_RECIPIENT');
    const sc = await runAs(bob, [
      'signcrypt-open',
      '-i',
      file('sc'),
      '--json',
      '--signer',
      'carol',
    ]);
    expect(errorCode(sc)).toBe('SALTPACK_UNKNOWN_SENDER');
  });

  it('a key no user holds is an unknown key; a key-file signer is named by its key', async () => {
    const stranger = await makeKey(alice.dir, 'stranger');
    const signed = ok(
      await runAs(alice, ['sign', '-k', stranger.path, '-a', '-i', file('msg.txt')]),
    ).out;
    const v = ok(await runAs(bob, ['verify'], {}, signed));
    expect(v.stderr).toBe(`saltbox: good signature by signer: ${stranger.signing} (unknown key)\n`);
    expect(info(await runAs(bob, ['verify', '--json'], {}, signed))).toMatchObject({
      signer: stranger.signing,
      signerUsername: null,
      signerKeyStatus: 'unknown',
    });
  });

  it("a revoked device's messages name alice as a revoked key; --signer alice refuses them", async () => {
    ok(await runAs(alice2, ['login', 'alice', '--server', url, '--json'], {}, `${paper}\n`));
    ok(await runAs(alice2, ['device', 'revoke', 'alice-laptop', '--json']));

    const v = ok(await runAs(bob, ['verify', '-i', file('signed')]));
    expect(v.stderr).toBe('saltbox: good signature by signer: alice (revoked key)\n');
    expect(info(await runAs(bob, ['verify', '-i', file('signed'), '--json']))).toMatchObject({
      signerUsername: 'alice',
      signerKeyStatus: 'revoked',
    });
    const dec = ok(await runAs(bob, ['decrypt', '-i', file('enc')]));
    expect(dec.stderr).toBe('saltbox: sender: alice (revoked key)\n');
    const refused = await runAs(bob, [
      'verify',
      '-i',
      file('signed'),
      '--json',
      '--signer',
      'alice',
    ]);
    expect(errorCode(refused)).toBe('SALTPACK_UNKNOWN_SENDER');
    // Alice's live paper-key device signs; --signer alice accepts it.
    const fresh = ok(await runAs(alice2, ['sign', '-a', '-i', file('msg.txt')])).out;
    const ok2 = ok(await runAs(bob, ['verify', '--signer', 'alice'], {}, fresh));
    expect(ok2.stderr).toBe('saltbox: good signature by signer: alice\n');
  });
});
