/**
 * The error-code table shared by server and client, and the wire error type.
 *
 * Every failed HTTP response carries `{"error":{"code","message"}}` with one of the stable codes
 * below; the table fixes each code's HTTP status, so the server cannot answer a code with the
 * wrong status and a client can rebuild the same {@link ApiError} from a response body.
 * Messages are lowercase and never contain keys, signatures, tokens or request bodies.
 *
 * @packageDocumentation
 */

/**
 * Every stable error code and its HTTP status. Adding a code is non-breaking; renaming one or
 * changing its status is breaking.
 */
export const ERROR_STATUS = {
  /** The request body, query or parameters do not match the schema. */
  VALIDATION_FAILED: 400,
  /** The request is not JSON, or not UTF-8. */
  MALFORMED_REQUEST: 400,
  /** A username that breaks Keybase's rules (2–16 of `a-z0-9_`, no leading or double `_`). */
  INVALID_USERNAME: 400,
  /** A sigchain link failed verification (signature, seqno, prev, signer rights, shape). */
  CHAIN_INVALID: 400,
  /** A new link's `merkle_root` names a log root this server never published. */
  LINK_MERKLE_ROOT_UNKNOWN: 400,
  /**
   * A new link's `merkle_root` names a published root older than the server's window and not
   * the latest: a backdated link (a key stolen today cannot claim an old view of the log).
   */
  LINK_MERKLE_ROOT_STALE: 400,
  /** A team post removes a member without a new per-team-key generation. */
  TEAM_ROTATION_REQUIRED: 400,
  /** Team key boxes that the chain does not call for (generation, members, PUKs, encoding). */
  TEAM_KEY_BOXES_INVALID: 400,
  /** No authentication header, or a malformed one. */
  UNAUTHENTICATED: 401,
  /** The request signature does not verify under the named key. */
  BAD_SIGNATURE: 401,
  /** The request timestamp is outside the allowed clock skew. */
  STALE_REQUEST: 401,
  /** The request nonce was already used by this key. */
  REPLAYED_REQUEST: 401,
  /** The signing key is unknown to the server. */
  UNKNOWN_KEY: 401,
  /** The signing key or its device has been revoked. */
  DEVICE_REVOKED: 403,
  /** The authenticated device may not do this. */
  FORBIDDEN: 403,
  /** The server takes no new sign-ups (its operator closed them). */
  SIGNUP_CLOSED: 403,
  /** The server signs up by invitation only and the request carries no invite code. */
  INVITE_REQUIRED: 403,
  /** The invite code is unknown or already used. */
  INVITE_INVALID: 403,
  /** The username is reserved on this server (`admin`, `root`, `support`, …). */
  USERNAME_RESERVED: 403,
  /** No such route or resource. */
  NOT_FOUND: 404,
  /** No such user. */
  USER_NOT_FOUND: 404,
  /** No such team. */
  TEAM_NOT_FOUND: 404,
  /** No user's chain delegated this key (`GET /api/v1/keys/:kid`). */
  KEY_NOT_FOUND: 404,
  /** The signed log has no root with that seqno (or none yet). */
  LOG_ROOT_NOT_FOUND: 404,
  /** The method is not supported on this route. */
  METHOD_NOT_ALLOWED: 405,
  /** The username is already registered. */
  USERNAME_TAKEN: 409,
  /** The team name or team ID is already registered. */
  TEAM_NAME_TAKEN: 409,
  /** A key in the new links is already registered (to this or another user). */
  KEY_IN_USE: 409,
  /** The user already has an active device of this name. */
  DEVICE_NAME_TAKEN: 409,
  /** The change would leave a root team without an owner. */
  TEAM_LAST_OWNER: 409,
  /** The change would leave a team without members (delete the team instead). */
  TEAM_LAST_MEMBER: 409,
  /** A team with subteams cannot be deleted; delete the subteams first. */
  TEAM_HAS_SUBTEAMS: 409,
  /** The chain moved on since the client read it (another append won); refetch and retry. */
  CHAIN_CONFLICT: 409,
  /** The request body is larger than the server accepts. */
  PAYLOAD_TOO_LARGE: 413,
  /** KV write: the revision is not the entry's current revision + 1 (Keybase 2760). */
  KV_WRONG_REVISION: 409,
  /** KV write under an older team key generation than the entry already has (Keybase 2761). */
  KV_BAD_GENERATION: 409,
  /** KV delete of an entry that was never written or is already deleted (Keybase 2762). */
  KV_NOT_FOUND: 404,
  /** The caller is not a member of the team whose KV store it asked for (Keybase 2623). */
  KV_NOT_A_MEMBER: 403,
  /** The caller is a reader of the team and asked to write its KV store. */
  KV_READ_ONLY: 403,
  /** Too many requests from this device (or sign-ups from this address); see `Retry-After`. */
  RATE_LIMITED: 429,
  /** A bug or an unexpected failure; details are logged, never returned. */
  INTERNAL: 500,
  /** The server cannot reach its storage. */
  UNAVAILABLE: 503,
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every error code, in table order. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** True when `code` is one of the table's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code);
}

/** The HTTP status of a code. */
export function httpStatusFor(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * An error with a stable code, as sent over HTTP. The server throws it (or a subclass); a client
 * rebuilds it with {@link ApiError.fromBody}.
 *
 * @typeParam C - the literal code, so narrowing on `code` narrows the type.
 */
export class ApiError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'ApiError';
  /** The stable code. */
  readonly code: C;
  /** The HTTP status the table assigns to the code. */
  readonly status: number;

  /**
   * @param code - the stable code.
   * @param message - a lowercase description without secrets.
   * @param options - an optional `cause` (never sent over the wire).
   */
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  /** The wire form: `{"error":{"code","message"}}`. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /**
   * Rebuilds an error from a response body; an unknown or malformed body becomes `INTERNAL`
   * (a client must not trust a server to name codes outside the table).
   */
  static fromBody(body: unknown): ApiError {
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const e = body.error;
      if (typeof e === 'object' && e !== null) {
        const { code, message } = e as { code?: unknown; message?: unknown };
        if (isErrorCode(code))
          return new ApiError(code, typeof message === 'string' ? message : '');
      }
    }
    return new ApiError('INTERNAL', 'malformed error response');
  }
}

/** True when `e` is an {@link ApiError} (optionally with the given code). */
export function isApiError<C extends ErrorCode>(e: unknown, code?: C): e is ApiError<C> {
  return e instanceof ApiError && (code === undefined || e.code === code);
}
