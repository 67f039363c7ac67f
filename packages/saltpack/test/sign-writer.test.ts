/**
 * What saltbox writes in signatures where the format's specification and the Go reference differ
 * (specs/saltpack.md §5; issue #12.21). The header nonce: the specification's 32 random bytes,
 * injectable only at the two lengths real writers use (32, and Go's 16 for re-sealing its
 * vectors), and read at any length or absent, as Go reads it. An empty message's chunk: an empty
 * bin, or Go's nil on request; both read.
 */
import { describe, expect, it } from 'vitest';
import { signingKeyFromSecret } from '../src/basic.js';
import { DETACHED_SIGNATURE_PREFIX, MODE, VERSION_1, VERSION_2 } from '../src/constants.js';
import type { Version } from '../src/constants.js';
import { isSaltpackError } from '../src/errors.js';
import { decodeHeader, encodeHeader, fieldBytes } from '../src/header.js';
import { concatBytes } from '../src/internal/bytes.js';
import { decodeMsgpackAt, encodeMsgpack } from '../src/msgpack.js';
import type { MsgpackInput } from '../src/msgpack.js';
import { attachedSignatureInput, sign, signDetached } from '../src/sign.js';
import { verify, verifyDetached } from '../src/verify.js';
import { backend } from './backends.js';

const be = await backend('native');
const signer = signingKeyFromSecret(be, new Uint8Array(32).fill(7));
const message = new TextEncoder().encode('nonce lengths');

function nonceOf(signed: Uint8Array): Uint8Array {
  const { end } = decodeMsgpackAt(signed, 0);
  return fieldBytes(decodeHeader(be, signed.subarray(0, end)).fields[1], 'nonce').slice();
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isSaltpackError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

/** Stands for a header without a nonce field at all. */
const MISSING = Symbol('missing');
type NonceField = MsgpackInput | typeof MISSING;

/** Header fields after the mode for a given nonce field. */
function fields(nonce: NonceField): MsgpackInput[] {
  return nonce === MISSING ? [signer.publicKey] : [signer.publicKey, nonce];
}

/** A detached signature built by hand around an arbitrary nonce field. */
async function detachedWith(nonce: NonceField, version: Version) {
  const { wire, hash } = encodeHeader(be, version, MODE.detachedSigning, fields(nonce));
  const digest = be.sha512(hash, message);
  const sig = await signer.sign(concatBytes(DETACHED_SIGNATURE_PREFIX, digest));
  return concatBytes(wire, encodeMsgpack(sig));
}

/** A one-packet v2 attached signature built by hand around an arbitrary nonce field. */
async function attachedWith(nonce: NonceField) {
  const { wire, hash } = encodeHeader(be, VERSION_2, MODE.attachedSigning, fields(nonce));
  const sig = await signer.sign(attachedSignatureInput(be, hash, 0, true, message));
  return concatBytes(wire, encodeMsgpack([true, sig, message]));
}

describe('signature header nonce', () => {
  it('is 32 random bytes, attached and detached, v1 and v2', async () => {
    for (const version of [1, 2] as const) {
      for (const make of [sign, signDetached]) {
        const a = nonceOf(await make(message, { signer, version, backend: be }));
        const b = nonceOf(await make(message, { signer, version, backend: be }));
        expect(a.length).toBe(32);
        expect(b).not.toEqual(a);
      }
    }
  });

  it('asks the random source for exactly 32 bytes', async () => {
    const asked: number[] = [];
    const random = {
      randomBytes(n: number) {
        asked.push(n);
        return new Uint8Array(n).fill(0xab);
      },
    };
    const signed = await sign(message, { signer, backend: be, random });
    expect(asked).toEqual([32]);
    expect(nonceOf(signed)).toEqual(new Uint8Array(32).fill(0xab));
  });

  it('takes an injected 32- or 16-byte nonce verbatim and refuses other lengths', async () => {
    for (const length of [32, 16]) {
      const nonce = new Uint8Array(length).fill(length);
      expect(nonceOf(await sign(message, { signer, backend: be, nonce }))).toEqual(nonce);
      expect(nonceOf(await signDetached(message, { signer, backend: be, nonce }))).toEqual(nonce);
    }
    for (const length of [0, 15, 24, 33, 64]) {
      const nonce = new Uint8Array(length);
      expect(await codeOf(sign(message, { signer, backend: be, nonce }))).toBe(
        'SALTPACK_INVALID_ARGUMENT',
      );
      expect(await codeOf(signDetached(message, { signer, backend: be, nonce }))).toBe(
        'SALTPACK_INVALID_ARGUMENT',
      );
    }
  });

  it('reads a nonce of any length, nil or absent, as the Go reference does', async () => {
    const nonces: NonceField[] = [
      MISSING,
      null,
      ...[0, 1, 16, 24, 32, 64, 255].map((n) => new Uint8Array(n).fill(n & 0xff)),
    ];
    for (const nonce of nonces) {
      for (const version of [VERSION_1, VERSION_2]) {
        const info = await verifyDetached(await detachedWith(nonce, version), message, {
          backend: be,
        });
        expect(info.signerPublicKey).toEqual(signer.publicKey);
      }
      const opened = await verify(await attachedWith(nonce), { backend: be });
      expect(opened.message).toEqual(message);
    }
  });

  it('binds the signature to the nonce: another nonce of the same length fails', async () => {
    for (const length of [16, 32]) {
      const signed = await signDetached(message, { signer, backend: be });
      const forged = await detachedWith(new Uint8Array(length).fill(1), VERSION_2);
      // Same header shape, other nonce, the original signature: must not verify.
      const spliced = concatBytes(
        forged.subarray(0, decodeMsgpackAt(forged, 0).end),
        signed.subarray(decodeMsgpackAt(signed, 0).end),
      );
      expect(await codeOf(verifyDetached(spliced, message, { backend: be }))).toBe(
        'SALTPACK_BAD_SIGNATURE',
      );
    }
  });
});

describe('empty attached message', () => {
  it('writes its chunk as an empty bin by default and as nil on request; reads both', async () => {
    const empty = new Uint8Array(0);
    for (const version of [1, 2] as const) {
      const byDefault = await sign(empty, { signer, version, backend: be });
      const asGo = await sign(empty, { signer, version, backend: be, emptyChunk: 'nil' });
      // The packet's last object is the chunk: c4 00 (bin 8, length 0) or c0 (nil).
      expect([...byDefault.subarray(-2)]).toEqual([0xc4, 0x00]);
      expect(asGo[asGo.length - 1]).toBe(0xc0);
      for (const signed of [byDefault, asGo]) {
        expect((await verify(signed, { backend: be })).message).toEqual(empty);
      }
    }
  });
});
