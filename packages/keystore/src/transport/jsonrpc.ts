/**
 * JSON-RPC 2.0 over any message channel, derived from the RPC table: the client proxy and the
 * serving dispatcher. The agent (Unix socket, newline-delimited JSON) and the Worker transport
 * (`postMessage`) only move these messages.
 *
 * Wire conventions: `params` and `result` are the table's schemas in their wire form (bytes as
 * base64, via `z.encode` / `z.decode`). Errors are JSON-RPC error objects whose `data` carries
 * the keystore's `{code, details}`, so the client rebuilds the same {@link KeystoreError}.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { KeystoreError, toKeystoreError, transportError } from '../errors.js';
import type { KeystoreApi, KeystoreMethod } from '../rpc.js';
import { KEYSTORE_METHODS, isKeystoreMethod, rpcTable } from '../rpc.js';

/** A JSON-RPC 2.0 request (or notification when `id` is absent). */
export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id?: number | string | null;
  method: string;
  params?: unknown;
}

/** A JSON-RPC 2.0 error object. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** A JSON-RPC 2.0 response. */
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: number | string | null; result: unknown }
  | { jsonrpc: '2.0'; id: number | string | null; error: JsonRpcErrorObject };

/** Standard JSON-RPC error numbers, and one for every keystore error. */
export const JSONRPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  keystoreError: -32000,
} as const;

/** Extra, transport-level methods a server may offer next to the table (e.g. `agent.stop`). */
export type ExtraMethods = Record<string, (params: unknown) => Promise<unknown>>;

/** Options of {@link createRpcServer}. */
export interface RpcServerOptions {
  /** Serve privileged methods (`exportSecrets`). Off by default for remote transports. */
  allowPrivileged?: boolean;
  /** Methods outside the keystore table, served under their own names. */
  extra?: ExtraMethods;
}

/** The serving side: turns one parsed JSON message into the response to send (or null). */
export interface RpcServer {
  handle(message: unknown): Promise<JsonRpcResponse | JsonRpcResponse[] | null>;
}

function errorResponse(id: JsonRpcResponse['id'], e: unknown): JsonRpcResponse {
  const err = toKeystoreError(e);
  let code: number = JSONRPC_ERRORS.keystoreError;
  if (err.code === 'KEYSTORE_UNKNOWN_METHOD') code = JSONRPC_ERRORS.methodNotFound;
  else if (err.code === 'KEYSTORE_INVALID_ARGUMENT') code = JSONRPC_ERRORS.invalidParams;
  return { jsonrpc: '2.0', id, error: { code, message: err.message, data: err.toJSON() } };
}

/**
 * Builds the dispatcher for `keystore`: validates and decodes `params` with the method's request
 * schema, calls the method, encodes the result with the response schema.
 */
export function createRpcServer(keystore: KeystoreApi, options: RpcServerOptions = {}): RpcServer {
  const one = async (msg: unknown): Promise<JsonRpcResponse | null> => {
    const req = msg as Partial<JsonRpcRequest> | null;
    const id = typeof req?.id === 'number' || typeof req?.id === 'string' ? req.id : null;
    const isNotification = req !== null && typeof req === 'object' && !('id' in req);
    try {
      if (
        req === null ||
        typeof req !== 'object' ||
        req.jsonrpc !== '2.0' ||
        typeof req.method !== 'string'
      ) {
        return {
          jsonrpc: '2.0',
          id,
          error: { code: JSONRPC_ERRORS.invalidRequest, message: 'invalid request' },
        };
      }
      const method = req.method;
      const extra =
        options.extra && Object.hasOwn(options.extra, method) ? options.extra[method] : undefined;
      let result: unknown;
      if (extra) {
        result = await extra(req.params);
      } else {
        if (!isKeystoreMethod(method)) {
          throw new KeystoreError('KEYSTORE_UNKNOWN_METHOD', 'unknown method', { method });
        }
        const entry: { request: z.ZodType; response: z.ZodType; privileged?: boolean } =
          rpcTable[method];
        if (entry.privileged && !options.allowPrivileged) {
          throw new KeystoreError(
            'KEYSTORE_REFUSED',
            'this transport does not serve privileged methods',
            { method },
          );
        }
        const parsed = entry.request.safeParse(req.params ?? {});
        if (!parsed.success) {
          throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'invalid parameters', { method });
        }
        const call = keystore[method] as (r: unknown) => Promise<unknown>;
        const value = await call.call(keystore, parsed.data);
        result = z.encode(entry.response, value);
      }
      return isNotification ? null : { jsonrpc: '2.0', id, result };
    } catch (e) {
      return isNotification ? null : errorResponse(id, e);
    }
  };
  return {
    async handle(message) {
      if (Array.isArray(message)) {
        if (message.length === 0) {
          return {
            jsonrpc: '2.0',
            id: null,
            error: { code: JSONRPC_ERRORS.invalidRequest, message: 'empty batch' },
          };
        }
        const out = (await Promise.all(message.map(one))).filter(
          (r): r is JsonRpcResponse => r !== null,
        );
        return out.length > 0 ? out : null;
      }
      return one(message);
    },
  };
}

/** A keystore reached through a transport; `close` ends the connection (not the keystore). */
export type KeystoreClient = KeystoreApi & {
  /** Calls a transport-level method outside the table (e.g. `agent.status`). */
  callExtra(method: string, params?: unknown): Promise<unknown>;
  /** Closes the connection; pending calls fail with `KEYSTORE_TRANSPORT`. */
  close(): Promise<void>;
};

/** Options of {@link createRpcClient}. */
export interface RpcClientOptions {
  /** Fail a call with `KEYSTORE_TRANSPORT` when no answer arrives in time (default: never). */
  timeoutMs?: number;
  /** Called by `close()` to release the channel. */
  onClose?: () => void | Promise<void>;
}

/** The client side: `receive` feeds it responses; `fail` ends every pending call. */
export interface RpcClientHandle {
  client: KeystoreClient;
  receive(message: unknown): void;
  fail(error: KeystoreError): void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: KeystoreError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Builds the client proxy: one function per table method, encoding requests and decoding
 * responses with the method's schemas. `send` puts a request on the channel.
 */
export function createRpcClient(
  send: (message: JsonRpcRequest) => void,
  options: RpcClientOptions = {},
): RpcClientHandle {
  let nextId = 1;
  let closed: KeystoreError | null = null;
  const pending = new Map<number, Pending>();

  const raw = (method: string, params: unknown): Promise<unknown> => {
    if (closed) return Promise.reject(closed);
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (options.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          pending.delete(id);
          reject(transportError('keystore call timed out'));
        }, options.timeoutMs);
      }
      pending.set(id, p);
      try {
        send({ jsonrpc: '2.0', id, method, params });
      } catch (e) {
        pending.delete(id);
        clearTimeout(p.timer);
        reject(transportError('could not send to the keystore', e));
      }
    });
  };

  const client = {} as Record<string, unknown>;
  for (const method of KEYSTORE_METHODS) {
    const entry: { request: z.ZodType; response: z.ZodType } = rpcTable[method];
    client[method] = async (request: unknown = {}) => {
      let params: unknown;
      try {
        params = z.encode(entry.request, request);
      } catch (e) {
        throw new KeystoreError(
          'KEYSTORE_INVALID_ARGUMENT',
          'invalid parameters',
          { method },
          {
            cause: e,
          },
        );
      }
      const result = await raw(method, params);
      const decoded = entry.response.safeParse(result);
      if (!decoded.success) throw transportError('malformed response from the keystore');
      return decoded.data;
    };
  }
  client.callExtra = (method: string, params?: unknown) => raw(method, params ?? {});

  const fail = (error: KeystoreError): void => {
    closed ??= error;
    for (const [id, p] of pending) {
      pending.delete(id);
      clearTimeout(p.timer);
      p.reject(error);
    }
  };
  client.close = async () => {
    fail(transportError('keystore connection closed'));
    await options.onClose?.();
  };

  const receive = (message: unknown): void => {
    const msgs = Array.isArray(message) ? message : [message];
    for (const m of msgs) {
      const r = m as Partial<JsonRpcResponse> | null;
      if (r === null || typeof r !== 'object' || typeof r.id !== 'number') continue;
      const p = pending.get(r.id);
      if (!p) continue;
      pending.delete(r.id);
      clearTimeout(p.timer);
      if ('error' in r && r.error) {
        const data = r.error.data as { code?: unknown } | undefined;
        p.reject(
          data && typeof data === 'object' && typeof data.code === 'string'
            ? KeystoreError.fromJSON(data)
            : transportError('keystore peer reported a protocol error'),
        );
      } else {
        p.resolve((r as { result?: unknown }).result);
      }
    }
  };

  return { client: client as KeystoreClient, receive, fail };
}

/** The method names a client proxy exposes (the table's, read at runtime). */
export const CLIENT_METHODS: readonly KeystoreMethod[] = KEYSTORE_METHODS;
