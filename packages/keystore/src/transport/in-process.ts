/**
 * The in-process transport: a client with exactly the table's methods that calls a local
 * keystore directly and maps anything thrown to a {@link KeystoreError}, as the remote transports
 * do. Requests are validated against the table's schemas first (so a malformed request fails
 * with `KEYSTORE_INVALID_ARGUMENT` here exactly as it does over the agent); responses are passed
 * through without copying.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { KeystoreError, toKeystoreError } from '../errors.js';
import type { KeystoreApi } from '../rpc.js';
import { KEYSTORE_METHODS, rpcTable } from '../rpc.js';
import type { KeystoreClient } from './jsonrpc.js';

/** Options of {@link inProcessClient}. */
export interface InProcessOptions {
  /** Called by `close()`; by default closing the client leaves the keystore alone. */
  onClose?: () => void | Promise<void>;
  /** Serve privileged methods (default true: the caller already holds the keystore object). */
  allowPrivileged?: boolean;
}

/** A client over a keystore in this process (same interface as the agent and Worker clients). */
export function inProcessClient(
  keystore: KeystoreApi,
  options: InProcessOptions = {},
): KeystoreClient {
  const client = {} as Record<string, unknown>;
  let closed = false;
  for (const method of KEYSTORE_METHODS) {
    const entry: { request: z.ZodType; privileged?: boolean } = rpcTable[method];
    const call = keystore[method] as (r: unknown) => Promise<unknown>;
    client[method] = async (request: unknown = {}) => {
      if (closed) throw new KeystoreError('KEYSTORE_TRANSPORT', 'keystore connection closed');
      if (entry.privileged && options.allowPrivileged === false) {
        throw new KeystoreError('KEYSTORE_REFUSED', 'privileged methods are not allowed', {
          method,
        });
      }
      try {
        // Encoding validates the typed request against the schema; the wire form is discarded.
        z.encode(entry.request, request);
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
      try {
        return await call.call(keystore, request);
      } catch (e) {
        throw toKeystoreError(e);
      }
    };
  }
  client.callExtra = (method: string) =>
    Promise.reject(new KeystoreError('KEYSTORE_UNKNOWN_METHOD', 'unknown method', { method }));
  client.close = async () => {
    closed = true;
    await options.onClose?.();
  };
  return client as KeystoreClient;
}
