/**
 * The file backend (Node): one file per record in a 0700 directory, each written by the one
 * atomic writer (`atomic-file.ts`: temp file, 0600, exclusive create → write → fsync → rename →
 * fsync the directory), so a crash or a kill at any point leaves either the old or the new
 * value, never a mix, and a reader never sees a partial file.
 *
 * File names: record name with `/` replaced by `~` (not allowed in names, so reversible), plus
 * `.rec`; temp files start with `.` and end in `.tmp` and are ignored by `list`.
 *
 * @packageDocumentation
 */
import { chmod, mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KeystoreError } from '../errors.js';
import type { ByteStore } from '../store/byte-store.js';
import { assertRecordName } from '../store/byte-store.js';
import { syncDirectory, writeFileAtomic } from './atomic-file.js';

const fileName = (name: string): string => `${name.replaceAll('/', '~')}.rec`;

const storageError = (what: string, cause: unknown): KeystoreError =>
  new KeystoreError('KEYSTORE_STORAGE', what, {}, { cause });

/**
 * A byte store in directory `dir` (created 0700 if missing).
 *
 * @throws KeystoreError `KEYSTORE_STORAGE` from every method on I/O failure;
 *   `KEYSTORE_INVALID_ARGUMENT` for a bad record name.
 */
export function fileStore(dir: string): ByteStore {
  let ready: Promise<void> | undefined;
  const ensureDir = (): Promise<void> => {
    ready ??= (async () => {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        if (process.platform !== 'win32') await chmod(dir, 0o700);
      } catch (e) {
        ready = undefined;
        throw storageError('could not create the keystore directory', e);
      }
    })();
    return ready;
  };
  return {
    async get(name) {
      assertRecordName(name);
      try {
        return new Uint8Array(await readFile(join(dir, fileName(name))));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw storageError('could not read a keystore record', e);
      }
    },
    async set(name, value) {
      assertRecordName(name);
      await ensureDir();
      try {
        await writeFileAtomic(join(dir, fileName(name)), value);
      } catch (e) {
        throw storageError('could not write a keystore record', e);
      }
    },
    async delete(name) {
      assertRecordName(name);
      try {
        await unlink(join(dir, fileName(name)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storageError('could not delete a keystore record', e);
      }
      await syncDirectory(dir);
    },
    async list(prefix = '') {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw storageError('could not list the keystore directory', e);
      }
      return entries
        .filter((f) => f.endsWith('.rec') && !f.startsWith('.'))
        .map((f) => f.slice(0, -4).replaceAll('~', '/'))
        .filter((n) => n.startsWith(prefix))
        .sort();
    },
  };
}
