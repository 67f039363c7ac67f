/**
 * The Worker transport on Node: a keystore in a `worker_threads` worker, reached with
 * `postMessage`. The same JSON-RPC messages as in a browser Web Worker; this file only adapts
 * Node's `Worker` / `parentPort` to {@link MessageEndpoint}.
 *
 * @packageDocumentation
 */
import type { MessagePort, WorkerOptions } from 'node:worker_threads';
import { Worker, parentPort } from 'node:worker_threads';
import { transportError } from '../errors.js';
import type { KeystoreApi } from '../rpc.js';
import type { KeystoreClient, RpcServerOptions } from '../transport/jsonrpc.js';
import type { MessageEndpoint } from '../transport/port.js';
import { connectPort, servePort } from '../transport/port.js';

/** Adapts a Node `Worker` (parent side) or `MessagePort` (worker side). */
export function nodeEndpoint(port: Worker | MessagePort): MessageEndpoint {
  return {
    postMessage: (m) => {
      port.postMessage(m);
    },
    onMessage(listener) {
      port.on('message', listener);
      return () => port.off('message', listener);
    },
    onClose(listener) {
      const onExit = () => {
        listener(transportError('keystore worker exited'));
      };
      const onError = (e: unknown) => {
        listener(transportError('keystore worker failed', e));
      };
      port.on('exit', onExit);
      port.on('close', onExit);
      port.on('error', onError);
      return () => {
        port.off('exit', onExit);
        port.off('close', onExit);
        port.off('error', onError);
      };
    },
    async close() {
      if (port instanceof Worker) await port.terminate();
      else port.close();
    },
  };
}

/**
 * Starts `script` as a worker and connects to the keystore it serves (the script calls
 * {@link serveInWorker}). `close()` on the client terminates the worker.
 */
export function startWorkerKeystore(
  script: string | URL,
  options: WorkerOptions = {},
): KeystoreClient {
  return connectPort(nodeEndpoint(new Worker(script, options)));
}

/**
 * Serves `keystore` to the parent thread (call inside the worker script). Privileged methods
 * are refused unless `allowPrivileged: true`: isolating keys from the page is the point of a
 * Worker keystore.
 *
 * @throws KeystoreError `KEYSTORE_TRANSPORT` when not called inside a worker thread.
 */
export function serveInWorker(keystore: KeystoreApi, options: RpcServerOptions = {}): () => void {
  if (!parentPort) throw transportError('serveInWorker must run inside a worker thread');
  return servePort(keystore, nodeEndpoint(parentPort), options);
}
