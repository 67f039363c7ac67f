/**
 * The replay cache in storage (every signed request claims its nonce, `auth.ts`), shared by
 * every server process on the database.
 *
 * @packageDocumentation
 */
import type { Kysely } from 'kysely';
import type { ClaimNonces, NonceClaim } from './backend.js';
import type { Database } from './schema.js';
import type { NonceStore } from './types.js';

/** Claims in one group-committed statement at most (3 bind parameters each, under SQLite's cap). */
const MAX_NONCE_BATCH = 1000;

interface PendingClaim extends NonceClaim {
  resolve: (claimed: boolean) => void;
  reject: (e: unknown) => void;
}

/**
 * The replay cache in storage, group-committed: the claims made during one turn of the event
 * loop go to the database as one transaction (one round trip), and each claim resolves only
 * after that transaction committed. Under load this turns a write transaction per request into
 * a row per request, while every claim stays as durable and as exclusive across processes as a
 * statement of its own.
 */
export class KyselyNonceStore implements NonceStore {
  readonly #db: Kysely<Database>;
  readonly #claim: ClaimNonces;
  #pending: PendingClaim[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(db: Kysely<Database>, claim: ClaimNonces) {
    this.#db = db;
    this.#claim = claim;
  }

  claimNonce(kid: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ kid, nonce, expiresAt: expiresAtMs, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request parsed in
        // this turn joins the batch.
        setImmediate(() => {
          this.#scheduled = false;
          while (this.#pending.length > 0)
            this.#track(this.#flush(this.#pending.splice(0, MAX_NONCE_BATCH)));
        });
      }
    });
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  async #flush(batch: PendingClaim[]): Promise<void> {
    try {
      const won = await this.#claim(batch);
      batch.forEach((c, i) => {
        c.resolve(won[i] === true);
      });
    } catch (e) {
      for (const c of batch) c.reject(e);
    }
  }

  /** Waits for claims already made (close() calls it before the connections go). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#inFlight.size > 0) {
      if (this.#scheduled) await new Promise((r) => setImmediate(r));
      await Promise.all([...this.#inFlight]);
    }
  }

  async pruneNonces(nowMs: number): Promise<number> {
    const res = await this.#db
      .deleteFrom('request_nonces')
      .where('expires_at', '<', nowMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
