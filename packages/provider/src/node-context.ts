/**
 * Everything a process needs to use the provider as a logged-in user (the CLI, the agent's
 * Vault bridge, `age-plugin-saltbox`): the verified directory with the on-disk key cache
 * under `$SALTBOX_HOME`, the keystore agent (connected on first use — all requests to the
 * server are signed by the device inside it), PUK-box refresh, the URL mux with `keybase://`,
 * `saltbox://` and `hashivault://`, and the age plugin handlers.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import type { KeystoreApi } from '@saltbox/keystore';
import { agentSocketPath, connectAgent } from '@saltbox/keystore/node';
import { openSaltboxHome, readAccountConfig, saltboxHome } from '@saltbox/client';
import type { AccountConfig, Saltbox } from '@saltbox/client';
import { URLMux } from './mux.js';
import type { KeeperOpener } from './mux.js';
import { userDirectory, fromClientError, teamResolver } from './recipients.js';
import type { Recipient, RecipientDirectory, TeamResolver } from './recipients.js';
import { CachedDirectory, fileKeyCacheStore } from './key-cache.js';
import { fileFollowStore } from './follows.js';
import { fromKeystoreError, notLoggedIn } from './keystore-errors.js';
import { saltboxKeeper, saltboxOpener } from './saltbox-keeper.js';
import { hashivaultOpener } from './hashivault-keeper.js';
import type { AgePluginHandlers } from './age-plugin.js';

/** Who this process acts as. */
export interface ProviderContextOptions {
  /**
   * The account (user and device; the device's signing key, inside the keystore, signs
   * directory requests), as `config.json` holds it.
   */
  account: AccountConfig;
  /** Server base URL; default the account's. */
  server?: string;
  /** `$SALTBOX_HOME` (caches, pins, follows); default {@link saltboxHome}. */
  home?: string;
  /** The agent socket; default the home's (`agentSocketPath` of `@saltbox/keystore/node`). */
  socketPath?: string;
  /** A keystore to use instead of connecting to the agent (the agent process itself). */
  keystore?: KeystoreApi;
  /** Team recipients (default: the client's verifying TeamLoader). */
  teams?: TeamResolver;
  backend?: CryptoBackend;
  /**
   * Environment for `hashivault://` and `SALTBOX_LOG_FRESH_MS` (default `process.env`).
   */
  env?: Record<string, string | undefined>;
  /**
   * How long a verified latest log root is reused before a cached recipient is checked again
   * (default `SALTBOX_LOG_FRESH_MS`, else 3 s): the bound on how long a change made elsewhere
   * (a member removed, a device revoked) can go unseen while the server answers.
   */
  logFreshMs?: number;
}

/** A ready provider for one user. */
export interface ProviderContext {
  readonly username: string;
  /** The client of the account (`openSaltboxHome`): users, teams, log, key sync. */
  readonly saltbox: Saltbox;
  readonly mux: URLMux;
  readonly opener: KeeperOpener;
  /** The verified directory (uncached); keepers add their own TTL cache in front. */
  readonly directory: RecipientDirectory;
  /** A shared cached directory (default TTL) for long-lived users such as the age plugin. */
  readonly cached: CachedDirectory;
  keystore(): Promise<KeystoreApi>;
  refreshKeys(): Promise<void>;
  ageHandlers: AgePluginHandlers;
  close(): Promise<void>;
}

/**
 * The account of a saltbox home (`config.json`: server, username, device), which every route
 * of the provider acts as.
 *
 * @param home - default {@link saltboxHome}.
 * @throws ProviderError `FailedPrecondition` (`PROVIDER_NOT_LOGGED_IN`) when the home has no
 *   account; ClientError `CLIENT_STORE` when its config is unreadable.
 */
export async function requireProviderAccount(home: string = saltboxHome()): Promise<AccountConfig> {
  const config = await readAccountConfig(home);
  if (config === undefined) throw notLoggedIn(home);
  return config;
}

/**
 * A {@link ProviderContext} for the account of a saltbox home (what the CLI, the agent's
 * bridge and the age plugin use).
 *
 * @throws ProviderError `FailedPrecondition` (`PROVIDER_NOT_LOGGED_IN`) when the home has no
 *   account; ClientError `CLIENT_STORE` when its config is unreadable.
 */
export async function openAccountProviderContext(
  o: Omit<ProviderContextOptions, 'account'> = {},
): Promise<ProviderContext> {
  const home = o.home ?? saltboxHome();
  const account = await requireProviderAccount(home);
  return openProviderContext({ ...o, home, account });
}

/**
 * Builds a {@link ProviderContext}; connects to nothing until first use.
 *
 * @throws ProviderError `FailedPrecondition` (`PROVIDER_NOT_LOGGED_IN`) when the server,
 *   username or device is missing; ClientError `CLIENT_INVALID_ARGUMENT` when
 *   `SALTBOX_LOG_FRESH_MS` is malformed.
 */
export async function openProviderContext(o: ProviderContextOptions): Promise<ProviderContext> {
  const { account } = o;
  const server = o.server ?? account.server;
  if (server === '' || account.username === '' || account.device.signingKid === '')
    throw notLoggedIn(o.home);
  const home = o.home ?? saltboxHome();
  const env = o.env ?? process.env;
  // The client of the account, with the pins, team pins, log pins and chain cache of the home
  // shared with the CLI: a rotation made by `saltbox team remove` moves the team pin, which
  // drops the cached team key here; every cached user, team and key is checked against the
  // latest log root before use (#14.9). The agent is connected on first use only.
  const saltbox = await openSaltboxHome({
    home,
    config: account,
    server,
    env,
    keystore: o.keystore ?? {
      connect: () =>
        connectAgent(o.socketPath ?? agentSocketPath(home)).catch((e: unknown) => {
          throw fromKeystoreError(e);
        }),
    },
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.logFreshMs === undefined ? {} : { logFreshMs: o.logFreshMs }),
  });
  const { backend, users: loader, teams: teamLoader, log } = saltbox;
  const { pins, teamPins } = saltbox.stores;
  const keystore = (): Promise<KeystoreApi> => Promise.resolve(saltbox.keystore);
  const directory = userDirectory({
    loader,
    pins,
    teams: o.teams ?? teamResolver(teamLoader),
    teamPins,
    log,
  });
  const cacheStore = fileKeyCacheStore(home);
  const follows = fileFollowStore(home);
  const refreshKeys = async () => {
    try {
      await saltbox.syncKeys({ refreshTeams: true });
    } catch (e) {
      throw fromClientError(e, account.username);
    }
  };
  const opener = saltboxOpener({ directory, cacheStore, follows, keystore, refreshKeys, backend });
  const mux = new URLMux();
  mux.registerKeeper('keybase', opener);
  mux.registerKeeper('saltbox', opener);
  mux.registerKeeper('hashivault', hashivaultOpener(env));
  const cached = new CachedDirectory(directory, { store: cacheStore });
  const self: Recipient = { kind: 'user', name: account.username };
  const ageHandlers: AgePluginHandlers = {
    wrap: (fileKey, recipients) =>
      saltboxKeeper({ recipients, directory: cached, backend }).encrypt(fileKey),
    unwrap: (body) =>
      saltboxKeeper({
        recipients: [self],
        directory: cached,
        keystore,
        refreshKeys,
        backend,
      }).decrypt(body),
  };
  return {
    username: account.username,
    saltbox,
    mux,
    opener,
    directory,
    cached,
    keystore,
    refreshKeys,
    ageHandlers,
    close: () => saltbox.close(),
  };
}
