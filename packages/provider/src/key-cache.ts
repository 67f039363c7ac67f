/**
 * The public-key cache (DESIGN.md, Secrets provider): recipients' encryption keys, kept on
 * disk so a session of many encryptions verifies each recipient's chain once. Before an entry
 * is used it must still describe the chain (a revoked device must not stay a recipient, and a
 * member removed from a team — which rotates the team key — must not keep receiving what is
 * encrypted to the team):
 *
 * - the chain this machine verified for the recipient must not have moved on (its local pin);
 * - the server's signed log, at its latest root, must still hold the entry's tail (#14.9): a
 *   change made anywhere — another process, another machine — shows at the next use. The
 *   latest root is asked for at most once per `freshMs` (default 3 s) and the recipients
 *   resolved together share one batch proof request, and only when the root changed;
 * - when the server cannot be reached, `cache_ttl` seconds (default 24 h) is the fallback:
 *   entries older than that are never used.
 *
 * Only public data is stored (KIDs, tails, eldest KIDs); the file is still written 0600 and
 * atomically, like every saltbox file.
 *
 * @packageDocumentation
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HOME_FILES, writeAtomic } from '@saltbox/client';
import { ProviderError } from './errors.js';
import { recipientLabel } from './recipients.js';
import type {
  PgpRecipientKeys,
  Recipient,
  RecipientDirectory,
  RecipientKeys,
} from './recipients.js';

/** Default TTL of cached keys: 24 hours, in seconds. */
export const DEFAULT_CACHE_TTL_S = 86_400;

const entrySchema = z.object({
  label: z.string(),
  encryptionKids: z.array(z.string().regex(/^0121[0-9a-f]{64}0a$/)),
  perUserKid: z
    .string()
    .regex(/^0121[0-9a-f]{64}0a$/)
    .optional(),
  identity: z.string(),
  tail: z.string(),
  /** Absent in files written before the signed log: such an entry is refetched once. */
  chainId: z.string().optional(),
  fetchedAt: z.number(),
});
const fileSchema = z.object({
  format: z.literal('saltbox-provider-keys'),
  version: z.literal(1),
  entries: z.record(z.string(), entrySchema),
});

type Entry = z.infer<typeof entrySchema>;

/** Where cache entries live. */
export interface KeyCacheStore {
  load(): Promise<Record<string, Entry>>;
  save(entries: Record<string, Entry>): Promise<void>;
}

/** An in-memory store (tests, short-lived processes). */
export function memoryKeyCacheStore(): KeyCacheStore {
  let data: Record<string, Entry> = {};
  return {
    load: () => Promise.resolve(structuredClone(data)),
    save: (e) => {
      data = structuredClone(e);
      return Promise.resolve();
    },
  };
}

/**
 * `<dir>/provider-keys.json`, 0600, written atomically (temp file, fsync, rename). A corrupt
 * or foreign file is an empty cache: a miss only costs a directory call.
 */
export function fileKeyCacheStore(dir: string): KeyCacheStore {
  const path = join(dir, HOME_FILES.keyCache);
  return {
    async load() {
      try {
        const parsed = fileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
        return parsed.success ? parsed.data.entries : {};
      } catch {
        return {};
      }
    },
    async save(entries) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeAtomic(
        path,
        JSON.stringify({ format: 'saltbox-provider-keys', version: 1, entries }, null, 1),
      );
    },
  };
}

/** Hit and miss counts of a {@link CachedDirectory}. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Misses caused by a moved chain tail (a subset of `misses`). */
  invalidations: number;
  /** Hits used without a log check because the server could not be reached. */
  offlineHits: number;
}

/**
 * A {@link RecipientDirectory} with a TTL cache in front. Concurrent misses for one recipient
 * share one directory call.
 */
export class CachedDirectory implements RecipientDirectory {
  readonly #inner: RecipientDirectory;
  readonly #store: KeyCacheStore;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #entries: Promise<Record<string, Entry>> | undefined;
  readonly #inflight = new Map<string, Promise<RecipientKeys>>();
  readonly stats: CacheStats = { hits: 0, misses: 0, invalidations: 0, offlineHits: 0 };
  /** The running save, and whether entries changed since it took its copy. */
  #saving: Promise<void> | undefined;
  #dirty = false;

  /**
   * @param inner - the directory asked on a miss.
   * @param options - `store` (default memory), `ttlSeconds` (default 86400; 0 disables the
   *   cache), `now` (tests).
   */
  constructor(
    inner: RecipientDirectory,
    options: { store?: KeyCacheStore; ttlSeconds?: number; now?: () => number } = {},
  ) {
    this.#inner = inner;
    this.#store = options.store ?? memoryKeyCacheStore();
    this.#ttlMs = (options.ttlSeconds ?? DEFAULT_CACHE_TTL_S) * 1000;
    this.#now = options.now ?? Date.now;
  }

  #all(): Promise<Record<string, Entry>> {
    this.#entries ??= this.#store.load();
    return this.#entries;
  }

  /**
   * Saves the entries, coalescing: the misses that finish while a save is pending or running
   * share the next save instead of each writing (and fsyncing) the whole file. A cold
   * encryption to 1,000 recipients wrote the file 1,000 times before. Resolves once a save
   * that includes the caller's entry is done.
   */
  #save(): Promise<void> {
    this.#dirty = true;
    this.#saving ??= (async () => {
      try {
        while (this.#dirty) {
          // One macrotask turn lets the misses completing together join this save.
          await new Promise((resolve) => setTimeout(resolve, 0));
          this.#dirty = false;
          await this.#store.save(await this.#all());
        }
      } finally {
        this.#saving = undefined;
      }
    })();
    return this.#saving;
  }

  /** The recipient's keys: cached while fresh and while the verified tail is unchanged. */
  async resolve(r: Recipient): Promise<RecipientKeys> {
    const label = recipientLabel(r);
    const entries = await this.#all();
    const hit = entries[label];
    if (hit && this.#ttlMs > 0 && this.#now() - hit.fetchedAt < this.#ttlMs) {
      const tail = this.#inner.verifiedTail
        ? await this.#inner.verifiedTail(r, hit.identity)
        : undefined;
      const logged = tail === undefined || tail === hit.tail ? await this.#logged(hit) : 'moved';
      if (logged !== 'moved') {
        this.stats.hits++;
        if (logged === 'offline') this.stats.offlineHits++;
        return {
          label,
          encryptionKids: [...hit.encryptionKids],
          ...(hit.perUserKid ? { perUserKid: hit.perUserKid } : {}),
          identity: hit.identity,
          tail: hit.tail,
          ...(hit.chainId ? { chainId: hit.chainId } : {}),
        };
      }
      this.stats.invalidations++;
    }
    this.stats.misses++;
    const running = this.#inflight.get(label);
    if (running) return running;
    const p = (async () => {
      const keys = await this.#inner.resolve(r);
      if (this.#ttlMs > 0) {
        const all = await this.#all();
        all[label] = { ...keys, encryptionKids: [...keys.encryptionKids], fetchedAt: this.#now() };
        await this.#save();
      }
      return keys;
    })().finally(() => this.#inflight.delete(label));
    this.#inflight.set(label, p);
    return p;
  }

  /**
   * What the signed log says of a cached entry: `'same'` tail (or a directory without a log),
   * `'moved'`, or `'offline'` when the server cannot be reached (the TTL then decides).
   */
  async #logged(hit: Entry): Promise<'same' | 'moved' | 'offline'> {
    if (!this.#inner.loggedTail) return 'same';
    if (hit.chainId === undefined) return 'moved';
    const logged = await this.#inner.loggedTail(hit.chainId, hit.label);
    if (logged === undefined) return 'offline';
    return logged === hit.tail ? 'same' : 'moved';
  }

  /**
   * Passes through to the inner directory, uncached: the user loader's verified-chain cache
   * already answers repeated PGP lookups locally.
   */
  resolvePgp(r: Recipient): Promise<PgpRecipientKeys> {
    if (!this.#inner.resolvePgp)
      return Promise.reject(
        new ProviderError(
          'Unimplemented',
          'PROVIDER_UNIMPLEMENTED',
          'this directory has no pgp keys',
        ),
      );
    return this.#inner.resolvePgp(r);
  }

  /** Passes through to the inner directory. */
  verifiedTail(r: Recipient, identity?: string): Promise<string | undefined> {
    return this.#inner.verifiedTail
      ? this.#inner.verifiedTail(r, identity)
      : Promise.resolve(undefined);
  }

  /** Drops one recipient's entry (or all). */
  async invalidate(label?: string): Promise<void> {
    const all = await this.#all();
    const kept = Object.fromEntries(
      Object.entries(all).filter(([k]) => label !== undefined && k !== label),
    );
    this.#entries = Promise.resolve(kept);
    await this.#store.save(kept);
  }
}
