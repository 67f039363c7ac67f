/**
 * The signed log's root key on disk: a 32-byte Ed25519 seed, hex, in `<data dir>/log-root-key`
 * (mode 0600). Made on first start; every later start, and every server process sharing the
 * data directory, signs with the same key, which is what clients pin.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fail } from './errors.js';
import { StorageError } from './storage/errors.js';

/** The key file's name inside the data directory. */
export const LOG_KEY_FILE = 'log-root-key';

function readSeed(file: string): Uint8Array {
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw fail('INTERNAL', `the log root key file ${file} is damaged (want 64 hex digits)`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/**
 * Reads the root key seed from `dir`, creating it when missing. Creation writes a temporary
 * file, syncs it and hard-links it into place, so two processes starting together end with one
 * key (the loser reads the winner's) and no one ever reads a half-written file.
 *
 * @throws ServerError `INTERNAL` when the file exists but is not a key; StorageError
 *   `STORAGE_UNREADABLE` when it cannot be read.
 */
export function loadOrCreateLogSeed(dir: string): Uint8Array {
  const file = join(dir, LOG_KEY_FILE);
  try {
    return readSeed(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      throw new StorageError('STORAGE_UNREADABLE', `cannot open ${file}: permission denied`, {
        cause: e,
        file,
      });
    if (code !== 'ENOENT') throw e;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  return readSeed(file);
}
