/**
 * The `keybase://` (alias `saltbox://`) keeper: Saltpack encryption to every recipient's
 * verified keys (DESIGN.md, Secrets provider; Identity: a user is encrypted to through the
 * current PUK encryption key plus every live device key), decryption through the keystore's
 * keyring — never raw keys.
 *
 * A ciphertext is a plain Saltpack encryption message (binary, or armored with `armor=true`),
 * so it names its own recipient keys: decryption needs no URL, and a message made before a
 * device revoke or a PUK rotation still opens with any key the keystore holds for it.
 *
 * @packageDocumentation
 */
import {
  SaltpackError,
  defaultBackend,
  encrypt as saltpackEncrypt,
  encryptArmored,
  openEncrypted,
} from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import { encryptToPgpKeys } from '@saltbox/identity';
import { KeystoreError, kidPublicKey, keystoreKeyring } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import { ProviderError, errorCodeOf, invalidArgument } from './errors.js';
import type { ErrorCode } from './errors.js';
import { Keeper, findInCauses } from './keeper.js';
import type { KeeperDriver } from './keeper.js';
import { checkParams } from './mux.js';
import type { KeeperOpener, KeeperUrl } from './mux.js';
import { parseRecipients, recipientLabel } from './recipients.js';
import type { Recipient, RecipientDirectory, RecipientKeys } from './recipients.js';
import { CachedDirectory, DEFAULT_CACHE_TTL_S } from './key-cache.js';
import type { KeyCacheStore } from './key-cache.js';
import type { FollowStore } from './follows.js';
import { fromKeystoreError } from './keystore-errors.js';
import { headerEngine } from './header-engine.js';

/** The two schemes of this keeper. */
export const SALTBOX_SCHEMES = ['keybase', 'saltbox'] as const;

/** The URL parameters the opener accepts. */
export const SALTBOX_URL_PARAMS = [
  'format',
  'armor',
  'cache_ttl',
  'verify_proofs',
  'device_keys',
] as const;

/** Ciphertext formats. */
export type KeeperFormat = 'saltpack' | 'pgp';

/** Options of {@link saltboxKeeper}. */
export interface SaltboxKeeperOptions {
  recipients: readonly Recipient[];
  format?: KeeperFormat;
  /** Saltpack only: ASCII armor instead of binary. */
  armor?: boolean;
  /** Encrypt only to followed identities. */
  verifyProofs?: boolean;
  /**
   * Saltpack: also encrypt to users' device and paper keys (default true). With false, users
   * with a PUK get only their current PUK key — every device and paper key holds its seed.
   */
  deviceKeys?: boolean;
  /** Where keys come from (wrap it in a {@link CachedDirectory} for a cache). */
  directory: RecipientDirectory;
  /** Needed when `verifyProofs`. */
  follows?: FollowStore;
  /**
   * The keystore used to decrypt, asked for on first use (so encryption works without one).
   *
   * @throws ProviderError `FailedPrecondition` when there is none (no agent, locked).
   */
  keystore?: () => Promise<KeystoreApi>;
  /**
   * Called once when no held key opens a message, to fetch and open key boxes the keystore
   * lacks (a PUK or team generation rotated in by another device); then decryption is retried.
   */
  refreshKeys?: () => Promise<void>;
  backend?: CryptoBackend;
}

function boolParam(url: KeeperUrl, name: string): boolean {
  const v = url.params.get(name);
  if (v === null) return false;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidArgument('PROVIDER_BAD_URL', `${name} must be true or false`, { parameter: name });
}

/** What a `keybase://` URL says. */
export interface SaltboxUrlOptions {
  recipients: Recipient[];
  format: KeeperFormat;
  armor: boolean;
  cacheTtlSeconds: number;
  verifyProofs: boolean;
  deviceKeys: boolean;
}

/**
 * Reads a `keybase://alice,bob,team:acme?format=saltpack&armor=true&cache_ttl=60&verify_proofs=true`
 * URL.
 *
 * @throws ProviderError `InvalidArgument`: `PROVIDER_BAD_URL` (unknown or repeated parameter,
 *   bad value, a path), `PROVIDER_BAD_RECIPIENT` (malformed username or team name).
 */
export function parseSaltboxUrl(url: KeeperUrl): SaltboxUrlOptions {
  checkParams(url, SALTBOX_URL_PARAMS);
  if (url.id.includes('/'))
    throw invalidArgument('PROVIDER_BAD_URL', 'the url names recipients only, no path');
  const format = url.params.get('format') ?? 'saltpack';
  if (format !== 'saltpack' && format !== 'pgp')
    throw invalidArgument('PROVIDER_BAD_URL', 'format must be saltpack or pgp', {
      parameter: 'format',
    });
  const armor = boolParam(url, 'armor');
  if (armor && format === 'pgp')
    throw invalidArgument('PROVIDER_BAD_URL', 'armor applies to format=saltpack only', {
      parameter: 'armor',
    });
  const deviceKeys = url.params.get('device_keys') === null || boolParam(url, 'device_keys');
  if (url.params.get('device_keys') !== null && format === 'pgp')
    throw invalidArgument('PROVIDER_BAD_URL', 'device_keys applies to format=saltpack only', {
      parameter: 'device_keys',
    });
  const ttlText = url.params.get('cache_ttl');
  let cacheTtlSeconds = DEFAULT_CACHE_TTL_S;
  if (ttlText !== null) {
    if (!/^\d{1,9}$/.test(ttlText))
      throw invalidArgument('PROVIDER_BAD_URL', 'cache_ttl must be whole seconds', {
        parameter: 'cache_ttl',
      });
    cacheTtlSeconds = Number(ttlText);
  }
  const recipients = parseRecipients(url.id);
  const team = recipients.find((r) => r.kind === 'team');
  if (format === 'pgp' && team)
    throw invalidArgument(
      'PROVIDER_BAD_RECIPIENT',
      'teams have no pgp keys: use format=saltpack for team recipients',
      { recipient: recipientLabel(team) },
    );
  return {
    recipients,
    format,
    armor,
    cacheTtlSeconds,
    verifyProofs: boolParam(url, 'verify_proofs'),
    deviceKeys,
  };
}

const PGP_ARMOR = new TextEncoder().encode('-----BEGIN PGP MESSAGE');

/**
 * Whether a ciphertext is an OpenPGP message: armored, or binary starting with a public-key
 * encrypted session key packet (tag 1; RFC 4880 §4.2: old format `0x84`–`0x87`, new format
 * `0xc1`). A binary Saltpack message starts with a msgpack bin header (`0xc4`–`0xc6`) and an
 * armored one with `BEGIN`, so the two never collide.
 */
export function isOpenPgpMessage(ciphertext: Uint8Array): boolean {
  const first = ciphertext[0];
  return (
    startsWith(ciphertext, PGP_ARMOR) ||
    (first !== undefined && ((first >= 0x84 && first <= 0x87) || first === 0xc1))
  );
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Maps a Saltpack failure while opening a ciphertext. */
function fromSaltpackError(e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof KeystoreError) return fromKeystoreError(e);
  if (e instanceof SaltpackError) {
    const details = { saltpackCode: e.code, saltpackReason: e.reason };
    if (e.code === 'SALTPACK_NO_DECRYPTION_KEY')
      return new ProviderError(
        'PermissionDenied',
        'PROVIDER_DECRYPT_FAILED',
        'none of this keystore’s keys is a recipient of the ciphertext',
        details,
        { cause: e },
      );
    if (e.code === 'SALTPACK_AUTHENTICATION_FAILED')
      return new ProviderError(
        'InvalidArgument',
        'PROVIDER_DECRYPT_FAILED',
        'the ciphertext does not authenticate',
        details,
        { cause: e },
      );
    const inner = findInCauses(e, KeystoreError);
    if (inner) return fromKeystoreError(inner);
    return new ProviderError(
      'InvalidArgument',
      'PROVIDER_MALFORMED_CIPHERTEXT',
      'not a saltbox ciphertext',
      details,
      { cause: e },
    );
  }
  return new ProviderError('Internal', 'PROVIDER_INTERNAL', 'decryption failed', {}, { cause: e });
}

/** The keeper driver. */
class SaltboxDriver implements KeeperDriver {
  readonly #o: SaltboxKeeperOptions;
  #backend: Promise<CryptoBackend> | undefined;

  constructor(options: SaltboxKeeperOptions) {
    if (options.recipients.length === 0)
      throw invalidArgument('PROVIDER_BAD_RECIPIENT', 'no recipients given');
    this.#o = options;
  }

  #be(): Promise<CryptoBackend> {
    this.#backend ??= this.#o.backend ? Promise.resolve(this.#o.backend) : defaultBackend();
    return this.#backend;
  }

  async #checkFollowed(keys: Pick<RecipientKeys, 'label' | 'identity'>): Promise<void> {
    const rec = this.#o.follows ? await this.#o.follows.get(keys.label) : undefined;
    if (rec?.identity !== keys.identity)
      throw new ProviderError(
        'PermissionDenied',
        'PROVIDER_NOT_FOLLOWED',
        rec
          ? `${keys.label} changed identity since you followed them: check, then run 'saltbox follow ${keys.label}'`
          : `${keys.label} is not followed: run 'saltbox follow ${keys.label}' (verify_proofs=true)`,
        { recipient: keys.label },
      );
  }

  /** The recipients' public keys, de-duplicated. */
  async publicKeys(): Promise<Uint8Array[]> {
    const all = await Promise.all(this.#o.recipients.map((r) => this.#o.directory.resolve(r)));
    if (this.#o.verifyProofs) for (const k of all) await this.#checkFollowed(k);
    const kids = new Set<string>();
    const pukOnly = this.#o.deviceKeys === false;
    for (const k of all)
      for (const kid of pukOnly && k.perUserKid ? [k.perUserKid] : k.encryptionKids) kids.add(kid);
    return [...kids].map((kid) => kidPublicKey(kid));
  }

  /** `format=pgp`: one OpenPGP message to every recipient's live PGP keys. */
  async #encryptPgp(plaintext: Uint8Array): Promise<Uint8Array> {
    const directory = this.#o.directory;
    if (!directory.resolvePgp)
      throw new ProviderError(
        'Unimplemented',
        'PROVIDER_UNIMPLEMENTED',
        'this directory has no pgp keys: use format=saltpack',
      );
    const all = await Promise.all(this.#o.recipients.map((r) => directory.resolvePgp!(r)));
    if (this.#o.verifyProofs) for (const k of all) await this.#checkFollowed(k);
    const keys = [...new Set(all.flatMap((k) => k.armoredKeys))];
    try {
      return await encryptToPgpKeys(keys, plaintext);
    } catch (e) {
      throw new ProviderError(
        'FailedPrecondition',
        'PROVIDER_NO_PGP_KEY',
        'a recipient pgp key cannot encrypt (expired, revoked or without an encryption subkey)',
        {},
        { cause: e },
      );
    }
  }

  /** Opens an OpenPGP message inside the keystore. */
  async #decryptPgp(ks: KeystoreApi, ciphertext: Uint8Array): Promise<Uint8Array> {
    try {
      return (await ks.pgpDecrypt({ ciphertext })).plaintext;
    } catch (e) {
      if (e instanceof KeystoreError && e.code === 'KEYSTORE_INVALID_ARGUMENT')
        throw new ProviderError(
          'InvalidArgument',
          'PROVIDER_MALFORMED_CIPHERTEXT',
          'not a readable openpgp message',
          { keystoreCode: e.code },
          { cause: e },
        );
      throw fromKeystoreError(e);
    }
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    if (this.#o.format === 'pgp') return this.#encryptPgp(plaintext);
    const recipients = await this.publicKeys();
    const backend = await this.#be();
    const engine = headerEngine(backend, recipients.length);
    const options = { recipients, backend, ...(engine ? { engine } : {}) };
    if (this.#o.armor)
      return new TextEncoder().encode(
        await encryptArmored(plaintext, { ...options, brand: 'SALTBOX' }),
      );
    return saltpackEncrypt(plaintext, options);
  }

  async decrypt(ciphertext: Uint8Array): Promise<Uint8Array> {
    if (ciphertext.length === 0)
      throw new ProviderError(
        'InvalidArgument',
        'PROVIDER_MALFORMED_CIPHERTEXT',
        'empty ciphertext',
      );
    if (!this.#o.keystore)
      throw new ProviderError(
        'FailedPrecondition',
        'PROVIDER_NO_AGENT',
        "decryption needs the keystore: run 'saltbox agent start', then 'saltbox unlock'",
      );
    let ks: KeystoreApi;
    try {
      ks = await this.#o.keystore();
    } catch (e) {
      throw fromKeystoreError(e);
    }
    if (isOpenPgpMessage(ciphertext)) return this.#decryptPgp(ks, ciphertext);
    const backend = await this.#be();
    const attempt = async () => {
      const keyring = await keystoreKeyring(ks).catch((e: unknown) => {
        throw fromKeystoreError(e);
      });
      return (await openEncrypted(ciphertext, { keyring, backend })).plaintext;
    };
    try {
      return await attempt();
    } catch (e) {
      if (
        this.#o.refreshKeys &&
        e instanceof SaltpackError &&
        e.code === 'SALTPACK_NO_DECRYPTION_KEY'
      ) {
        await this.#o.refreshKeys();
        try {
          return await attempt();
        } catch (e2) {
          throw fromSaltpackError(e2);
        }
      }
      throw fromSaltpackError(e);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  errorCode(err: unknown): ErrorCode {
    return errorCodeOf(err);
  }

  errorAs<T>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
    return findInCauses(err, type);
  }
}

/**
 * A keeper encrypting to `recipients` (Saltpack, anonymous sender).
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_RECIPIENT`) for no recipients.
 */
export function saltboxKeeper(options: SaltboxKeeperOptions): Keeper {
  return new Keeper(new SaltboxDriver(options));
}

/** What the opener needs besides the URL. */
export interface SaltboxOpenerDeps {
  /** The uncached directory; each keeper gets a {@link CachedDirectory} with the URL's TTL. */
  directory: RecipientDirectory;
  /** Where cached keys live (default: memory). */
  cacheStore?: KeyCacheStore;
  follows?: FollowStore;
  keystore?: () => Promise<KeystoreApi>;
  refreshKeys?: () => Promise<void>;
  backend?: CryptoBackend;
}

/**
 * The opener of `keybase://` and `saltbox://` URLs.
 *
 * @throws ProviderError `InvalidArgument` from {@link parseSaltboxUrl}.
 */
export function saltboxOpener(deps: SaltboxOpenerDeps): KeeperOpener {
  return (url) => {
    const o = parseSaltboxUrl(url);
    const directory = new CachedDirectory(deps.directory, {
      ...(deps.cacheStore ? { store: deps.cacheStore } : {}),
      ttlSeconds: o.cacheTtlSeconds,
    });
    return Promise.resolve(
      saltboxKeeper({
        recipients: o.recipients,
        format: o.format,
        armor: o.armor,
        verifyProofs: o.verifyProofs,
        deviceKeys: o.deviceKeys,
        directory,
        ...(deps.follows ? { follows: deps.follows } : {}),
        ...(deps.keystore ? { keystore: deps.keystore } : {}),
        ...(deps.refreshKeys ? { refreshKeys: deps.refreshKeys } : {}),
        ...(deps.backend ? { backend: deps.backend } : {}),
      }),
    );
  };
}

/** Labels of recipients, for messages. */
export function recipientList(rs: readonly Recipient[]): string {
  return rs.map(recipientLabel).join(',');
}
