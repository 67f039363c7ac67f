/**
 * The page's side of the keystore Worker: starts `keystore-worker.js` and connects the
 * keystore's postMessage transport to it (`connectPort` over `browserEndpoint`). Every call
 * is a JSON-RPC request to the Worker; the page never holds a private key.
 *
 * @packageDocumentation
 */
import { browserEndpoint, connectPort } from '@saltbox/keystore';
import type { KeystoreClient } from '@saltbox/keystore';
import { WebError } from './errors.js';

/** Where the Worker keeps the keys. */
export type KeystoreMode = 'indexeddb' | 'memory';

/** The IndexedDB database of the persistent keystore (`indexedDbStore`'s default name). */
export const KEYSTORE_DB = 'saltbox-keystore';

/**
 * Starts the keystore Worker and returns a client of it (locked or uninitialised: call
 * `unlock` next). `close()` on the client terminates the Worker. `idleLockMs` shortens the
 * persistent keystore's idle lock (the Worker never lengthens it past its default).
 *
 * @throws WebError `WEB_UNSUPPORTED_BROWSER` without module Workers.
 */
export function startKeystoreWorker(
  mode: KeystoreMode,
  options: { idleLockMs?: number } = {},
): KeystoreClient {
  if (typeof Worker !== 'function')
    throw new WebError('WEB_UNSUPPORTED_BROWSER', 'this browser has no web workers');
  const url = new URL(`./keystore-worker.js?store=${mode}`, import.meta.url);
  if (options.idleLockMs !== undefined)
    url.searchParams.set('idle-lock-ms', String(options.idleLockMs));
  const worker = new Worker(url, { type: 'module', name: 'saltbox-keystore' });
  return connectPort(browserEndpoint(worker));
}

/** A passphrase for a session-only keystore: 256 random bits, never shown or stored. */
export function sessionPassphrase(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Deletes the persistent keystore's database (sign-out on a remembered browser).
 *
 * @throws WebError `WEB_INTERNAL` when IndexedDB refuses.
 */
export function deleteKeystoreDatabase(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(KEYSTORE_DB);
    req.onsuccess = () => {
      resolve();
    };
    req.onerror = () => {
      reject(new WebError('WEB_INTERNAL', 'could not delete the browser keystore'));
    };
  });
}
