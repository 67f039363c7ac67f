/**
 * The keystore agent (like ssh-agent): one process holds the unlocked keystore and serves
 * JSON-RPC 2.0 on a Unix socket, one JSON message per line.
 *
 * Who may connect: Node cannot read a Unix socket peer's uid (no SO_PEERCRED / getpeereid
 * binding), so access control is the file system's — the socket lives in a directory the agent
 * makes (or tightens to) 0700 and refuses to use if another user owns it, and the socket itself
 * is 0600. Another local user cannot traverse the directory, so cannot connect; root can, as
 * with ssh-agent. Privileged methods (`exportSecrets`) are refused on the socket unless the agent
 * was started with `allowPrivileged`.
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
import type { KeystoreClient, RpcClientOptions } from '../transport/jsonrpc.js';
import { createRpcClient, createRpcServer } from '../transport/jsonrpc.js';
import { nodeArgon2id } from './argon2.js';
import { fileStore } from './file-store.js';
import { defaultKeystoreDir, defaultSocketPath } from './paths.js';

/** The longest line (one JSON-RPC message) either side accepts: bounds memory per connection. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** Socket path; {@link defaultSocketPath} when absent. */
  socketPath?: string;
  /**
   * The keystore to serve. When absent, the file keystore in `keystoreDir` (default
   * {@link defaultKeystoreDir}) is opened, locked.
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

async function prepareSocketDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory()) {
    throw new KeystoreError('KEYSTORE_REFUSED', 'agent socket directory is not a directory');
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new KeystoreError('KEYSTORE_REFUSED', 'agent socket directory belongs to another user');
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
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
 * Starts an agent on a Unix socket.
 *
 * @throws KeystoreError `KEYSTORE_AGENT_RUNNING` when another agent answers on the socket;
 *   `KEYSTORE_REFUSED` when the socket directory belongs to another user.
 */
export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  const socketPath = options.socketPath ?? defaultSocketPath();
  let owned: LocalKeystore | undefined;
  let keystore = options.keystore;
  if (!keystore) {
    owned = await openKeystore({
      store: fileStore(options.keystoreDir ?? defaultKeystoreDir()),
      argon2id: nodeArgon2id,
      idleLockMs: options.idleLockMs === undefined ? DEFAULT_IDLE_LOCK_MS : options.idleLockMs,
      ...(options.kdf ? { kdf: options.kdf } : {}),
    });
    keystore = owned;
  }
  if (process.platform !== 'win32') await prepareSocketDir(dirname(socketPath));
  if (await probe(socketPath)) {
    throw new KeystoreError('KEYSTORE_AGENT_RUNNING', 'an agent is already running on this socket');
  }
  await unlink(socketPath).catch(() => undefined); // a stale socket from a dead agent

  const sockets = new Set<Socket>();
  const startedAt = new Date().toISOString();
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const server: Server = createServer();
  const rpc = createRpcServer(keystore, {
    allowPrivileged: options.allowPrivileged ?? false,
    extra: {
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (process.platform !== 'win32') await chmod(socketPath, 0o600);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const s of sockets) s.destroy();
      });
      await unlink(socketPath).catch(() => undefined);
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
 *   `KEYSTORE_TRANSPORT` for other connection failures. Calls on the returned client fail with
 *   `KEYSTORE_TRANSPORT` once the connection drops (for example when the agent is killed).
 */
export function connectAgent(
  socketPath: string = defaultSocketPath(),
  options: ConnectAgentOptions = {},
): Promise<AgentClient> {
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
            : transportError('could not connect to the keystore agent', e),
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
