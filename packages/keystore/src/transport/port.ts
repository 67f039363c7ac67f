/**
 * The Worker transport: JSON-RPC 2.0 messages over `postMessage`, for a keystore isolated in a
 * browser Web Worker (or a Node `worker_threads` worker, see `node/worker.ts`).
 *
 * Platform differences are reduced to {@link MessageEndpoint}; {@link browserEndpoint} adapts a
 * `Worker`, `MessagePort` or the worker's own global scope. Messages are plain JSON-RPC objects
 * (structured-clone friendly), the same as the agent sends as text.
 *
 * @packageDocumentation
 */
import type { KeystoreError } from '../errors.js';
import { transportError } from '../errors.js';
import type { KeystoreApi } from '../rpc.js';
import type { KeystoreClient, RpcClientOptions, RpcServerOptions } from './jsonrpc.js';
import { createRpcClient, createRpcServer } from './jsonrpc.js';

/** One side of a message channel. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  /** Subscribes to incoming messages; returns the unsubscribe function. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Subscribes to the channel dying (worker exit or error), when the platform reports it. */
  onClose?(listener: (error: KeystoreError) => void): () => void;
  /** Releases the channel (terminates a worker, closes a port). */
  close?(): void | Promise<void>;
}

/** The browser-style objects {@link browserEndpoint} adapts. */
export interface BrowserPortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  terminate?(): void;
  close?(): void;
}

/** Adapts a browser `Worker`, `MessagePort` or `DedicatedWorkerGlobalScope`. */
export function browserEndpoint(port: BrowserPortLike): MessageEndpoint {
  return {
    postMessage: (m) => {
      port.postMessage(m);
    },
    onMessage(listener) {
      const h = (event: { data: unknown }) => {
        listener(event.data);
      };
      port.addEventListener('message', h);
      return () => {
        port.removeEventListener('message', h);
      };
    },
    onClose(listener) {
      port.addEventListener('error', () => {
        listener(transportError('keystore worker failed'));
      });
      return () => undefined;
    },
    close() {
      if (port.terminate) port.terminate();
      else port.close?.();
    },
  };
}

/** Serves `keystore` on an endpoint (call inside the worker). Returns the unsubscribe function. */
export function servePort(
  keystore: KeystoreApi,
  endpoint: MessageEndpoint,
  options: RpcServerOptions = {},
): () => void {
  const server = createRpcServer(keystore, options);
  return endpoint.onMessage((message) => {
    void server.handle(message).then((response) => {
      if (response !== null) endpoint.postMessage(response);
    });
  });
}

/**
 * Connects to a keystore served on the other side of `endpoint`.
 *
 * Calls on the returned client reject with `KEYSTORE_TRANSPORT` once the endpoint reports that
 * the other side died or after `close()`, and with the keystore's own codes otherwise.
 */
export function connectPort(
  endpoint: MessageEndpoint,
  options: Omit<RpcClientOptions, 'onClose'> = {},
): KeystoreClient {
  const unsubscribe: (() => void)[] = [];
  const handle = createRpcClient(
    (m) => {
      endpoint.postMessage(m);
    },
    {
      ...options,
      onClose: async () => {
        for (const u of unsubscribe) u();
        await endpoint.close?.();
      },
    },
  );
  unsubscribe.push(
    endpoint.onMessage((m) => {
      handle.receive(m);
    }),
  );
  const offClose = endpoint.onClose?.((e) => {
    handle.fail(e);
  });
  if (offClose) unsubscribe.push(offClose);
  return handle.client;
}
