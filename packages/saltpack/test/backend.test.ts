import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadBackend } from '../src/backend/index.js';
import { toHex } from '../src/internal/bytes.js';

describe('crypto backends agree', async () => {
  const native = await loadBackend('native');
  const portable = await loadBackend('portable');

  it('names themselves', () => {
    expect(native.name).toBe('native');
    expect(portable.name).toBe('portable');
  });

  it('agree on X25519, box keys, secretbox, Ed25519, hashes and HMACs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        (a, b, msg, nonce) => {
          const pa = native.x25519PublicKey(a);
          expect(toHex(portable.x25519PublicKey(a))).toBe(toHex(pa));
          const pb = native.x25519PublicKey(b);
          const k1 = native.boxBeforeNm(pb, a);
          expect(toHex(portable.boxBeforeNm(pb, a))).toBe(toHex(k1));
          expect(toHex(native.boxBeforeNm(pa, b))).toBe(toHex(k1));
          const box = native.secretboxSeal(msg, nonce, k1);
          expect(toHex(portable.secretboxSeal(msg, nonce, k1))).toBe(toHex(box));
          expect(toHex(portable.secretboxOpen(box, nonce, k1)!)).toBe(toHex(msg));
          const kp = native.ed25519KeyPairFromSeed(a);
          expect(toHex(portable.ed25519KeyPairFromSeed(a).secretKey)).toBe(toHex(kp.secretKey));
          const sig = native.ed25519Sign(msg, kp.secretKey);
          expect(toHex(portable.ed25519Sign(msg, kp.secretKey))).toBe(toHex(sig));
          expect(portable.ed25519Verify(sig, msg, kp.publicKey)).toBe(true);
          expect(toHex(portable.sha512(msg, nonce))).toBe(toHex(native.sha512(msg, nonce)));
          expect(toHex(portable.sha256(msg))).toBe(toHex(native.sha256(msg)));
          expect(toHex(portable.hmacSha512(msg, nonce))).toBe(toHex(native.hmacSha512(msg, nonce)));
          expect(toHex(portable.hmacSha256(nonce, msg))).toBe(toHex(native.hmacSha256(nonce, msg)));
          expect(toHex(portable.hmacSha512Trunc32(a, msg))).toBe(
            toHex(native.hmacSha512(a, msg).subarray(0, 32)),
          );
          const inc = portable.createSha512().update(msg).update(nonce).digest();
          expect(toHex(inc)).toBe(toHex(native.createSha512().update(msg).update(nonce).digest()));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reject a tampered secretbox and a bad signature', () => {
    for (const be of [native, portable]) {
      const key = be.randomBytes(32);
      const nonce = be.randomBytes(24);
      const box = be.secretboxSeal(new Uint8Array([1, 2, 3]), nonce, key);
      box[5]! ^= 1;
      expect(be.secretboxOpen(box, nonce, key)).toBeNull();
      expect(be.secretboxOpen(new Uint8Array(3), nonce, key)).toBeNull();
      const kp = be.ed25519KeyPairFromSeed(be.randomBytes(32));
      const sig = be.ed25519Sign(new Uint8Array([9]), kp.secretKey);
      expect(be.ed25519Verify(sig, new Uint8Array([8]), kp.publicKey)).toBe(false);
      expect(be.ed25519Verify(sig.subarray(1), new Uint8Array([9]), kp.publicKey)).toBe(false);
    }
  });

  it('map a low-order X25519 peer to a key instead of throwing', () => {
    const zero = new Uint8Array(32);
    const sk = native.randomBytes(32);
    expect(toHex(native.boxBeforeNm(zero, sk))).toBe(toHex(portable.boxBeforeNm(zero, sk)));
  });

  it('agree on scrypt', async () => {
    const pw = new TextEncoder().encode('password');
    const salt = new TextEncoder().encode('NaCl');
    const params = { N: 1024, r: 8, p: 16, length: 64 };
    const a = await native.scrypt(pw, salt, params);
    // RFC 7914 §12 test vector 2.
    expect(toHex(a)).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
    expect(toHex(await portable.scrypt(pw, salt, params))).toBe(toHex(a));
  });
});
