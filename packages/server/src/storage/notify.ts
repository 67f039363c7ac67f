/**
 * KV change notifications (specs/keybase-kvstore.md §1.7, issue #17.1): a long poll waiting on
 * a team wakes when a write to that team commits. The storage emits them, so every write wakes
 * waiters — through the HTTP routes or through storage directly — and a backend shared by
 * several server processes (PostgreSQL, `notify-postgres.ts`) carries them between processes.
 *
 * A notification only says "look again": the waiter rereads the change table, so a duplicate
 * or a spurious wake costs one query and a lost one costs at most the safety poll.
 *
 * @packageDocumentation
 */

/** Change notifications of the KV store, per team. */
export interface ChangeFeed {
  /**
   * Calls `listener` after a write to `teamId` commits (through this process, or through any
   * process sharing the database when the backend carries notifications across processes).
   * May call it spuriously.
   *
   * @returns a function that removes the listener.
   */
  subscribe(teamId: string, listener: () => void): () => void;
  /**
   * The longest a waiter should go without rechecking storage: what a lost notification costs
   * (e.g. while the PostgreSQL listener reconnects). Not a poll per waiter on the hot path.
   */
  readonly safetyPollMs: number;
  /** Stops carrying notifications (storage `close()` calls it). */
  close(): Promise<void>;
}

/** A {@link ChangeFeed} the KV store tells about its committed writes. */
export interface WritableChangeFeed extends ChangeFeed {
  /** Called by the KV store after a write to `teamId` committed. */
  written(teamId: string): void;
}

/** The default {@link ChangeFeed.safetyPollMs}: 10 s (the routes' long poll lasts ≤ 25 s). */
export const SAFETY_POLL_MS = 10_000;

/**
 * The listeners of one process, by team. {@link LocalChangeFeed.emit} is what a committed write
 * calls; on SQLite it is the whole feed (one process owns the database file).
 */
export class LocalChangeFeed implements WritableChangeFeed {
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly safetyPollMs: number;

  constructor(safetyPollMs = SAFETY_POLL_MS) {
    this.safetyPollMs = safetyPollMs;
  }

  subscribe(teamId: string, listener: () => void): () => void {
    let set = this.#listeners.get(teamId);
    if (set === undefined) this.#listeners.set(teamId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(teamId) === set) this.#listeners.delete(teamId);
    };
  }

  /** Wakes the listeners of `teamId`. */
  emit(teamId: string): void {
    const set = this.#listeners.get(teamId);
    if (set !== undefined) for (const listener of [...set]) listener();
  }

  /** Wakes every listener (after notifications may have been lost). */
  emitAll(): void {
    for (const set of [...this.#listeners.values()]) for (const listener of [...set]) listener();
  }

  /** Teams with listeners now (tests, metrics). */
  get teams(): number {
    return this.#listeners.size;
  }

  /** Called by the KV store after a write to `teamId` committed. */
  written(teamId: string): void {
    this.emit(teamId);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
