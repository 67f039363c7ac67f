/**
 * The agent as the service (issue #15.2): besides the keystore, the running agent holds one
 * warm, verified client for the account of its home and answers client operations over its
 * socket (the methods of `service-table.ts`, as `client.<name>`). A `saltbox kv` or
 * `kvstore api` process then only parses its arguments and forwards the request: no client, no
 * schemas, no keystore unlock, no chain verification of its own.
 *
 * What stays warm between calls: the account session over the agent's own keystore (no socket
 * round trip to itself), the verified users and teams already loaded (pins, chain cache), the
 * team keys already opened, the KV rollback cache, and the log root for
 * `SALTBOX_LOG_FRESH_MS`. Freshness on each call is what the in-process path does on each
 * command: a team is loaded with `refresh` (the server is asked for the chain's tail; only links
 * past the verified tail are verified, never the whole chain again), and a member removed or a
 * device revoked by another process is seen on the next call.
 *
 * The warm client is dropped and built again when the account changes (`config.json` differs:
 * login, logout, another device) or the keystore has been seen locked, so an answer never comes
 * from state the in-process path would not have. Values pass through and are never logged.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inProcessClient, KeystoreError } from '@saltbox/keystore';
import type { ExtraMethods, KeystoreApi } from '@saltbox/keystore';
import { KvstoreApi } from '@saltbox/client';
import type { KvstoreBackend } from '@saltbox/client';
import { CliError } from './errors.js';
import type { KeystorePaths } from './keystore-access.js';
import { openKvstoreBackend, unavailableBackend } from './kvstore-backend.js';
import type { KvstoreSessionBackend } from './kvstore-backend.js';
import { saltboxHome } from './keys.js';
import { SERVICE_METHODS, serviceWireName } from './service-methods.js';
import { serviceTable } from './service-table.js';
import type { ServiceApi } from './service-table.js';

/** Open `kvstore api` streams per agent; the oldest is dropped beyond this (a client gone). */
const MAX_STREAMS = 64;

/**
 * Builds the warm KV backend of this home over the agent's keystore: the one place the agent
 * constructs its client (to become a call of the shared client factory, issue #15.1).
 */
export async function openWarmKvBackend(
  keystore: KeystoreApi,
  paths: KeystorePaths,
): Promise<KvstoreSessionBackend> {
  const { openSession } = await import('./session.js');
  return openKvstoreBackend({
    openSession: () =>
      openSession({
        keystore: async () => {
          // What a command finds when it asks this agent (session.ts openAccountKeystore).
          const { state } = await keystore.status();
          if (state === 'locked')
            throw new CliError('KEYSTORE_LOCKED', 'the keystore agent is locked');
          if (state === 'uninitialized')
            throw new CliError(
              'KEYSTORE_UNINITIALIZED',
              `there is no keystore in ${paths.keystoreDir}`,
            );
          return {
            client: inProcessClient(keystore),
            kind: 'agent',
            location: paths.socketPath,
            // The agent's keystore outlives any one client.
            close: () => Promise.resolve(),
          };
        },
      }),
  });
}

/** Serialises the backend's operations: the warm client is shared by every connection. */
function serialized<T>(backend: KvstoreBackend<T>, queue: { tail: Promise<unknown> }) {
  const wrap =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const run = queue.tail.then(
        () => f(...args),
        () => f(...args),
      );
      queue.tail = run.catch(() => undefined);
      return run;
    };
  return {
    currentUsername: wrap(() => backend.currentUsername()),
    resolveTeam: wrap((name: string) => backend.resolveTeam(name)),
    get: wrap((team: T, ns: string, key: string) => backend.get(team, ns, key)),
    put: wrap((team: T, ns: string, key: string, value: string, rev: number) =>
      backend.put(team, ns, key, value, rev),
    ),
    del: wrap((team: T, ns: string, key: string, rev: number) => backend.del(team, ns, key, rev)),
    listNamespaces: wrap((team: T) => backend.listNamespaces(team)),
    listEntryKeys: wrap((team: T, ns: string) => backend.listEntryKeys(team, ns)),
  } satisfies KvstoreBackend<T>;
}

/**
 * Input fed to a dispatcher over several calls. `push` resolves once the dispatcher has taken
 * everything and asks for more (every complete request in it has been answered), or has ended.
 */
class Feed implements AsyncIterableIterator<Uint8Array> {
  #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  #drained: (() => void) | undefined;

  push(chunk: Uint8Array, finished: Promise<void>): Promise<void> {
    this.#queue.push(chunk);
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    this.#wake?.();
    return Promise.race([drained, finished]);
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) return { done: false, value: chunk };
      if (this.#ended) return { done: true, value: undefined };
      this.#drained?.();
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

interface Stream {
  feed: Feed;
  replies: string[];
  finished: Promise<void>;
}

/**
 * The client service of an agent: the methods to serve beside the keystore's, and `close`.
 *
 * @param keystore - the keystore the agent holds.
 * @param paths - the agent's socket and keystore directory (for messages).
 */
export function createClientService(
  keystore: KeystoreApi,
  paths: KeystorePaths,
): { methods: ExtraMethods; api: ServiceApi; close(): Promise<void> } {
  const configFile = join(saltboxHome(), 'config.json');
  const queue = { tail: Promise.resolve() as Promise<unknown> };
  let warm: { config: string; backend: KvstoreSessionBackend } | undefined;
  let opening: Promise<KvstoreBackend & { close(): Promise<void> }> | undefined;

  const drop = async (): Promise<void> => {
    const old = warm;
    warm = undefined;
    await old?.backend.close().catch(() => undefined);
  };

  /** The warm backend, checked for this call: same account, keystore still unlocked. */
  const backend = async (): Promise<KvstoreBackend> => {
    const config = await readFile(configFile, 'utf8').catch(() => '');
    const { state } = await keystore.status();
    if (warm && (warm.config !== config || state !== 'unlocked')) await drop();
    if (warm) return warm.backend;
    // One opening at a time; a failure (locked, logged out) is not kept: the next call retries.
    opening ??= openWarmKvBackend(keystore, paths)
      .then((b) => {
        warm = { config, backend: b };
        return b;
      }, unavailableBackend)
      .finally(() => {
        opening = undefined;
      });
    return opening;
  };

  /** A backend whose every operation first finds the warm backend of this call. */
  const current: KvstoreBackend = serialized(
    {
      currentUsername: async () => (await backend()).currentUsername(),
      resolveTeam: async (name) => (await backend()).resolveTeam(name),
      get: async (t, ns, k) => (await backend()).get(t, ns, k),
      put: async (t, ns, k, v, r) => (await backend()).put(t, ns, k, v, r),
      del: async (t, ns, k, r) => (await backend()).del(t, ns, k, r),
      listNamespaces: async (t) => (await backend()).listNamespaces(t),
      listEntryKeys: async (t, ns) => (await backend()).listEntryKeys(t, ns),
    },
    queue,
  );

  const streams = new Map<number, Stream>();
  let nextStream = 1;
  const stream = (id: number): Stream => {
    const s = streams.get(id);
    if (!s) throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'no such kvstore stream');
    return s;
  };
  const take = (s: Stream): { replies: string[] } => ({ replies: s.replies.splice(0) });

  let served = 0;
  const api: ServiceApi = {
    async status() {
      // A home where nobody is logged in holds no client (its backend answers `not logged in`).
      const username = warm ? await warm.backend.currentUsername() : null;
      return { warm: username !== null, username, served };
    },
    async kvstoreApi({ text, pretty }) {
      const replies: string[] = [];
      await new KvstoreApi(current, { pretty: pretty === true }).run(
        [new TextEncoder().encode(text)],
        (reply) => {
          replies.push(reply);
        },
      );
      return { replies };
    },
    kvstoreOpen({ pretty }) {
      const feed = new Feed();
      const replies: string[] = [];
      const finished = new KvstoreApi(current, { pretty: pretty === true })
        .run(feed, (reply) => {
          replies.push(reply);
        })
        .catch(() => undefined);
      const id = nextStream++;
      streams.set(id, { feed, replies, finished });
      if (streams.size > MAX_STREAMS) {
        const [oldest] = streams.keys();
        if (oldest !== undefined) {
          streams.get(oldest)?.feed.end();
          streams.delete(oldest);
        }
      }
      return Promise.resolve({ stream: id });
    },
    async kvstoreWrite({ stream: id, data }) {
      const s = stream(id);
      await s.feed.push(Buffer.from(data, 'base64'), s.finished);
      return take(s);
    },
    async kvstoreEnd({ stream: id }) {
      const s = stream(id);
      s.feed.end();
      await s.finished;
      streams.delete(id);
      return take(s);
    },
  };

  const methods: ExtraMethods = {};
  const counted = new Set<string>(['kvstoreApi', 'kvstoreWrite', 'kvstoreEnd']);
  for (const name of SERVICE_METHODS) {
    const entry = serviceTable[name];
    const call = api[name] as (request: unknown) => Promise<unknown>;
    methods[serviceWireName(name)] = async (params) => {
      const parsed = entry.request.safeParse(params ?? {});
      if (!parsed.success) {
        throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'invalid parameters', {
          method: name,
        });
      }
      const result = entry.response.parse(await call(parsed.data));
      if (counted.has(name)) served += (result as { replies: string[] }).replies.length;
      return result;
    };
  }

  return {
    methods,
    api,
    close: async () => {
      for (const s of streams.values()) s.feed.end();
      streams.clear();
      await drop();
    },
  };
}
