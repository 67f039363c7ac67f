/**
 * Where the CLI's private keys come from. Commands ask a {@link KeySource} for key handles and
 * never read key files or talk to the keystore themselves; {@link openKeySource} is the one
 * place that chooses between a key file, the keystore agent and the in-process keystore.
 *
 * @packageDocumentation
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  boxKeyFromSecret,
  createBasicKeyring,
  defaultBackend,
  generateBoxKey,
  generateSigningKey,
  signingKeyFromSecret,
} from '@saltbox/saltpack';
import { fromHex, toHex } from '@saltbox/saltpack/encoding';
import { HOME_FILES, saltboxHome } from '@saltbox/keystore/paths';
import type { BoxKeyring, BoxSecretKey, SigningSecretKey } from '@saltbox/saltpack';
import { writeFileAtomic } from '@saltbox/keystore/files';
import { CliError, ioError } from './errors.js';
import type { KeySource, KeySourceKind, KeySourceOptions } from './key-source.js';
import type { DeviceInfo, OpenKeystore } from './keystore-access.js';

/** The `type` field of a key file. */
export const KEY_FILE_TYPE = 'saltbox-saltpack-key';
/** The key file format version this CLI writes and reads. */
export const KEY_FILE_VERSION = 1;
/** The key file's name inside `$SALTBOX_HOME`. */
export const KEY_FILE_NAME = HOME_FILES.keyFile;

/** A key file on disk (JSON). Secrets are hex; the public halves are stored to check them. */
export interface KeyFile {
  type: typeof KEY_FILE_TYPE;
  version: typeof KEY_FILE_VERSION;
  created: string;
  encryption: { public: string; secret: string };
  signing: { public: string; seed: string };
}

/** Public halves of a key pair set, as printed by `keygen`. */
export interface PublicKeys {
  /** X25519 public key, 64 hex characters: what `-r` takes. */
  encryptionPublicKey: string;
  /** Ed25519 public key, 64 hex characters: what `verify --signer` takes. */
  signingPublicKey: string;
}

export type { KeySource, KeySourceKind, KeySourceOptions } from './key-source.js';

/** `$SALTBOX_HOME` or the platform's default: the one rule of `@saltbox/keystore/paths`. */
export { saltboxHome };

/** The default key file path, `$SALTBOX_HOME/saltpack.key`. */
export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(saltboxHome({ env }), KEY_FILE_NAME);
}

function hexField(v: unknown, length: number, what: string, path: string): Uint8Array {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${length * 2}}$`).test(v)) {
    throw new CliError('CLI_BAD_KEY_FILE', `key file ${path}: ${what} is missing or malformed`);
  }
  return fromHex(v);
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Parses and checks a key file's text: type, version, key lengths, and that each public half
 * matches its secret (a damaged file must not encrypt to a key nobody holds).
 *
 * @throws CliError `CLI_BAD_KEY_FILE`.
 */
export async function parseKeyFile(
  text: string,
  path: string,
): Promise<{ box: BoxSecretKey; signing: SigningSecretKey }> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('CLI_BAD_KEY_FILE', `key file ${path} is not valid json`);
  }
  if (field(json, 'type') !== KEY_FILE_TYPE) {
    throw new CliError('CLI_BAD_KEY_FILE', `${path} is not a saltbox key file`);
  }
  if (field(json, 'version') !== KEY_FILE_VERSION) {
    throw new CliError('CLI_BAD_KEY_FILE', `key file ${path} has an unsupported version`, {
      hint: 'the file was written by a newer saltbox; upgrade saltbox',
    });
  }
  const enc = field(json, 'encryption');
  const sig = field(json, 'signing');
  const boxSecret = hexField(field(enc, 'secret'), 32, 'encryption.secret', path);
  const boxPublic = hexField(field(enc, 'public'), 32, 'encryption.public', path);
  const seed = hexField(field(sig, 'seed'), 32, 'signing.seed', path);
  const sigPublic = hexField(field(sig, 'public'), 32, 'signing.public', path);
  const backend = await defaultBackend();
  const box = boxKeyFromSecret(backend, boxSecret);
  const signing = signingKeyFromSecret(backend, seed);
  if (toHex(box.publicKey) !== toHex(boxPublic) || toHex(signing.publicKey) !== toHex(sigPublic)) {
    throw new CliError(
      'CLI_BAD_KEY_FILE',
      `key file ${path} is damaged: a public key does not match its secret`,
    );
  }
  return { box, signing };
}

/** A {@link KeySource} over a key file, read once on first use. */
class KeyFileSource implements KeySource {
  readonly kind = 'file' as const;
  readonly location: string;
  private loaded?: Promise<{ box: BoxSecretKey; signing: SigningSecretKey }>;

  constructor(path: string) {
    this.location = path;
  }

  private load(): Promise<{ box: BoxSecretKey; signing: SigningSecretKey }> {
    this.loaded ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.location, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new CliError('CLI_NO_KEY_FILE', `no key file at ${this.location}`, { cause: e });
        }
        throw ioError(`cannot read key file ${this.location}`, e);
      }
      return parseKeyFile(text, this.location);
    })();
    return this.loaded;
  }

  async boxKey(): Promise<BoxSecretKey> {
    return (await this.load()).box;
  }

  async signingKey(): Promise<SigningSecretKey> {
    return (await this.load()).signing;
  }

  async boxKeyring(): Promise<BoxKeyring> {
    return createBasicKeyring([(await this.load()).box]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The choice, made once on first use:
 *
 * 1. `-k FILE` → that key file;
 * 2. else an agent that answers on the socket: locked → `KEYSTORE_LOCKED` (hint
 *    `saltbox unlock`); unlocked with a device → that device; otherwise on to the key file;
 * 3. else, when `$SALTBOX_HOME/keystore` holds a keystore, the keystore in this process
 *    (unlocked with `--passphrase-file`, `SALTBOX_PASSPHRASE` or a prompt) if it has a device;
 * 4. else the default key file `$SALTBOX_HOME/saltpack.key`.
 *
 * @throws CliError `KEYSTORE_LOCKED`, passphrase errors (`CLI_NO_PASSPHRASE`, …); KeystoreError
 *   `KEYSTORE_WRONG_PASSPHRASE`, `KEYSTORE_TRANSPORT`, `KEYSTORE_CORRUPT`, ….
 */
async function chooseKeySource(options: KeySourceOptions): Promise<KeySource> {
  if (options.keyFile !== undefined) return new KeyFileSource(options.keyFile);
  // Loaded only now: key-file users never pay for the keystore's start-up.
  const {
    configuredSigningKid,
    keystoreDirExists,
    keystoreKeySource,
    keystorePaths,
    openInProcessShared,
    pickDevice,
    socketExists,
    tryConnectAgent,
  } = await import('./keystore-access.js');
  const preferred = await configuredSigningKid();
  const paths = keystorePaths();
  const hasKeystore = await keystoreDirExists(paths.keystoreDir);
  if (!hasKeystore && !(await socketExists(paths.socketPath))) {
    return new KeyFileSource(defaultKeyFile());
  }
  const agent = await tryConnectAgent(paths.socketPath);
  if (agent) {
    const open: OpenKeystore = {
      client: agent,
      kind: 'agent',
      location: paths.socketPath,
      close: () => agent.close(),
    };
    try {
      const { state } = await agent.status();
      if (state === 'locked') {
        throw new CliError('KEYSTORE_LOCKED', 'the keystore agent is locked');
      }
      if (state === 'unlocked') {
        const device = pickDevice((await agent.getPublicKeyBundle()).devices, preferred);
        if (device) return keystoreKeySource(open, device);
      }
    } catch (e) {
      await agent.close();
      throw e;
    }
    await agent.close();
    return new KeyFileSource(defaultKeyFile());
  }
  if (hasKeystore) {
    const local = await openInProcessShared(paths.keystoreDir, {
      passphraseFile: options.passphraseFile,
    });
    if (local) {
      let device: DeviceInfo | undefined;
      try {
        device = pickDevice((await local.client.getPublicKeyBundle()).devices, preferred);
      } catch (e) {
        await local.close();
        throw e;
      }
      if (device) return keystoreKeySource(local, device);
      await local.close();
    }
  }
  return new KeyFileSource(defaultKeyFile());
}

/** Defers {@link chooseKeySource} until a key is needed, then delegates to the choice. */
class ChosenKeySource implements KeySource {
  readonly #options: KeySourceOptions;
  #choice: Promise<KeySource> | undefined;
  #chosen: KeySource | undefined;

  constructor(options: KeySourceOptions) {
    this.#options = options;
  }

  get kind(): KeySourceKind | undefined {
    return this.#chosen?.kind;
  }

  get location(): string {
    return this.#chosen?.location ?? this.#options.keyFile ?? defaultKeyFile();
  }

  #choose(): Promise<KeySource> {
    this.#choice ??= chooseKeySource(this.#options).then((s) => (this.#chosen = s));
    return this.#choice;
  }

  async boxKey(): Promise<BoxSecretKey> {
    return (await this.#choose()).boxKey();
  }

  async signingKey(): Promise<SigningSecretKey> {
    return (await this.#choose()).signingKey();
  }

  async boxKeyring(): Promise<BoxKeyring> {
    return (await this.#choose()).boxKeyring();
  }

  async close(): Promise<void> {
    await this.#chosen?.close();
  }
}

/**
 * Opens the key source for a command (see {@link chooseKeySource} for the order). Nothing is
 * read or connected until a key is needed, so commands that end up not needing one do not fail.
 */
export function openKeySource(options: KeySourceOptions = {}): KeySource {
  return new ChosenKeySource(options);
}

/**
 * Generates a fresh key file's contents and its public keys.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` when no crypto backend loads.
 */
export async function generateKeyFile(): Promise<{ file: KeyFile; publicKeys: PublicKeys }> {
  const backend = await defaultBackend();
  const box = generateBoxKey(backend);
  const signing = generateSigningKey(backend);
  const publicKeys = {
    encryptionPublicKey: toHex(box.publicKey),
    signingPublicKey: toHex(signing.publicKey),
  };
  return {
    file: {
      type: KEY_FILE_TYPE,
      version: KEY_FILE_VERSION,
      created: new Date().toISOString(),
      encryption: { public: publicKeys.encryptionPublicKey, secret: toHex(box.secretKey) },
      signing: {
        public: publicKeys.signingPublicKey,
        seed: toHex(signing.secretKey.subarray(0, 32)),
      },
    },
    publicKeys,
  };
}

/**
 * Writes a secret file with the one atomic writer of `@saltbox/keystore/files` (temporary file
 * created 0600, fsync, then a hard link — which fails if the target exists, so a concurrent
 * `keygen` cannot be overwritten — or, with `force`, a rename; then the directory fsynced). The
 * directory is created 0700 when missing. The temporary name carries the process id, so a
 * later run removes it if this one is killed.
 *
 * @throws CliError `CLI_KEY_FILE_EXISTS` when the file exists and `force` is false;
 *   `CLI_IO` when the file cannot be written.
 */
export async function writeSecretFileAtomic(
  path: string,
  contents: string,
  force: boolean,
): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioError(`cannot create directory ${dir}`, e);
  }
  try {
    await writeFileAtomic(path, contents, { noClobber: !force });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && !force) {
      throw new CliError('CLI_KEY_FILE_EXISTS', `key file ${path} already exists`, { cause: e });
    }
    throw ioError(`cannot write ${path}`, e);
  }
}

/** A signcryption symmetric-key receiver read from a `--symmetric-key-file`. */
export interface SymmetricKey {
  identifier: Uint8Array;
  key: Uint8Array;
}

/**
 * Parses a symmetric key file: JSON `{"identifier": "<hex, any length>", "key": "<64 hex>"}`.
 *
 * @throws CliError `CLI_BAD_KEY_FILE`.
 */
export function parseSymmetricKeyFile(text: string, path: string): SymmetricKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('CLI_BAD_KEY_FILE', `symmetric key file ${path} is not valid json`, {
      hint: 'a symmetric key file is {"identifier": "<hex>", "key": "<64 hex characters>"}',
    });
  }
  const id = field(json, 'identifier');
  if (typeof id !== 'string' || id.length === 0 || !/^(?:[0-9a-f]{2})+$/i.test(id)) {
    throw new CliError('CLI_BAD_KEY_FILE', `symmetric key file ${path}: identifier must be hex`);
  }
  return {
    identifier: fromHex(id.toLowerCase()),
    key: hexField(field(json, 'key'), 32, 'key', path),
  };
}
