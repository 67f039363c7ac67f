/**
 * Signing interoperability with an independent implementation: the npm library
 * `@samuelthomas2774/saltpack` (v2 signing only). It insists on the 32-byte header nonce of the
 * format's specification (specs/saltpack.md §5), so it rejects Go's 16-byte nonces; saltbox writes
 * 32 and reads both (issue #12.21).
 */
import * as npm from '@samuelthomas2774/saltpack';
import { describe, expect, it } from 'vitest';
import {
  signArmored,
  signDetachedArmored,
  verifyArmored,
  verifyDetachedArmored,
} from '../src/armored.js';
import { boxKeyFromSecret, signingKeyFromSecret } from '../src/basic.js';
import { MODE } from '../src/constants.js';
import { decodeHeader, fieldBytes } from '../src/header.js';
import { decodeMsgpackAt } from '../src/msgpack.js';
import { sign, signDetached } from '../src/sign.js';
import { signcrypt } from '../src/signcrypt.js';
import { verify, verifyDetached } from '../src/verify.js';
import { concatBytes } from '../src/internal/bytes.js';
import { BACKEND_NAMES, backend } from './backends.js';

const MIB = 1024 * 1024;

/** Deterministic bytes (no randomness needed: the signatures are what is under test). */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return out;
}

/** The header nonce of a binary signature (the header is the first msgpack object, §5). */
async function headerNonce(signed: Uint8Array, name: (typeof BACKEND_NAMES)[number]) {
  const be = await backend(name);
  const { end } = decodeMsgpackAt(signed, 0);
  const header = decodeHeader(be, signed.subarray(0, end));
  expect([MODE.attachedSigning, MODE.detachedSigning]).toContain(header.mode);
  return fieldBytes(header.fields[1], 'nonce');
}

const seed = pattern(32, 1);
// The npm library takes tweetnacl-shaped key pairs: an Ed25519 secret key is seed ‖ public key.
const npmPublicKey = signingKeyFromSecret(await backend('native'), seed).publicKey;
const npmKey = { publicKey: npmPublicKey, secretKey: concatBytes(seed, npmPublicKey) };
// Messages on both sides of the 1 MiB chunk boundary, so chunking is exercised too.
const messages = [new Uint8Array(0), pattern(1000, 2), pattern(MIB, 3), pattern(MIB + 1, 4)];

describe.each(BACKEND_NAMES)('npm saltpack interop (%s backend)', (name) => {
  it('saltbox writes a 32-byte nonce in attached and detached headers, v1 and v2', async () => {
    const be = await backend(name);
    const signer = signingKeyFromSecret(be, seed);
    for (const version of [1, 2] as const) {
      const attached = await sign(messages[1]!, { signer, version, backend: be });
      const detached = await signDetached(messages[1]!, { signer, version, backend: be });
      expect((await headerNonce(attached, name)).length).toBe(32);
      expect((await headerNonce(detached, name)).length).toBe(32);
    }
  });

  it('the npm library verifies saltbox attached signatures, binary and armored', async () => {
    const be = await backend(name);
    const signer = signingKeyFromSecret(be, seed);
    for (const message of messages) {
      const signed = await sign(message, { signer, backend: be });
      const verified = await npm.verify(signed, npmKey.publicKey);
      expect(Buffer.compare(verified, message)).toBe(0);
      const armored = await signArmored(message, { signer, backend: be });
      const fromArmor = await npm.verifyArmored(armored, npmKey.publicKey);
      expect(Buffer.compare(fromArmor, message)).toBe(0);
    }
  });

  it('the npm library verifies saltbox detached signatures, binary and armored', async () => {
    const be = await backend(name);
    const signer = signingKeyFromSecret(be, seed);
    for (const message of messages) {
      const sig = await signDetached(message, { signer, backend: be });
      await expect(npm.verifyDetached(sig, message, npmKey.publicKey)).resolves.toBeDefined();
      const armored = await signDetachedArmored(message, { signer, backend: be });
      await expect(
        npm.verifyDetachedArmored(armored, message, npmKey.publicKey),
      ).resolves.toBeDefined();
      // And it still refuses a signature over other bytes: the check above is a real one.
      await expect(npm.verifyDetached(sig, pattern(7, 9), npmKey.publicKey)).rejects.toThrow();
    }
  });

  it('saltbox verifies npm attached and detached signatures, binary and armored', async () => {
    const be = await backend(name);
    for (const message of messages.filter((m) => m.length > 0)) {
      const attached = new Uint8Array(npm.sign(message, npmKey));
      expect((await headerNonce(attached, name)).length).toBe(32);
      const opened = await verify(attached, { backend: be });
      expect(Buffer.compare(opened.message, message)).toBe(0);
      expect(opened.signer.signerPublicKey).toEqual(npmKey.publicKey);

      const armored = await npm.signAndArmor(message, npmKey);
      const fromArmor = await verifyArmored(armored, { backend: be });
      expect(Buffer.compare(fromArmor.message, message)).toBe(0);
    }
    for (const message of messages) {
      const detached = new Uint8Array(npm.signDetached(message, npmKey));
      const info = await verifyDetached(detached, message, { backend: be });
      expect(info.signerPublicKey).toEqual(npmKey.publicKey);

      const detachedArmored = await npm.signDetachedAndArmor(message, npmKey);
      const armoredInfo = await verifyDetachedArmored(detachedArmored, message, { backend: be });
      expect(armoredInfo.signerPublicKey).toEqual(npmKey.publicKey);
    }
  });

  it('refuses an npm attached signature of an empty message, as Go does', async () => {
    // The npm library writes only the header for empty input, with no final packet (§12); Go
    // reports unexpected EOF and so does saltbox.
    const be = await backend(name);
    const headerOnly = new Uint8Array(npm.sign(new Uint8Array(0), npmKey));
    await expect(verify(headerOnly, { backend: be })).rejects.toMatchObject({
      code: 'SALTPACK_TRUNCATED',
    });
  });

  it('signcryption carries no header nonce: the npm library opens saltbox signcryption', async () => {
    // Checked with the signing fix (§6: the header is ephemeral key, sender secretbox and
    // receivers), so nothing there depended on the nonce length.
    const be = await backend(name);
    const signer = signingKeyFromSecret(be, seed);
    const receiverSecret = pattern(32, 5);
    const receiver = boxKeyFromSecret(be, receiverSecret);
    const npmReceiver = { publicKey: receiver.publicKey, secretKey: receiverSecret };
    for (const message of messages.filter((m) => m.length > 0)) {
      const sealed = await signcrypt(message, {
        receivers: [receiver.publicKey],
        signer,
        backend: be,
      });
      const opened = await npm.designcrypt(sealed, npmReceiver, npmKey.publicKey);
      expect(Buffer.compare(opened, message)).toBe(0);
    }
  });
});
