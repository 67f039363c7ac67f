/**
 * Encryption, versions 2 and 1 (specs/saltpack.md §3, §4).
 */
import { defaultBackend } from './backend/index.js';
import type { CryptoBackend, RandomSource } from './backend/types.js';
import { boxKeyFromSecret } from './basic.js';
import { MODE, SENDER_KEY_SBOX_NONCE, VERSION_1, VERSION_2 } from './constants.js';
import type { Version } from './constants.js';
import { SaltpackError } from './errors.js';
import { encodeHeader } from './header.js';
import { bytesKey } from './internal/bytes.js';
import { boxMany, boxTail, ZERO_32 } from './internal/keyops.js';
import { arrayHeader, binArray, binHeader, boolByte } from './internal/packet-encoding.js';
import { shuffle } from './internal/random.js';
import { createSealStream, runThrough } from './internal/streams.js';
import type { BoxSecretKey } from './keyring.js';
import type { PayloadEngine } from './engine.js';
import { concatBytes } from './internal/bytes.js';
import { macKeyNonces, macKeyNonceV1, payloadKeyBoxNonce, payloadNonce } from './nonce.js';

/** A recipient: a 32-byte X25519 public key, optionally hidden from the header. */
export interface EncryptionRecipient {
  publicKey: Uint8Array;
  /** Write `nil` instead of the key in the header (an anonymous recipient). */
  hidden?: boolean;
}

/** Options of {@link encrypt} and {@link createEncryptStream}. */
export interface EncryptOptions {
  /** Recipients: public keys or {@link EncryptionRecipient}s. At least one; no duplicates. */
  recipients: readonly (Uint8Array | EncryptionRecipient)[];
  /** The sender's box key; omit or `null` for an anonymous sender. */
  sender?: BoxSecretKey | null;
  /** Message version: 2 (default) or 1 (legacy). */
  version?: 1 | 2;
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
  /**
   * Randomness. Draw order: the 32-byte payload key, the 32-byte ephemeral secret key, then the
   * recipient shuffle. Tests inject a fixed source to rebuild known-answer vectors.
   */
  random?: RandomSource;
  /** Keep recipients in the given order instead of shuffling them (interop tests only). */
  preserveRecipientOrder?: boolean;
  /**
   * Where chunks are sealed: in this thread by default, or e.g. a worker pool from
   * `@saltbox/saltpack/node` for large inputs.
   */
  engine?: PayloadEngine;
}

interface PreparedRecipient {
  publicKey: Uint8Array;
  hidden: boolean;
}

function prepareRecipients(list: EncryptOptions['recipients']): PreparedRecipient[] {
  const value: unknown = list;
  if (!Array.isArray(value) || list.length === 0 || list.length > 0xffffffff) {
    throw new SaltpackError('bad_receivers', 'encryption needs at least one recipient');
  }
  const seen = new Set<string>();
  return list.map((r) => {
    const publicKey = r instanceof Uint8Array ? r : r.publicKey;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
      throw new SaltpackError('invalid_parameter', 'recipient public key must be 32 bytes');
    }
    const key = bytesKey(publicKey);
    if (seen.has(key))
      throw new SaltpackError('repeated_key', 'the same recipient key is listed twice');
    seen.add(key);
    return { publicKey, hidden: !(r instanceof Uint8Array) && r.hidden === true };
  });
}

/** What sealing needs once the header is written (internal: also used by `node/pipeline.ts`). */
export interface EncryptionState {
  wire: Uint8Array;
  headerHash: Uint8Array;
  payloadKey: Uint8Array;
  macKeys: Uint8Array[];
  major: number;
}

/** Builds the header (§3.2, §4); internal, also used by `node/pipeline.ts`. */
export async function buildHeader(
  backend: CryptoBackend,
  options: EncryptOptions,
): Promise<EncryptionState> {
  const version: Version = (options.version ?? 2) === 1 ? VERSION_1 : VERSION_2;
  const requested = options.version as number | undefined; // callers may not be type-checked
  if (requested !== undefined && requested !== 1 && requested !== 2) {
    throw new SaltpackError('invalid_parameter', 'version must be 1 or 2');
  }
  const major = version[0];
  let recipients = prepareRecipients(options.recipients);
  const random = options.random ?? backend;
  const payloadKey = random.randomBytes(32);
  const ephemeral = boxKeyFromSecret(backend, random.randomBytes(32));
  if (!options.preserveRecipientOrder) recipients = shuffle(random, recipients.slice());
  const sender = options.sender ?? ephemeral;
  if (!(sender.publicKey instanceof Uint8Array) || sender.publicKey.length !== 32) {
    throw new SaltpackError('invalid_parameter', 'sender public key must be 32 bytes');
  }

  const senderSecretbox = backend.secretboxSeal(
    sender.publicKey,
    SENDER_KEY_SBOX_NONCE,
    payloadKey,
  );
  // One beforenm per recipient (the ephemeral key's shared key boxes the payload key and the
  // ephemeral MAC box; with an anonymous sender it is the sender's too): the only expensive
  // step, so it goes to the engine in one batch, which may spread it over threads.
  const peers = recipients.map((r) => r.publicKey);
  const shared = options.engine?.boxBeforeNmMany
    ? await options.engine.boxBeforeNmMany(ephemeral.secretKey, peers)
    : peers.map((peer) => backend.boxBeforeNm(peer, ephemeral.secretKey));
  const entries = recipients.map((r, i) => [
    r.hidden ? null : r.publicKey,
    backend.secretboxSeal(payloadKey, payloadKeyBoxNonce(major, i), shared[i]!),
  ]);
  const { wire, hash } = encodeHeader(backend, version, MODE.encryption, [
    ephemeral.publicKey,
    senderSecretbox,
    entries,
  ]);
  // Boxes of 32 zero bytes from the sender to each recipient: computed here from the shared
  // keys for an anonymous sender (sender = ephemeral), else by the sender's handle, which may
  // be remote (one batch).
  const senderZeroBoxes = async (nonceOf: (i: number) => Uint8Array) =>
    options.sender
      ? boxMany(
          options.sender,
          recipients.map((r, i) => ({ peer: r.publicKey, nonce: nonceOf(i), plaintext: ZERO_32 })),
        )
      : shared.map((key, i) => backend.secretboxSeal(ZERO_32, nonceOf(i), key));

  let macKeys: Uint8Array[];
  if (major === 1) {
    // v1 (§4): last 32 bytes of box(zeros, sender → recipient, header hash[0:24]).
    const nonce = macKeyNonceV1(hash);
    const boxes = await senderZeroBoxes(() => nonce);
    macKeys = boxes.map((b) => boxTail(b).slice());
  } else {
    // v2 (§3.2): SHA-512 of the long-term-sender box tail and the ephemeral box tail.
    const nonces = recipients.map((_, i) => macKeyNonces(hash, i));
    const senderBoxes = await senderZeroBoxes((i) => nonces[i]!.sender);
    const tails = new Uint8Array(64); // one 64-byte input: the backends' fast path for short hashes
    macKeys = shared.map((key, i) => {
      const eph = backend.secretboxSeal(ZERO_32, nonces[i]!.ephemeral, key);
      tails.set(boxTail(senderBoxes[i]!), 0);
      tails.set(boxTail(eph), 32);
      return backend.sha512(tails).subarray(0, 32);
    });
  }
  return { wire, headerHash: hash, payloadKey, macKeys, major };
}

/**
 * A sealed packet's wire parts around `box`, given the payload hash: one authenticator per
 * recipient (§3.3, §4). Internal; also used by `node/pipeline.ts`.
 */
export function packetParts(
  backend: CryptoBackend,
  state: EncryptionState,
  box: Uint8Array,
  hash: Uint8Array,
  final: boolean,
): Uint8Array[] {
  const auth = binArray(state.macKeys.map((m) => backend.hmacSha512Trunc32(m, hash)));
  const head = state.major === 1 ? arrayHeader(2) : Uint8Array.of(0x93, boolByte(final));
  return [head, auth, binHeader(box.length), box];
}

/**
 * Seals one chunk: secretbox, payload hash, one authenticator per recipient (§3.3, §4).
 * Returns the packet's wire parts (prefix, then the box itself, uncopied).
 */
function sealPacket(
  backend: CryptoBackend,
  state: EncryptionState,
  chunk: Uint8Array,
  k: number,
  final: boolean,
  engine: PayloadEngine | undefined,
): Uint8Array[] | Promise<Uint8Array[]> {
  const nonce = payloadNonce(k);
  const finish = (box: Uint8Array, hash: Uint8Array): Uint8Array[] =>
    packetParts(backend, state, box, hash, final);
  // The payload hash covers header hash ‖ nonce ‖ (v2: final byte) ‖ box (§3.3, §4).
  const prefix =
    state.major === 1
      ? concatBytes(state.headerHash, nonce)
      : concatBytes(state.headerHash, nonce, Uint8Array.of(final ? 1 : 0));
  if (engine)
    return engine
      .sealChunk(state.payloadKey, nonce, chunk, prefix)
      .then((r) => finish(r.box, r.hash));
  const box = backend.secretboxSeal(chunk, nonce, state.payloadKey);
  return finish(box, backend.sha512(prefix, box));
}

/**
 * A TransformStream from plaintext to a binary encrypted message.
 *
 * Errors (bad recipients, keyring failures) surface as the stream's error.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (no recipients, bad key length, duplicate
 *   recipients, bad version), through the stream.
 */
export function createEncryptStream(
  options: EncryptOptions,
): TransformStream<Uint8Array, Uint8Array> {
  let backend: CryptoBackend;
  let state: EncryptionState;
  return createSealStream({
    legacyTerminator: (options.version ?? 2) === 1,
    async header() {
      backend = options.backend ?? (await defaultBackend());
      state = await buildHeader(backend, options);
      return state.wire;
    },
    packet: (chunk, k, final) => sealPacket(backend, state, chunk, k, final, options.engine),
  });
}

/**
 * Encrypts `plaintext` to the recipients; a thin wrapper over {@link createEncryptStream}.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options.
 */
export function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  return runThrough(createEncryptStream(options), plaintext);
}
