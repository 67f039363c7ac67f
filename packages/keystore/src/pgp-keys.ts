/**
 * PGP secret keys inside the keystore (issue #7 item 2, `format=pgp`): generation, import of a
 * (possibly passphrase-protected) armored secret key, the reverse signature a `sibkey` link
 * needs (keybase-identity §3.6), and decryption of OpenPGP messages. Only public facts leave
 * this module; the secret key is stored unprotected inside the keystore's encrypted records.
 *
 * Keys are made as legacy EdDSA (Ed25519) primary + ECDH Curve25519 subkey, v4 (OpenPGP
 * algorithms 22 and 18): what gpg makes and reads, and what Keybase's KID types name
 * (spec §2.1). OpenPGP.js 6's `curve25519` type would make RFC 9580 Ed25519/X25519 keys
 * (algorithms 27/25), which gpg 2.2 cannot use and which have no Keybase KID type.
 *
 * @packageDocumentation
 */
import * as openpgp from 'openpgp';
import type { CryptoBackend } from '@saltbox/saltpack';
import { isKid, parsePgpKey, parseJson } from '@saltbox/identity';
import { KeystoreError, invalidArgument, refused } from './errors.js';

/** Public facts about a held PGP key (the `pgp…` methods' answer). */
export interface PgpKeyInfo {
  /** Keybase KID of the primary key (spec §2.1). */
  kid: string;
  /** 40 lowercase hex. */
  fingerprint: string;
  /** 16 lowercase hex. */
  keyId: string;
  /** SHA-256 of the trimmed armored public key: what a `sibkey` link's `full_hash` names. */
  fullHash: string;
  /** The armored public key, exactly the text `fullHash` covers. */
  armoredPublicKey: string;
  /** The key's user IDs (`Name <email>`). */
  userIds: string[];
  /** Creation time, Unix seconds. */
  created: number;
}

/** A held key: its public facts and the unlocked secret key. */
export interface PgpEntry {
  info: PgpKeyInfo;
  key: openpgp.PrivateKey;
}

/** The bytes the store keeps for one PGP key. */
export interface PgpKeyMaterial {
  fingerprint: string;
  /** Armored secret key without passphrase protection (the store encrypts it at rest). */
  armoredSecretKey: string;
  armoredPublicKey: string;
}

/**
 * Public facts and a usable key from stored or fresh material.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for an algorithm without a Keybase KID
 *   type or a key that is not v4.
 */
export async function pgpEntry(
  backend: CryptoBackend,
  material: PgpKeyMaterial,
): Promise<PgpEntry> {
  const key = await openpgp.readPrivateKey({ armoredKey: material.armoredSecretKey });
  let bundle;
  try {
    bundle = await parsePgpKey(backend, material.armoredPublicKey);
  } catch (e) {
    throw new KeystoreError(
      'KEYSTORE_INVALID_ARGUMENT',
      'only version 4 pgp keys are supported',
      {},
      { cause: e },
    );
  }
  if (!isKid(bundle.kid))
    throw invalidArgument('this pgp key algorithm has no keybase kid type (use ed25519 or rsa)');
  if (bundle.fingerprint !== key.getFingerprint().toLowerCase())
    throw invalidArgument('the public and secret pgp keys differ');
  return {
    key,
    info: {
      kid: bundle.kid,
      fingerprint: bundle.fingerprint,
      keyId: bundle.keyId,
      fullHash: bundle.fullHash,
      armoredPublicKey: material.armoredPublicKey,
      userIds: key.getUserIDs(),
      created: Math.floor(key.getCreationTime().getTime() / 1000),
    },
  };
}

/**
 * Generates a key for `userId` (`Name <email>`, or a bare name or e-mail address).
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for an empty user ID.
 */
export async function generatePgpKey(userId: string): Promise<PgpKeyMaterial> {
  const id = parseUserId(userId);
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [id],
    format: 'object',
  });
  return {
    fingerprint: privateKey.getFingerprint().toLowerCase(),
    armoredSecretKey: privateKey.armor(),
    armoredPublicKey: publicKey.armor(),
  };
}

function parseUserId(text: string): openpgp.UserID {
  const t = text.trim();
  const m = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(t);
  if (m) return m[1] ? { name: m[1], email: m[2]! } : { email: m[2]! };
  if (/^[^\s@<>]+@[^\s@<>]+$/.test(t)) return { email: t };
  if (t === '' || /[<>]/.test(t)) throw invalidArgument('malformed pgp user id');
  return { name: t };
}

/**
 * Reads an armored secret key and removes its passphrase protection. The passphrase never
 * appears in an error.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` (not armored pgp, a public key only),
 *   `KEYSTORE_WRONG_PASSPHRASE` (wrong, or none for a protected key).
 */
export async function importPgpKey(
  armoredSecretKey: string,
  passphrase: string | undefined,
): Promise<PgpKeyMaterial> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armoredSecretKey });
  } catch (e) {
    throw new KeystoreError(
      'KEYSTORE_INVALID_ARGUMENT',
      'not an armored pgp key',
      {},
      { cause: e },
    );
  }
  if (!key.isPrivate())
    throw invalidArgument(
      'this is a public key: import the secret key (gpg --export-secret-keys --armor)',
    );
  let unlocked: openpgp.PrivateKey = key;
  if (!key.isDecrypted()) {
    // The same code as a wrong passphrase: callers ask for one and try again.
    if (passphrase === undefined || passphrase === '')
      throw new KeystoreError(
        'KEYSTORE_WRONG_PASSPHRASE',
        'this pgp key is passphrase-protected: a passphrase is needed',
      );
    try {
      unlocked = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch (e) {
      throw new KeystoreError(
        'KEYSTORE_WRONG_PASSPHRASE',
        'the passphrase does not unlock this pgp key',
        {},
        { cause: e },
      );
    }
  }
  return {
    fingerprint: unlocked.getFingerprint().toLowerCase(),
    armoredSecretKey: unlocked.armor(),
    armoredPublicKey: unlocked.toPublic().armor(),
  };
}

/**
 * The reverse signature of the `sibkey` link delegating this key: an armored attached
 * signature over `message`. Policy: the key signs only the canonical JSON of a `sibkey` link
 * that delegates this very key (right KID, fingerprint and full hash when named) with the
 * reverse-sig slot null — it is no general signing oracle.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED` for any other message.
 */
export async function pgpReverseSig(entry: PgpEntry, message: Uint8Array): Promise<string> {
  let payload: unknown;
  try {
    payload = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(message));
  } catch {
    throw refused('a pgp key signs only the sibkey link that delegates it', {
      kid: entry.info.kid,
    });
  }
  const body = (payload as { body?: { type?: unknown; sibkey?: Record<string, unknown> } }).body;
  const s = body?.sibkey;
  const ok =
    body?.type === 'sibkey' &&
    s?.kid === entry.info.kid &&
    s.reverse_sig === null &&
    (s.fingerprint === undefined || s.fingerprint === entry.info.fingerprint) &&
    (s.full_hash === undefined || s.full_hash === entry.info.fullHash);
  if (!ok)
    throw refused('a pgp key signs only the sibkey link that delegates it', {
      kid: entry.info.kid,
    });
  // OpenPGP.js types its results through web-stream types the linter cannot resolve; with an
  // in-memory message and `format: 'armored'` the result is a string.
  const signed = (await openpgp.sign({
    message: await openpgp.createMessage({ binary: message }),
    signingKeys: entry.key,
    format: 'armored',
  })) as unknown as string;
  return signed;
}

const ARMOR_START = /^\s*-----BEGIN PGP MESSAGE-----/;

/**
 * Decrypts an OpenPGP message (binary, or armored text) with whichever held key it is
 * addressed to (wildcard recipients are tried against every key).
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` (not an OpenPGP message),
 *   `KEYSTORE_DECRYPTION_FAILED` (no held key is a recipient, or the message does not
 *   authenticate).
 */
export async function pgpDecrypt(
  entries: readonly PgpEntry[],
  ciphertext: Uint8Array,
): Promise<{ plaintext: Uint8Array; kid: string }> {
  let message: openpgp.Message<Uint8Array>;
  try {
    const text = new TextDecoder().decode(ciphertext.subarray(0, 64));
    message = ARMOR_START.test(text)
      ? await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(ciphertext) })
      : await openpgp.readMessage({ binaryMessage: ciphertext });
  } catch (e) {
    throw new KeystoreError(
      'KEYSTORE_INVALID_ARGUMENT',
      'not an openpgp message',
      {},
      { cause: e },
    );
  }
  const ids = message.getEncryptionKeyIDs();
  if (ids.length === 0) throw invalidArgument('the openpgp message is not public-key encrypted');
  const wildcard = ids.some((id) => id.toHex() === '0000000000000000');
  const candidates = entries.filter(
    (e) => wildcard || ids.some((id) => e.key.getKeys(id).length > 0),
  );
  if (candidates.length === 0)
    throw new KeystoreError(
      'KEYSTORE_DECRYPTION_FAILED',
      'no pgp key held here is a recipient of the message',
    );
  for (const entry of candidates) {
    try {
      const out = await openpgp.decrypt({
        message,
        decryptionKeys: entry.key,
        format: 'binary',
      });
      const plaintext = out.data as unknown as Uint8Array;
      return { plaintext, kid: entry.info.kid };
    } catch (e) {
      if (candidates.length === 1 || entry === candidates[candidates.length - 1])
        throw new KeystoreError(
          'KEYSTORE_DECRYPTION_FAILED',
          'the openpgp message does not decrypt or authenticate',
          { kid: entry.info.kid },
          { cause: e },
        );
    }
  }
  throw new KeystoreError('KEYSTORE_DECRYPTION_FAILED', 'the openpgp message does not decrypt');
}
