/**
 * The keystore agent (like ssh-agent): one process holds the unlocked keystore and serves
 * JSON-RPC 2.0 on a Unix socket (a named pipe on Windows), one JSON message per line. Where:
 * `agentSocketPath` in paths.ts.
 *
 * Who may connect: Node cannot read a Unix socket peer's uid (no SO_PEERCRED / getpeereid
 * binding), so access control is the file system's — the socket lives in a directory the agent
 * makes 0700 and refuses to use if it is a symlink, another user's, or open to others, and the
 * socket itself is 0600. Another local user cannot traverse the directory, so cannot connect;
 * root can, as with ssh-agent. Clients check the socket's owner before sending anything.
 * Privileged methods (`exportSecrets`) are refused on the socket unless the agent was started
 * with `allowPrivileged`.
 *
 * Besides the table's methods the agent serves `agent.status` and `agent.stop`.
 *
 * @packageDocumentation
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { dirname } from 'node:path';
import { KeystoreError, transportError } from '../errors.js';
import { openKeystore } from '../keystore.js';
import type { LocalKeystore } from '../keystore.js';
import type { KeystoreApi } from '../rpc.js';
import type { KdfChoice } from '../store/passphrase.js';
import type { ExtraMethods, KeystoreClient, RpcClientOptions } from '../transport/jsonrpc.js';
import { createRpcClient, createRpcServer } from '../transport/jsonrpc.js';
import { nodeArgon2id } from './argon2.js';
import { fileStore } from './file-store.js';
import {
  agentSocketPath,
  checkAgentSocketOwner,
  keystoreDirOf,
  maxSocketPathBytes,
} from './paths.js';

/** The longest line (one JSON-RPC message) either side accepts: bounds memory per connection. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** Socket path (or Windows pipe name); {@link agentSocketPath} when absent. */
  socketPath?: string;
  /**
   * The keystore to serve. When absent, the file keystore in `keystoreDir` (default
   * {@link keystoreDirOf} the default home) is opened, locked.
   */
  keystore?: KeystoreApi;
  /** Directory of the file keystore when `keystore` is absent. */
  keystoreDir?: string;
  /** Auto-lock after this many idle milliseconds (file keystore only); default 15 minutes. */
  idleLockMs?: number | null;
  /** KDF for a keystore created through this agent (file keystore only). */
  kdf?: KdfChoice;
  /** Serve privileged methods on the socket. Off by default. */
  allowPrivileged?: boolean;
  /**
   * More methods to serve on the same socket, given the keystore the agent holds: the CLI's
   * client service (warm KV, `kvstore api`) lives here. Their names must not be the table's;
   * they are called with the raw `params` and validate them themselves.
   */
  serve?: (keystore: KeystoreApi) => ExtraMethods;
}

/** A running agent. */
export interface Agent {
  readonly socketPath: string;
  /** Resolves when the agent has stopped (by {@link Agent.stop} or `agent.stop`). */
  readonly stopped: Promise<void>;
  /** Stops listening, closes every connection, locks the keystore, removes the socket. */
  stop(): Promise<void>;
}

/** What `agent.status` returns. */
export interface AgentStatus {
  pid: number;
  socketPath: string;
  startedAt: string;
  connections: number;
}

const DEFAULT_IDLE_LOCK_MS = 15 * 60 * 1000;

/** Unix sockets need a private directory, a length check, chmod and unlink; named pipes none. */
const namedPipes = (): boolean => process.platform === 'win32';

/**
 * Refuses a socket path longer than `bind(2)` takes: Node would truncate it silently and the
 * agent would listen where no client looks (issue #12.23).
 */
function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  const max = maxSocketPathBytes();
  if (bytes > max) {
    throw new KeystoreError(
      'KEYSTORE_AGENT_SOCKET',
      `the agent socket path ${socketPath} is ${bytes} bytes; this system allows ${max}`,
      { path: socketPath },
    );
  }
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Makes the socket's directory (0700) or checks the one that is there, like tmux and gpg-agent:
 * it must be a real directory (not a symlink) of this user that no one else may enter. A
 * directory planted by another user (say `/tmp/saltbox-<uid>` made before ours) would let them
 * swap the socket and read passphrases, so it is refused, never repaired. Nothing to do for a
 * Windows named pipe.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED` for an unsafe directory; `KEYSTORE_AGENT_SOCKET`
 *   when the path is too long or the directory cannot be made.
 */
export async function prepareAgentSocketDir(socketPath: string): Promise<void> {
  if (namedPipes()) return;
  checkSocketPathLength(socketPath);
  const dir = dirname(socketPath);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new KeystoreError(
        'KEYSTORE_AGENT_SOCKET',
        `cannot make the agent socket directory ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { path: socketPath },
        { cause: e },
      );
    }
  }
  const st = await lstat(dir);
  if (!st.isDirectory()) {
    throw new KeystoreError(
      'KEYSTORE_REFUSED',
      `the agent socket directory ${dir} is not a directory (a symlink or a file)`,
      { path: socketPath },
    );
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new KeystoreError(
      'KEYSTORE_REFUSED',
      `the agent socket directory ${dir} belongs to another user`,
      { path: socketPath },
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeystoreError(
      'KEYSTORE_REFUSED',
      `the agent socket directory ${dir} is open to other users (mode ${octal(st.mode)}); it must be 0700`,
      { path: socketPath },
    );
  }
}

/** True when something answers on the socket. */
function probe(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

/** Splits a byte stream into lines and hands each parsed JSON value to `onMessage`. */
function lineReader(
  socket: Socket,
  onMessage: (value: unknown) => void,
  onBadLine: () => void,
): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        onBadLine();
        continue;
      }
      onMessage(value);
    }
    if (buffered.length > MAX_MESSAGE_BYTES) {
      socket.destroy();
    }
  });
}

/**
 * Starts an agent on a Unix socket, or on a named pipe on Windows.
 *
 * @throws KeystoreError `KEYSTORE_AGENT_RUNNING` when another agent answers on the socket;
 *   `KEYSTORE_REFUSED` when the socket directory is unsafe (see {@link prepareAgentSocketDir});
 *   `KEYSTORE_AGENT_SOCKET` (naming the path) when the path is too long or cannot be listened on.
 */
export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  const socketPath = options.socketPath ?? agentSocketPath();
  // Checked before the keystore opens: a bad path must not cost an open and close.
  await prepareAgentSocketDir(socketPath);
  let owned: LocalKeystore | undefined;
  let keystore = options.keystore;
  if (!keystore) {
    owned = await openKeystore({
      store: fileStore(options.keystoreDir ?? keystoreDirOf()),
      argon2id: nodeArgon2id,
      idleLockMs: options.idleLockMs === undefined ? DEFAULT_IDLE_LOCK_MS : options.idleLockMs,
      ...(options.kdf ? { kdf: options.kdf } : {}),
    });
    keystore = owned;
  }
  if (await probe(socketPath)) {
    await owned?.close();
    throw new KeystoreError('KEYSTORE_AGENT_RUNNING', 'an agent is already running on this socket');
  }
  // A stale socket from a dead agent. A named pipe vanishes with its last handle: nothing to do.
  if (!namedPipes()) await unlink(socketPath).catch(() => undefined);

  const sockets = new Set<Socket>();
  const startedAt = new Date().toISOString();
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const server: Server = createServer();
  const rpc = createRpcServer(keystore, {
    allowPrivileged: options.allowPrivileged ?? false,
    extra: {
      ...options.serve?.(keystore),
      'agent.status': () =>
        Promise.resolve({
          pid: process.pid,
          socketPath,
          startedAt,
          connections: sockets.size,
        } satisfies AgentStatus),
      'agent.stop': () => {
        // Answer first, then stop, so the caller sees success.
        setImmediate(() => void stop());
        return Promise.resolve({ stopping: true });
      },
    },
  });

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    lineReader(
      socket,
      (message) => {
        void rpc.handle(message).then((response) => {
          if (response !== null && !socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
        });
      },
      () => {
        if (!socket.destroyed) {
          socket.write(
            `${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })}\n`,
          );
        }
      },
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await owned?.close();
    throw new KeystoreError(
      'KEYSTORE_AGENT_SOCKET',
      `cannot listen on the agent socket ${socketPath} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { path: socketPath },
      { cause: e },
    );
  }
  // Defence in depth beside the 0700 directory. Windows pipes have no mode (Node cannot set their
  // ACL; the default one admits only this user and administrators).
  if (!namedPipes()) await chmod(socketPath, 0o600);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const s of sockets) s.destroy();
      });
      if (!namedPipes()) await unlink(socketPath).catch(() => undefined);
      if (owned) await owned.close();
      resolveStopped();
    })();
    return stopping;
  };

  return { socketPath, stopped, stop };
}

/** Options of {@link connectAgent}. */
export type ConnectAgentOptions = Omit<RpcClientOptions, 'onClose'>;

/** A client of the agent: the keystore API plus the agent's own methods. */
export type AgentClient = KeystoreClient & {
  /** The agent's pid, socket and connection count. */
  agentStatus(): Promise<AgentStatus>;
  /** Asks the agent to stop (it locks the keystore and removes its socket). */
  stopAgent(): Promise<void>;
};

/**
 * Connects to an agent.
 *
 * @throws KeystoreError `KEYSTORE_AGENT_NOT_RUNNING` when nothing listens on the socket;
 *   `KEYSTORE_AGENT_SOCKET` when the path is longer than a socket path may be;
 *   `KEYSTORE_REFUSED` when the socket or its directory belongs to another user;
 *   `KEYSTORE_TRANSPORT` for other connection failures (naming the path). Calls on the returned
 *   client fail with `KEYSTORE_TRANSPORT` once the connection drops (for example when the agent
 *   is killed).
 */
export async function connectAgent(
  socketPath: string = agentSocketPath(),
  options: ConnectAgentOptions = {},
): Promise<AgentClient> {
  if (!namedPipes()) {
    checkSocketPathLength(socketPath);
    await checkAgentSocketOwner(socketPath);
  }
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let connected = false;
    const handle = createRpcClient(
      (message) => {
        if (socket.destroyed) throw transportError('agent connection is closed');
        socket.write(`${JSON.stringify(message)}\n`);
      },
      {
        ...options,
        onClose: () =>
          new Promise<void>((done) => {
            if (socket.destroyed) done();
            else
              socket.end(() => {
                done();
              });
            socket.destroy();
          }),
      },
    );
    socket.once('connect', () => {
      connected = true;
      const client = handle.client as AgentClient;
      client.agentStatus = async () => (await client.callExtra('agent.status')) as AgentStatus;
      client.stopAgent = async () => {
        await client.callExtra('agent.stop');
      };
      resolve(client);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const missing = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
        reject(
          missing
            ? new KeystoreError(
                'KEYSTORE_AGENT_NOT_RUNNING',
                'no keystore agent is running',
                {},
                {
                  cause: e,
                },
              )
            : transportError(
                `could not connect to the keystore agent on ${socketPath} (${e.code ?? 'error'})`,
                e,
              ),
        );
      }
    });
    socket.on('close', () => {
      handle.fail(transportError('keystore agent connection closed'));
    });
    lineReader(
      socket,
      (m) => {
        handle.receive(m);
      },
      () => {
        handle.fail(transportError('keystore agent sent malformed data'));
      },
    );
  });
}
