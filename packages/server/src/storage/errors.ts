/**
 * The storage layer's own errors: what is wrong with the database itself, as opposed to a
 * request (those are `ServerError`s with protocol codes). The HTTP layer decides what a client
 * sees (`STORAGE_FULL` becomes 503 `UNAVAILABLE` with `Retry-After`); the CLI turns the start-up
 * ones into a message naming the file and a hint (issue #12.11, #12.12).
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
  | 'STORAGE_UNREADABLE';

/** An error of the database itself; `file` names the SQLite file when there is one. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** The stable code. */
  readonly code: StorageErrorCode;
  /** The database file concerned (SQLite), for the operator's message. */
  readonly file: string | undefined;

  /**
   * @param code - the stable code.
   * @param message - lowercase, naming the file when there is one; no data from the database.
   * @param options - the driver error as `cause`, and the file.
   */
  constructor(
    code: StorageErrorCode,
    message: string,
    options: { cause?: unknown; file?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
  }
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
