/** Shared test helpers: temp dirs, cheap KDF settings, fixture paths. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** scrypt cost for tests: fast, same code path. */
export const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

/** A fresh temp directory (short path: Unix socket paths are limited to ~104 bytes). */
export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'sbks-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** URL of a fixture file. */
export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** Worker options that run a TypeScript fixture through tsx. */
export function tsWorker(script: string, workerData: Record<string, unknown> = {}) {
  return {
    url: fixture('ts-worker.mjs'),
    options: {
      execArgv: ['--conditions=source'],
      workerData: { ...workerData, script: fixture(script).href },
    },
  };
}
