/**
 * One-shot armored forms of every mode: the binary stream piped through the armor stream, as Go's
 * `EncryptArmor62Seal` and friends do (specs/saltpack.md §8; armor is a wrapper, not a mode).
 */
import { armor, dearmor } from './armor/armor.js';
import { encrypt } from './encrypt.js';
import type { EncryptOptions } from './encrypt.js';
import { sign, signDetached } from './sign.js';
import type { SignOptions } from './sign.js';
import { signcrypt } from './signcrypt.js';
import type { SigncryptOptions } from './signcrypt.js';
import { verify, verifyDetached } from './verify.js';
import type { SignerInfo, VerifyOptions } from './verify.js';

/** The optional brand word of an armor frame (`BEGIN <brand> SALTPACK …`). */
export interface BrandOption {
  /** `[A-Za-z0-9]{1,128}`, e.g. `KEYBASE`; omitted → no brand. */
  brand?: string;
}

/**
 * Encrypts and armors (`BEGIN … SALTPACK ENCRYPTED MESSAGE.`).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options or brand.
 */
export async function encryptArmored(
  plaintext: Uint8Array,
  options: EncryptOptions & BrandOption,
): Promise<string> {
  return armor(await encrypt(plaintext, options), {
    type: 'ENCRYPTED MESSAGE',
    brand: options.brand ?? '',
  });
}

/**
 * Signcrypts and armors (signcryption uses the `ENCRYPTED MESSAGE` frame too).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options or brand.
 */
export async function signcryptArmored(
  plaintext: Uint8Array,
  options: SigncryptOptions & BrandOption,
): Promise<string> {
  return armor(await signcrypt(plaintext, options), {
    type: 'ENCRYPTED MESSAGE',
    brand: options.brand ?? '',
  });
}

/**
 * Makes an armored attached signature (`SIGNED MESSAGE`).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options or brand.
 */
export async function signArmored(
  message: Uint8Array,
  options: SignOptions & BrandOption,
): Promise<string> {
  return armor(await sign(message, options), {
    type: 'SIGNED MESSAGE',
    brand: options.brand ?? '',
  });
}

/**
 * Makes an armored detached signature (`DETACHED SIGNATURE`).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options or brand.
 */
export async function signDetachedArmored(
  message: Uint8Array | ReadableStream<Uint8Array>,
  options: SignOptions & BrandOption,
): Promise<string> {
  return armor(await signDetached(message, options), {
    type: 'DETACHED SIGNATURE',
    brand: options.brand ?? '',
  });
}

/**
 * Verifies an armored attached signature.
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR`, `SALTPACK_BAD_SIGNATURE`, `SALTPACK_TRUNCATED` or
 *   `SALTPACK_MALFORMED`.
 */
export async function verifyArmored(
  text: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<{ message: Uint8Array; signer: SignerInfo; brand: string }> {
  const { data, frame } = await dearmor(text, { expectedType: 'SIGNED MESSAGE' });
  const { message, signer } = await verify(data, options);
  return { message, signer, brand: frame.brand };
}

/**
 * Verifies an armored detached signature over `message`.
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR`, `SALTPACK_BAD_SIGNATURE` or `SALTPACK_MALFORMED`.
 */
export async function verifyDetachedArmored(
  signature: string | Uint8Array,
  message: Uint8Array | ReadableStream<Uint8Array>,
  options: VerifyOptions = {},
): Promise<SignerInfo & { brand: string }> {
  const { data, frame } = await dearmor(signature, { expectedType: 'DETACHED SIGNATURE' });
  return { ...(await verifyDetached(data, message, options)), brand: frame.brand };
}
