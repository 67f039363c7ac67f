/**
 * A ready-made worker script: opens the file keystore named in `workerData` and serves it to
 * the parent thread. Start it with `startWorkerKeystore` and this file's URL, passing
 * `workerData` with `keystoreDir` (string), optionally `idleLockMs` (number or null) and
 * `scrypt` (scrypt parameters for a keystore created through the worker).
 *
 * @packageDocumentation
 */
import { workerData } from 'node:worker_threads';
import { openKeystore } from '../keystore.js';
import type { ScryptParams } from '../store/passphrase.js';
import { nodeArgon2id } from './argon2.js';
import { fileStore } from './file-store.js';
import { serveInWorker } from './worker.js';

const data = workerData as {
  keystoreDir: string;
  idleLockMs?: number | null;
  scrypt?: ScryptParams;
};
const keystore = await openKeystore({
  store: fileStore(data.keystoreDir),
  argon2id: nodeArgon2id,
  idleLockMs: data.idleLockMs ?? null,
  kdf: { alg: 'scrypt', ...(data.scrypt ? { params: data.scrypt } : {}) },
});
serveInWorker(keystore);
