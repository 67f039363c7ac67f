/**
 * The CLI's side of the agent's client service (issue #15.2, `client-service.ts`): a small
 * JSON-RPC-over-Unix-socket client that loads neither the client library nor zod nor the
 * keystore, so a command answered by a running agent costs little more than Node's start-up.
 *
 * With no agent, or an agent that does not offer the service (an older one), callers get
 * `undefined` and run the command in-process exactly as before. The socket is checked to be this
 * user's before anything (a value being put) is sent, as the keystore's own client does.
 *
 * @packageDocumentation
 */
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { agentSocketPath, checkAgentSocketOwner, saltboxHome } from '@saltbox/keystore/paths';
import { CliError } from './errors.js';
import type { ServiceMethod } from './service-methods.js';
import { serviceWireName } from './service-methods.js';
import type { ServiceApi, ServiceRequest, ServiceResponse } from './service-table.js';

/** JSON-RPC's "method not found": the agent predates the service. */
const METHOD_NOT_FOUND = -32601;

/** A connection to the service; `close` ends it. */
export type ServiceClient = ServiceApi & { close(): void };

/** Raised inside this module when the agent does not know a method; callers fall back. */
export class ServiceUnavailable extends Error {}

/**
 * Connects to the running agent of this home, or resolves to undefined when none answers
 * (no socket, a stale one, or a socket that is not this user's: then the in-process path
 * reports it as it always has).
 */
export async function connectService(): Promise<ServiceClient | undefined> {
  const socketPath = agentSocketPath(saltboxHome({ env: process.env }), { env: process.env });
  try {
    await checkAgentSocketOwner(socketPath);
  } catch {
    return undefined;
  }
  const socket = await new Promise<Socket | undefined>((resolve) => {
    const s = createConnection(socketPath);
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', () => {
      resolve(undefined);
    });
  });
  if (!socket) return undefined;
  socket.unref();

  let nextId = 1;
  let buffered = '';
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let msg: { id?: unknown; result?: unknown; error?: { code?: number; message?: string } };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        failAll(new CliError('CLI_AGENT_SERVICE', 'the agent sent malformed data'));
        socket.destroy();
        return;
      }
      const p = typeof msg.id === 'number' ? pending.get(msg.id) : undefined;
      if (!p || typeof msg.id !== 'number') continue;
      pending.delete(msg.id);
      if (msg.error) {
        p.reject(
          msg.error.code === METHOD_NOT_FOUND
            ? new ServiceUnavailable('the agent does not offer the client service')
            : new CliError(
                'CLI_AGENT_SERVICE',
                `the agent failed the request: ${String(msg.error.message)}`,
              ),
        );
      } else {
        p.resolve(msg.result);
      }
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    failAll(new CliError('CLI_AGENT_SERVICE', 'the agent closed the connection'));
  });

  const requestService = <M extends ServiceMethod>(
    method: M,
    params: ServiceRequest<M>,
  ): Promise<ServiceResponse<M>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      // Referenced while a call is pending, so the process waits for the answer.
      socket.ref();
      socket.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method: serviceWireName(method), params })}\n`,
      );
    }).finally(() => {
      if (pending.size === 0) socket.unref();
    }) as Promise<ServiceResponse<M>>;

  return {
    status: (r) => requestService('status', r),
    kvstoreApi: (r) => requestService('kvstoreApi', r),
    kvstoreOpen: (r) => requestService('kvstoreOpen', r),
    kvstoreWrite: (r) => requestService('kvstoreWrite', r),
    kvstoreEnd: (r) => requestService('kvstoreEnd', r),
    close: () => {
      socket.destroy();
    },
  };
}
