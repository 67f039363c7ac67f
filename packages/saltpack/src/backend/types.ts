/**
 * The crypto backend interface: the only primitives Saltpack (and the identity layer) need.
 *
 * Methods are synchronous so per-chunk work carries no promise overhead; loading a backend is
 * asynchronous (the portable one must initialise WebAssembly). Two implementations exist:
 * `native` (sodium-native plus node:crypto for bulk SHA-512, Node only) and `portable`
 * (libsodium compiled to WebAssembly, runs in browsers). See `backend/index.ts` for the choice.
 *
 * @packageDocumentation
 */

/** An incremental SHA-512 or SHA-256 computation. */
export interface IncrementalHash {
  update(data: Uint8Array): IncrementalHash;
  digest(): Uint8Array;
}

/** An Ed25519 key pair in NaCl layout: the 64-byte secret key is seed ‖ public key. */
export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A source of random bytes. The default is the platform CSPRNG; tests may inject their own. */
export interface RandomSource {
  randomBytes(length: number): Uint8Array;
}

/** The primitives every backend provides. All byte arguments are read, never retained. */
export interface CryptoBackend extends RandomSource {
  /** `native` or `portable`, for diagnostics and benchmarks. */
  readonly name: string;
  /** X25519 public key of a 32-byte secret (`crypto_scalarmult_base`). */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /**
   * NaCl `crypto_box_beforenm`: HSalsa20 over X25519(secret, peer). A low-order peer key yields
   * the key derived from an all-zero shared point (as Go's `box.Precompute` does), so such boxes
   * simply fail to open instead of raising.
   */
  boxBeforeNm(peerPublicKey: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** `crypto_secretbox_easy`: 16-byte Poly1305 tag followed by the XSalsa20 ciphertext. */
  secretboxSeal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** `crypto_secretbox_open_easy`; `null` when authentication fails. */
  secretboxOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
  /** Ed25519 key pair from a 32-byte seed. */
  ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair;
  /** Detached Ed25519 signature with a 64-byte NaCl secret key. */
  ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Ed25519 verification; false for any malformed input. */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** SHA-512 over the concatenation of the parts. */
  sha512(...parts: Uint8Array[]): Uint8Array;
  /** Incremental SHA-512. */
  createSha512(): IncrementalHash;
  /** SHA-256 over the concatenation of the parts. */
  sha256(...parts: Uint8Array[]): Uint8Array;
  /** HMAC-SHA-512 with a key of any length, over the concatenation of the parts (64 bytes). */
  hmacSha512(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** HMAC-SHA-256 with a key of any length (32 bytes). */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /**
   * NaCl `crypto_auth` (HMAC-SHA-512 truncated to 32 bytes) with a 32-byte key: Saltpack's
   * payload authenticator.
   */
  hmacSha512Trunc32(key32: Uint8Array, message: Uint8Array): Uint8Array;
  /** scrypt key derivation (used for paper keys and keystore encryption at rest). */
  scrypt(
    password: Uint8Array,
    salt: Uint8Array,
    params: { N: number; r: number; p: number; length: number },
  ): Promise<Uint8Array>;
}
