/**
 * Attached and detached signing, versions 2 and 1 (specs/saltpack.md §5).
 */
import { defaultBackend } from './backend/index.js';
import type { CryptoBackend, RandomSource } from './backend/types.js';
import {
  ATTACHED_SIGNATURE_PREFIX,
  DETACHED_SIGNATURE_PREFIX,
  MODE,
  VERSION_1,
  VERSION_2,
} from './constants.js';
import type { Mode, Version } from './constants.js';
import { SaltpackError } from './errors.js';
import { encodeHeader } from './header.js';
import { concatBytes, uint64BE } from './internal/bytes.js';
import { binHeader, boolByte } from './internal/packet-encoding.js';
import { collect, createSealStream, runThrough, streamOf } from './internal/streams.js';
import type { SigningSecretKey } from './keyring.js';
import { encodeMsgpack } from './msgpack.js';
import type { PayloadEngine } from './engine.js';

/** Options of the signing functions. */
export interface SignOptions {
  /** The signer's Ed25519 key. */
  signer: SigningSecretKey;
  /** Message version: 2 (default) or 1. */
  version?: 1 | 2;
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
  /** Randomness for the header nonce (32 bytes, §5). */
  random?: RandomSource;
  /**
   * A fixed header nonce instead of a random one: only to reproduce a known message byte for
   * byte (the Go reference writes 16 bytes, so its vectors carry 16-byte nonces). 16 or 32 bytes.
   */
  nonce?: Uint8Array;
  /**
   * How an attached signature of an empty message writes its one empty chunk: `'bin'` (default),
   * an empty byte string as the format says, which every reader takes; or `'nil'`, msgpack nil,
   * as the Go reference writes it, only to reproduce Go's bytes (§5 quirk; the npm library
   * cannot read nil).
   */
  emptyChunk?: 'bin' | 'nil';
  /**
   * Where attached signing hashes its chunks (an engine with `hash`, e.g. the thread-pool
   * engine of `@saltbox/saltpack/node`); in this thread by default. Same bytes either way.
   */
  engine?: PayloadEngine;
}

/**
 * Length of the header nonce written: 32 random bytes, as the format's specification says. The Go
 * reference writes 16 and reads any length; the npm library refuses anything but 32, so 16-byte
 * nonces made every saltbox signature unverifiable there (§5, §12; issue #12.21).
 */
const NONCE_LENGTH = 32;
/** Lengths a caller may inject: the specification's and the Go reference's. */
const INJECTABLE_NONCE_LENGTHS: readonly number[] = [NONCE_LENGTH, 16];

function headerNonce(backend: CryptoBackend, options: SignOptions): Uint8Array {
  const fixed = options.nonce;
  if (fixed === undefined) return (options.random ?? backend).randomBytes(NONCE_LENGTH);
  if (!(fixed instanceof Uint8Array) || !INJECTABLE_NONCE_LENGTHS.includes(fixed.length)) {
    throw new SaltpackError('invalid_parameter', 'signature nonce must be 32 or 16 bytes');
  }
  return fixed;
}

function versionOf(options: SignOptions): Version {
  const requested = options.version as number | undefined; // callers may not be type-checked
  if (requested !== undefined && requested !== 1 && requested !== 2) {
    throw new SaltpackError('invalid_parameter', 'version must be 1 or 2');
  }
  return options.version === 1 ? VERSION_1 : VERSION_2;
}

async function signatureHeader(
  options: SignOptions,
  mode: Mode,
): Promise<{ backend: CryptoBackend; wire: Uint8Array; hash: Uint8Array; version: Version }> {
  const backend = options.backend ?? (await defaultBackend());
  const version = versionOf(options);
  const signerKey = options.signer.publicKey;
  if (!(signerKey instanceof Uint8Array) || signerKey.length !== 32) {
    throw new SaltpackError('invalid_parameter', 'signer public key must be 32 bytes');
  }
  const nonce = headerNonce(backend, options);
  const { wire, hash } = encodeHeader(backend, version, mode, [signerKey, nonce]);
  return { backend, wire, hash, version };
}

/** What an attached-signature packet's digest covers before the chunk (§5; v1: no final byte). */
export function attachedDigestPrefix(
  headerHash: Uint8Array,
  k: number,
  final: boolean | null,
): Uint8Array {
  return final === null
    ? concatBytes(headerHash, uint64BE(k))
    : concatBytes(headerHash, uint64BE(k), Uint8Array.of(final ? 1 : 0));
}

/** The message an attached-signature packet's signature covers (§5). */
export function attachedSignatureInput(
  backend: CryptoBackend,
  headerHash: Uint8Array,
  k: number,
  final: boolean | null,
  chunk: Uint8Array,
): Uint8Array {
  return concatBytes(
    ATTACHED_SIGNATURE_PREFIX,
    backend.sha512(attachedDigestPrefix(headerHash, k, final), chunk),
  );
}

/**
 * {@link attachedSignatureInput} with the digest taken by `engine.hash` (prefix ‖ chunk joined
 * into one buffer for it).
 */
export async function attachedSignatureInputOn(
  hash: (bytes: Uint8Array) => Promise<Uint8Array>,
  headerHash: Uint8Array,
  k: number,
  final: boolean | null,
  chunk: Uint8Array,
): Promise<Uint8Array> {
  const prefix = attachedDigestPrefix(headerHash, k, final);
  const joined = new Uint8Array(prefix.length + chunk.length);
  joined.set(prefix, 0);
  joined.set(chunk, prefix.length);
  return concatBytes(ATTACHED_SIGNATURE_PREFIX, await hash(joined));
}

/**
 * A TransformStream from a message to an attached signature over it.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options, through the stream.
 */
export function createSignStream(options: SignOptions): TransformStream<Uint8Array, Uint8Array> {
  let backend: CryptoBackend;
  let hash: Uint8Array;
  const v1 = options.version === 1;
  const nilForEmpty = options.emptyChunk === 'nil';
  let wroteAny = false;
  return createSealStream({
    legacyTerminator: v1,
    async header() {
      const h = await signatureHeader(options, MODE.attachedSigning);
      backend = h.backend;
      hash = h.hash;
      return h.wire;
    },
    async packet(chunk, k, final) {
      const engineHash = options.engine?.hash?.bind(options.engine);
      const input = engineHash
        ? await attachedSignatureInputOn(engineHash, hash, k, v1 ? null : final, chunk)
        : attachedSignatureInput(backend, hash, k, v1 ? null : final, chunk);
      const signature = await options.signer.sign(input);
      const sig = encodeMsgpack(signature);
      // Go writes an empty plaintext's chunk as nil (c0), not an empty bin (§5 quirk); saltbox
      // writes the bin unless asked to reproduce Go, since nil breaks the npm library's reader.
      const empty = nilForEmpty && chunk.length === 0 && !wroteAny;
      wroteAny ||= chunk.length > 0;
      const body = empty ? [Uint8Array.of(0xc0)] : [binHeader(chunk.length), chunk];
      return v1
        ? [Uint8Array.of(0x92), sig, ...body]
        : [Uint8Array.of(0x93, boolByte(final)), sig, ...body];
    },
  });
}

/**
 * Makes an attached signature of `message`.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options.
 */
export function sign(message: Uint8Array, options: SignOptions): Promise<Uint8Array> {
  return runThrough(createSignStream(options), message);
}

/**
 * Makes a detached signature of a message given as bytes or a stream. The signature is the
 * header followed by one bin holding the signature over SHA-512(header hash ‖ message).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options.
 */
export async function signDetached(
  message: Uint8Array | ReadableStream<Uint8Array>,
  options: SignOptions,
): Promise<Uint8Array> {
  const h = await signatureHeader(options, MODE.detachedSigning);
  const hasher = h.backend.createSha512().update(h.hash);
  const input = message instanceof Uint8Array ? streamOf(message) : message;
  const reader = input.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  const signature = await options.signer.sign(
    concatBytes(DETACHED_SIGNATURE_PREFIX, hasher.digest()),
  );
  return concatBytes(h.wire, encodeMsgpack(signature));
}

/** Collects a stream (re-exported for callers composing streams). */
export { collect };
