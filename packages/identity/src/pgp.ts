/**
 * PGP keys as Keybase uses them: KIDs (spec §2.1), fingerprints, "full hashes" that name one
 * version of a key, and verification of the PGP-signed links in real users' older chains.
 *
 * Verification uses OpenPGP.js with two deliberate relaxations, both Keybase behaviour: key and
 * signature expiry are ignored (the reference verifier ignores expiration, spec §3.8), and old
 * hash algorithms (SHA-1) and short RSA keys found in 2014-era chains are accepted. Revocations
 * inside the key still apply.
 *
 * @packageDocumentation
 */
import * as openpgp from 'openpgp';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { fromBase64, toHex } from './encoding.js';
import { fail } from './errors.js';
import { kidFromPayload } from './ids.js';
import type { KidHex, KidType } from './ids.js';

/** One version of a PGP public key, as listed in a user's `all_bundles`. */
export interface PgpKeyBundle {
  kid: KidHex;
  /** 40 lowercase hex characters. */
  fingerprint: string;
  /** The 64-bit key ID as 16 lowercase hex characters. */
  keyId: string;
  /** SHA-256 of the trimmed armored bundle: how `full_hash` fields name this version. */
  fullHash: string;
  /** Lowercased e-mail addresses of the key's user IDs. */
  emails: readonly string[];
  /** The parsed key, for verification. */
  readonly key: openpgp.PublicKey;
}

const VERIFY_CONFIG: openpgp.Config = {
  ...openpgp.config,
  rejectHashAlgorithms: new Set(),
  rejectMessageHashAlgorithms: new Set(),
  rejectPublicKeyAlgorithms: new Set(),
  rejectCurves: new Set(),
  minRSABits: 512,
};

const ARMOR_START = /^\s*-----BEGIN PGP/;

/** True when a key bundle string is an armored PGP key rather than a NaCl KID. */
export function isArmoredPgpKey(bundle: string): boolean {
  // `\s` is the set `trimStart` removes; an anchored test does not copy a kilobyte-long
  // signature string per link as `trimStart()` did.
  return ARMOR_START.test(bundle);
}

/**
 * Parses an armored PGP public key and computes its KID: the PGP algorithm byte and SHA-256 of
 * the public-key packet body after its version, creation-time and algorithm fields.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` when the text is not a readable PGP public key.
 */
export async function parsePgpKey(backend: CryptoBackend, armored: string): Promise<PgpKeyBundle> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armored, config: VERIFY_CONFIG });
  } catch (e) {
    throw fail('IDENTITY_MALFORMED', 'unreadable pgp key', {}, e);
  }
  const body = key.keyPacket.write();
  // Keybase's KID covers the key material of a v4 packet: skip version(1) ctime(4) algo(1).
  if (body[0] !== 4) throw fail('IDENTITY_MALFORMED', 'only version 4 pgp keys are supported');
  // OpenPGP.js keeps the RFC 4880 algorithm number, which is also Keybase's KID type byte.
  const algo: number = key.keyPacket.algorithm;
  const kid = kidFromPayload(algo as KidType, backend.sha256(body.subarray(6)));
  const emails = key.users
    .map((u) => u.userID?.email.toLowerCase())
    .filter((e): e is string => typeof e === 'string' && e !== '');
  return {
    kid,
    fingerprint: key.getFingerprint().toLowerCase(),
    keyId: key.getKeyID().toHex().toLowerCase(),
    fullHash: toHex(backend.sha256(utf8(armored.trim()))),
    emails,
    key: key.toPublic(),
  };
}

/**
 * Strips ASCII armor and returns the binary packets (sig IDs of PGP links hash these bytes).
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for text without a well-formed armor body.
 */
export function dearmorPgp(armored: string): Uint8Array {
  const lines = armored.replace(/\r/g, '').split('\n');
  const begin = lines.findIndex((l) => l.startsWith('-----BEGIN PGP'));
  const end = lines.findIndex((l, i) => i > begin && l.startsWith('-----END PGP'));
  if (begin < 0 || end < 0) throw fail('IDENTITY_MALFORMED', 'not an armored pgp block');
  let i = begin + 1;
  // Armor headers run until the first empty line.
  if (lines.slice(i, end).some((l) => l.trim() === ''))
    while (i < end && lines[i]!.trim() !== '') i++;
  const body = lines
    .slice(i, end)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('='))
    .join('');
  return fromBase64(body);
}

/**
 * The signed bytes of an armored, attached PGP signature, read without verifying it. This is how
 * a PGP-signed v2 link's outer link is read at import, as Keybase reads a PGP link's payload
 * before it knows which key to check (spec §3.5); the signature itself is checked later, by
 * {@link verifyPgpMessage} with the key the chain names, which returns these same bytes.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` when the text is not a readable PGP message with
 *   literal data (compressed or not).
 */
export async function readPgpSignedData(armored: string): Promise<Uint8Array> {
  try {
    const message = await openpgp.readMessage({ armoredMessage: armored, config: VERIFY_CONFIG });
    // A message read from a string holds its data in memory; a stream here would be a bug.
    const data: unknown = message.getLiteralData();
    if (data instanceof Uint8Array) return data;
  } catch (e) {
    throw fail('IDENTITY_MALFORMED', 'not a readable pgp signed message', {}, e);
  }
  throw fail('IDENTITY_MALFORMED', 'pgp message has no literal data');
}

/**
 * Verifies an armored, attached PGP signature with the given key versions and returns the
 * signed bytes.
 *
 * @throws IdentityError `IDENTITY_VERIFY_FAILED` when the message is unreadable or no signature
 *   from these keys verifies.
 */
export async function verifyPgpMessage(
  armored: string,
  keys: readonly PgpKeyBundle[],
): Promise<Uint8Array> {
  // Each version separately: OpenPGP.js uses the first key whose ID matches, and versions of
  // one key share IDs (Keybase merges them permissively). For each, first with time checks off
  // (a null date); OpenPGP.js still judges subkey bindings against the current time, so a
  // subkey that has since expired needs a second pass dated at the signature's creation time.
  let error: unknown;
  for (const key of keys) {
    const first = await verifyAt(armored, key, null);
    if (first.data !== undefined) return first.data;
    error ??= first.error;
    if (first.created !== undefined) {
      const second = await verifyAt(armored, key, first.created);
      if (second.data !== undefined) return second.data;
    }
  }
  throw fail('IDENTITY_VERIFY_FAILED', 'pgp signature did not verify', {}, error);
}

async function verifyAt(
  armored: string,
  key: PgpKeyBundle,
  date: Date | null,
): Promise<{ data?: Uint8Array; created?: Date; error?: unknown }> {
  try {
    const message = await openpgp.readMessage({ armoredMessage: armored, config: VERIFY_CONFIG });
    const result = await openpgp.verify({
      message,
      verificationKeys: key.key,
      format: 'binary',
      config: VERIFY_CONFIG,
      // A null date disables OpenPGP.js's time checks; its types only admit a Date.
      date: date!,
    });
    const data = result.data as unknown as Uint8Array;
    const sigs = result.signatures;
    let created: Date | undefined;
    let error: unknown = new Error('message is not signed');
    for (const s of sigs) {
      try {
        const packets = await s.signature;
        created ??= packets.packets[0]?.created ?? undefined;
        await s.verified;
        return { data };
      } catch (e) {
        error = e;
      }
    }
    return { error, ...(created === undefined ? {} : { created }) };
  } catch (e) {
    return { error: e };
  }
}

/**
 * Encrypts `plaintext` to every given armored public key as one binary OpenPGP message (each
 * key's encryption subkey gets a PKESK packet naming its key ID, so gpg and the keystore find
 * their key). Public keys only: this module still holds no private key.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for an unreadable key, `IDENTITY_INVALID_ARGUMENT`
 *   for a key that cannot encrypt now (expired, revoked, no encryption subkey) or no keys.
 */
export async function encryptToPgpKeys(
  armoredKeys: readonly string[],
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  if (armoredKeys.length === 0)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'no pgp keys to encrypt to');
  const keys: openpgp.PublicKey[] = [];
  for (const armoredKey of armoredKeys) {
    try {
      keys.push((await openpgp.readKey({ armoredKey })).toPublic());
    } catch (e) {
      throw fail('IDENTITY_MALFORMED', 'unreadable pgp key', {}, e);
    }
  }
  try {
    const message = await openpgp.createMessage({ binary: plaintext });
    // An in-memory message with `format: 'binary'` gives a byte array (OpenPGP.js types it
    // through web-stream types).
    const out: unknown = await openpgp.encrypt({ message, encryptionKeys: keys, format: 'binary' });
    return out as Uint8Array;
  } catch (e) {
    throw fail(
      'IDENTITY_INVALID_ARGUMENT',
      'a pgp key cannot encrypt (expired, revoked or without an encryption subkey)',
      {},
      e,
    );
  }
}
