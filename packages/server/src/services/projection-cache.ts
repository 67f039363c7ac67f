/**
 * Projections of verified chains, cached by the chain tail they belong to.
 *
 * A user's projection (keys, devices, PUK generations) changes only together with the tail:
 * `appendLinks` writes both in one transaction. So a cached projection is used only when the
 * user row just read from storage still names the tail it was cached for; any append — in this
 * process or another sharing the database — moves the tail, and the next read refetches. A
 * revoked key is therefore never served as live from here. On PostgreSQL this saves three
 * round trips per looked-up user; on SQLite three point reads.
 *
 * @packageDocumentation
 */
import type { Storage, UserProjection, UserRecord } from '../storage/types.js';

interface Entry {
  tailLinkId: string;
  projection: UserProjection;
}

/** A bounded map from UID to the projection at a given tail. */
export class ProjectionCache {
  readonly #storage: Storage;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  /**
   * @param storage - where projections are read on a miss.
   * @param max - entries kept (the least recently stored go first).
   */
  constructor(storage: Storage, max = 20_000) {
    this.#storage = storage;
    this.#max = max;
  }

  /**
   * The projections of `users` at the tails these records name (read from storage when not
   * cached at that tail). Callers must not modify the returned projections.
   */
  async get(users: Iterable<UserRecord>): Promise<Map<string, UserProjection>> {
    const out = new Map<string, UserProjection>();
    const missing: UserRecord[] = [];
    for (const u of users) {
      const hit = this.#entries.get(u.uid);
      if (hit?.tailLinkId === u.tailLinkId) out.set(u.uid, hit.projection);
      else missing.push(u);
    }
    if (missing.length === 0) return out;
    const fetched = await this.#storage.users.getProjections(missing.map((u) => u.uid));
    for (const u of missing) {
      const p = fetched.get(u.uid);
      if (p === undefined) continue;
      out.set(u.uid, p);
      // Read after the user row, so at least as new as its tail: when a concurrent append
      // made it newer, the next read of the user row names the new tail and misses.
      this.#entries.delete(u.uid);
      this.#entries.set(u.uid, { tailLinkId: u.tailLinkId, projection: p });
      if (this.#entries.size > this.#max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
    }
    return out;
  }
}
