/**
 * The client's coded error type. Every failure a caller can act on has its own stable code, so
 * a CLI or a provider maps it without parsing messages; chain-integrity failures (fork,
 * rollback, eldest change, lookup mismatch) each get a distinct code because they mean the
 * server lied, not that it failed.
 *
 * @packageDocumentation
 */

/** Every client error code. */
export const CLIENT_ERROR_CODES = [
  /** A bad argument from the caller (e.g. a malformed username or base URL). */
  'CLIENT_INVALID_ARGUMENT',
  /** The server could not be reached (after retries), or the time budget ran out. */
  'CLIENT_NETWORK',
  /** The server answered with a coded protocol error; `details.serverCode` names it. */
  'CLIENT_HTTP',
  /** The server's answer does not match the protocol schema (or is not JSON). */
  'CLIENT_BAD_RESPONSE',
  /** The request signer failed (e.g. the keystore is locked). */
  'CLIENT_SIGNER',
  /** No such user on the server. */
  'CLIENT_USER_NOT_FOUND',
  /** The server answered for another user (UID or username differ from the one asked for). */
  'CLIENT_WRONG_USER',
  /** The chain failed verification by `@saltbox/identity`; `details.identityCode` names why. */
  'CLIENT_CHAIN_INVALID',
  /** A link the client already verified was replaced: the server forked the chain. */
  'CLIENT_CHAIN_FORK',
  /** The chain is shorter than the one the client already verified: a rollback. */
  'CLIENT_CHAIN_ROLLBACK',
  /** The chain's eldest key is not the one pinned on first contact. */
  'CLIENT_ELDEST_CHANGED',
  /** A directory lookup disagrees with the verified chain. */
  'CLIENT_LOOKUP_MISMATCH',
  /** A key box the verified chain does not support (wrong generation, receiver, sender, seed). */
  'CLIENT_KEY_BOX_INVALID',
  /** The pin store or the chain cache could not be read or written, or is corrupt. */
  'CLIENT_STORE',
  /**
   * A failure the Keybase-compatible `kvstore api` reports with a Keybase status code
   * (`details.status`, e.g. 2760) and Keybase's exact description (`details.desc`).
   */
  'CLIENT_KVSTORE_STATUS',
  /** The keystore already holds another account's keys (one account per keystore). */
  'CLIENT_ACCOUNT_CONFLICT',
  /** A paper key that is not a device of the user. */
  'CLIENT_PAPER_KEY_UNKNOWN',
  /** The device (or paper key) acting was revoked by the user's chain. */
  'CLIENT_DEVICE_REVOKED',
  /** No active device matches the name or ID given, or several do. */
  'CLIENT_DEVICE_NOT_FOUND',
  /** Another active device of the user already has this name (case-insensitively). */
  'CLIENT_DEVICE_NAME_TAKEN',
  /** KV write: the revision is not current + 1, by the local cache or the server (Keybase 2760). */
  'CLIENT_KV_WRONG_REVISION',
  /** KV write under an older team key generation than the entry has (Keybase 2761). */
  'CLIENT_KV_BAD_GENERATION',
  /** KV delete of an entry that was never written or is deleted (Keybase 2762). */
  'CLIENT_KV_NOT_FOUND',
  /** Not a member of the team whose KV store was asked for (Keybase 2623). */
  'CLIENT_KV_NOT_A_MEMBER',
  /** A reader of the team tried to write its KV store. */
  'CLIENT_KV_READ_ONLY',
  /** A namespace, entry key or value over the size limits (`details.field`). */
  'CLIENT_KV_TOO_LARGE',
  /** The server answered for another team, namespace, entry key or revision than asked. */
  'CLIENT_KV_ECHO_MISMATCH',
  /** The rollback cache caught the server going back: lower revision or generation, or another ciphertext at a seen revision. */
  'CLIENT_KV_ROLLBACK',
  /** An entry failed verification (format, box, secretbox, signature, metadata); `details.reason`. */
  'CLIENT_KV_INVALID_ENTRY',
  /** The team key generation an entry was sealed with is not held (e.g. removed from the team). */
  'CLIENT_KV_NO_TEAM_KEY',
  /** No such team, or the caller may not see it (the server answers both alike). */
  'CLIENT_TEAM_NOT_FOUND',
  /** The server answered with another team than the one asked for (ID or name differ). */
  'CLIENT_WRONG_TEAM',
  /** The verified team chain does not give the caller the role this operation needs. */
  'CLIENT_TEAM_PERMISSION',
  /** The server's log root is signed by another key than the one pinned on first contact. */
  'CLIENT_LOG_KEY_MISMATCH',
  /** A log root or a map proof that does not verify (signature, shape, path to the root). */
  'CLIENT_LOG_INVALID',
  /** The server's latest log root is older than the one this client already verified. */
  'CLIENT_LOG_ROLLBACK',
  /** The log does not extend the root verified before (a fork or a bad consistency proof). */
  'CLIENT_LOG_INCONSISTENT',
  /** A chain tail the server served is not the one its signed log holds for that chain. */
  'CLIENT_LOG_TAIL_MISMATCH',
  /** The change would leave a root team without an owner (make another member owner first). */
  'CLIENT_TEAM_LAST_OWNER',
  /** The change would leave a team without members (delete the team instead). */
  'CLIENT_TEAM_LAST_MEMBER',
  /**
   * The local session behind a long-lived interface (the keystore, the agent, the account's
   * files) could not be opened; the message says why (as `kvstore api` replies).
   */
  'CLIENT_SESSION_UNAVAILABLE',
] as const;

/** A client error code. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** Structured, secret-free context of an error (never keys, signatures or tokens). */
export type ClientErrorDetails = Record<string, string | number | boolean | null>;

/**
 * An error with a stable code.
 *
 * @typeParam C - the literal code, so narrowing on `code` narrows the type.
 */
export class ClientError<C extends ClientErrorCode = ClientErrorCode> extends Error {
  override readonly name: string = 'ClientError';
  /** The stable code. */
  readonly code: C;
  /** Secret-free context (usernames, seqnos, link IDs, server or identity codes). */
  readonly details: ClientErrorDetails;

  /**
   * @param code - the stable code.
   * @param message - a lowercase description without secrets.
   * @param details - structured context.
   * @param options - an optional `cause`.
   */
  constructor(code: C, message: string, details: ClientErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** A JSON form for `--json` output and logs: `{name, code, message, details}`. */
  toJSON(): { name: string; code: C; message: string; details: ClientErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link ClientError} (optionally with the given code). */
export function isClientError<C extends ClientErrorCode>(
  e: unknown,
  code?: C,
): e is ClientError<C> {
  return e instanceof ClientError && (code === undefined || e.code === code);
}
