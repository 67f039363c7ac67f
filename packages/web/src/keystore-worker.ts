/**
 * The keystore side of the app's Web Worker (DESIGN.md Keystore, Transports; spec
 * keystore-and-secrets-providers §1): a `LocalKeystore` over an encrypted byte store, served
 * with the keystore's own postMessage transport (`servePort` over `browserEndpoint`). Private
 * keys live only in this Worker's memory and, encrypted, in its store; the page gets
 * signatures, opened values and public keys.
 *
 * @packageDocumentation
 */
import { browserEndpoint, openKeystore, servePort } from '@saltbox/keystore';
import type {
  Argon2idFunction,
  BrowserPortLike,
  ByteStore,
  KdfChoice,
  MessageEndpoint,
} from '@saltbox/keystore';

/** Options of {@link serveKeystoreInWorker}. */
export interface WorkerKeystoreOptions {
  /** Where the encrypted records live (IndexedDB, or memory for a session-only keystore). */
  store: ByteStore;
  /** The KDF for a keystore created here (scrypt N = 2^16 by default). */
  kdf?: KdfChoice;
  /** Argon2id, to open keystores made with it (`argon2.ts`). */
  argon2id?: Argon2idFunction;
  /** Lock after this long without a call (null: never). */
  idleLockMs?: number | null;
}

/**
 * Holds messages that arrive before the keystore is open (the page may call at once, while
 * libsodium's WebAssembly is still being instantiated) and hands them to the server in order.
 */
function queueingEndpoint(base: MessageEndpoint): MessageEndpoint {
  const queued: unknown[] = [];
  let deliver: ((message: unknown) => void) | null = null;
  base.onMessage((message) => {
    if (deliver) deliver(message);
    else queued.push(message);
  });
  return {
    postMessage: (message) => {
      base.postMessage(message);
    },
    onMessage(listener) {
      deliver = listener;
      for (const message of queued.splice(0)) listener(message);
      return () => {
        deliver = null;
      };
    },
  };
}

/**
 * Opens the keystore and serves it to the page on `scope` (the Worker's global scope). Call
 * once, synchronously at the Worker's start, so no early message is missed.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` (rejection) when libsodium's
 *   WebAssembly cannot be instantiated.
 */
export async function serveKeystoreInWorker(
  scope: BrowserPortLike,
  options: WorkerKeystoreOptions,
): Promise<void> {
  const endpoint = queueingEndpoint(browserEndpoint(scope));
  const keystore = await openKeystore({
    store: options.store,
    ...(options.kdf ? { kdf: options.kdf } : {}),
    ...(options.argon2id ? { argon2id: options.argon2id } : {}),
    idleLockMs: options.idleLockMs ?? null,
  });
  // Privileged export stays refused (the default): the page never sees a long-term secret.
  servePort(keystore, endpoint);
}
