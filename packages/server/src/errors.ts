/**
 * Every error the server raises.
 *
 * {@link ServerError} extends the wire type `ApiError` of `@saltbox/protocol`, so its `code`
 * comes from the shared table and its status is the table's. The one error handler turns it
 * into `{"error":{"code","message"}}`; anything else becomes `INTERNAL` with a generic message
 * (the original is logged by its class name only, never its message, which may quote input).
 *
 * @packageDocumentation
 */
import { ApiError } from '@saltbox/protocol';
import type { ErrorCode } from '@saltbox/protocol';

/**
 * A coded server error.
 *
 * @typeParam C - the literal code.
 */
export class ServerError<C extends ErrorCode = ErrorCode> extends ApiError<C> {
  override readonly name: string = 'ServerError';
  /** Extra response headers (e.g. `Retry-After` on `RATE_LIMITED`). */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param code - the stable code.
   * @param message - a lowercase description without secrets.
   * @param options - an optional `cause` (logged by name only) and extra headers.
   */
  constructor(
    code: C,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options.headers ?? {};
  }
}

/** Shorthand: a coded server error. */
export function fail<C extends ErrorCode>(
  code: C,
  message: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): ServerError<C> {
  return new ServerError(code, message, options);
}
