/**
 * Decryption, versions 2 and 1 (specs/saltpack.md §3.5, §4), mirroring the reference reader:
 * visible recipients first, then hidden ones; each chunk released only after its authenticator
 * and secretbox check out.
 */
import { defaultBackend } from './backend/index.js';
import type { CryptoBackend } from './backend/types.js';
import { MODE, SENDER_KEY_SBOX_NONCE } from './constants.js';
import type { Version } from './constants.js';
import { badCiphertext, badPacket, badTag, SaltpackError } from './errors.js';
import {
  checkMajor,
  checkMode,
  decodeHeader,
  fieldBytes,
  fieldList,
  decodePacketList,
} from './header.js';
import { bytesEqual, constantTimeEqual } from './internal/bytes.js';
import { boxMany, boxTail, ZERO_32 } from './internal/keyops.js';
import { deferred } from './internal/deferred.js';
import { createOpenStream, runThrough } from './internal/streams.js';
import type { ParsedPacket } from './internal/streams.js';
import type { BoxKeyring, BoxSecretKey } from './keyring.js';
import type { PayloadEngine } from './engine.js';
import { concatBytes } from './internal/bytes.js';
import type { MsgpackValue } from './msgpack.js';
import { macKeyNonces, macKeyNonceV1, payloadKeyBoxNonce, payloadNonce } from './nonce.js';

/** Who sent a message and which of our keys opened it (Go's `MessageKeyInfo`). */
export interface MessageKeyInfo {
  /** The message version. */
  version: Version;
  /** The sender's X25519 public key; the ephemeral key when the sender is anonymous. */
  senderPublicKey: Uint8Array;
  /** True when the sender key equals the ephemeral key (no sender identity). */
  senderIsAnonymous: boolean;
  /** Our public key that opened the message. */
  receiverPublicKey: Uint8Array;
  /** Position of the recipient entry used, in header order. */
  receiverIndex: number;
  /** True when found among hidden (anonymous) entries. */
  receiverIsHidden: boolean;
  /** Visible recipient keys in header order (not authenticated). */
  namedReceivers: Uint8Array[];
  /** Number of hidden entries (not authenticated). */
  anonymousReceiverCount: number;
}

/** Options of {@link decrypt} and {@link createDecryptStream}. */
export interface DecryptOptions {
  /** The keys we may decrypt with. */
  keyring: BoxKeyring;
  /** Accepted major versions (default 1 and 2). */
  majorVersions?: readonly number[];
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
  /** Where chunks are opened (as for encryption); in this thread by default. */
  engine?: PayloadEngine;
}

/** A decrypting transform plus the sender/receiver information once the header is read. */
export interface DecryptStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Resolves after the header is processed; rejects with the header's error. */
  info: Promise<MessageKeyInfo>;
}

interface Recipient {
  publicKey: Uint8Array; // empty when hidden
  box: Uint8Array;
}

function parseRecipients(v: MsgpackValue | undefined): Recipient[] {
  return fieldList(v, 'recipients').map((entry) => {
    const pair = fieldList(entry, 'recipient');
    return {
      publicKey: fieldBytes(pair[0], 'recipient key'),
      box: fieldBytes(pair[1], 'payload key box'),
    };
  });
}

async function findPayloadKey(
  recipients: Recipient[],
  ephemeral: Uint8Array,
  major: number,
  keyring: BoxKeyring,
): Promise<{ index: number; key: BoxSecretKey; payloadKey: Uint8Array; hidden: boolean }> {
  // Visible recipients first (§3.5 step 3); no fallback to hidden entries on failure.
  const visible: number[] = [];
  recipients.forEach((r, i) => {
    if (r.publicKey.length > 0) visible.push(i);
  });
  if (visible.length > 0) {
    const found = await keyring.lookupBoxSecretKey(visible.map((i) => recipients[i]!.publicKey));
    if (found) {
      const index = visible[found.index];
      if (index === undefined)
        throw new SaltpackError('invalid_parameter', 'keyring returned an index out of range');
      const payloadKey = await found.key.unbox(
        ephemeral,
        payloadKeyBoxNonce(major, index),
        recipients[index]!.box,
      );
      if (!payloadKey)
        throw new SaltpackError(
          'decryption_failed',
          'decryption failed: payload key box did not open',
        );
      return { index, key: found.key, payloadKey, hidden: false };
    }
  }
  // Hidden recipients (step 4): try every key against every nil entry.
  const hidden: number[] = [];
  recipients.forEach((r, i) => {
    if (r.publicKey.length === 0) hidden.push(i);
  });
  if (hidden.length > 0) {
    for (const key of await keyring.allBoxSecretKeys()) {
      // All trials of one key at once: a keystore in another process batches them into one
      // round trip instead of one per hidden entry.
      const opened = await Promise.all(
        hidden.map(async (i) =>
          key.unbox(ephemeral, payloadKeyBoxNonce(major, i), recipients[i]!.box),
        ),
      );
      const at = opened.findIndex((p) => p !== null);
      if (at >= 0) return { index: hidden[at]!, key, payloadKey: opened[at]!, hidden: true };
    }
  }
  throw new SaltpackError('no_decryption_key', 'no decryption key found for message');
}

/** What opening needs once the header is read (internal: also used by `node/pipeline.ts`). */
export interface OpenState {
  major: number;
  headerHash: Uint8Array;
  payloadKey: Uint8Array;
  macKey: Uint8Array;
  index: number;
}

/** Reads the header (§3.5); internal, also used by `node/pipeline.ts`. */
export async function openHeader(
  backend: CryptoBackend,
  object: Uint8Array,
  options: DecryptOptions,
): Promise<{ state: OpenState; info: MessageKeyInfo }> {
  const header = decodeHeader(backend, object);
  checkMode(header, MODE.encryption);
  checkMajor(header, options.majorVersions ?? [1, 2]);
  const major = header.version[0];
  const ephemeral = fieldBytes(header.fields[0], 'ephemeral key');
  if (ephemeral.length !== 32)
    throw new SaltpackError('bad_ephemeral_key', 'ephemeral key must be 32 bytes');
  const senderSecretbox = fieldBytes(header.fields[1], 'sender secretbox');
  const recipients = parseRecipients(header.fields[2]);

  const found = await findPayloadKey(recipients, ephemeral, major, options.keyring);
  if (found.payloadKey.length !== 32)
    throw new SaltpackError('bad_symmetric_key', 'payload key must be 32 bytes');
  const senderPublicKey = backend.secretboxOpen(
    senderSecretbox,
    SENDER_KEY_SBOX_NONCE,
    found.payloadKey,
  );
  if (!senderPublicKey)
    throw new SaltpackError('bad_sender_key_secretbox', 'sender secretbox did not open');
  if (senderPublicKey.length !== 32)
    throw new SaltpackError('bad_box_key', 'sender key must be 32 bytes');
  const senderIsAnonymous = bytesEqual(senderPublicKey, ephemeral);
  if (
    !senderIsAnonymous &&
    options.keyring.acceptSender &&
    !(await options.keyring.acceptSender(senderPublicKey))
  ) {
    throw new SaltpackError('no_sender_key', 'the sender key is not accepted by the keyring');
  }

  let macKey: Uint8Array;
  if (major === 1) {
    const [box] = await boxMany(found.key, [
      { peer: senderPublicKey, nonce: macKeyNonceV1(header.hash), plaintext: ZERO_32 },
    ]);
    macKey = boxTail(box!).slice();
  } else {
    const nonces = macKeyNonces(header.hash, found.index);
    const [a, b] = await boxMany(found.key, [
      { peer: senderPublicKey, nonce: nonces.sender, plaintext: ZERO_32 },
      { peer: ephemeral, nonce: nonces.ephemeral, plaintext: ZERO_32 },
    ]);
    macKey = backend.sha512(boxTail(a!), boxTail(b!)).slice(0, 32);
  }
  return {
    state: {
      major,
      headerHash: header.hash,
      payloadKey: found.payloadKey,
      macKey,
      index: found.index,
    },
    info: {
      version: header.version,
      senderPublicKey,
      senderIsAnonymous,
      receiverPublicKey: found.key.publicKey,
      receiverIndex: found.index,
      receiverIsHidden: found.hidden,
      namedReceivers: recipients.filter((r) => r.publicKey.length > 0).map((r) => r.publicKey),
      anonymousReceiverCount: recipients.filter((r) => r.publicKey.length === 0).length,
    },
  };
}

/** A payload packet's fields, parsed and checked for shape (§3.3, §4). */
export interface PayloadPacket {
  seqno: number;
  k: number;
  final: boolean;
  /** The payload secretbox: a view into the packet's bytes, valid only as long as they are. */
  box: Uint8Array;
  /** Our authenticator, copied out of the packet. */
  expected: Uint8Array;
  nonce: Uint8Array;
}

/**
 * Parses payload packet `k` (0-based); internal, also used by `node/pipeline.ts`.
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` for a packet of the wrong shape.
 */
export function parsePayloadPacket(s: OpenState, object: Uint8Array, k: number): PayloadPacket {
  const seqno = k + 1;
  const list = decodePacketList(object, seqno);
  let final: boolean;
  let authsValue: MsgpackValue | undefined;
  let boxValue: MsgpackValue | undefined;
  if (s.major === 1) {
    [authsValue, boxValue] = list;
    final = false;
  } else {
    const flag = list[0];
    if (typeof flag !== 'boolean') throw badPacket(seqno, 'final flag is not a boolean');
    final = flag;
    [, authsValue, boxValue] = list;
  }
  if (!Array.isArray(authsValue)) throw badPacket(seqno, 'authenticators are not a list');
  if (boxValue !== null && boxValue !== undefined && !(boxValue instanceof Uint8Array)) {
    throw badPacket(seqno, 'payload secretbox is not bytes');
  }
  const box = boxValue ?? new Uint8Array(0);
  // Go indexes the list without a bounds check and panics; we refuse (§3.3).
  const own = authsValue[s.index];
  if (own === undefined) throw badPacket(seqno, 'too few authenticators');
  if (!(own instanceof Uint8Array)) throw badPacket(seqno, 'authenticator is not bytes');
  if (s.major === 1) final = box.length === 16; // v1: an empty chunk ends the message (§4)
  // The packet's bytes are reused once the caller moves on: the authenticator is copied.
  return { seqno, k, final, box, expected: own.slice(), nonce: payloadNonce(k) };
}

/** The payload hash's prefix: header hash ‖ nonce ‖ (v2: final byte) (§3.3, §4). */
export function payloadHashPrefix(s: OpenState, p: PayloadPacket): Uint8Array {
  return s.major === 1
    ? concatBytes(s.headerHash, p.nonce)
    : concatBytes(s.headerHash, p.nonce, Uint8Array.of(p.final ? 1 : 0));
}

/**
 * Checks an opened chunk: the authenticator over `hash` first, as the reference does (§3.3),
 * then the secretbox, then the empty-chunk rule. Returns the plaintext.
 *
 * @throws SaltpackError `SALTPACK_AUTHENTICATION_FAILED` or `SALTPACK_MALFORMED`.
 */
export function checkOpenedChunk(
  backend: CryptoBackend,
  s: OpenState,
  p: PayloadPacket,
  hash: Uint8Array,
  plaintext: Uint8Array | null,
): Uint8Array {
  if (!constantTimeEqual(backend.hmacSha512Trunc32(s.macKey, hash), p.expected))
    throw badTag(p.seqno);
  if (!plaintext) throw badCiphertext(p.seqno);
  if (s.major !== 1 && plaintext.length === 0 && !(p.k === 0 && p.final)) {
    throw new SaltpackError(
      'unexpected_empty_block',
      `in packet ${p.seqno}: unexpected empty payload chunk`,
      {
        packetSeqno: p.seqno,
      },
    );
  }
  return plaintext;
}

function openPacket(
  backend: CryptoBackend,
  s: OpenState,
  object: Uint8Array,
  k: number,
  engine: PayloadEngine | undefined,
): ParsedPacket {
  const p = parsePayloadPacket(s, object, k);
  const prefix = payloadHashPrefix(s, p);
  if (engine) {
    return {
      final: p.final,
      output: engine
        .openChunk(s.payloadKey, p.nonce, p.box, prefix)
        .then((r) => checkOpenedChunk(backend, s, p, r.hash, r.plaintext)),
    };
  }
  const hash = backend.sha512(prefix, p.box);
  // The authenticator before the secretbox is even opened (§3.3).
  if (!constantTimeEqual(backend.hmacSha512Trunc32(s.macKey, hash), p.expected))
    throw badTag(p.seqno);
  return {
    final: p.final,
    output: checkOpenedChunk(
      backend,
      s,
      p,
      hash,
      backend.secretboxOpen(p.box, p.nonce, s.payloadKey),
    ),
  };
}

/**
 * A TransformStream from a binary encrypted message to its plaintext. Each chunk is released
 * only after it authenticates; on error, chunks already released must be discarded by the
 * caller (use {@link decrypt} to get all or nothing).
 */
export function createDecryptStream(options: DecryptOptions): DecryptStream {
  let backend: CryptoBackend;
  let state: OpenState;
  const pendingInfo = deferred<MessageKeyInfo>();
  const info = pendingInfo.promise;
  const transform = createOpenStream({
    async header(object) {
      backend = options.backend ?? (await defaultBackend());
      const opened = await openHeader(backend, object, options);
      state = opened.state;
      pendingInfo.resolve(opened.info);
    },
    packet: (object, k) => openPacket(backend, state, object, k, options.engine),
    fail: pendingInfo.reject,
  });
  return { readable: transform.readable, writable: transform.writable, info };
}

/**
 * Decrypts a whole binary message. Returns nothing unless every packet authenticates.
 *
 * @throws SaltpackError `SALTPACK_NO_DECRYPTION_KEY`, `SALTPACK_AUTHENTICATION_FAILED`,
 *   `SALTPACK_TRUNCATED`, `SALTPACK_MALFORMED` or `SALTPACK_UNKNOWN_SENDER`.
 */
export async function decrypt(
  message: Uint8Array,
  options: DecryptOptions,
): Promise<{ plaintext: Uint8Array; info: MessageKeyInfo }> {
  const stream = createDecryptStream(options);
  const plaintext = await runThrough(stream, message);
  return { plaintext, info: await stream.info };
}
