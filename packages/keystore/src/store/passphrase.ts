/**
 * The passphrase layer: the unencrypted `meta` record that says how to turn a passphrase into
 * the storage key (KDF and parameters, salt) and lets a wrong passphrase be told apart from a
 * damaged store.
 *
 * `meta` is JSON: `{"format":"saltbox-keystore","version":1,"kdf":{…},"check":"<base64>"}`.
 * `check` is a secretbox of a fixed string under a key derived from the storage key; if it does
 * not open, the passphrase is wrong. Tampering with the KDF parameters also lands there (the
 * derived key changes), which is safe: nothing is ever written on a failed unlock.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { concatBytes, constantTimeEqual, utf8 } from '@saltbox/saltpack/encoding';
import { z } from 'zod';
import { fromBase64, toBase64 } from '../bytes.js';
import { KeystoreError, corrupt } from '../errors.js';

/** The record name of the meta record. */
export const META_RECORD = 'meta';
/** The keystore format version this code writes. */
export const FORMAT_VERSION = 1;

const CHECK_TEXT = utf8('saltbox keystore passphrase check');

/** scrypt parameters (N a power of two). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Argon2id parameters, libsodium style. */
export interface Argon2idParams {
  opslimit: number;
  memlimit: number;
}

/**
 * An Argon2id implementation (the core has none; `node/argon2.ts` provides one over
 * sodium-native). Returns `length` bytes.
 */
export type Argon2idFunction = (
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2idParams,
  length: number,
) => Promise<Uint8Array>;

/** How to derive the storage key when creating a keystore. */
export type KdfChoice =
  | { alg: 'scrypt'; params?: ScryptParams }
  | { alg: 'argon2id'; params?: Argon2idParams; argon2id: Argon2idFunction };

/** Default scrypt cost: 64 MiB, a few hundred milliseconds on a small machine. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 16, r: 8, p: 1 };
/** Default Argon2id cost (libsodium's "moderate"). */
export const DEFAULT_ARGON2ID: Argon2idParams = { opslimit: 3, memlimit: 256 * 1024 * 1024 };

const kdfSchema = z.discriminatedUnion('alg', [
  z.object({
    alg: z.literal('scrypt'),
    // A power of two, as scrypt requires; anything else is a damaged record.
    N: z
      .number()
      .int()
      .min(2)
      .max(2 ** 24)
      .refine((n) => (n & (n - 1)) === 0),
    r: z.number().int().min(1).max(64),
    p: z.number().int().min(1).max(64),
    salt: z.string(),
  }),
  z.object({
    alg: z.literal('argon2id'),
    opslimit: z.number().int().min(1).max(64),
    memlimit: z
      .number()
      .int()
      .min(8192)
      .max(2 ** 32),
    salt: z.string(),
  }),
]);

const metaSchema = z.object({
  format: z.literal('saltbox-keystore'),
  version: z.number().int(),
  kdf: kdfSchema,
  check: z.string(),
});

/** The parsed meta record. */
export type KeystoreMeta = z.infer<typeof metaSchema>;

/**
 * Parses a meta record.
 *
 * @throws KeystoreError `KEYSTORE_CORRUPT` when it does not parse;
 *   `KEYSTORE_UNSUPPORTED_VERSION` when it is newer than this code.
 */
export function parseMeta(bytes: Uint8Array): KeystoreMeta {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw corrupt('keystore meta record is damaged', { record: META_RECORD });
  }
  const meta = metaSchema.safeParse(json);
  if (!meta.success) throw corrupt('keystore meta record is damaged', { record: META_RECORD });
  if (meta.data.version !== FORMAT_VERSION) {
    throw new KeystoreError('KEYSTORE_UNSUPPORTED_VERSION', 'unsupported keystore version', {
      record: META_RECORD,
      version: meta.data.version,
    });
  }
  return meta.data;
}

async function deriveKey(
  backend: CryptoBackend,
  passphrase: string,
  kdf: KeystoreMeta['kdf'],
  argon2id: Argon2idFunction | undefined,
): Promise<Uint8Array> {
  const salt = fromBase64(kdf.salt);
  if (salt?.length !== 16) throw corrupt('keystore meta record is damaged');
  const password = utf8(passphrase.normalize('NFC'));
  try {
    if (kdf.alg === 'scrypt') {
      return await backend.scrypt(password, salt, { N: kdf.N, r: kdf.r, p: kdf.p, length: 32 });
    }
    if (!argon2id) {
      throw new KeystoreError(
        'KEYSTORE_UNSUPPORTED_VERSION',
        'this keystore uses argon2id, which is not available here',
      );
    }
    return await argon2id(password, salt, kdf, 32);
  } finally {
    password.fill(0);
  }
}

const checkKey = (backend: CryptoBackend, key: Uint8Array): Uint8Array =>
  backend.hmacSha512(key, utf8('saltbox-keystore-check-1')).slice(0, 32);

/**
 * Makes a meta record for a new keystore and returns it with the storage key.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for an empty passphrase.
 */
export async function createMeta(
  backend: CryptoBackend,
  passphrase: string,
  choice: KdfChoice = { alg: 'scrypt' },
): Promise<{ record: Uint8Array; key: Uint8Array }> {
  if (passphrase.length === 0) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'passphrase must not be empty');
  }
  const salt = toBase64(backend.randomBytes(16));
  const kdf: KeystoreMeta['kdf'] =
    choice.alg === 'scrypt'
      ? { alg: 'scrypt', ...(choice.params ?? DEFAULT_SCRYPT), salt }
      : { alg: 'argon2id', ...(choice.params ?? DEFAULT_ARGON2ID), salt };
  const key = await deriveKey(
    backend,
    passphrase,
    kdf,
    choice.alg === 'argon2id' ? choice.argon2id : undefined,
  );
  const nonce = backend.randomBytes(24);
  const ck = checkKey(backend, key);
  const check = toBase64(concatBytes(nonce, backend.secretboxSeal(CHECK_TEXT, nonce, ck)));
  ck.fill(0);
  const meta: KeystoreMeta = { format: 'saltbox-keystore', version: FORMAT_VERSION, kdf, check };
  return { record: utf8(JSON.stringify(meta)), key };
}

/**
 * Derives the storage key from the passphrase and checks it against the meta record.
 *
 * @throws KeystoreError `KEYSTORE_WRONG_PASSPHRASE` when the check does not open;
 *   `KEYSTORE_CORRUPT` when the record is damaged, including KDF parameters the KDF refuses.
 */
export async function openMeta(
  backend: CryptoBackend,
  meta: KeystoreMeta,
  passphrase: string,
  argon2id?: Argon2idFunction,
): Promise<Uint8Array> {
  const check = fromBase64(meta.check);
  if (check?.length !== 24 + 16 + CHECK_TEXT.length) {
    throw corrupt('keystore meta record is damaged', { record: META_RECORD });
  }
  let key: Uint8Array;
  try {
    key = await deriveKey(backend, passphrase, meta.kdf, argon2id);
  } catch (e) {
    if (e instanceof KeystoreError && e.code !== 'KEYSTORE_INVALID_ARGUMENT') throw e;
    // The KDF refused the stored parameters (more memory than it may use, a cost it rejects):
    // the record was edited or damaged, not a saltbox bug (this code never writes such values).
    throw new KeystoreError(
      'KEYSTORE_CORRUPT',
      'keystore meta record has unusable key-derivation parameters',
      { record: META_RECORD },
      { cause: e },
    );
  }
  const ck = checkKey(backend, key);
  const opened = backend.secretboxOpen(check.subarray(24), check.subarray(0, 24), ck);
  ck.fill(0);
  if (opened === null || !constantTimeEqual(opened, CHECK_TEXT)) {
    key.fill(0);
    throw new KeystoreError('KEYSTORE_WRONG_PASSPHRASE', 'wrong passphrase');
  }
  return key;
}
