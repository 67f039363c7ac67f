/**
 * The KV rollback cache's file on Node: `$SALTBOX_HOME/kv-rollback-cache.json`, mode 0600,
 * replaced atomically (temp file, fsync, rename) — see `kv-cache.ts` for what it holds.
 *
 * @packageDocumentation
 */
import { mkdir, readFile } from 'node:fs/promises';
import { HOME_FILES } from '@saltbox/keystore/paths';
import { dirname } from 'node:path';
import { ClientError } from './errors.js';
import type { KvCacheStorage } from './kv-cache.js';
import { writeAtomic } from './store.js';

/** The rollback cache's file name inside `$SALTBOX_HOME`. */
export const KV_CACHE_FILE = HOME_FILES.kvCache;

/**
 * The rollback cache kept in the file `path` (a missing file is an empty cache).
 *
 * @throws ClientError `CLIENT_STORE` (from `read` and `write`) when the file cannot be read or
 *   written.
 */
export function kvCacheFile(path: string): KvCacheStorage {
  return {
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new ClientError(
          'CLIENT_STORE',
          'could not read the kv rollback cache',
          {},
          { cause: e },
        );
      }
    },
    async write(text) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeAtomic(path, text);
    },
  };
}
