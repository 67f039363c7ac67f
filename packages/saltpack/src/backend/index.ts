/**
 * The one place a crypto backend is chosen. Node gets the native backend when sodium-native
 * loads, otherwise (browsers, musl, missing addon) the portable WebAssembly backend.
 * `SALTBOX_CRYPTO_BACKEND=portable|native` forces a choice (tests run every vector on both).
 */
import { SaltpackError } from '../errors.js';
import type { CryptoBackend } from './types.js';
import type * as NativeModule from './native.js';

export type { CryptoBackend, Ed25519KeyPair, IncrementalHash, RandomSource } from './types.js';

/** Names accepted by {@link loadBackend}. */
export type BackendName = 'native' | 'portable';

const cache = new Map<BackendName, Promise<CryptoBackend>>();
let chosen: Promise<CryptoBackend> | undefined;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function envChoice(): BackendName | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.SALTBOX_CRYPTO_BACKEND;
  return v === 'native' || v === 'portable' ? v : undefined;
}

/**
 * Loads a specific backend.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` when it cannot be loaded here.
 */
export function loadBackend(name: BackendName): Promise<CryptoBackend> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      try {
        if (name === 'portable') {
          // Loaded on demand: instantiating libsodium's WebAssembly heap costs tens of MiB of
          // memory that a Node process on the native backend never needs.
          const portable = await import('./portable.js');
          return await portable.createPortableBackend();
        }
        if (!isNode()) throw new Error('the native backend needs Node.js');
        // A variable specifier keeps browser bundlers from following this import.
        const path = './native.js';
        const mod = (await import(/* @vite-ignore */ path)) as typeof NativeModule;
        return mod.createNativeBackend();
      } catch (cause) {
        cache.delete(name);
        throw new SaltpackError(
          'backend_unavailable',
          `crypto backend ${name} is unavailable`,
          {},
          { cause },
        );
      }
    })();
    cache.set(name, p);
  }
  return p;
}

/**
 * The default backend: native on Node when it loads, else portable. Memoised.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` when no backend loads.
 */
export function defaultBackend(): Promise<CryptoBackend> {
  chosen ??= (async () => {
    const forced = envChoice();
    if (forced) return loadBackend(forced);
    if (isNode()) {
      try {
        return await loadBackend('native');
      } catch {
        // fall through to the portable backend
      }
    }
    return loadBackend('portable');
  })();
  return chosen;
}
