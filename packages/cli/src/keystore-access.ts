/**
 * How the CLI reaches the keystore: the agent on its socket when one answers, else the file
 * keystore in this process. Paths follow DESIGN.md ("Files on a user's machine"): the keystore
 * in `$SALTBOX_HOME/keystore`, the agent socket named by a hash of the home under
 * `$XDG_RUNTIME_DIR/saltbox` or `/tmp/saltbox-<uid>`, a named pipe on Windows (see
 * `@saltbox/keystore/node`'s `agentSocketPath`).
 *
 * @packageDocumentation
 */
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  inProcessClient,
  isKeystoreError,
  keystoreBoxKey,
  keystoreKeyring,
  keystoreSigningKey,
} from '@saltbox/keystore';
import type { KeystoreClient, ResponseOf } from '@saltbox/keystore';
import type { BoxKeyring, BoxSecretKey, SigningSecretKey } from '@saltbox/saltpack';
import {
  agentSocketPath,
  connectAgent,
  keystoreDirOf,
  openFileKeystore,
} from '@saltbox/keystore/node';
import type { AgentClient } from '@saltbox/keystore/node';
import { CliError } from './errors.js';
import { HOME_FILES, saltboxHome } from '@saltbox/keystore/paths';
import type { KeySource } from './key-source.js';
import { readPassphrase } from './passphrase.js';

/** A device as the keystore describes it (public values only). */
export type DeviceInfo = ResponseOf<'createDevice'>;

/** Where the keystore and the agent live. */
export interface KeystorePaths {
  readonly keystoreDir: string;
  readonly socketPath: string;
}

/**
 * The keystore directory (`<home>/keystore`) and the agent socket of the home (outside it,
 * where the path is always short: `agentSocketPath` of `@saltbox/keystore/node`).
 */
export function keystorePaths(env: NodeJS.ProcessEnv = process.env): KeystorePaths {
  const home = saltboxHome({ env });
  return { keystoreDir: keystoreDirOf(home), socketPath: agentSocketPath(home, { env }) };
}

/**
 * Connects to the agent, or returns undefined when none answers (no socket, or a stale socket
 * left by an agent that died).
 *
 * @throws KeystoreError `KEYSTORE_TRANSPORT` when the socket exists but the connection fails
 *   otherwise (permissions, …).
 */
export async function tryConnectAgent(socketPath: string): Promise<AgentClient | undefined> {
  try {
    return await connectAgent(socketPath);
  } catch (e) {
    if (isKeystoreError(e, 'KEYSTORE_AGENT_NOT_RUNNING')) return undefined;
    throw e;
  }
}

/**
 * Connects to the agent for a command that only makes sense with one (`unlock`, `lock`,
 * `agent stop|status`).
 *
 * @throws CliError `KEYSTORE_AGENT_NOT_RUNNING` with a hint suited to `command`.
 */
export async function requireAgent(paths: KeystorePaths, hint?: string): Promise<AgentClient> {
  const agent = await tryConnectAgent(paths.socketPath);
  if (!agent) {
    throw new CliError(
      'KEYSTORE_AGENT_NOT_RUNNING',
      'no keystore agent is running',
      hint === undefined ? {} : { hint },
    );
  }
  return agent;
}

/** True when something (a live or a stale agent socket) exists at `path`. */
export async function socketExists(path: string): Promise<boolean> {
  if (process.platform === 'win32') return true; // named pipes: just try to connect
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** True when the keystore directory exists (it may still be empty: uninitialised). */
export async function keystoreDirExists(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** An open keystore client and how to let go of it. */
export interface OpenKeystore {
  readonly client: KeystoreClient;
  readonly kind: 'agent' | 'keystore';
  /** For messages: the socket or the keystore directory. */
  readonly location: string;
  /** Locks an in-process keystore (drops its secrets) or closes the agent connection. */
  close(): Promise<void>;
}

/**
 * Opens the file keystore in this process (no idle timer: the process is short-lived) and
 * unlocks it with a passphrase from {@link readPassphrase}; `create` makes a new keystore when
 * none exists (asking twice on a terminal).
 *
 * @returns undefined when no keystore exists and `create` is false.
 * @throws CliError from {@link readPassphrase}; KeystoreError `KEYSTORE_WRONG_PASSPHRASE`,
 *   `KEYSTORE_CORRUPT`, … from `unlock` (the keystore is closed again first).
 */
export async function openInProcess(
  dir: string,
  options: { passphraseFile?: string | undefined; create?: boolean },
): Promise<OpenKeystore | undefined> {
  const local = await openFileKeystore({ keystoreDir: dir, idleLockMs: null });
  const client = inProcessClient(local);
  try {
    const { state } = await client.status();
    const create = state === 'uninitialized';
    if (create && options.create !== true) {
      await local.close();
      return undefined;
    }
    const passphrase = await readPassphrase({
      file: options.passphraseFile,
      confirm: create,
      prompt: create
        ? `new passphrase for the keystore in ${dir}`
        : `passphrase for the keystore in ${dir}`,
    });
    await client.unlock({ passphrase, create });
  } catch (e) {
    await local.close();
    throw e;
  }
  return {
    client,
    kind: 'keystore',
    location: dir,
    close: async () => {
      await client.close();
      await local.close();
    },
  };
}

const shared = new Map<string, OpenKeystore>();

/**
 * {@link openInProcess}, once per keystore directory and process: a command that needs the
 * keystore twice (its keys, and the account that resolves usernames) asks for the passphrase
 * and derives the storage key once. Closing is idempotent; the first close locks it.
 *
 * @throws as {@link openInProcess}.
 */
export async function openInProcessShared(
  dir: string,
  options: { passphraseFile?: string | undefined; create?: boolean },
): Promise<OpenKeystore | undefined> {
  const open = shared.get(dir);
  if (open) return open;
  const fresh = await openInProcess(dir, options);
  if (!fresh) return undefined;
  let closed: Promise<void> | undefined;
  const once: OpenKeystore = {
    client: fresh.client,
    kind: fresh.kind,
    location: fresh.location,
    close: () => {
      shared.delete(dir);
      closed ??= fresh.close();
      return closed;
    },
  };
  shared.set(dir, once);
  return once;
}

/**
 * The signing KID of the device the account config (`$SALTBOX_HOME/config.json`) names, read
 * without loading the client (start-up time); undefined without a readable config.
 */
export async function configuredSigningKid(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  try {
    const json = JSON.parse(
      await readFile(join(saltboxHome({ env }), HOME_FILES.config), 'utf8'),
    ) as {
      device?: { signingKid?: unknown };
    };
    const kid = json.device?.signingKid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The device whose keys the Saltpack commands use: the device of the account config when the
 * keystore holds it, else the first persistent non-paper device, else any non-paper device,
 * else a paper-key device; undefined when the keystore holds none.
 */
export function pickDevice(
  devices: readonly DeviceInfo[],
  preferredSigningKid?: string,
): DeviceInfo | undefined {
  const configured = devices.find((d) => d.signingKid === preferredSigningKid);
  if (configured) return configured;
  const own = devices.filter((d) => d.type !== 'backup');
  return own.find((d) => d.persistent) ?? own[0] ?? devices[0];
}

/** A device name for `keygen --keystore`: this machine's host name, within the 64-char limit. */
export function defaultDeviceName(): string {
  const name = hostname().trim().slice(0, 64);
  return name === '' ? 'saltbox' : name;
}

/** The 64-hex public key inside a KID (`01 ‖ type ‖ key ‖ 0a`). */
export const kidToHex = (kid: string): string => kid.slice(4, 68);

/**
 * A {@link KeySource} over a keystore device: handles that ask the keystore (agent or
 * in-process) for each per-message operation — Saltpack header work inside the keystore, bulk
 * payload work in the CLI. No secret key ever leaves the keystore.
 */
class KeystoreKeySource implements KeySource {
  readonly kind: 'agent' | 'keystore';
  readonly location: string;
  readonly #client: KeystoreClient;
  readonly #device: DeviceInfo;
  readonly #close: () => Promise<void>;

  constructor(open: OpenKeystore, device: DeviceInfo) {
    this.kind = open.kind;
    this.location = open.location;
    this.#client = open.client;
    this.#device = device;
    this.#close = () => open.close();
  }

  boxKey(): Promise<BoxSecretKey> {
    return Promise.resolve(keystoreBoxKey(this.#client, this.#device.encryptionKid));
  }

  signingKey(): Promise<SigningSecretKey> {
    return Promise.resolve(keystoreSigningKey(this.#client, this.#device.signingKid));
  }

  boxKeyring(): Promise<BoxKeyring> {
    return keystoreKeyring(this.#client);
  }

  close(): Promise<void> {
    return this.#close();
  }
}

/** The key source of an open keystore's device (takes over closing `open`). */
export function keystoreKeySource(open: OpenKeystore, device: DeviceInfo): KeySource {
  return new KeystoreKeySource(open, device);
}
