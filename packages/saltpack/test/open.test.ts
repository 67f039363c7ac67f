/**
 * Opening messages whose kind is read from their first bytes: armored or binary, encryption or
 * signcryption, attached signatures armored or binary.
 */
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../src/backend/index.js';
import {
  createBasicKeyring,
  createSymmetricResolver,
  generateBoxKey,
  generateSigningKey,
} from '../src/basic.js';
import { encrypt } from '../src/encrypt.js';
import {
  encryptArmored,
  signArmored,
  signcryptArmored,
  signDetachedArmored,
  verifyArmored,
  verifyDetachedArmored,
} from '../src/armored.js';
import { isSaltpackError } from '../src/errors.js';
import { looksArmored, peekHeader } from '../src/classify.js';
import { createOpenEncryptedStream, createVerifyAnyStream, openEncrypted } from '../src/open.js';
import { sign } from '../src/sign.js';
import { signcrypt } from '../src/signcrypt.js';
import { collect } from '../src/internal/streams.js';
import { bytesEqual } from '../src/internal/bytes.js';

const be = await loadBackend('native');
const alice = generateBoxKey(be);
const bob = generateBoxKey(be);
const signer = generateSigningKey(be);
const text = new TextEncoder().encode('attack at dawn');

async function pipeInPieces(
  s: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  input: Uint8Array,
  piece: number,
): Promise<Uint8Array> {
  const out = collect(s.readable);
  const writing = (async () => {
    const w = s.writable.getWriter();
    for (let o = 0; o < input.length; o += piece) await w.write(input.subarray(o, o + piece));
    await w.close();
  })();
  const [read, written] = await Promise.allSettled([out, writing]);
  if (read.status === 'rejected') throw read.reason;
  if (written.status === 'rejected') throw written.reason;
  return read.value;
}

describe('classification', () => {
  it('tells armored from binary after whitespace and quoting', () => {
    expect(looksArmored(new TextEncoder().encode(' \r\n> BEGIN'))).toBe(true);
    expect(looksArmored(Uint8Array.of(0xc4, 0x10))).toBe(false);
    expect(looksArmored(new TextEncoder().encode(' \n '))).toBeNull();
  });

  it('peeks mode and version from a few bytes and asks for more when short', async () => {
    const msg = await signcrypt(text, { receivers: [bob.publicKey], signer, backend: be });
    expect(peekHeader(msg.subarray(0, 3))).toBeNull();
    expect(peekHeader(msg.subarray(0, 40))).toEqual({ mode: 3, version: [2, 0] });
    expect(() => peekHeader(Uint8Array.of(0x93, 1, 2))).toThrow(/not a saltpack message/);
  });
});

describe('openEncrypted', () => {
  it('opens binary and armored encryption and signcryption alike', async () => {
    const keyring = createBasicKeyring([bob]);
    const binaryEnc = await encrypt(text, {
      recipients: [bob.publicKey],
      sender: alice,
      backend: be,
    });
    const armoredEnc = await encryptArmored(text, {
      recipients: [bob.publicKey],
      sender: alice,
      backend: be,
      brand: 'ACME',
    });
    const binarySc = await signcrypt(text, { receivers: [bob.publicKey], signer, backend: be });
    const armoredSc = await signcryptArmored(text, {
      receivers: [bob.publicKey],
      signer,
      backend: be,
    });

    const a = await openEncrypted(binaryEnc, { keyring, backend: be });
    expect(a.kind).toBe('encryption');
    expect(a.brand).toBeNull();
    expect(new TextDecoder().decode(a.plaintext)).toBe('attack at dawn');
    if (a.kind === 'encryption') expect(a.info.senderPublicKey).toEqual(alice.publicKey);

    const b = await openEncrypted(armoredEnc, { keyring, backend: be });
    expect(b.kind).toBe('encryption');
    expect(b.brand).toBe('ACME');
    expect(b.plaintext).toEqual(text);

    const c = await openEncrypted(binarySc, { keyring, backend: be });
    expect(c.kind).toBe('signcryption');
    if (c.kind === 'signcryption') expect(c.info.signerPublicKey).toEqual(signer.publicKey);
    expect(c.plaintext).toEqual(text);

    const d = await openEncrypted(armoredSc, { keyring, backend: be });
    expect(d.kind).toBe('signcryption');
    expect(d.brand).toBe('');
    expect(d.plaintext).toEqual(text);
  });

  it('opens a signcryption to a symmetric key through the resolver', async () => {
    const key = be.randomBytes(32);
    const identifier = be.randomBytes(16);
    const msg = await signcrypt(text, {
      receivers: [{ identifier, key }],
      signer: null,
      backend: be,
    });
    const opened = await openEncrypted(msg, {
      keyring: createBasicKeyring([]),
      symmetricResolver: createSymmetricResolver([{ identifier, key }]),
      backend: be,
    });
    expect(opened.kind).toBe('signcryption');
    expect(opened.plaintext).toEqual(text);
  });

  it('streams one byte at a time and in large pieces with the same result', async () => {
    const big = be.randomBytes(3 * 1024 * 1024 + 17);
    const msg = await encryptArmored(big, { recipients: [bob.publicKey], backend: be });
    const bytes = new TextEncoder().encode(msg);
    const s1 = createOpenEncryptedStream({ keyring: createBasicKeyring([bob]), backend: be });
    // Compare with bytesEqual: Vitest's deep equality walks a 3 MiB array element by element.
    expect(bytesEqual(await pipeInPieces(s1, bytes, 65536), big)).toBe(true);
    expect((await s1.info).kind).toBe('encryption');
    const small = await encrypt(text, { recipients: [bob.publicKey], backend: be });
    const s2 = createOpenEncryptedStream({ keyring: createBasicKeyring([bob]), backend: be });
    expect(await pipeInPieces(s2, small, 1)).toEqual(text);
  });

  it('rejects empty input, garbage and wrong keys with coded errors and rejects info too', async () => {
    const keyring = createBasicKeyring([alice]);
    await expect(openEncrypted(new Uint8Array(0), { keyring, backend: be })).rejects.toSatisfy(
      (e) => isSaltpackError(e, 'SALTPACK_MALFORMED'),
    );
    await expect(openEncrypted(Uint8Array.of(1, 2, 3), { keyring, backend: be })).rejects.toSatisfy(
      (e) => isSaltpackError(e, 'SALTPACK_MALFORMED'),
    );
    const msg = await encrypt(text, { recipients: [bob.publicKey], backend: be });
    const s = createOpenEncryptedStream({ keyring, backend: be });
    await expect(pipeInPieces(s, msg, 10)).rejects.toSatisfy((e) =>
      isSaltpackError(e, 'SALTPACK_NO_DECRYPTION_KEY'),
    );
    await expect(s.info).rejects.toSatisfy((e) => isSaltpackError(e, 'SALTPACK_NO_DECRYPTION_KEY'));
  });

  it('refuses a signed message framed where an encrypted one is expected', async () => {
    const signed = await signArmored(text, { signer, backend: be });
    await expect(
      openEncrypted(signed, { keyring: createBasicKeyring([bob]), backend: be }),
    ).rejects.toSatisfy((e) => isSaltpackError(e, 'SALTPACK_BAD_ARMOR'));
  });
});

describe('verifying armored or binary', () => {
  it('verifies attached signatures in either form and reports the brand', async () => {
    for (const msg of [
      await sign(text, { signer, backend: be }),
      new TextEncoder().encode(await signArmored(text, { signer, backend: be, brand: 'KEYBASE' })),
    ]) {
      const s = createVerifyAnyStream({ backend: be });
      expect(await pipeInPieces(s, msg, 5)).toEqual(text);
      const info = await s.signer;
      expect(info.signerPublicKey).toEqual(signer.publicKey);
      expect(info.brand === null || info.brand === 'KEYBASE').toBe(true);
    }
    const armored = await verifyArmored(
      await signArmored(text, { signer, backend: be, brand: 'X1' }),
      { backend: be },
    );
    expect(armored.brand).toBe('X1');
    expect(armored.message).toEqual(text);
  });

  it('verifies armored detached signatures and refuses another message', async () => {
    const sig = await signDetachedArmored(text, { signer, backend: be });
    const ok = await verifyDetachedArmored(sig, text, { backend: be });
    expect(ok.signerPublicKey).toEqual(signer.publicKey);
    await expect(
      verifyDetachedArmored(sig, new TextEncoder().encode('attack at dusk'), { backend: be }),
    ).rejects.toSatisfy((e) => isSaltpackError(e, 'SALTPACK_BAD_SIGNATURE'));
  });
});
