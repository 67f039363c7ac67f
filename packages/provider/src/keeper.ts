/**
 * The portable Keeper (Go CDK's `secrets.Keeper` over a `driver.Keeper`, spec
 * keystore-and-secrets-providers §2.1): a driver does the work; the wrapper adds the rules every
 * driver shares — after `close` every call (closing again too) fails with FailedPrecondition,
 * and a driver's own errors are classified by the driver's `errorCode`.
 *
 * @packageDocumentation
 */
import { ERROR_CODES, ProviderError, errorCodeOf } from './errors.js';
import type { ErrorCode } from './errors.js';

/** What a secrets driver implements (Go CDK's `driver.Keeper`). */
export interface KeeperDriver {
  /** Encrypts; must be randomised (two calls on one plaintext differ). */
  encrypt(plaintext: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** Decrypts; the ciphertext itself says which keys it needs, not the URL it was made with. */
  decrypt(ciphertext: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** Releases resources. */
  close(): Promise<void>;
  /** Classifies one of the driver's errors. */
  errorCode(err: unknown): ErrorCode;
  /** Go's `ErrorAs`: the driver-specific error inside `err` that is an instance of `type`. */
  errorAs<T>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined;
}

/** Walks an error and its causes. */
function* causes(err: unknown): Generator {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e);
    yield e;
    e = e instanceof Error ? e.cause : undefined;
  }
}

/** The default `errorAs`: the first error in the cause chain that is a `type`. */
export function findInCauses<T>(
  err: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (const e of causes(err)) if (e instanceof type) return e;
  return undefined;
}

/**
 * A Keeper: encrypt and decrypt small secrets (data keys) through a driver.
 *
 * Calls may run concurrently; `close` waits for the calls already running, then closes the
 * driver once.
 */
export class Keeper {
  readonly #driver: KeeperDriver;
  #closed = false;
  readonly #running = new Set<Promise<unknown>>();

  /** @param driver - the driver doing the work. */
  constructor(driver: KeeperDriver) {
    this.#driver = driver;
  }

  #closedError(): ProviderError {
    return new ProviderError('FailedPrecondition', 'PROVIDER_CLOSED', 'keeper has been closed');
  }

  async #call<T>(op: 'encrypt' | 'decrypt', run: () => Promise<T>): Promise<T> {
    if (this.#closed) throw this.#closedError();
    const p = run().catch((e: unknown) => {
      throw this.#wrap(op, e);
    });
    this.#running.add(p);
    try {
      return await p;
    } finally {
      this.#running.delete(p);
    }
  }

  #wrap(op: string, e: unknown): ProviderError {
    if (e instanceof ProviderError) return e;
    const code = this.#driver.errorCode(e);
    return new ProviderError(
      code === 'OK' ? 'Unknown' : code,
      code === 'Canceled' || code === 'DeadlineExceeded'
        ? 'PROVIDER_CANCELED'
        : 'PROVIDER_INTERNAL',
      `${op} failed`,
      { operation: op, cause: e instanceof Error ? e.name : typeof e },
      { cause: e },
    );
  }

  /**
   * Encrypts `plaintext`.
   *
   * @throws ProviderError `FailedPrecondition` after close; the driver's codes otherwise.
   */
  encrypt(plaintext: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#call('encrypt', () => this.#driver.encrypt(plaintext, options.signal));
  }

  /**
   * Decrypts `ciphertext`.
   *
   * @throws ProviderError `FailedPrecondition` after close; `InvalidArgument` for a malformed
   *   ciphertext; the driver's codes otherwise.
   */
  decrypt(ciphertext: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#call('decrypt', () => this.#driver.decrypt(ciphertext, options.signal));
  }

  /**
   * Closes the keeper; later calls fail.
   *
   * @throws ProviderError `FailedPrecondition` when already closed.
   */
  async close(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await this.#driver.close();
  }

  /** Whether {@link Keeper.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Go's `ErrorAs`: the error inside `err` (its cause chain) that is a `type` — e.g.
   * `ProviderError`, or a driver's own type such as `ClientError` or `KeystoreError`.
   */
  errorAs<T>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
    return findInCauses(err, type) ?? this.#driver.errorAs(err, type);
  }

  /** Go CDK's code of an error this keeper returned. */
  errorCode(err: unknown): ErrorCode {
    return errorCodeOf(err);
  }

  /** Go CDK's number of {@link Keeper.errorCode}. */
  errorCodeNumber(err: unknown): number {
    return ERROR_CODES[this.errorCode(err)];
  }
}
