/**
 * Signcryption, version 2 (specs/saltpack.md §6): encryption whose chunks are signed instead of
 * MAC'd, to X25519 receivers and to symmetric-key receivers with application-chosen identifiers.
 */
import { defaultBackend } from './backend/index.js';
import type { CryptoBackend, RandomSource } from './backend/types.js';
import { boxKeyFromSecret } from './basic.js';
import {
  DERIVED_SBOX_KEY_NONCE,
  MODE,
  RECIPSB_NONCE_PREFIX,
  SENDER_KEY_SBOX_NONCE,
  SIGNCRYPTION_BOX_KEY_IDENTIFIER_CONTEXT,
  SIGNCRYPTION_SIGNATURE_PREFIX,
  SIGNCRYPTION_SYMMETRIC_KEY_CONTEXT,
  VERSION_2,
} from './constants.js';
import type { Version } from './constants.js';
import { badCiphertext, badPacket, badSignature, SaltpackError } from './errors.js';
import {
  checkMajor,
  checkMode,
  decodeHeader,
  encodeHeader,
  fieldBytes,
  fieldList,
  decodePacketList,
} from './header.js';
import { concatBytes, constantTimeEqual, isAllZero, toHex, uint64BE } from './internal/bytes.js';
import { boxTail, ZERO_32 } from './internal/keyops.js';
import { binHeader, boolByte } from './internal/packet-encoding.js';
import { shuffle } from './internal/random.js';
import { deferred } from './internal/deferred.js';
import { createOpenStream, createSealStream, runThrough } from './internal/streams.js';
import type { ParsedPacket } from './internal/streams.js';
import type {
  BoxKeyring,
  BoxSecretKey,
  SigningKeyring,
  SigningSecretKey,
  SymmetricKeyResolver,
  SymmetricReceiver,
} from './keyring.js';
import { signcryptionKeyBoxNonce, signcryptionPayloadNonce } from './nonce.js';

/** Options of {@link signcrypt} and {@link createSigncryptStream}. */
export interface SigncryptOptions {
  /** The signer's Ed25519 key; omit or `null` for an anonymous signer. */
  signer?: SigningSecretKey | null;
  /**
   * Receivers, in any mix: X25519 public keys (32 bytes) and symmetric-key receivers
   * (`{identifier, key}`: an identifier of any length and a 32-byte key). At least one.
   */
  receivers: readonly (Uint8Array | SymmetricReceiver)[];
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
  /** Randomness. Draw order: payload key, ephemeral secret key, then the receiver shuffle. */
  random?: RandomSource;
  /** Keep receivers in the given order instead of shuffling them (interop tests only). */
  preserveRecipientOrder?: boolean;
}

type Receiver =
  | { kind: 'box'; publicKey: Uint8Array }
  | { kind: 'symmetric'; identifier: Uint8Array; key: Uint8Array };

/** The 32-byte key derived for a symmetric receiver (§6). */
function symmetricDerivedKey(
  backend: CryptoBackend,
  ephemeralPublic: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  return backend.hmacSha512(SIGNCRYPTION_SYMMETRIC_KEY_CONTEXT, ephemeralPublic, key).slice(0, 32);
}

/** The identifier written for a box receiver at `index` (§6). */
function boxReceiverIdentifier(
  backend: CryptoBackend,
  derived: Uint8Array,
  index: number,
): Uint8Array {
  return backend
    .hmacSha512(
      SIGNCRYPTION_BOX_KEY_IDENTIFIER_CONTEXT,
      derived,
      RECIPSB_NONCE_PREFIX,
      uint64BE(index),
    )
    .slice(0, 32);
}

function prepareReceivers(options: SigncryptOptions): Receiver[] {
  const receivers: Receiver[] = [];
  const seen = new Set<string>();
  const add = (bytes: Uint8Array, r: Receiver): void => {
    const hex = toHex(bytes);
    if (seen.has(hex)) throw new SaltpackError('repeated_key', 'the same receiver is listed twice');
    seen.add(hex);
    receivers.push(r);
  };
  const list: readonly (Uint8Array | SymmetricReceiver)[] = options.receivers;
  const value: unknown = list;
  if (!Array.isArray(value)) {
    throw new SaltpackError('bad_receivers', 'signcryption needs a list of receivers');
  }
  for (const r of list) {
    if (r instanceof Uint8Array) {
      if (r.length !== 32)
        throw new SaltpackError('invalid_parameter', 'receiver public key must be 32 bytes');
      add(r, { kind: 'box', publicKey: r });
      continue;
    }
    if (!(r.key instanceof Uint8Array) || r.key.length !== 32) {
      throw new SaltpackError('invalid_parameter', 'symmetric receiver key must be 32 bytes');
    }
    if (!(r.identifier instanceof Uint8Array)) {
      throw new SaltpackError('invalid_parameter', 'symmetric receiver identifier must be bytes');
    }
    add(r.identifier, { kind: 'symmetric', identifier: r.identifier, key: r.key });
  }
  if (receivers.length === 0 || receivers.length > 0xffffffff) {
    throw new SaltpackError('bad_receivers', 'signcryption needs at least one receiver');
  }
  return receivers;
}

/**
 * A TransformStream from plaintext to a signcrypted message.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options, through the stream.
 */
export function createSigncryptStream(
  options: SigncryptOptions,
): TransformStream<Uint8Array, Uint8Array> {
  let backend: CryptoBackend;
  let headerHash: Uint8Array;
  let payloadKey: Uint8Array;
  const signer = options.signer ?? null;
  return createSealStream({
    legacyTerminator: false,
    async header() {
      backend = options.backend ?? (await defaultBackend());
      let receivers = prepareReceivers(options);
      const random = options.random ?? backend;
      payloadKey = random.randomBytes(32);
      const ephemeral = boxKeyFromSecret(backend, random.randomBytes(32));
      if (!options.preserveRecipientOrder) receivers = shuffle(random, receivers);
      let signerKey: Uint8Array = new Uint8Array(32); // anonymous: all zeros, so anonymity does not leak
      if (signer) {
        if (!(signer.publicKey instanceof Uint8Array) || signer.publicKey.length !== 32) {
          throw new SaltpackError('invalid_parameter', 'signer public key must be 32 bytes');
        }
        signerKey = signer.publicKey;
      }
      const entries = await Promise.all(
        receivers.map(async (r, i) => {
          if (r.kind === 'symmetric') {
            const derived = symmetricDerivedKey(backend, ephemeral.publicKey, r.key);
            return [
              r.identifier,
              backend.secretboxSeal(payloadKey, signcryptionKeyBoxNonce(i), derived),
            ];
          }
          const derived = boxTail(
            await ephemeral.box(r.publicKey, DERIVED_SBOX_KEY_NONCE, ZERO_32),
          );
          return [
            boxReceiverIdentifier(backend, derived, i),
            backend.secretboxSeal(payloadKey, signcryptionKeyBoxNonce(i), derived),
          ];
        }),
      );
      const h = encodeHeader(backend, VERSION_2, MODE.signcryption, [
        ephemeral.publicKey,
        backend.secretboxSeal(signerKey, SENDER_KEY_SBOX_NONCE, payloadKey),
        entries,
      ]);
      headerHash = h.hash;
      return h.wire;
    },
    async packet(chunk, k, final) {
      const nonce = signcryptionPayloadNonce(headerHash, k, final);
      const signature = signer
        ? await signer.sign(
            concatBytes(
              SIGNCRYPTION_SIGNATURE_PREFIX,
              headerHash,
              nonce,
              Uint8Array.of(final ? 1 : 0),
              backend.sha512(chunk),
            ),
          )
        : new Uint8Array(64);
      const box = backend.secretboxSeal(concatBytes(signature, chunk), nonce, payloadKey);
      return [Uint8Array.of(0x92), binHeader(box.length), box, Uint8Array.of(boolByte(final))];
    },
  });
}

/**
 * Signcrypts `plaintext`; a thin wrapper over {@link createSigncryptStream}.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on bad options.
 */
export function signcrypt(plaintext: Uint8Array, options: SigncryptOptions): Promise<Uint8Array> {
  return runThrough(createSigncryptStream(options), plaintext);
}

/** Who signcrypted a message and how we opened it. */
export interface SigncryptInfo {
  version: Version;
  /** The signer's Ed25519 key, or `null` for an anonymous signer. */
  signerPublicKey: Uint8Array | null;
  /** Position of the receiver entry used. */
  receiverIndex: number;
  /** Which kind of our keys opened it. */
  receiverKind: 'box' | 'symmetric';
  /** The box public key (box receivers) or identifier (symmetric receivers) that matched. */
  receiverId: Uint8Array;
}

/** Options of {@link signcryptOpen} and {@link createSigncryptOpenStream}. */
export interface SigncryptOpenOptions {
  /** Box keys to try (every key is tried against every entry, as identifiers are opaque). */
  keyring?: BoxKeyring;
  /** Resolver for symmetric-key receivers. */
  symmetricResolver?: SymmetricKeyResolver;
  /** Decides which signers to accept; absent → all. */
  signingKeyring?: SigningKeyring;
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
}

/** An opening transform plus the signer information once the header is read. */
export interface SigncryptOpenStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  info: Promise<SigncryptInfo>;
}

async function findKey(
  backend: CryptoBackend,
  ephemeral: Uint8Array,
  entries: { identifier: Uint8Array; box: Uint8Array }[],
  options: SigncryptOpenOptions,
): Promise<{ payloadKey: Uint8Array; index: number; kind: 'box' | 'symmetric'; id: Uint8Array }> {
  // Box keys first (§6 step 2): the derived key does not depend on the index, the identifier does.
  const keys: readonly BoxSecretKey[] = options.keyring
    ? await options.keyring.allBoxSecretKeys()
    : [];
  for (const key of keys) {
    const derived = boxTail(await key.box(ephemeral, DERIVED_SBOX_KEY_NONCE, ZERO_32)).slice();
    for (let i = 0; i < entries.length; i++) {
      if (constantTimeEqual(boxReceiverIdentifier(backend, derived, i), entries[i]!.identifier)) {
        const payloadKey = backend.secretboxOpen(
          entries[i]!.box,
          signcryptionKeyBoxNonce(i),
          derived,
        );
        if (!payloadKey)
          throw new SaltpackError(
            'decryption_failed',
            'decryption failed: payload key box did not open',
          );
        return { payloadKey, index: i, kind: 'box', id: key.publicKey };
      }
    }
  }
  // Then symmetric keys (step 3).
  if (options.symmetricResolver) {
    const resolved = await options.symmetricResolver.resolveKeys(entries.map((e) => e.identifier));
    if (resolved.length !== entries.length) {
      throw new SaltpackError(
        'wrong_number_of_keys',
        'symmetric key resolver returned the wrong number of keys',
      );
    }
    const i = resolved.findIndex((k) => k !== null);
    if (i >= 0) {
      const key = resolved[i]!;
      if (key.length !== 32)
        throw new SaltpackError('bad_symmetric_key', 'symmetric key must be 32 bytes');
      const derived = symmetricDerivedKey(backend, ephemeral, key);
      const payloadKey = backend.secretboxOpen(
        entries[i]!.box,
        signcryptionKeyBoxNonce(i),
        derived,
      );
      if (!payloadKey)
        throw new SaltpackError(
          'decryption_failed',
          'decryption failed: payload key box did not open',
        );
      return { payloadKey, index: i, kind: 'symmetric', id: entries[i]!.identifier };
    }
  }
  throw new SaltpackError('no_decryption_key', 'no decryption key found for message');
}

/**
 * A TransformStream from a signcrypted message to its plaintext; each chunk is released only
 * after it decrypts and its signature verifies.
 */
export function createSigncryptOpenStream(options: SigncryptOpenOptions): SigncryptOpenStream {
  let backend: CryptoBackend;
  let headerHash: Uint8Array;
  let payloadKey: Uint8Array;
  let signerKey: Uint8Array | null;
  const pendingInfo = deferred<SigncryptInfo>();
  const info = pendingInfo.promise;
  const transform = createOpenStream({
    async header(object) {
      backend = options.backend ?? (await defaultBackend());
      const header = decodeHeader(backend, object);
      checkMode(header, MODE.signcryption);
      checkMajor(header, [2]);
      const ephemeral = fieldBytes(header.fields[0], 'ephemeral key');
      if (ephemeral.length !== 32)
        throw new SaltpackError('bad_ephemeral_key', 'ephemeral key must be 32 bytes');
      const senderSecretbox = fieldBytes(header.fields[1], 'sender secretbox');
      const entries = fieldList(header.fields[2], 'recipients').map((e) => {
        const pair = fieldList(e, 'recipient');
        return {
          identifier: fieldBytes(pair[0], 'receiver identifier'),
          box: fieldBytes(pair[1], 'payload key box'),
        };
      });
      const found = await findKey(backend, ephemeral, entries, options);
      if (found.payloadKey.length !== 32)
        throw new SaltpackError('bad_symmetric_key', 'payload key must be 32 bytes');
      payloadKey = found.payloadKey;
      const sender = backend.secretboxOpen(senderSecretbox, SENDER_KEY_SBOX_NONCE, payloadKey);
      if (!sender)
        throw new SaltpackError('bad_sender_key_secretbox', 'sender secretbox did not open');
      if (sender.length !== 32)
        throw new SaltpackError('bad_box_key', 'signer key must be 32 bytes');
      signerKey = isAllZero(sender) ? null : sender;
      if (
        signerKey &&
        options.signingKeyring?.acceptSigner &&
        !(await options.signingKeyring.acceptSigner(signerKey))
      ) {
        throw new SaltpackError('no_sender_key', 'the signer key is not accepted by the keyring');
      }
      headerHash = header.hash;
      pendingInfo.resolve({
        version: header.version,
        signerPublicKey: signerKey,
        receiverIndex: found.index,
        receiverKind: found.kind,
        receiverId: found.id,
      });
    },
    packet(object, k): ParsedPacket {
      const seqno = k + 1;
      const list = decodePacketList(object, seqno);
      const [boxValue, flag] = list;
      if (typeof flag !== 'boolean') throw badPacket(seqno, 'final flag is not a boolean');
      if (boxValue !== null && boxValue !== undefined && !(boxValue instanceof Uint8Array)) {
        throw badPacket(seqno, 'signcrypted chunk is not bytes');
      }
      const nonce = signcryptionPayloadNonce(headerHash, k, flag);
      const opened = backend.secretboxOpen(boxValue ?? new Uint8Array(0), nonce, payloadKey);
      if (!opened || opened.length < 64) throw badCiphertext(seqno);
      const signature = opened.subarray(0, 64);
      const chunk = opened.subarray(64);
      if (signerKey) {
        const input = concatBytes(
          SIGNCRYPTION_SIGNATURE_PREFIX,
          headerHash,
          nonce,
          Uint8Array.of(flag ? 1 : 0),
          backend.sha512(chunk),
        );
        if (!backend.ed25519Verify(signature, input, signerKey)) throw badSignature(seqno);
      }
      if (chunk.length === 0 && !(k === 0 && flag)) {
        throw new SaltpackError(
          'unexpected_empty_block',
          `in packet ${seqno}: unexpected empty payload chunk`,
          {
            packetSeqno: seqno,
          },
        );
      }
      return { final: flag, output: chunk };
    },
    fail: pendingInfo.reject,
  });
  return { readable: transform.readable, writable: transform.writable, info };
}

/**
 * Opens a whole signcrypted message. Returns nothing unless every chunk verifies.
 *
 * @throws SaltpackError `SALTPACK_NO_DECRYPTION_KEY`, `SALTPACK_AUTHENTICATION_FAILED`,
 *   `SALTPACK_BAD_SIGNATURE`, `SALTPACK_TRUNCATED`, `SALTPACK_MALFORMED` or
 *   `SALTPACK_UNKNOWN_SENDER`.
 */
export async function signcryptOpen(
  message: Uint8Array,
  options: SigncryptOpenOptions,
): Promise<{ plaintext: Uint8Array; info: SigncryptInfo }> {
  const stream = createSigncryptOpenStream(options);
  const plaintext = await runThrough(stream, message);
  return { plaintext, info: await stream.info };
}
