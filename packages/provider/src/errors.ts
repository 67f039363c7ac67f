/**
 * The provider's coded errors. Every error carries two codes: Go CDK's portable
 * `gcerrors.ErrorCode` (`code`, spec keystore-and-secrets-providers §2.2 — what a caller of a
 * Keeper branches on) and a stable saltbox `reason` naming exactly what went wrong (what a
 * person or a log reads). Messages are lowercase and never contain plaintexts, keys or tokens.
 *
 * @packageDocumentation
 */

/** Go CDK's error codes with their stable numbers (`gcerrors`, from internal `gcerr`). */
export const ERROR_CODES = {
  OK: 0,
  Unknown: 1,
  NotFound: 2,
  AlreadyExists: 3,
  InvalidArgument: 4,
  Internal: 5,
  Unimplemented: 6,
  FailedPrecondition: 7,
  PermissionDenied: 8,
  ResourceExhausted: 9,
  Canceled: 10,
  DeadlineExceeded: 11,
} as const;

/** A Go CDK error code name. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every saltbox provider reason code. */
export const PROVIDER_REASONS = [
  /** The keeper was closed; every later call fails. */
  'PROVIDER_CLOSED',
  /** A URL that does not parse, an unknown scheme or parameter, a bad parameter value. */
  'PROVIDER_BAD_URL',
  /** A scheme registered twice on one mux. */
  'PROVIDER_SCHEME_TAKEN',
  /** A malformed recipient (username, team name) or an empty recipient list. */
  'PROVIDER_BAD_RECIPIENT',
  /** A recipient the directory does not know. */
  'PROVIDER_RECIPIENT_NOT_FOUND',
  /** `verify_proofs=true` and a recipient is not followed (or its chain changed since). */
  'PROVIDER_NOT_FOLLOWED',
  /** `format=pgp`: a recipient has published no PGP key (FailedPrecondition). */
  'PROVIDER_NO_PGP_KEY',
  /** A ciphertext that is not one this provider can read (bad framing, bad bytes). */
  'PROVIDER_MALFORMED_CIPHERTEXT',
  /** A ciphertext none of this keystore's keys opens, or that fails authentication. */
  'PROVIDER_DECRYPT_FAILED',
  /** Not logged in: no server or username configured. */
  'PROVIDER_NOT_LOGGED_IN',
  /** No keystore agent runs. */
  'PROVIDER_NO_AGENT',
  /** The keystore is locked (or not created yet). */
  'PROVIDER_KEYSTORE_LOCKED',
  /** The directory could not be reached or answered something unusable. */
  'PROVIDER_DIRECTORY',
  /** The directory (or a chain) failed a trust check: a fork, rollback or lookup mismatch. */
  'PROVIDER_UNTRUSTED',
  /** A format or feature that is not built. */
  'PROVIDER_UNIMPLEMENTED',
  /** The Vault bridge refused a request (token, header, path). */
  'PROVIDER_VAULT_REFUSED',
  /**
   * The bridge's socket path holds something other than a stale socket (a file, a directory,
   * a socket another process serves); it is left as it is (AlreadyExists).
   */
  'PROVIDER_VAULT_PATH_TAKEN',
  /** The age plugin protocol was violated by the other side. */
  'PROVIDER_AGE_PROTOCOL',
  /** The caller cancelled or a deadline passed. */
  'PROVIDER_CANCELED',
  /** An unexpected failure; details say where. */
  'PROVIDER_INTERNAL',
] as const;

/** A provider reason code. */
export type ProviderReason = (typeof PROVIDER_REASONS)[number];

/** Structured, secret-free context (recipient names, schemes, codes of underlying errors). */
export type ProviderErrorDetails = Record<string, string | number | boolean | null>;

/** The provider's error: a Go CDK `code`, a saltbox `reason`, secret-free `details`. */
export class ProviderError extends Error {
  override readonly name: string = 'ProviderError';
  /** Go CDK's portable code. */
  readonly code: ErrorCode;
  /** The stable saltbox reason. */
  readonly reason: ProviderReason;
  /** Secret-free context. */
  readonly details: ProviderErrorDetails;

  /**
   * @param code - Go CDK's code.
   * @param reason - the saltbox reason.
   * @param message - lowercase, without secrets.
   * @param details - structured context.
   * @param options - an optional `cause`.
   */
  constructor(
    code: ErrorCode,
    reason: ProviderReason,
    message: string,
    details: ProviderErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** Go CDK's number for {@link ProviderError.code}. */
  get codeNumber(): number {
    return ERROR_CODES[this.code];
  }

  /** `{name, code, reason, message, details}` for `--json` output and logs. */
  toJSON(): {
    name: string;
    code: ErrorCode;
    reason: ProviderReason;
    message: string;
    details: ProviderErrorDetails;
  } {
    return {
      name: this.name,
      code: this.code,
      reason: this.reason,
      message: this.message,
      details: this.details,
    };
  }
}

/** True when `e` is a {@link ProviderError} (optionally with the given reason). */
export function isProviderError(e: unknown, reason?: ProviderReason): e is ProviderError {
  return e instanceof ProviderError && (reason === undefined || e.reason === reason);
}

/** Shorthand for an InvalidArgument error. */
export function invalidArgument(
  reason: 'PROVIDER_BAD_URL' | 'PROVIDER_BAD_RECIPIENT' | 'PROVIDER_SCHEME_TAKEN',
  message: string,
  details: ProviderErrorDetails = {},
): ProviderError {
  return new ProviderError('InvalidArgument', reason, message, details);
}

/**
 * Go CDK's `gcerrors.Code`: the code of a {@link ProviderError}, `OK` for no error, `Canceled`
 * / `DeadlineExceeded` for aborts and timeouts, else `Unknown`.
 */
export function errorCodeOf(err: unknown): ErrorCode {
  if (err === null || err === undefined) return 'OK';
  if (err instanceof ProviderError) return err.code;
  if (err instanceof Error) {
    if (err.name === 'AbortError') return 'Canceled';
    if (err.name === 'TimeoutError') return 'DeadlineExceeded';
  }
  return 'Unknown';
}
