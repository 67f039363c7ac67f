/**
 * The Node entry point: storage from `dataDir` (SQLite) or `databaseUrl` (PostgreSQL), the app,
 * and an HTTP listener. `saltbox server` calls {@link startServer}.
 *
 * @packageDocumentation
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { defaultBackend } from '@saltbox/saltpack';
import { loadOrCreateLogSeed } from './log-key.js';
import type { CryptoBackend } from '@saltbox/saltpack';
import { createApp } from './http/app.js';
import type { Clock, Limits } from './http/app.js';
import { fail } from './errors.js';
import { jsonLogger } from './log.js';
import type { Logger } from './log.js';
import type { SignupPolicy } from './services/signup-policy.js';
import { openPostgresStorage } from './storage/postgres.js';
import { openSqliteStorage } from './storage/sqlite.js';
import { defaultWebRoot, loadStaticSite } from './static-files.js';
import type { Storage } from './storage/types.js';

/** The default listen address: loopback only, so exposing the server is a decision. */
export const DEFAULT_LISTEN = '127.0.0.1:8080';

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** `host:port` (`[::1]:8080` for IPv6); port 0 picks a free port. Default `127.0.0.1:8080`. */
  listen?: string;
  /**
   * The data directory: the SQLite database (the default backend) and, on either backend, the
   * signed log's root key (`log-root-key`, made on first start).
   */
  dataDir?: string;
  /**
   * PostgreSQL URL; wins over `dataDir` for the data, which then only holds the log's root
   * key. Requires `dataDir`: the key is kept out of the database it attests to (a database
   * dump or a database writer must not be able to sign roots), and without a key file every
   * start would sign with a new key that every pinned client refuses.
   */
  databaseUrl?: string;
  /** An already open storage (tests, embedding); wins over both. */
  storage?: Storage;
  backend?: CryptoBackend;
  clock?: Clock;
  limits?: Partial<Limits>;
  logger?: Logger;
  /**
   * The built web app to serve at `/`: a directory, null for none, or absent for
   * `@saltbox/web`'s `dist` when it is built.
   */
  webRoot?: string | null;
  /** Who may sign up (default: open, reserved names refused). */
  signup?: SignupPolicy;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  storage: Storage;
  /** Stops accepting connections, waits for open ones, closes storage. */
  close(): Promise<void>;
}

/**
 * Parses `host:port`.
 *
 * @throws ServerError `VALIDATION_FAILED` for a malformed address.
 */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw fail('VALIDATION_FAILED', 'listen address must be host:port');
  return { hostname: m[1] ?? m[2]!, port };
}

/**
 * Opens storage, runs migrations and starts listening.
 *
 * @throws ServerError `VALIDATION_FAILED` for a bad listen address, when neither `dataDir`
 *   nor `databaseUrl` is given, or `databaseUrl` without a `dataDir` for the log root key;
 *   storage and listen errors (e.g. `EADDRINUSE`) propagate.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { hostname, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  let storage: Storage;
  if (options.storage) storage = options.storage;
  else if (options.databaseUrl) {
    if (options.dataDir === undefined || options.dataDir === ':memory:')
      throw fail(
        'VALIDATION_FAILED',
        'a postgresql server needs a data directory for its log root key (dataDir; saltbox server --data)',
      );
    storage = await openPostgresStorage({
      databaseUrl: options.databaseUrl,
      logSeed: loadOrCreateLogSeed(options.dataDir),
    });
  } else if (options.dataDir) {
    const dataDir = options.dataDir;
    storage = await openSqliteStorage({
      dataDir: options.dataDir,
      ...(options.dataDir === ':memory:' ? {} : { logSeed: () => loadOrCreateLogSeed(dataDir) }),
    });
    // Read the root key now, after the database's own checks: a key file problem stops the
    // start with its own message instead of surfacing at the first append.
    await storage.log.kid();
  } else throw fail('VALIDATION_FAILED', 'a data directory or a database url is required');
  const backend = options.backend ?? (await defaultBackend());
  const logger = options.logger ?? jsonLogger;
  const webRoot = options.webRoot === undefined ? defaultWebRoot() : options.webRoot;
  const web = webRoot === null ? undefined : await loadStaticSite(webRoot);
  const app = createApp({
    ...(web ? { web } : {}),
    storage,
    backend,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.signup ? { signup: options.signup } : {}),
    logger,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname, port }, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  logger({
    level: 'info',
    msg: 'listening',
    url: `http://${host}:${addr.port}`,
    storage: storage.dialect,
    logKey: await storage.log.kid(),
    web: web !== undefined,
  });
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    storage,
    async close() {
      app.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // Idle keep-alive connections would hold close() open.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await storage.close();
    },
  };
}
