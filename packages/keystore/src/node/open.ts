/**
 * The one-call way for Node programs (the CLI) to get the user's keystore in-process.
 *
 * @packageDocumentation
 */
import type { KeystoreOptions, LocalKeystore } from '../keystore.js';
import { openKeystore } from '../keystore.js';
import { nodeArgon2id } from './argon2.js';
import { fileStore } from './file-store.js';
import { keystoreDirOf } from './paths.js';

/** Options of {@link openFileKeystore}: those of `openKeystore` minus the store. */
export interface FileKeystoreOptions extends Omit<KeystoreOptions, 'store'> {
  /** The keystore directory; `<saltbox home>/keystore` ({@link keystoreDirOf}) when absent. */
  keystoreDir?: string;
}

/**
 * Opens the file keystore (locked). Call `unlock({passphrase})` next. Keystores made with
 * Argon2id open with {@link nodeArgon2id} unless another implementation is given.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` when no crypto backend loads.
 */
export function openFileKeystore(options: FileKeystoreOptions = {}): Promise<LocalKeystore> {
  const { keystoreDir, ...rest } = options;
  return openKeystore({
    argon2id: nodeArgon2id,
    ...rest,
    store: fileStore(keystoreDir ?? keystoreDirOf()),
  });
}
