/**
 * A signed-in browser session: the client of `@saltbox/client`'s one factory (`openSaltbox`:
 * `Account`, `TeamLoader`, `TeamManager`, `KvClient`, key sync) over the keystore in the
 * Worker, with pins, team pins and the KV rollback cache in `localStorage`
 * (`browser-stores.ts`). The same factory as the CLI's; what is here is only the choice of
 * stores for one user in one tab.
 *
 * @packageDocumentation
 */
import {
  ClientError,
  MemoryChainCache,
  formatFingerprint,
  loginWithPaperKey,
  openSaltbox,
  saltboxAccountEnv,
  userFingerprint,
} from '@saltbox/client/browser';
import type {
  Account,
  AccountConfig,
  DeviceView,
  KvClient,
  KvValue,
  MyTeam,
  Saltbox,
  SaltboxStores,
  TeamLoader,
  TeamManager,
  VerifiedTeam,
  VerifiedUser,
} from '@saltbox/client/browser';
import type { KeystoreClient } from '@saltbox/keystore';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { TextStorage } from './browser-stores.js';
import {
  localKvCacheStorage,
  localPinStore,
  localTeamPinStore,
  storagePrefix,
} from './browser-stores.js';
import { WebError } from './errors.js';

/** What a session is built from. */
export interface SessionEnv {
  backend: CryptoBackend;
  /** The keystore client (the Worker's, unlocked). */
  keystore: KeystoreClient;
  /** The server's base URL (the page's origin in the app). */
  server: string;
  /** Where pins and the rollback cache persist (`window.localStorage`). */
  storage: TextStorage;
}

/** The signed-in user as the overview shows it, all from verified chains. */
export interface Overview {
  user: VerifiedUser;
  /** The user's fingerprint, grouped for reading aloud. */
  fingerprint: string;
  devices: DeviceView[];
  teams: MyTeam[];
}

/**
 * The stores of a tab: pins and team pins in `localStorage` (per server); verified chain
 * states hold Maps and Sets, so they are kept in memory and re-verified after a reload.
 */
function tabStores(env: SessionEnv): SaltboxStores {
  const prefix = storagePrefix(env.server);
  return {
    pins: localPinStore(env.storage, prefix),
    teamPins: localTeamPinStore(env.storage, prefix),
    chains: new MemoryChainCache(),
  };
}

/** One signed-in user in this tab. */
export class WebSession {
  readonly config: AccountConfig;
  /** The client of this user (`openSaltbox`). */
  readonly saltbox: Saltbox;
  readonly account: Account;
  readonly teams: TeamLoader;
  readonly manager: TeamManager;
  readonly kv: KvClient;
  /** The keystore client (the Worker's): Saltpack keys for `messages.ts`. */
  readonly keystore: KeystoreClient;
  readonly #backend: CryptoBackend;

  private constructor(env: SessionEnv, saltbox: Saltbox) {
    this.saltbox = saltbox;
    this.config = saltbox.config;
    this.keystore = env.keystore;
    this.#backend = env.backend;
    this.account = saltbox.account;
    this.teams = saltbox.teams;
    this.manager = saltbox.manager;
    this.kv = saltbox.kv;
  }

  static async #open(env: SessionEnv, stores: SaltboxStores, config: AccountConfig) {
    const saltbox = await openSaltbox({
      config,
      server: env.server,
      keystore: env.keystore,
      backend: env.backend,
      stores: {
        ...stores,
        kvCache: localKvCacheStorage(env.storage, storagePrefix(env.server), config.uid),
      },
    });
    // Read now, as the session always did: a damaged cache fails the sign-in, not a later call.
    await saltbox.kv.ready();
    return new WebSession(env, saltbox);
  }

  /**
   * Signs in with a paper key, like `saltbox login --paperkey` (spec keybase-identity §5.4):
   * the keystore in the Worker derives the paper device from the phrase, the client finds it in
   * the user's verified chain and opens its per-user-key boxes. With `persist`, the keystore
   * stores the paper device (encrypted) so later visits need only the keystore passphrase.
   *
   * @throws WebError `WEB_INVALID_INPUT` for an empty username or phrase; ClientError
   *   `CLIENT_PAPER_KEY_UNKNOWN`, `CLIENT_DEVICE_REVOKED`, `CLIENT_INVALID_ARGUMENT`,
   *   `CLIENT_NETWORK`, `CLIENT_HTTP`, …; KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a phrase
   *   that is not a paper key.
   */
  static async signIn(
    env: SessionEnv,
    input: { username: string; phrase: string; persist: boolean },
  ): Promise<WebSession> {
    const username = input.username.trim().toLowerCase();
    // Whitespace is normalised here: the keystore derives from the words, not the layout.
    const phrase = input.phrase.trim().split(/\s+/).join(' ');
    if (username === '') throw new WebError('WEB_INVALID_INPUT', 'enter a username');
    if (phrase === '') throw new WebError('WEB_INVALID_INPUT', 'enter the paper key');
    // The same stores for the login and the session (the chains verified by the login).
    const stores = tabStores(env);
    const aEnv = await saltboxAccountEnv({
      server: env.server,
      keystore: env.keystore,
      backend: env.backend,
      stores,
    });
    const { config } = await loginWithPaperKey(aEnv, { username, phrase, persist: input.persist });
    return WebSession.#open(env, stores, config);
  }

  /**
   * Resumes a remembered account whose keys the (unlocked, persistent) keystore holds, and
   * opens any per-user-key generation added since.
   *
   * @throws ClientError as `Account.me`; KeystoreError `KEYSTORE_UNKNOWN_KEY` when the
   *   keystore does not hold this account's device.
   */
  static async resume(env: SessionEnv, config: AccountConfig): Promise<WebSession> {
    const session = await WebSession.#open(env, tabStores(env), config);
    await session.account.syncPerUserKeys();
    return session;
  }

  /**
   * The user, devices and teams, each freshly fetched and verified.
   *
   * @throws ClientError as `Account.me` and `TeamManager.listMyTeams`.
   */
  async overview(): Promise<Overview> {
    const user = await this.account.me();
    const [devices, teams] = await Promise.all([
      this.account.devices(user),
      this.manager.listMyTeams({ includeImplicit: true }),
    ]);
    return {
      user,
      fingerprint: formatFingerprint(userFingerprint(this.#backend, user)),
      devices,
      teams,
    };
  }

  /**
   * Loads a team for KV work as the CLI does: an implicit team (`alice,bob`) is loaded or
   * created, a named team is loaded and verified; the caller must be a member; the team keys
   * boxed to the caller are opened in the keystore.
   *
   * @throws WebError `WEB_INVALID_INPUT` for an empty name; ClientError
   *   `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_TEAM_NOT_FOUND`, and the codes of `TeamLoader.load`.
   */
  async team(name: string): Promise<VerifiedTeam> {
    const n = name.trim().toLowerCase();
    if (n === '') throw new WebError('WEB_INVALID_INPUT', 'enter a team name');
    const team = n.includes(',')
      ? await this.manager.loadOrCreateImplicitTeam(n)
      : await this.teams.load(n, { refresh: true });
    if (!team.members.some((m) => m.uid === this.config.uid))
      throw new ClientError('CLIENT_KV_NOT_A_MEMBER', `you are not a member of ${team.name}`, {
        team: team.name,
      });
    await this.saltbox.useKvTeam(team);
    return team;
  }

  /** Reads and verifies an entry (see `KvClient.get`). @throws ClientError as `KvClient.get`. */
  async kvGet(teamName: string, namespace: string, entryKey: string): Promise<KvValue> {
    const team = await this.team(teamName);
    return this.kv.get(team.id, namespace, entryKey);
  }

  /** Writes an entry at the next revision. @throws ClientError as `KvClient.put`. */
  async kvPut(teamName: string, namespace: string, entryKey: string, value: string) {
    const team = await this.team(teamName);
    return this.kv.put(team.id, namespace, entryKey, value);
  }

  /** Deletes an entry (a tombstone). @throws ClientError as `KvClient.del`. */
  async kvDelete(teamName: string, namespace: string, entryKey: string) {
    const team = await this.team(teamName);
    return this.kv.del(team.id, namespace, entryKey);
  }

  /** Namespaces of a team's store. @throws ClientError as `KvClient.listAllNamespaces`. */
  async kvNamespaces(teamName: string): Promise<string[]> {
    const team = await this.team(teamName);
    return this.kv.listAllNamespaces(team.id);
  }

  /** Entry keys of a namespace. @throws ClientError as `KvClient.listAllEntryKeys`. */
  async kvKeys(teamName: string, namespace: string) {
    const team = await this.team(teamName);
    return this.kv.listAllEntryKeys(team.id, namespace);
  }
}
