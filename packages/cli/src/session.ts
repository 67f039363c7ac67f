/**
 * The account this `$SALTBOX_HOME` acts as, for the account commands and for resolving
 * usernames: its config (`config.json`: server, user, device — nothing secret), the keystore
 * (the agent when one runs, else the keystore in this process), and the client of
 * `@saltbox/client`'s one factory (`openSaltboxHome`) whose requests are signed by the
 * configured device inside the keystore, with every pin and cache in the files of the home.
 *
 * @packageDocumentation
 */
import { join } from 'node:path';
import {
  homeStores,
  logFreshMsFromEnv,
  openSaltboxHome,
  readAccountConfig,
  saltboxAccountEnv,
  saltboxHome as clientHome,
} from '@saltbox/client';
import type { Account, AccountConfig, AccountEnv, Saltbox } from '@saltbox/client';
import { CliError } from './errors.js';
import { keystorePaths, openInProcessShared, tryConnectAgent } from './keystore-access.js';
import type { OpenKeystore } from './keystore-access.js';
import { readPassphrase } from './passphrase.js';

/** The server used when neither `--server`, `SALTBOX_SERVER` nor the config names one. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** `--server`, else `SALTBOX_SERVER`, else the config's, else {@link DEFAULT_SERVER}. */
export function serverUrl(flag: string | undefined, config?: AccountConfig): string {
  const env = process.env.SALTBOX_SERVER;
  return (
    flag ?? (env !== undefined && env !== '' ? env : undefined) ?? config?.server ?? DEFAULT_SERVER
  );
}

/** The home directory the client's stores use (the CLI's `$SALTBOX_HOME`). */
export function home(): string {
  return clientHome();
}

/**
 * Opens the keystore for an account command: the agent when one answers (locked →
 * `KEYSTORE_LOCKED`; with `create`, an uninitialised one is created with a passphrase), else
 * the file keystore in this process (created with `create`).
 *
 * @throws CliError `KEYSTORE_LOCKED`, `KEYSTORE_UNINITIALIZED` (no keystore and not `create`),
 *   passphrase errors; KeystoreError from unlocking.
 */
export async function openAccountKeystore(options: {
  passphraseFile?: string | undefined;
  create: boolean;
}): Promise<OpenKeystore> {
  const paths = keystorePaths();
  const agent = await tryConnectAgent(paths.socketPath);
  if (agent) {
    try {
      const { state } = await agent.status();
      if (state === 'locked') throw new CliError('KEYSTORE_LOCKED', 'the keystore agent is locked');
      if (state === 'uninitialized') {
        if (!options.create)
          throw new CliError(
            'KEYSTORE_UNINITIALIZED',
            `there is no keystore in ${paths.keystoreDir}`,
          );
        const passphrase = await readPassphrase({
          file: options.passphraseFile,
          confirm: true,
          prompt: `new passphrase for the keystore in ${paths.keystoreDir}`,
        });
        await agent.unlock({ passphrase, create: true });
      }
    } catch (e) {
      await agent.close();
      throw e;
    }
    return { client: agent, kind: 'agent', location: paths.socketPath, close: () => agent.close() };
  }
  const local = await openInProcessShared(paths.keystoreDir, {
    passphraseFile: options.passphraseFile,
    create: options.create,
  });
  if (!local)
    throw new CliError('KEYSTORE_UNINITIALIZED', `there is no keystore in ${paths.keystoreDir}`);
  return local;
}

/**
 * The environment of `@saltbox/client`'s account functions (sign-up, login) for one server and
 * keystore, with the stores of this home (`homeStores`) and `SALTBOX_LOG_FRESH_MS`.
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` when `SALTBOX_LOG_FRESH_MS` is malformed.
 */
export async function accountEnv(server: string, keystore: OpenKeystore): Promise<AccountEnv> {
  const logFreshMs = logFreshMsFromEnv(process.env);
  return saltboxAccountEnv({
    server,
    keystore: keystore.client,
    stores: homeStores(home()),
    ...(logFreshMs === undefined ? {} : { logFreshMs }),
  });
}

/** A signed-in session. */
export interface Session {
  readonly config: AccountConfig;
  /** The client of this home (`openSaltboxHome`): users, teams, KV, key sync. */
  readonly saltbox: Saltbox;
  /** `saltbox.account`. */
  readonly account: Account;
  readonly keystore: OpenKeystore;
  close(): Promise<void>;
}

/**
 * Reads the config or fails with `CLI_NOT_LOGGED_IN`.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError `CLIENT_STORE` (unreadable config).
 */
export async function requireConfig(): Promise<AccountConfig> {
  const config = await readAccountConfig(home());
  if (config === undefined)
    throw new CliError('CLI_NOT_LOGGED_IN', `no account is set up in ${home()}`);
  return config;
}

/**
 * Opens the session of this home: config, keystore, account. The configured device must be in
 * the keystore (a oneshot paper key is gone once its agent locked or stopped).
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`, `CLI_DEVICE_MISSING`, and those of
 *   {@link openAccountKeystore}.
 */
export async function openSession(options: {
  passphraseFile?: string | undefined;
  /**
   * The keystore to use instead of {@link openAccountKeystore}'s choice: the agent's own, when
   * its client service opens the session inside the agent.
   */
  keystore?: () => Promise<OpenKeystore>;
}): Promise<Session> {
  const config = await requireConfig();
  const keystore = await (options.keystore?.() ??
    openAccountKeystore({
      passphraseFile: options.passphraseFile,
      create: false,
    }));
  try {
    const { devices } = await keystore.client.getPublicKeyBundle();
    if (!devices.some((d) => d.signingKid === config.device.signingKid))
      throw new CliError(
        'CLI_DEVICE_MISSING',
        `the keystore does not hold the keys of device "${config.device.name}"`,
        config.oneshot
          ? {
              hint: `the paper key lived only in the agent, which has locked or stopped since; run 'saltbox login ${config.username} --paperkey' again`,
            }
          : {},
      );
    const saltbox = await openSaltboxHome({
      home: home(),
      config,
      keystore: keystore.client,
      release: () => keystore.close(),
    });
    return { config, saltbox, account: saltbox.account, keystore, close: () => saltbox.close() };
  } catch (e) {
    await keystore.close();
    throw e;
  }
}

/** The path of a file inside this home (for messages). */
export function homePath(name: string): string {
  return join(home(), name);
}
