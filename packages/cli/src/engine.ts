/**
 * Options for the bulk per-chunk work of encryption and decryption, chosen in one place so
 * that switching to the parallel worker engine (when `@saltbox/saltpack` ships it) is a change
 * to this file only: every command spreads {@link bulkCryptoOptions} into its stream options.
 *
 * @packageDocumentation
 */

/** Extra options for `createEncryptStream` / `createDecryptStream`. */
export interface BulkCryptoOptions {
  /** Reserved for the worker engine (`engine` in the saltpack stream options). */
  engine?: never;
}

/**
 * The bulk-crypto options for an input of `size` bytes (`undefined` when unknown). Today the
 * library's in-thread default.
 */
export function bulkCryptoOptions(_size: number | undefined): Promise<BulkCryptoOptions> {
  return Promise.resolve({});
}
