/**
 * The client side of the server's signed log (DESIGN.md "The signed log"; Keybase's Merkle tree
 * in specs/keybase-identity.md §7): pin the server's root key on first contact, keep the last
 * root verified (per server), and accept a newer root only with a consistency proof from it, so
 * the server can neither roll a client back nor show it a fork without a coded error. On top of
 * that, proofs of what the log holds for one chain (its tail) at the latest root or at an older
 * one — what {@link TeamLoader} uses to check a served tail and to place a link signed by a
 * since-revoked key before the revocation.
 *
 * The formats and checks are `@saltbox/identity`'s (`verifyLogRoot`,
 * `verifyLogRootsConsistent`, `verifyMapProof`); this module adds the pin, the cache and the
 * mapping to {@link ClientError} codes.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  hexToBytes,
  IdentityError,
  linkMerkleRoot,
  verifyLogRoot,
  verifyLogRootsConsistent,
  verifyMapProof,
} from '@saltbox/identity';
import type { ChainTail, KidHex, LinkMerkleRoot, VerifiedLogRoot } from '@saltbox/identity';
import { LOG_MAX_PROOF_IDS } from '@saltbox/protocol';
import type { LogProofsResponse, SignedLogRootWire } from '@saltbox/protocol';
import { ClientError, isClientError } from './errors.js';
import type { ApiClient } from './http.js';

/** What a client keeps of one server's log. */
export interface LogPin {
  /** The server's base URL, as {@link ApiClient.baseUrl} normalises it. */
  server: string;
  /** The root key's KID seen on first contact (or given out of band): another one is refused. */
  kid: KidHex;
  /** The newest root this client verified, as served: every later root must extend it. */
  root: SignedLogRootWire;
  /** Unix ms of first contact. */
  pinnedAt: number;
}

/** Log pins by server. */
export interface LogPinStore {
  /** @throws ClientError `CLIENT_STORE` when the store cannot be read or is corrupt. */
  get(server: string): Promise<LogPin | undefined>;
  /** @throws ClientError `CLIENT_STORE` when the store cannot be written. */
  set(pin: LogPin): Promise<void>;
}

/** Log pins in memory (tests, browsers, short-lived processes). */
export class MemoryLogPinStore implements LogPinStore {
  readonly #pins = new Map<string, LogPin>();
  get(server: string): Promise<LogPin | undefined> {
    const p = this.#pins.get(server);
    return Promise.resolve(p && structuredClone(p));
  }
  set(pin: LogPin): Promise<void> {
    this.#pins.set(pin.server, structuredClone(pin));
    return Promise.resolve();
  }
}

/** Options of {@link LogClient}. */
export interface LogClientOptions {
  api: ApiClient;
  backend: CryptoBackend;
  /** Default: a {@link MemoryLogPinStore} (trust on first use per process). */
  pins?: LogPinStore;
  /**
   * The root key's KID known out of band (the server prints it at start): first contact must
   * match it. Without it the first key seen is pinned.
   */
  rootKid?: KidHex;
  /** How long a verified latest root is reused without asking again (default 3 s). */
  freshMs?: number;
  now?: () => number;
}

/** Default reuse of a verified latest root: a burst of loads costs one request. */
export const DEFAULT_LOG_FRESH_MS = 3000;

/**
 * The environment variable that sets `freshMs` for the CLI, the agent's Vault bridge and the
 * age plugin: milliseconds, 0 to ask for the latest root before every use of a cache.
 */
export const LOG_FRESH_ENV = 'SALTBOX_LOG_FRESH_MS';

/**
 * `freshMs` from {@link LOG_FRESH_ENV} in `env`; undefined when unset (the default applies).
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` when it is not a whole number of
 *   milliseconds from 0 to 3,600,000.
 */
export function logFreshMsFromEnv(env: Record<string, string | undefined>): number | undefined {
  const v = env[LOG_FRESH_ENV];
  if (v === undefined || v === '') return undefined;
  const n = /^[0-9]{1,7}$/.test(v) ? Number(v) : NaN;
  if (!(n <= 3_600_000))
    throw new ClientError(
      'CLIENT_INVALID_ARGUMENT',
      `${LOG_FRESH_ENV} must be a number of milliseconds from 0 to 3600000`,
      { variable: LOG_FRESH_ENV },
    );
  return n;
}

/** A chain's tail as the log holds it at one root. */
export interface LoggedTail {
  root: VerifiedLogRoot;
  /** Null when the log proves the ID absent. */
  tail: ChainTail | null;
}

/**
 * True for a failure that means the server cannot be reached (or cannot answer now): the
 * network, a 5xx, rate limiting. Caches then fall back to their TTL (`cache_ttl`); any other
 * failure — above all a log that does not verify — must not be papered over with a cache.
 */
export function isLogUnreachable(e: unknown): boolean {
  if (isClientError(e, 'CLIENT_NETWORK')) return true;
  if (!isClientError(e, 'CLIENT_HTTP')) return false;
  const status = e.details.status;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

/** Tails proven at the latest root remembered (by ID) for freshness checks. */
const CURRENT_CACHE = 8192;

/** Oldest roots whose verification is remembered (their seqno → hash_meta). */
const HISTORIC_CACHE = 4096;

function logInvalid(what: string, e: unknown): ClientError {
  return new ClientError(
    'CLIENT_LOG_INVALID',
    `${what} does not verify`,
    { identityCode: e instanceof IdentityError && typeof e.code === 'string' ? e.code : null },
    { cause: e },
  );
}

/**
 * Checks the server's signed log for one server (see the module comment). One instance per
 * server and process is enough; it is safe to share between loaders.
 */
export class LogClient {
  readonly #api: ApiClient;
  readonly #backend: CryptoBackend;
  readonly #pins: LogPinStore;
  readonly #rootKid: KidHex | undefined;
  readonly #freshMs: number;
  readonly #now: () => number;
  #current: { root: VerifiedLogRoot; at: number } | undefined;
  #inflight: Promise<VerifiedLogRoot> | undefined;
  /** Roots older than the latest already checked against it: seqno → hash_meta. */
  readonly #historic = new Map<number, string>();
  /** Tails proven at a root (by ID): answers {@link LogClient.currentTail} while it is the latest. */
  readonly #proven = new Map<string, LoggedTail>();
  /** Proof requests waiting for the next batch, by root seqno, then ID. */
  #queue = new Map<
    number,
    Map<string, { resolve: (t: LoggedTail) => void; reject: (e: unknown) => void }>
  >();
  #flushing = false;
  /** Proofs asked for and not yet answered (`seqno:id`): a second ask joins the first. */
  readonly #asked = new Map<string, Promise<LoggedTail>>();
  /** Requests made (tests and benchmarks count them). */
  readonly stats = { proofRequests: 0 };

  constructor(options: LogClientOptions) {
    this.#api = options.api;
    this.#backend = options.backend;
    this.#pins = options.pins ?? new MemoryLogPinStore();
    this.#rootKid = options.rootKid;
    this.#freshMs = options.freshMs ?? DEFAULT_LOG_FRESH_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The server this client checks (the pin's key). */
  get server(): string {
    return this.#api.baseUrl;
  }

  /**
   * This server's pin (root key and the newest root verified), as the pin store holds it: what
   * `saltbox log verify` walks from. Undefined before first contact.
   *
   * @throws ClientError `CLIENT_STORE` when the pin store cannot be read or is corrupt.
   */
  pinned(): Promise<LogPin | undefined> {
    return this.#pins.get(this.server);
  }

  /**
   * The latest root, verified: signed by the pinned key (pinned now on first contact) and
   * consistent with every root verified before. Reused for `freshMs`; concurrent calls share
   * one request.
   *
   * @param options - `fresh: true` asks the server even when the cached root is recent (a
   *   link's `merkle_root` must name a root at least as new as everything the signer did).
   * @throws ClientError `CLIENT_LOG_KEY_MISMATCH`, `CLIENT_LOG_INVALID`, `CLIENT_LOG_ROLLBACK`,
   *   `CLIENT_LOG_INCONSISTENT`, `CLIENT_STORE`, and the transport codes of {@link ApiClient}.
   */
  async latest(options: { fresh?: boolean } = {}): Promise<VerifiedLogRoot> {
    const c = this.#current;
    if (options.fresh !== true) {
      if (c && this.#now() - c.at < this.#freshMs) return c.root;
      if (this.#inflight) return this.#inflight;
    }
    const p = this.#refresh().finally(() => {
      if (this.#inflight === p) this.#inflight = undefined;
    });
    this.#inflight = p;
    return p;
  }

  /**
   * The `merkle_root` a new sigchain link carries: the latest root, asked for afresh so the
   * link names a root that already holds everything its signer did before (spec §3.1).
   * Undefined while the server's log is empty (the first sign-up on a new server), which a
   * link then leaves out: there is nothing it could have come after.
   *
   * @throws ClientError as {@link LogClient.latest}.
   */
  async linkMerkleRoot(): Promise<LinkMerkleRoot | undefined> {
    try {
      return linkMerkleRoot(await this.latest({ fresh: true }));
    } catch (e) {
      if (isClientError(e, 'CLIENT_HTTP') && e.details.serverCode === 'LOG_ROOT_NOT_FOUND')
        return undefined;
      throw e;
    }
  }

  /**
   * What the log holds for a UID or team ID at root `seqno` (the latest verified root when
   * left out): that root is checked (pinned key, consistency with the latest) and the map
   * proof against it. Null when the log proves the ID absent.
   *
   * @throws ClientError `CLIENT_LOG_INVALID` (root or map proof), `CLIENT_LOG_KEY_MISMATCH`,
   *   `CLIENT_LOG_INCONSISTENT` (the root is not in the history verified), `CLIENT_LOG_ROLLBACK`
   *   (a root past the server's latest), and the codes of {@link LogClient.latest}.
   */
  async tailAt(id: string, seqno?: number): Promise<LoggedTail> {
    const at = seqno ?? (await this.latest()).seqno;
    const proven = this.#proven.get(id);
    if (proven?.root.seqno === at) return proven;
    const key = `${at}:${id}`;
    const running = this.#asked.get(key);
    if (running) return running;
    // Loads that start together (a keeper resolving 100 recipients) share one batch request.
    const p = new Promise<LoggedTail>((resolve, reject) => {
      let byId = this.#queue.get(at);
      if (byId === undefined) {
        byId = new Map<
          string,
          { resolve: (t: LoggedTail) => void; reject: (e: unknown) => void }
        >();
        this.#queue.set(at, byId);
      }
      byId.set(id, { resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        setTimeout(() => void this.#flush(), 0);
      }
    }).finally(() => this.#asked.delete(key));
    this.#asked.set(key, p);
    return p;
  }

  /**
   * What the log holds for each ID at the latest root (within `freshMs`): the freshness check
   * of a cached chain — equal to the cached tail, the cache is current; otherwise the chain
   * moved and must be fetched again (DESIGN.md "The signed log", caches). Proofs are
   * remembered per root, so while the root does not change this costs nothing, and after it
   * changes the IDs asked for together cost one batch request.
   *
   * @throws ClientError as {@link LogClient.tailAt}.
   */
  async currentTail(id: string): Promise<ChainTail | null> {
    return (await this.tailAt(id)).tail;
  }

  /**
   * What the log holds for several IDs at root `seqno` (the latest when left out), in
   * requests of at most `LOG_MAX_PROOF_IDS` IDs, each checked as {@link LogClient.tailAt}.
   *
   * @throws ClientError as {@link LogClient.tailAt}.
   */
  async tailsAt(
    ids: readonly string[],
    seqno?: number,
  ): Promise<{ root: VerifiedLogRoot; tails: Map<string, ChainTail | null> }> {
    let top = await this.latest();
    const at = seqno ?? top.seqno;
    if (at > top.seqno) top = await this.latest({ fresh: true });
    if (at > top.seqno)
      throw new ClientError('CLIENT_LOG_ROLLBACK', 'the server hides log roots it published', {
        seqno: at,
        latest: top.seqno,
      });
    const unique = [...new Set(ids)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += LOG_MAX_PROOF_IDS)
      chunks.push(unique.slice(i, i + LOG_MAX_PROOF_IDS));
    const tails = new Map<string, ChainTail | null>();
    let root: VerifiedLogRoot = top;
    for (const chunk of chunks) {
      this.stats.proofRequests++;
      const res = await this.#api.logProofs(chunk, at);
      root = await this.#historicRoot(res.root, at, top);
      for (const [id, tail] of this.#verifyProofs(root, chunk, res)) tails.set(id, tail);
    }
    if (root.seqno === top.seqno) {
      if (this.#proven.size + tails.size > CURRENT_CACHE) this.#proven.clear();
      for (const [id, tail] of tails) this.#proven.set(id, { root, tail });
    }
    return { root, tails };
  }

  #verifyProofs(
    root: VerifiedLogRoot,
    ids: readonly string[],
    res: LogProofsResponse,
  ): Map<string, ChainTail | null> {
    if (res.proofs.length !== ids.length || res.proofs.some((p, i) => p.id !== ids[i]))
      throw new ClientError(
        'CLIENT_LOG_INVALID',
        'the server answered with proofs for other chains than asked',
        { asked: ids.length, answered: res.proofs.length },
      );
    const map = hexToBytes(root.map);
    const out = new Map<string, ChainTail | null>();
    for (const p of res.proofs) {
      try {
        out.set(p.id, verifyMapProof(this.#backend, map, p.id, p.proof));
      } catch (e) {
        throw logInvalid('the log proof of a chain', e);
      }
    }
    return out;
  }

  /** Sends the queued proof requests: one batch per root seqno. */
  async #flush(): Promise<void> {
    const queue = this.#queue;
    this.#queue = new Map();
    this.#flushing = false;
    await Promise.all(
      [...queue].map(async ([seqno, byId]) => {
        try {
          const { root, tails } = await this.tailsAt([...byId.keys()], seqno);
          for (const [id, w] of byId) w.resolve({ root, tail: tails.get(id) ?? null });
        } catch (e) {
          for (const w of byId.values()) w.reject(e);
        }
      }),
    );
  }

  /**
   * Proves that `served` is the chain's tail in the log. `before` is a root obtained before
   * the chain was fetched, so an honest log holds at most the served tail there; when it holds
   * less (the chain grew since), a fresh root is asked for.
   *
   * @param served - the served chain's tail; for a user also its current eldest KID, which the
   *   leaf must name (a reset hidden from the client, or another eldest key, shows there).
   * @param linkIdAt - the served chain's link ID at a seqno (undefined past its end).
   * @returns `'ok'`, or `'moved'` when the log is already past the served tail (the chain grew
   *   after it was fetched; fetch it again).
   * @throws ClientError `CLIENT_LOG_TAIL_MISMATCH` (the log names a longer chain, another link,
   *   another eldest key, or no such chain), and the codes of {@link LogClient.tailAt}.
   */
  async proveTail(
    id: string,
    label: string,
    served: { seqno: number; linkId: string; eldestKid?: KidHex },
    linkIdAt: (seqno: number) => string | undefined,
    before: VerifiedLogRoot,
  ): Promise<'ok' | 'moved'> {
    const mismatch = (why: string, logged: ChainTail | null) =>
      new ClientError('CLIENT_LOG_TAIL_MISMATCH', `the chain of ${label} ${why}`, {
        chain: label,
        servedSeqno: served.seqno,
        loggedSeqno: logged?.seqno ?? 0,
      });
    const sameEldest = (logged: ChainTail) =>
      served.eldestKid === undefined || logged.eldestKid === served.eldestKid;
    const first = (await this.tailAt(id, before.seqno)).tail;
    if (first !== null) {
      if (first.seqno > served.seqno)
        throw mismatch('was served without links the signed log already holds', first);
      if (linkIdAt(first.seqno) !== first.linkId)
        throw mismatch('differs from the one in the signed log', first);
      if (first.seqno === served.seqno) {
        if (!sameEldest(first))
          throw mismatch('has another eldest key than the signed log names', first);
        return 'ok';
      }
    }
    const fresh = await this.latest({ fresh: true });
    const again = fresh.seqno === before.seqno ? first : (await this.tailAt(id, fresh.seqno)).tail;
    if (again === null || again.seqno < served.seqno)
      throw mismatch('was served with links that are not in the signed log', again);
    const at = linkIdAt(again.seqno);
    if (at !== undefined && at !== again.linkId)
      throw mismatch('differs from the one in the signed log', again);
    if (again.seqno !== served.seqno) return 'moved';
    if (!sameEldest(again))
      throw mismatch('has another eldest key than the signed log names', again);
    return 'ok';
  }

  /** A served root at `seqno`, checked against the latest root `top`. */
  async #historicRoot(
    wire: SignedLogRootWire,
    seqno: number,
    top: VerifiedLogRoot,
  ): Promise<VerifiedLogRoot> {
    const root = this.#verify(wire, top.signed.kid);
    if (root.seqno !== seqno)
      throw new ClientError('CLIENT_LOG_INVALID', 'the server answered with another log root', {
        seqno,
        answered: root.seqno,
      });
    const known = seqno === top.seqno ? top.hashMeta : this.#historic.get(seqno);
    if (known !== undefined) {
      if (known !== root.hashMeta)
        throw new ClientError(
          'CLIENT_LOG_INCONSISTENT',
          'the server shows two different log roots at one seqno',
          { seqno },
        );
      return root;
    }
    this.#consistent(root, top, await this.#api.logConsistency(seqno, top.seqno));
    if (this.#historic.size >= HISTORIC_CACHE) this.#historic.clear();
    this.#historic.set(seqno, root.hashMeta);
    return root;
  }

  async #refresh(): Promise<VerifiedLogRoot> {
    const server = this.server;
    const pin = await this.#pins.get(server);
    let wire: SignedLogRootWire;
    try {
      wire = await this.#api.logRoot();
    } catch (e) {
      // An empty log after a root was verified is the plainest rollback of all.
      if (
        isClientError(e, 'CLIENT_HTTP') &&
        e.details.serverCode === 'LOG_ROOT_NOT_FOUND' &&
        (pin !== undefined || this.#current !== undefined)
      )
        throw new ClientError('CLIENT_LOG_ROLLBACK', 'the server rolled the log back', {
          seqno: 0,
        });
      throw e;
    }
    const kid = pin?.kid ?? this.#current?.root.signed.kid ?? this.#rootKid ?? wire.kid;
    const root = this.#verify(wire, kid);
    let base = this.#current?.root;
    if (pin !== undefined) {
      let pinned: VerifiedLogRoot;
      try {
        pinned = verifyLogRoot(this.#backend, pin.root, kid);
      } catch (e) {
        throw new ClientError(
          'CLIENT_STORE',
          'the pinned log root does not verify',
          {},
          {
            cause: e,
          },
        );
      }
      if (base === undefined || pinned.seqno > base.seqno) base = pinned;
    }
    if (base !== undefined) {
      if (root.seqno < base.seqno)
        throw new ClientError('CLIENT_LOG_ROLLBACK', 'the server rolled the log back', {
          seqno: root.seqno,
          verifiedSeqno: base.seqno,
        });
      const proof =
        root.seqno === base.seqno ? [] : await this.#api.logConsistency(base.seqno, root.seqno);
      this.#consistent(base, root, proof);
      if (base.seqno !== root.seqno) this.#historic.set(base.seqno, base.hashMeta);
    }
    if (pin === undefined || root.seqno > pin.root.seqno)
      await this.#pins.set({ server, kid, root: wire, pinnedAt: pin?.pinnedAt ?? this.#now() });
    this.#current = { root, at: this.#now() };
    return root;
  }

  #verify(wire: SignedLogRootWire, kid: KidHex): VerifiedLogRoot {
    if (wire.kid !== kid)
      throw new ClientError(
        'CLIENT_LOG_KEY_MISMATCH',
        'the log root is signed by another key than the one pinned for this server',
        { kid: wire.kid, pinnedKid: kid },
      );
    let root: VerifiedLogRoot;
    try {
      root = verifyLogRoot(this.#backend, wire, kid);
    } catch (e) {
      throw logInvalid('the log root', e);
    }
    if (root.seqno !== wire.seqno)
      throw new ClientError('CLIENT_LOG_INVALID', 'the log root is served with another seqno', {
        seqno: wire.seqno,
      });
    return root;
  }

  #consistent(older: VerifiedLogRoot, newer: VerifiedLogRoot, proof: readonly string[]): void {
    try {
      verifyLogRootsConsistent(this.#backend, older, newer, proof);
    } catch (e) {
      throw new ClientError(
        'CLIENT_LOG_INCONSISTENT',
        'the log does not extend the root verified before',
        { seqno: newer.seqno, verifiedSeqno: older.seqno },
        { cause: e },
      );
    }
  }
}
