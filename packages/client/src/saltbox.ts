/**
 * The one place the client's object graph is built (issue #15.1): {@link openSaltbox} wires,
 * for one account, the signed API client, the signed log with its pins, the user loader with
 * its pins and chain cache, the team loader with its team pins, the team manager, the KV client
 * with its rollback cache, the account, key sync and `close()`. The CLI, the `kvstore api`
 * backend and the keybase shim, the provider (its bridge and the age plugin) and the web app
 * each make one call here (on Node through `openSaltboxHome`, which adds the file stores of a
 * home), so a store cannot be forgotten in one of them again — the KV backend once built its
 * team loader without the team pin file.
 *
 * Platform-neutral: the stores are given (memory by default); `node.ts` has the file ones.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { defaultBackend } from '@saltbox/saltpack';
import { KEYSTORE_METHODS } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import type { AccountConfig } from './account-config.js';
import { Account } from './account.js';
import type { AccountEnv } from './account.js';
import type { ApiClient, RetryPolicy } from './http.js';
import { KvClient, verifiedWriterKeys } from './kv.js';
import { teamWriterAt } from './kv-writers.js';
import { KvRollbackCache } from './kv-cache.js';
import type { KvCacheStorage } from './kv-cache.js';
import { MemoryLogPinStore } from './log.js';
import type { LogClient, LogPinStore } from './log.js';
import { MemoryChainCache, MemoryPinStore } from './pins.js';
import type { ChainCache, PinStore } from './pins.js';
import { TeamManager } from './team-ops.js';
import { MemoryTeamPinStore, TeamLoader } from './teams.js';
import type { TeamPinStore, VerifiedTeam } from './teams.js';
import type { UserLoader } from './users.js';

/**
 * Where a {@link Saltbox} keeps what it verified. Each store left out is kept in memory for
 * the life of the object (trust on first use per process), so a long-lived program should give
 * all of them; `openSaltboxHome` gives the files of `$SALTBOX_HOME`.
 */
export interface SaltboxStores {
  /** User pins: eldest KID and newest verified tail per username (`pins.json`). */
  pins?: PinStore;
  /** Verified user chain states (`chains/`). */
  chains?: ChainCache;
  /** Team pins: team ID, root link and newest verified tail (`team-pins.json`). */
  teamPins?: TeamPinStore;
  /** The server's log key and newest verified root (`log-pins.json`). */
  logPins?: LogPinStore;
  /** The KV rollback cache (`kv-rollback-cache.json`); read once, on the first KV call. */
  kvCache?: KvCacheStorage;
}

/** A keystore that is connected on first use (the agent, for a process that may not need it). */
export interface LazyKeystore {
  /**
   * Connects. Called on the first keystore call, and again after a failed attempt; the
   * connection is closed by {@link Saltbox.close} when it has a `close` method.
   */
  connect(): Promise<KeystoreApi & { close?: () => Promise<void> }>;
}

/** What {@link openSaltbox} builds from. */
export interface OpenSaltboxOptions {
  /** The account this Saltbox acts as (its server unless {@link OpenSaltboxOptions.server}). */
  config: AccountConfig;
  /** Server base URL; default `config.server`. */
  server?: string;
  /**
   * The keystore holding the device's keys (the agent client, an in-process client, the web
   * Worker's client), or a {@link LazyKeystore}. Every request to the server is signed by the
   * configured device inside it.
   */
  keystore: KeystoreApi | LazyKeystore;
  /** Default: all in memory. */
  stores?: SaltboxStores;
  /** Default: `defaultBackend()`. */
  backend?: CryptoBackend;
  /**
   * How long a verified latest log root is reused (default 3 s, `DEFAULT_LOG_FRESH_MS`): the
   * bound on how long a change made elsewhere can go unseen while the server answers.
   */
  logFreshMs?: number;
  /** Injected `fetch`, retry policy and clock (tests). */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  /** Run once by {@link Saltbox.close}, after a lazily connected keystore is closed. */
  release?: () => Promise<void>;
}

/** What {@link Saltbox.syncKeys} opens and how. */
export interface SyncKeysOptions {
  /** Open the per-user-key boxes first (default true): team seeds are boxed to them. */
  perUserKeys?: boolean;
  /** Refetch every team chain (default false: a cached team checked against the log). */
  refreshTeams?: boolean;
  /**
   * A team whose keys cannot be opened: `throw` (default) stops at the first; `skip` goes on
   * with the next team and reports it in {@link KeySyncResult.failed}.
   */
  teamErrors?: 'throw' | 'skip';
}

/** What {@link Saltbox.syncKeys} did. */
export interface KeySyncResult {
  /** The per-user-key generations the keystore holds; null when not asked to open them. */
  generations: number[] | null;
  /** Teams whose key boxes were opened. */
  teams: string[];
  /** Teams skipped (`teamErrors: 'skip'`), with their error. */
  failed: { teamId: string; error: unknown }[];
}

/** One account's client, built by {@link openSaltbox}. */
export interface Saltbox {
  readonly config: AccountConfig;
  readonly backend: CryptoBackend;
  /** The keystore as given, or a forwarder that connects a {@link LazyKeystore} on first use. */
  readonly keystore: KeystoreApi;
  /** Signed requests as the configured device. */
  readonly api: ApiClient;
  /** The server's signed log, pinned in `stores.logPins`; shared by users and teams. */
  readonly log: LogClient;
  /** Verified users, pinned in `stores.pins`, cached in `stores.chains`. */
  readonly users: UserLoader;
  /** Verified teams, pinned in `stores.teamPins`. */
  readonly teams: TeamLoader;
  /** Team changes signed as this device. */
  readonly manager: TeamManager;
  /** KV entries sealed and verified, with the rollback cache of `stores.kvCache`. */
  readonly kv: KvClient;
  /** Devices, paper keys, per-user keys of this account. */
  readonly account: Account;
  /** The stores in use (the given ones, memory for the rest). */
  readonly stores: Required<SaltboxStores>;
  /**
   * Opens every key box addressed to this device: the per-user-key boxes, then the key boxes
   * of every team the user belongs to (implicit teams included), so the keystore's keyring
   * reads what was encrypted to the user or to `team:NAME` since.
   *
   * @throws ClientError as `Account.syncPerUserKeys`, `TeamManager.listMyTeams`, and (with
   *   `teamErrors: 'throw'`) `TeamLoader.load` and `TeamManager.openTeamKeys`.
   */
  syncKeys(options?: SyncKeysOptions): Promise<KeySyncResult>;
  /**
   * Makes a verified team ready for KV: its chain names the writers (KV values are verified
   * against the chains of whoever held write rights at the entry's key generation, members
   * removed since included), the KV client re-opens its keys when it meets a newer
   * generation, and its key boxes are opened now.
   *
   * @throws ClientError as `TeamManager.openTeamKeys`.
   */
  useKvTeam(team: VerifiedTeam): Promise<void>;
  /** Closes a lazily connected keystore and runs `release`; idempotent. */
  close(): Promise<void>;
}

/**
 * A keystore that connects on first call: every method of the keystore's RPC table forwards
 * to the connected client. A failed connection is retried on the next call.
 */
function lazyKeystore(source: LazyKeystore): {
  keystore: KeystoreApi;
  close(): Promise<void>;
} {
  let connected: ReturnType<LazyKeystore['connect']> | undefined;
  const get = (): ReturnType<LazyKeystore['connect']> => {
    connected ??= source.connect().catch((e: unknown) => {
      connected = undefined;
      throw e;
    });
    return connected;
  };
  const forward = Object.fromEntries(
    KEYSTORE_METHODS.map((m) => [
      m,
      async (request: unknown) => {
        const ks = (await get()) as unknown as Record<string, (r: unknown) => Promise<unknown>>;
        return ks[m]!(request);
      },
    ]),
  ) as unknown as KeystoreApi;
  return {
    keystore: forward,
    async close() {
      if (connected === undefined) return;
      const ks = await connected.catch(() => undefined);
      await ks?.close?.();
    },
  };
}

const isLazy = (k: KeystoreApi | LazyKeystore): k is LazyKeystore =>
  typeof (k as Partial<LazyKeystore>).connect === 'function';

/**
 * The {@link AccountEnv} of these options: what the account functions that run before a
 * config exists (sign-up, login) take, with the same stores the {@link Saltbox} will use.
 */
export async function saltboxAccountEnv(
  o: Omit<OpenSaltboxOptions, 'config' | 'keystore' | 'release'> & {
    server: string;
    keystore: KeystoreApi;
  },
): Promise<AccountEnv> {
  return {
    backend: o.backend ?? (await defaultBackend()),
    keystore: o.keystore,
    server: o.server,
    ...(o.stores?.pins ? { pins: o.stores.pins } : {}),
    ...(o.stores?.chains ? { cache: o.stores.chains } : {}),
    ...(o.stores?.logPins ? { logPins: o.stores.logPins } : {}),
    ...(o.logFreshMs === undefined ? {} : { logFreshMs: o.logFreshMs }),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.now ? { now: o.now } : {}),
  };
}

/**
 * Builds the client of one account: API client → log → users → teams → team manager → KV,
 * and the account, over the given keystore and stores. Connects to nothing and reads no store:
 * the first request (and, with a {@link LazyKeystore}, the first keystore call) connects; the
 * rollback cache is read by the first KV call or `kv.ready()`.
 */
export async function openSaltbox(o: OpenSaltboxOptions): Promise<Saltbox> {
  const { config } = o;
  const backend = o.backend ?? (await defaultBackend());
  const lazy = isLazy(o.keystore) ? lazyKeystore(o.keystore) : undefined;
  const keystore = lazy ? lazy.keystore : (o.keystore as KeystoreApi);
  const stores: Required<SaltboxStores> = {
    pins: o.stores?.pins ?? new MemoryPinStore(),
    chains: o.stores?.chains ?? new MemoryChainCache(),
    teamPins: o.stores?.teamPins ?? new MemoryTeamPinStore(),
    logPins: o.stores?.logPins ?? new MemoryLogPinStore(),
    kvCache: o.stores?.kvCache ?? memoryKvStorage(),
  };
  const env = await saltboxAccountEnv({
    ...o,
    server: o.server ?? config.server,
    keystore,
    backend,
    stores,
  });
  const account = new Account(env, config);
  const { api, log, users } = account;
  const teams = new TeamLoader({ api, backend, users, pins: stores.teamPins, log });
  const manager = new TeamManager({
    api,
    backend,
    keystore,
    users,
    teams,
    me: {
      username: config.username,
      deviceSigningKid: config.device.signingKid,
      deviceEncryptionKid: config.device.encryptionKid,
    },
  });
  const kvTeams = new Map<string, VerifiedTeam>();
  // A writer is named by the team's verified chain: whoever held write rights while the entry's
  // key generation was current, a member removed or gone since included (kv-writers.ts). A
  // chain older than the entry (a writer added or a key rotated since) is reloaded once.
  const writerName = async (
    uid: string,
    at: { teamId: string; teamKeyGen: number },
  ): Promise<string | null> => {
    const known = kvTeams.get(at.teamId) ?? (await teams.load(at.teamId));
    const name = teamWriterAt(known, uid, at.teamKeyGen);
    if (name !== null) return name;
    const fresh = await teams.load(at.teamId, { refresh: true });
    if (kvTeams.has(at.teamId)) kvTeams.set(at.teamId, fresh);
    return teamWriterAt(fresh, uid, at.teamKeyGen);
  };
  const kv = new KvClient({
    api,
    keystore,
    me: { uid: config.uid, deviceId: config.device.id, signingKid: config.device.signingKid },
    writerKey: verifiedWriterKeys(users, writerName),
    // Read on first use (or `kv.ready()`): most commands never touch KV.
    cache: () => KvRollbackCache.open(backend, stores.kvCache),
    refreshTeamKeys: async (teamId) => {
      const team = kvTeams.get(teamId);
      if (team) await manager.openTeamKeys(team);
    },
  });
  let closing: Promise<void> | undefined;
  return {
    config,
    backend,
    keystore,
    api,
    log,
    users,
    teams,
    manager,
    kv,
    account,
    stores,
    async syncKeys(options = {}) {
      const generations = options.perUserKeys === false ? null : await account.syncPerUserKeys();
      const opened: string[] = [];
      const failed: { teamId: string; error: unknown }[] = [];
      // After the per-user keys: team seeds are boxed to them.
      for (const t of await manager.listMyTeams({ includeImplicit: true })) {
        try {
          const team = await teams.load(
            t.teamId,
            options.refreshTeams === true ? { refresh: true } : {},
          );
          await manager.openTeamKeys(team);
          opened.push(t.teamId);
        } catch (error) {
          if (options.teamErrors !== 'skip') throw error;
          failed.push({ teamId: t.teamId, error });
        }
      }
      return { generations, teams: opened, failed };
    },
    async useKvTeam(team) {
      kvTeams.set(team.id, team);
      await manager.openTeamKeys(team);
    },
    close() {
      closing ??= (async () => {
        try {
          await lazy?.close();
        } finally {
          await o.release?.();
        }
      })();
      return closing;
    },
  };
}

/** A rollback cache storage that keeps the text in memory (nothing persists). */
function memoryKvStorage(): KvCacheStorage {
  let text: string | null = null;
  return {
    read: () => Promise.resolve(text),
    write(t) {
      text = t;
      return Promise.resolve();
    },
  };
}
