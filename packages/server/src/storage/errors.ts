/**
 * The storage layer's own errors (issue #16.3): what is wrong with the database itself, and
 * what a write found in it (a lost compare-and-swap, a taken unique value, a missing row). The
 * storage never speaks the HTTP API's codes: `storage-errors-map.ts` in the server decides what
 * a client sees (`STORAGE_CONFLICT` on a chain becomes `CHAIN_CONFLICT`, `STORAGE_FULL` 503
 * `UNAVAILABLE` with `Retry-After`); the CLI turns the start-up ones into a message naming the
 * file and a hint (issue #12.11, #12.12).
 *
 * @packageDocumentation
 */

/** Stable codes of {@link StorageError}. */
export type StorageErrorCode =
  /** No space left for a write: SQLite `SQLITE_FULL`, `ENOSPC`, PostgreSQL `53100` disk_full. */
  | 'STORAGE_FULL'
  /** The file is not a SQLite database (or is empty: see `openSqliteStorage`). */
  | 'STORAGE_NOT_A_DATABASE'
  /** The file is a SQLite database whose contents are damaged (`SQLITE_CORRUPT`). */
  | 'STORAGE_CORRUPT'
  /** The file or its directory cannot be opened, read or written (permissions, not a file). */
  | 'STORAGE_UNREADABLE'
  /** A compare-and-swap lost: a chain tail, a KV revision or generation moved (`subject`). */
  | 'STORAGE_CONFLICT'
  /** A row with this unique value exists already (`subject` says which value). */
  | 'STORAGE_UNIQUE_VIOLATION'
  /** The row a write needs does not exist (`subject` says which). */
  | 'STORAGE_NOT_FOUND'
  /** The database does not answer. */
  | 'STORAGE_UNAVAILABLE';

/** What a conflict, unique violation or missing row is about. */
export type StorageSubject =
  | 'chain'
  | 'user'
  | 'team'
  | 'username'
  | 'team_name'
  | 'key'
  | 'invite'
  | 'kv_entry'
  | 'kv_revision'
  | 'kv_generation'
  | 'log';

/** An error of the database itself; `file` names the SQLite file when there is one. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** The stable code. */
  readonly code: StorageErrorCode;
  /** The database file concerned (SQLite), for the operator's message. */
  readonly file: string | undefined;
  /** What the error is about, for the codes that need it (conflicts, unique, not found). */
  readonly subject: StorageSubject | undefined;

  /**
   * @param code - the stable code.
   * @param message - lowercase, naming the file when there is one; no data from the database.
   * @param options - the driver error as `cause`, the file, the subject.
   */
  constructor(
    code: StorageErrorCode,
    message: string,
    options: { cause?: unknown; file?: string; subject?: StorageSubject } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.subject = options.subject;
  }
}

/** A {@link StorageError} about `subject` (lowercase message, no data from the database). */
export function storageError(
  code: 'STORAGE_CONFLICT' | 'STORAGE_UNIQUE_VIOLATION' | 'STORAGE_NOT_FOUND',
  subject: StorageSubject,
  message: string,
  cause?: unknown,
): StorageError {
  return new StorageError(code, message, { subject, ...(cause === undefined ? {} : { cause }) });
}

/** Whether a driver error is a unique / primary-key violation (SQLite or PostgreSQL). */
export function isUniqueViolation(e: unknown): boolean {
  const code = driverCode(e);
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/** The constraint a PostgreSQL or SQLite unique violation names, when it names one. */
export function violatedConstraint(e: unknown): string {
  const o = e as { constraint?: unknown; message?: unknown };
  if (typeof o.constraint === 'string') return o.constraint;
  return typeof o.message === 'string' ? o.message : '';
}

/** A driver error's code (`SQLITE_FULL`, `ENOSPC`, a PostgreSQL SQLSTATE), if any. */
export function driverCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a driver error means the disk (or the database's size cap) is full. */
export function isOutOfSpace(e: unknown): boolean {
  const code = driverCode(e);
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === '53100';
}
