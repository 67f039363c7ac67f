/**
 * Every error the keystore raises, on every transport.
 *
 * The `code` is the stable contract: callers switch on it, the JSON-RPC transports carry it in
 * `error.data.code`, and a client rebuilds the same {@link KeystoreError} on its side, so code
 * written against the in-process keystore behaves the same against the agent or a Worker.
 * Messages are lowercase and never contain key material, passphrases or plaintext; `details`
 * hold only public values (method names, KIDs, generations, counts).
 *
 * @packageDocumentation
 */

/** Stable error codes. Adding a code is non-breaking; renaming one is breaking. */
export type KeystoreErrorCode =
  /** The operation needs unlocked key material and the keystore is locked. */
  | 'KEYSTORE_LOCKED'
  /** No keystore exists yet in this store (unlock with `create: true` makes one). */
  | 'KEYSTORE_UNINITIALIZED'
  /** The passphrase does not open this keystore. */
  | 'KEYSTORE_WRONG_PASSPHRASE'
  /** Stored bytes fail authentication or do not parse: damaged, truncated or tampered with. */
  | 'KEYSTORE_CORRUPT'
  /** The stored format version is newer than this code understands. */
  | 'KEYSTORE_UNSUPPORTED_VERSION'
  /** The connection to a remote keystore failed, closed or timed out. */
  | 'KEYSTORE_TRANSPORT'
  /** No key with that KID, generation or team is held here. */
  | 'KEYSTORE_UNKNOWN_KEY'
  /** The keystore refuses the operation by policy (privileged method, disallowed nonce, …). */
  | 'KEYSTORE_REFUSED'
  /** A request failed validation (shape, lengths, purpose rules). */
  | 'KEYSTORE_INVALID_ARGUMENT'
  /** The method is not part of the RPC table. */
  | 'KEYSTORE_UNKNOWN_METHOD'
  /** A box, KV entry or signature did not authenticate. */
  | 'KEYSTORE_DECRYPTION_FAILED'
  /** Keys derived from an opened seed do not match what the caller expected. */
  | 'KEYSTORE_KEY_MISMATCH'
  /** A KV entry opened but was sealed for another team, entry, revision or writer. */
  | 'KEYSTORE_KV_METADATA_MISMATCH'
  /** The key or generation already exists and would be overwritten. */
  | 'KEYSTORE_CONFLICT'
  /** An agent is already serving on the socket. */
  | 'KEYSTORE_AGENT_RUNNING'
  /** No agent is listening on the socket. */
  | 'KEYSTORE_AGENT_NOT_RUNNING'
  /**
   * The agent's socket cannot be used: its path is longer than the system allows, or the agent
   * cannot listen there. The message and `details.path` name the path.
   */
  | 'KEYSTORE_AGENT_SOCKET'
  /** A storage backend failed for a reason other than corruption (I/O, quota, permissions). */
  | 'KEYSTORE_STORAGE'
  /** A bug or an unexpected exception; the message is generic on purpose. */
  | 'KEYSTORE_INTERNAL';

/** Secret-free details attached to an error. */
export interface KeystoreErrorDetails {
  /** The RPC method involved. */
  method?: string;
  /** A KID (public) involved. */
  kid?: string;
  /** A key generation involved. */
  generation?: number;
  /** A team ID (public) involved. */
  teamId?: string;
  /** A storage record name involved (names are public by design, see README). */
  record?: string;
  /** The position of the failing item in a batch. */
  index?: number;
  /** The format version found in storage. */
  version?: number;
  /** The agent socket path (or pipe name) involved; a local path, not a secret. */
  path?: string;
}

const CODES: ReadonlySet<string> = new Set<KeystoreErrorCode>([
  'KEYSTORE_LOCKED',
  'KEYSTORE_UNINITIALIZED',
  'KEYSTORE_WRONG_PASSPHRASE',
  'KEYSTORE_CORRUPT',
  'KEYSTORE_UNSUPPORTED_VERSION',
  'KEYSTORE_TRANSPORT',
  'KEYSTORE_UNKNOWN_KEY',
  'KEYSTORE_REFUSED',
  'KEYSTORE_INVALID_ARGUMENT',
  'KEYSTORE_UNKNOWN_METHOD',
  'KEYSTORE_DECRYPTION_FAILED',
  'KEYSTORE_KEY_MISMATCH',
  'KEYSTORE_KV_METADATA_MISMATCH',
  'KEYSTORE_CONFLICT',
  'KEYSTORE_AGENT_RUNNING',
  'KEYSTORE_AGENT_NOT_RUNNING',
  'KEYSTORE_AGENT_SOCKET',
  'KEYSTORE_STORAGE',
  'KEYSTORE_INTERNAL',
]);

/** True when `code` is one of the {@link KeystoreErrorCode} values. */
export function isKeystoreErrorCode(code: unknown): code is KeystoreErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** The JSON form of a {@link KeystoreError}: what crosses a transport. */
export interface KeystoreErrorJSON {
  code: KeystoreErrorCode;
  message: string;
  details?: KeystoreErrorDetails;
}

/** The one error type of this package. */
export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';
  readonly code: KeystoreErrorCode;
  readonly details: KeystoreErrorDetails;

  constructor(
    code: KeystoreErrorCode,
    message: string,
    details: KeystoreErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** The secret-free JSON form (code, message, details). */
  toJSON(): KeystoreErrorJSON {
    return Object.keys(this.details).length === 0
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /**
   * Rebuilds an error from its JSON form (what a transport received). Unknown codes become
   * `KEYSTORE_INTERNAL` so a newer peer cannot make an older client mis-handle a failure.
   */
  static fromJSON(json: unknown): KeystoreError {
    const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    const code = isKeystoreErrorCode(o.code) ? o.code : 'KEYSTORE_INTERNAL';
    const message = typeof o.message === 'string' ? o.message : 'keystore error';
    const details =
      typeof o.details === 'object' && o.details !== null
        ? (o.details as KeystoreErrorDetails)
        : {};
    return new KeystoreError(code, message, details);
  }
}

/** True when `e` is a {@link KeystoreError}, optionally with the given code. */
export function isKeystoreError(e: unknown, code?: KeystoreErrorCode): e is KeystoreError {
  return e instanceof KeystoreError && (code === undefined || e.code === code);
}

/**
 * Converts anything thrown into a {@link KeystoreError}. Foreign errors become
 * `KEYSTORE_INTERNAL` with a generic message: their text may come from a library that does
 * not share our rule about secrets in messages, so it is kept only as `cause` (never serialised).
 */
export function toKeystoreError(e: unknown): KeystoreError {
  if (e instanceof KeystoreError) return e;
  return new KeystoreError('KEYSTORE_INTERNAL', 'internal keystore error', {}, { cause: e });
}

// Short constructors for the common cases, so messages stay consistent.

/** @internal */
export const lockedError = (): KeystoreError =>
  new KeystoreError('KEYSTORE_LOCKED', 'keystore is locked');
/** @internal */
export const invalidArgument = (what: string, details: KeystoreErrorDetails = {}): KeystoreError =>
  new KeystoreError('KEYSTORE_INVALID_ARGUMENT', what, details);
/** @internal */
export const unknownKey = (details: KeystoreErrorDetails): KeystoreError =>
  new KeystoreError('KEYSTORE_UNKNOWN_KEY', 'no such key in the keystore', details);
/** @internal */
export const corrupt = (what: string, details: KeystoreErrorDetails = {}): KeystoreError =>
  new KeystoreError('KEYSTORE_CORRUPT', what, details);
/** @internal */
export const refused = (what: string, details: KeystoreErrorDetails = {}): KeystoreError =>
  new KeystoreError('KEYSTORE_REFUSED', what, details);
/** @internal */
export const transportError = (what: string, cause?: unknown): KeystoreError =>
  new KeystoreError('KEYSTORE_TRANSPORT', what, {}, cause === undefined ? undefined : { cause });
