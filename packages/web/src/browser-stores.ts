/**
 * The client's persistence interfaces over the browser's `localStorage` (DESIGN.md: the client
 * pins identities and keeps the KV rollback cache across restarts; on Node those are files in
 * `$SALTBOX_HOME`). Only public or integrity data is kept here — pins (usernames, UIDs, KIDs,
 * link IDs), team pins, the rollback cache (revisions, generations, ciphertext hashes) and the
 * signed-in account (username, device ID, KIDs) — never a key, a value or a paper key. Each
 * `setItem` replaces one item atomically, as the interfaces require.
 *
 * @packageDocumentation
 */
import { ClientError } from '@saltbox/client/browser';
import type {
  AccountConfig,
  KvCacheStorage,
  Pin,
  PinStore,
  TeamPin,
  TeamPinStore,
} from '@saltbox/client/browser';

/** The slice of the Web Storage API used here (`window.localStorage`). */
export interface TextStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const storeError = (what: string, cause: unknown) =>
  new ClientError('CLIENT_STORE', what, {}, { cause });

function readJson(storage: TextStorage, key: string): unknown {
  const text = storage.getItem(key);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw storeError('a browser store entry is corrupt', e);
  }
}

function writeText(storage: TextStorage, key: string, text: string): void {
  try {
    storage.setItem(key, text);
  } catch (e) {
    // QuotaExceededError, or storage disabled by the browser's settings.
    throw storeError('could not write browser storage', e);
  }
}

/** Key prefix of everything this app keeps for one server. */
export function storagePrefix(server: string): string {
  return `saltbox:${server}:`;
}

/** User pins in `localStorage`, one item per username. */
export function localPinStore(storage: TextStorage, prefix: string): PinStore {
  return {
    get: (username) =>
      Promise.resolve().then(
        () => readJson(storage, `${prefix}pin:${username}`) as Pin | undefined,
      ),
    set: (pin) =>
      Promise.resolve().then(() => {
        writeText(storage, `${prefix}pin:${pin.username}`, JSON.stringify(pin));
      }),
  };
}

/** Team pins in `localStorage`, one item per team ID. */
export function localTeamPinStore(storage: TextStorage, prefix: string): TeamPinStore {
  return {
    get: (teamId) =>
      Promise.resolve().then(
        () => readJson(storage, `${prefix}team-pin:${teamId}`) as TeamPin | undefined,
      ),
    set: (pin) =>
      Promise.resolve().then(() => {
        writeText(storage, `${prefix}team-pin:${pin.teamId}`, JSON.stringify(pin));
      }),
  };
}

/** The KV rollback cache's text for one user, in `localStorage`. */
export function localKvCacheStorage(
  storage: TextStorage,
  prefix: string,
  uid: string,
): KvCacheStorage {
  const key = `${prefix}kv-rollback:${uid}`;
  return {
    read: () => Promise.resolve().then(() => storage.getItem(key)),
    write: (text) =>
      Promise.resolve().then(() => {
        writeText(storage, key, text);
      }),
  };
}

const ACCOUNT_KEY = 'saltbox:account';

/** The account remembered with a persistent (IndexedDB) keystore, if any. */
export function readRememberedAccount(storage: TextStorage): AccountConfig | undefined {
  const v = readJson(storage, ACCOUNT_KEY) as AccountConfig | undefined;
  return v?.version === 1 ? v : undefined;
}

/**
 * Remembers the signed-in account (public data only) for the next visit.
 *
 * @throws ClientError `CLIENT_STORE` when browser storage refuses the write.
 */
export function rememberAccount(storage: TextStorage, config: AccountConfig): void {
  writeText(storage, ACCOUNT_KEY, JSON.stringify(config));
}

/** Forgets the remembered account. */
export function forgetAccount(storage: TextStorage): void {
  storage.removeItem(ACCOUNT_KEY);
}
