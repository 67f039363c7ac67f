/**
 * KV change notifications between server processes sharing one PostgreSQL database (issue
 * #17.1), over `LISTEN/NOTIFY`.
 *
 * - Each process holds one dedicated listening connection (`LISTEN saltbox_kv`) and reconnects
 *   with backoff when it drops; after a reconnect it wakes every local waiter, since
 *   notifications sent meanwhile are lost, and waiters reread the change table anyway.
 * - A committed write wakes this process's waiters at once, and the teams written during one
 *   turn of the event loop go out as one `pg_notify` on the pool, after the writes committed:
 *   outside the write transactions, because PostgreSQL serialises the commits of transactions
 *   that notify on one global lock, which would undo the group commit of concurrent puts. A
 *   process dying between its commit and its notify costs the other servers' waiters at most
 *   the safety poll.
 * - The payload carries the sender's random instance ID, so a process ignores its own echoes
 *   (its waiters were woken already) — a payload of names of teams, never of data.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LocalChangeFeed, SAFETY_POLL_MS } from './notify.js';
import type { WritableChangeFeed } from './notify.js';

/** The notification channel (one per database: NOTIFY does not cross databases). */
export const KV_CHANNEL = 'saltbox_kv';
/** Payload bytes per notification, under PostgreSQL's 8000-byte limit. */
const MAX_PAYLOAD = 7000;
/** The listening connection's `application_name`: operators see it in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'saltbox-kv-listener';
/** Reconnect backoff bounds. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/** Options of {@link openPostgresChangeFeed}. */
export interface PostgresChangeFeedOptions {
  /** The database URL: the listening connection is one more connection beside the pool. */
  databaseUrl: string;
  /** Where notifications are sent (the storage's pool). */
  pool: pg.Pool;
  /** Default {@link SAFETY_POLL_MS}. */
  safetyPollMs?: number;
}

/** A {@link ChangeFeed} across processes, with the state of its listening connection. */
export class PostgresChangeFeed implements WritableChangeFeed {
  readonly #local: LocalChangeFeed;
  readonly #url: string;
  readonly #pool: pg.Pool;
  readonly #instance = randomBytes(6).toString('hex');
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #pending = new Set<string>();
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  /** Reconnections after a lost listening connection (tests, the operations guide). */
  reconnects = 0;

  constructor(options: PostgresChangeFeedOptions) {
    this.#url = options.databaseUrl;
    this.#pool = options.pool;
    this.#local = new LocalChangeFeed(options.safetyPollMs ?? SAFETY_POLL_MS);
  }

  get safetyPollMs(): number {
    return this.#local.safetyPollMs;
  }

  /** Whether {@link PostgresChangeFeed.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether the listening connection is up now. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  subscribe(teamId: string, listener: () => void): () => void {
    return this.#local.subscribe(teamId, listener);
  }

  /** Called by the KV store after a write to `teamId` committed. */
  written(teamId: string): void {
    this.#local.emit(teamId);
    this.#pending.add(teamId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every write committed in this turn joins one notify.
    setImmediate(() => {
      this.#scheduled = false;
      const teams = [...this.#pending];
      this.#pending = new Set();
      const p = this.#send(teams).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    });
  }

  async #send(teams: string[]): Promise<void> {
    const head = `${this.#instance} `;
    let payload = head;
    const flush = async () => {
      if (payload === head) return;
      const text = payload;
      payload = head;
      await this.#pool.query({
        name: 'saltbox_kv_notify',
        text: 'select pg_notify($1, $2)',
        values: [KV_CHANNEL, text],
      });
    };
    try {
      for (const t of teams) {
        if (payload.length + t.length + 1 > MAX_PAYLOAD) await flush();
        payload += payload === head ? t : `,${t}`;
      }
      await flush();
    } catch {
      // Best effort: the other servers' waiters recheck at their safety poll.
    }
  }

  /** Connects the listening connection; resolves after the first attempt, connected or not. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.#url,
      application_name: LISTENER_APPLICATION_NAME,
    });
    // An object, not a `let`: the callbacks below change it while this function awaits.
    const state = { lost: false };
    const onLost = () => {
      if (state.lost) return;
      state.lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (m) => {
      if (m.channel !== KV_CHANNEL || m.payload === undefined) return;
      const space = m.payload.indexOf(' ');
      if (space < 0 || m.payload.slice(0, space) === this.#instance) return;
      for (const teamId of m.payload.slice(space + 1).split(',')) this.#local.emit(teamId);
    });
    try {
      await client.connect();
      await client.query(`listen ${KV_CHANNEL}`);
    } catch {
      onLost();
      return;
    }
    if (state.lost) return;
    // close() may have run while this connected.
    if (this.isClosed) {
      await client.end().catch(() => undefined);
      return;
    }
    const wasReconnect = this.#retryMs !== RETRY_MIN_MS || this.reconnects > 0;
    this.#client = client;
    this.#retryMs = RETRY_MIN_MS;
    // Notifications sent while no listener was connected are lost: every waiter looks again.
    if (wasReconnect) this.#local.emitAll();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.reconnects++;
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
    this.#retryTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    await Promise.all([...this.#inFlight]);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * Opens the feed and makes its first connection attempt (a server reports ready only once it
 * hears other servers' writes; if the attempt fails it keeps retrying in the background).
 */
export async function openPostgresChangeFeed(
  options: PostgresChangeFeedOptions,
): Promise<PostgresChangeFeed> {
  const feed = new PostgresChangeFeed(options);
  await feed.start();
  return feed;
}
