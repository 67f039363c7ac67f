/**
 * Key handles and keyrings: the format library never sees a long-term secret key directly.
 *
 * A handle performs operations (box, unbox, sign) and may live in another process, which is why
 * every method may return a promise (a keystore over JSON-RPC implements these). The lookup
 * methods answer "not my key" with `null`, never with an error; errors mean something really
 * failed (the keystore is locked, the agent died, …) and are passed through to the caller.
 *
 * Compare Go saltpack's `key.go` (BoxSecretKey, Keyring, SigKeyring, SymmetricKeyResolver).
 *
 * @packageDocumentation
 */

/** A value or a promise of it: in-process keys answer synchronously, remote ones do not. */
export type MaybePromise<T> = T | Promise<T>;

/** An X25519 secret key held somewhere, able to box and unbox with peers. */
export interface BoxSecretKey {
  /** The 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
  /** NaCl `crypto_box` from this key to `peer` (16-byte tag, then ciphertext). */
  box(peer: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /** NaCl `crypto_box_open` of a box from `peer`; `null` when it does not open. */
  unbox(peer: Uint8Array, nonce: Uint8Array, box: Uint8Array): MaybePromise<Uint8Array | null>;
  /**
   * Optional batch form of {@link BoxSecretKey.box}: one call for many boxes, so a key held in
   * another process costs one round trip per message header rather than one per recipient.
   * Results are in request order.
   */
  boxBatch?(requests: readonly BoxRequest[]): MaybePromise<readonly Uint8Array[]>;
}

/** One box operation of a batch. */
export interface BoxRequest {
  peer: Uint8Array;
  nonce: Uint8Array;
  plaintext: Uint8Array;
}

/** An Ed25519 signing key held somewhere. */
export interface SigningSecretKey {
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** A detached Ed25519 signature over `message` (already domain-separated by Saltpack). */
  sign(message: Uint8Array): MaybePromise<Uint8Array>;
}

/** What a decrypting party holds. */
export interface BoxKeyring {
  /**
   * Given the visible recipient public keys of a header, return the position (in that list) of
   * one this keyring holds, with its handle; `null` when none is ours.
   */
  lookupBoxSecretKey(
    publicKeys: readonly Uint8Array[],
  ): MaybePromise<{ index: number; key: BoxSecretKey } | null>;
  /** Every box secret key, tried against hidden (anonymous) recipient entries. */
  allBoxSecretKeys(): MaybePromise<readonly BoxSecretKey[]>;
  /**
   * Whether to accept a message from this sender's X25519 public key. When absent, every sender
   * is accepted (the caller then inspects the returned sender key itself).
   */
  acceptSender?(publicKey: Uint8Array): MaybePromise<boolean>;
}

/** What a verifying party uses to accept or refuse signers. */
export interface SigningKeyring {
  /** Whether to accept a signature by this Ed25519 public key. Absent → accept all. */
  acceptSigner?(publicKey: Uint8Array): MaybePromise<boolean>;
}

/** Resolves signcryption symmetric-key identifiers to 32-byte keys. */
export interface SymmetricKeyResolver {
  /**
   * Given every receiver identifier in a signcryption header, return a list of the same length
   * with the 32-byte key for identifiers this resolver knows and `null` for the rest.
   */
  resolveKeys(identifiers: readonly Uint8Array[]): MaybePromise<readonly (Uint8Array | null)[]>;
}

/** A symmetric-key signcryption receiver: an application-chosen identifier of any length. */
export interface SymmetricReceiver {
  identifier: Uint8Array;
  key: Uint8Array;
}
