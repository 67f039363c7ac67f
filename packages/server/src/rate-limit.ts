/**
 * Per-device token buckets: `burst` requests at once, refilled at `perSecond`. In memory, so each
 * server process limits on its own (N processes allow up to N× the rate); a shared limiter would
 * cost a database write per request, which the nonce claim already pays for replay safety.
 *
 * @packageDocumentation
 */

/** Rate-limit settings. */
export interface RateLimit {
  /** Requests allowed at once. */
  burst: number;
  /** Sustained requests per second. */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A set of token buckets keyed by device (or client address for unauthenticated routes). */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #maxKeys: number;

  /**
   * @param limit - the bucket size and refill rate.
   * @param now - the clock (Unix ms).
   * @param maxKeys - buckets kept before full ones are dropped (a full bucket equals no bucket).
   */
  constructor(limit: RateLimit, now: () => number, maxKeys = 100_000) {
    this.#limit = limit;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /**
   * Takes one token for `key`. Returns 0 when allowed, otherwise the whole seconds to wait
   * (at least 1) before a token is available.
   */
  take(key: string): number {
    const now = this.#now();
    const { burst, perSecond } = this.#limit;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#sweep(now);
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }

  #sweep(now: number): void {
    const { burst, perSecond } = this.#limit;
    for (const [k, b] of this.#buckets)
      if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.#buckets.delete(k);
  }
}
