/**
 * The one place where storage errors become API errors (issue #16.3): the storage says what
 * happened in its own terms (a conflict on a chain, a taken username, a missing team), and this
 * table says what a client is told. The message passes through unchanged: it was written for
 * the client (lowercase, no data from the database).
 *
 * @packageDocumentation
 */
import type { ErrorCode } from '@saltbox/protocol';
import { ServerError } from './errors.js';
import type { StorageError, StorageSubject } from './storage/errors.js';

const CONFLICT: Partial<Record<StorageSubject, ErrorCode>> = {
  chain: 'CHAIN_CONFLICT',
  kv_revision: 'KV_WRONG_REVISION',
  kv_generation: 'KV_BAD_GENERATION',
};
const UNIQUE: Partial<Record<StorageSubject, ErrorCode>> = {
  username: 'USERNAME_TAKEN',
  key: 'KEY_IN_USE',
  team_name: 'TEAM_NAME_TAKEN',
  invite: 'VALIDATION_FAILED',
};
const NOT_FOUND: Partial<Record<StorageSubject, ErrorCode>> = {
  user: 'USER_NOT_FOUND',
  team: 'TEAM_NOT_FOUND',
  kv_entry: 'KV_NOT_FOUND',
  invite: 'INVITE_INVALID',
};

/**
 * The API error a storage error means to a client, or undefined for the errors of the database
 * itself (`STORAGE_FULL`, `STORAGE_CORRUPT`, …), which the error handler answers on its own.
 */
export function storageErrorToServerError(e: StorageError): ServerError | undefined {
  const table =
    e.code === 'STORAGE_CONFLICT'
      ? CONFLICT
      : e.code === 'STORAGE_UNIQUE_VIOLATION'
        ? UNIQUE
        : e.code === 'STORAGE_NOT_FOUND'
          ? NOT_FOUND
          : undefined;
  if (e.code === 'STORAGE_UNAVAILABLE')
    return new ServerError('UNAVAILABLE', e.message, { cause: e });
  const code = table !== undefined && e.subject !== undefined ? table[e.subject] : undefined;
  return code === undefined ? undefined : new ServerError(code, e.message, { cause: e });
}
