/**
 * The web app's coded errors, and how any error is shown to the person using the app: a stable
 * code and a lowercase message that never contains a value, a key or a paper key.
 *
 * @packageDocumentation
 */

/** The web app's own error codes. */
export const WEB_ERROR_CODES = [
  /** A form field is empty or malformed. */
  'WEB_INVALID_INPUT',
  /** An operation needs a signed-in session. */
  'WEB_NOT_SIGNED_IN',
  /** The browser lacks something the app needs (Web Workers, IndexedDB, WebAssembly). */
  'WEB_UNSUPPORTED_BROWSER',
  /** Anything not coded: the details stay in the browser console's stack, not on screen. */
  'WEB_INTERNAL',
] as const;

/** One of {@link WEB_ERROR_CODES}. */
export type WebErrorCode = (typeof WEB_ERROR_CODES)[number];

/** A coded error of the web app. */
export class WebError extends Error {
  override readonly name = 'WebError';
  /** The stable code. */
  readonly code: WebErrorCode;

  /**
   * @param code - the stable code.
   * @param message - a lowercase description without secrets.
   */
  constructor(code: WebErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  /** The JSON form: `{name, code, message}`. */
  toJSON(): { name: string; code: WebErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** What the app shows for an error. */
export interface ShownError {
  code: string;
  message: string;
}

const CODE = /^[A-Z][A-Z0-9_]{2,63}$/;

/**
 * Turns any thrown value into what the app shows. saltbox's coded errors (`ClientError`,
 * `KeystoreError`, `SaltpackError`, …, and {@link WebError}) keep their code and message — they
 * are written lowercase and secret-free at the source (HELPERS.md non-negotiables); anything
 * else becomes `WEB_INTERNAL` without its message, which might quote input.
 */
export function shownError(e: unknown): ShownError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CODE.test(code)) return { code, message: e.message };
  }
  return { code: 'WEB_INTERNAL', message: 'unexpected error; see the browser console' };
}
