/**
 * What the client keeps of what it has verified, as interfaces — pins (the eldest key seen on
 * first contact and the newest verified tail) and the cache of verified chain states — with
 * their in-memory implementations. Platform-neutral (browsers use these); the file-backed
 * implementations under `$SALTBOX_HOME` are in `store.ts`.
 *
 * @packageDocumentation
 */
import type { KidHex, UserChainState } from '@saltbox/identity';

/** What the client pinned for a user. */
export interface Pin {
  username: string;
  uid: string;
  /** The eldest KID seen on first contact; a different one later is a hard error. */
  eldestKid: KidHex;
  /**
   * The newest tail the client verified. Kept with the pin (not only in the cache) so that
   * rollback and fork detection survive losing the cache.
   */
  tail: { seqno: number; linkId: string };
  /** Unix ms of first contact. */
  pinnedAt: number;
}

/** Pins by username. */
export interface PinStore {
  /** @throws ClientError `CLIENT_STORE` when the store cannot be read or is corrupt. */
  get(username: string): Promise<Pin | undefined>;
  /** @throws ClientError `CLIENT_STORE` when the store cannot be written. */
  set(pin: Pin): Promise<void>;
}

/** A verified chain state, as cached. */
export interface CachedChain {
  uid: string;
  username: string;
  /** Link IDs of every verified link, seqno 1 first: the prefix every refetch must keep. */
  linkIds: string[];
  /** The verifier's state at the tail, the base for `extendUserChain`. */
  state: UserChainState;
  /** Armored PGP public keys at the versions the state makes active (PGP users only). */
  pgpBundles?: string[];
  /** Unix ms of the last successful fetch and verification. */
  verifiedAt: number;
}

/** Verified chain states by UID. */
export interface ChainCache {
  /** Undefined when absent or unreadable (a cache miss only costs a full verification). */
  get(uid: string): Promise<CachedChain | undefined>;
  /** @throws ClientError `CLIENT_STORE` when the cache cannot be written. */
  set(entry: CachedChain): Promise<void>;
}

/** In-memory pins (tests, short-lived processes). */
export class MemoryPinStore implements PinStore {
  readonly #pins = new Map<string, Pin>();
  get(username: string): Promise<Pin | undefined> {
    const p = this.#pins.get(username);
    return Promise.resolve(p && structuredClone(p));
  }
  set(pin: Pin): Promise<void> {
    this.#pins.set(pin.username, structuredClone(pin));
    return Promise.resolve();
  }
}

/** In-memory chain cache. */
export class MemoryChainCache implements ChainCache {
  readonly #entries = new Map<string, CachedChain>();
  get(uid: string): Promise<CachedChain | undefined> {
    const e = this.#entries.get(uid);
    // structuredClone copies Maps and Sets, so a caller cannot mutate the cached state.
    return Promise.resolve(e && structuredClone(e));
  }
  set(entry: CachedChain): Promise<void> {
    this.#entries.set(entry.uid, structuredClone(entry));
    return Promise.resolve();
  }
}
