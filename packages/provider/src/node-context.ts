/**
 * Everything a process needs to use the provider as a logged-in user (the CLI, the agent's
 * Vault bridge, `age-plugin-saltbox`): the verified directory with the on-disk key cache
 * under `$SALTBOX_HOME`, the keystore agent (connected on first use — all requests to the
 * server are signed by the device inside it), PUK-box refresh, the URL mux with `keybase://`,
 * `saltbox://` and `hashivault://`, and the age plugin handlers.
 *
 * @packageDocumentation
 */
import { defaultBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { KeystoreApi } from '@saltbox/keystore';
import { agentSocketPath, connectAgent } from '@saltbox/keystore/node';
import {
  ApiClient,
  FileChainCache,
  FilePinStore,
  FileLogPinStore,
  FileTeamPinStore,
  LogClient,
  logFreshMsFromEnv,
  TeamLoader,
  TeamManager,
  UserLoader,
  keystoreRequestSigner,
  openMyPukBoxes,
  readAccountConfig,
  saltboxHome,
} from '@saltbox/client';
import type { AccountConfig, RequestSigner } from '@saltbox/client';
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
  /** Server base URL. */
  server: string;
  /** The logged-in username. */
  username: string;
  /** The signing KID of this device (inside the keystore); signs directory requests. */
  deviceSigningKid: string;
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
 * Opens the key boxes of every team the caller belongs to (after a team rotation, or on first
 * use of a team), so the keystore keyring can read ciphertexts made to `team:NAME`.
 */
export async function openMyTeamKeys(a: {
  api: ApiClient;
  backend: CryptoBackend;
  ks: KeystoreApi;
  loader: UserLoader;
  teamLoader: TeamLoader;
  me: { username: string; deviceSigningKid: string };
}): Promise<void> {
  const bundle = await a.ks.getPublicKeyBundle();
  const device = bundle.devices.find((d) => d.signingKid === a.me.deviceSigningKid);
  if (!device) return;
  const manager = new TeamManager({
    api: a.api,
    backend: a.backend,
    keystore: a.ks,
    users: a.loader,
    teams: a.teamLoader,
    me: {
      username: a.me.username,
      deviceSigningKid: a.me.deviceSigningKid,
      deviceEncryptionKid: device.encryptionKid,
    },
  });
  for (const t of await manager.listMyTeams({ includeImplicit: true }))
    await manager.openTeamKeys(await a.teamLoader.load(t.teamId, { refresh: true }));
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
  o: Omit<ProviderContextOptions, 'server' | 'username' | 'deviceSigningKid'> = {},
): Promise<ProviderContext> {
  const home = o.home ?? saltboxHome();
  const config = await requireProviderAccount(home);
  return openProviderContext({
    ...o,
    home,
    server: config.server,
    username: config.username,
    deviceSigningKid: config.device.signingKid,
  });
}

/**
 * Builds a {@link ProviderContext}; connects to nothing until first use.
 *
 * @throws ProviderError `FailedPrecondition` (`PROVIDER_NOT_LOGGED_IN`) when the server,
 *   username or device is missing; ClientError `CLIENT_INVALID_ARGUMENT` when
 *   `SALTBOX_LOG_FRESH_MS` is malformed.
 */
export async function openProviderContext(o: ProviderContextOptions): Promise<ProviderContext> {
  if (o.server === '' || o.username === '' || o.deviceSigningKid === '') throw notLoggedIn(o.home);
  const backend = o.backend ?? (await defaultBackend());
  const home = o.home ?? saltboxHome();
  let agent: Promise<KeystoreApi & { close?: () => Promise<void> }> | undefined;
  const keystore = (): Promise<KeystoreApi> => {
    if (o.keystore) return Promise.resolve(o.keystore);
    agent ??= connectAgent(o.socketPath ?? agentSocketPath(home)).catch((e: unknown) => {
      agent = undefined;
      throw fromKeystoreError(e);
    });
    return agent;
  };
  // Directory requests are signed by this device inside the keystore.
  const signer: RequestSigner = {
    kid: o.deviceSigningKid,
    async signCanonical(canonical) {
      return keystoreRequestSigner(await keystore(), o.deviceSigningKid).signCanonical(canonical);
    },
  };
  const api = new ApiClient({ baseUrl: o.server, backend, signer });
  const pins = new FilePinStore(home);
  // The server's log key and last verified root, shared with the CLI (`log-pins.json`); every
  // cached user, team and key is checked against its latest root before use (#14.9).
  const freshMs = o.logFreshMs ?? logFreshMsFromEnv(o.env ?? process.env);
  const log = new LogClient({
    api,
    backend,
    pins: new FileLogPinStore(home),
    ...(freshMs === undefined ? {} : { freshMs }),
  });
  const loader = new UserLoader({ api, backend, pins, cache: new FileChainCache(home), log });
  // Team pins on disk, shared with the CLI's team commands (`team-pins.json`): a rotation made
  // by `saltbox team remove` moves the pin, which drops the cached team key here.
  const teamPins = new FileTeamPinStore(home);
  const teamLoader = new TeamLoader({ api, backend, users: loader, pins: teamPins, log });
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
      const ks = await keystore();
      const me = await loader.load(o.username, { refresh: true });
      await openMyPukBoxes(backend, api, ks, me);
      await openMyTeamKeys({ api, backend, ks, loader, teamLoader, me: o });
    } catch (e) {
      throw fromClientError(e, o.username);
    }
  };
  const opener = saltboxOpener({ directory, cacheStore, follows, keystore, refreshKeys, backend });
  const mux = new URLMux();
  mux.registerKeeper('keybase', opener);
  mux.registerKeeper('saltbox', opener);
  mux.registerKeeper('hashivault', hashivaultOpener(o.env ?? process.env));
  const cached = new CachedDirectory(directory, { store: cacheStore });
  const self: Recipient = { kind: 'user', name: o.username };
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
    username: o.username,
    mux,
    opener,
    directory,
    cached,
    keystore,
    refreshKeys,
    ageHandlers,
    async close() {
      if (agent) await (await agent.catch(() => undefined))?.close?.();
    },
  };
}
