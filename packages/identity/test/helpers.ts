/** Test helpers: vector locations and the crypto backends every test runs against. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';

export const VECTORS = process.env.KEYBASE_VECTORS ?? resolve(import.meta.dirname, 'vectors');
export const BACKEND_NAMES = ['native', 'portable'] as const;

export function backend(name: (typeof BACKEND_NAMES)[number] = 'native'): Promise<CryptoBackend> {
  return loadBackend(name);
}

/** Vector JSON is untyped data; tests assert on the fields they read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;

export function readVector(...path: string[]): Json {
  return JSON.parse(readFileSync(join(VECTORS, ...path), 'utf8'));
}

/** A deterministic RandomSource for reproducible tests. */
export function seededRandom(seed: number): { randomBytes(n: number): Uint8Array } {
  let s = seed >>> 0;
  return {
    randomBytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        out[i] = s >>> 24;
      }
      return out;
    },
  };
}
