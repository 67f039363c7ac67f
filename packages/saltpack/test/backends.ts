/** Test helper: the crypto backends every conformance test runs against. */
import { loadBackend } from '../src/backend/index.js';
import type { BackendName, CryptoBackend } from '../src/backend/index.js';

export const BACKEND_NAMES: readonly BackendName[] = ['native', 'portable'];

export function backend(name: BackendName): Promise<CryptoBackend> {
  return loadBackend(name);
}
