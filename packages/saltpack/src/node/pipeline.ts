/**
 * Bulk encryption and decryption pipelines for Node (`@saltbox/saltpack/node`): the same bytes
 * as {@link createEncryptStream} / {@link createDecryptStream}, built for large files on a
 * machine with few cores.
 *
 * - **Both cores busy**: SHA-512 of each chunk (about two thirds of the work) runs on Node's
 *   libuv thread pool through WebCrypto's `digest`; secretbox runs on this thread, in place.
 *   Up to `inFlight` chunks are in the pool at once, so they finish out of order; packets are
 *   written strictly in order, each as soon as it and every earlier one are done.
 * - **Flat memory**: a fixed ring of `inFlight + 1` chunk slots, allocated once. A slot holds
 *   hash prefix ‖ tag ‖ chunk, so sealing and opening happen in place and the pool hashes one
 *   contiguous buffer; a slot is reused only after the sink has written its packet. Nothing of
 *   chunk size is allocated per chunk, so there is no garbage for V8 to collect late — the web
 *   streams' fresh 1 MiB buffers per chunk are what kept their peak RSS 50–60 MiB above the
 *   live data (README, Benchmark).
 * - **Same guarantees**: a chunk is written only after its authenticator and secretbox check
 *   out; the earliest failure is the one reported, as a sequential reader would report it;
 *   truncation, trailing data and every malformed packet give the codes the streams give (the
 *   parsing and checks are the same functions).
 *
 * @packageDocumentation
 */
import { webcrypto } from 'node:crypto';
import { defaultBackend } from '../backend/index.js';
import { loadSodiumNative } from '../backend/native.js';
import type { CryptoBackend } from '../backend/types.js';
import { CHUNK_SIZE, LIMITS } from '../constants.js';
import { checkOpenedChunk, openHeader, parsePayloadPacket, payloadHashPrefix } from '../decrypt.js';
import type { DecryptOptions, MessageKeyInfo, OpenState } from '../decrypt.js';
import { buildHeader, packetParts } from '../encrypt.js';
import type { EncryptOptions } from '../encrypt.js';
import { badPacket, SaltpackError, trailingGarbage, truncated } from '../errors.js';
import { ObjectFramer } from '../internal/framer.js';
import { MsgpackError } from '../msgpack.js';
import { payloadNonce } from '../nonce.js';

/** Where a pipeline writes. */
export interface PipelineSink {
  /**
   * Writes all of `parts`, in order. The pipeline reuses the parts' memory once the returned
   * promise settles, so a sink that keeps bytes must copy them.
   */
  write(parts: readonly Uint8Array[]): Promise<void>;
}

/** Options of the pipelines, besides the mode's own. */
export interface PipelineOptions {
  /** Chunks being hashed at once (default 4, at least 1); memory is about this many MiB. */
  inFlight?: number;
  /**
   * Called with each piece read from the source once its bytes are copied, so a reader that
   * owns the piece may reuse its buffer.
   */
  recycleInput?: (piece: Uint8Array) => void;
}

/** Default of {@link PipelineOptions.inFlight}. */
export const PIPELINE_IN_FLIGHT = 4;

/** Room for the longest hash prefix: header hash (64) ‖ nonce (24) ‖ final byte (§3.3). */
const PREFIX_ROOM = 64 + 24 + 1;
const TAG = 16;

/** SHA-512 of `bytes` on the thread pool; `digest` has copied `bytes` when this returns. */
function hashOnPool(bytes: Uint8Array): Promise<Uint8Array> {
  return webcrypto.subtle.digest('SHA-512', bytes).then(
    (d) => new Uint8Array(d),
    (cause: unknown) => {
      throw new SaltpackError('backend_unavailable', 'a thread-pool hash failed', {}, { cause });
    },
  );
}

function sodium(): ReturnType<typeof loadSodiumNative> {
  try {
    return loadSodiumNative();
  } catch (cause) {
    throw new SaltpackError(
      'backend_unavailable',
      'the bulk pipeline needs sodium-native',
      {},
      { cause },
    );
  }
}

/**
 * A fixed set of slots and the in-order writer: work is submitted with its slot, written in
 * submission order once it resolves, and the slot is free again after the sink wrote it. The
 * first failure in order ends the lane; `take` and `drain` then reject with it.
 */
class OrderedLane {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  private readonly free: Uint8Array[];
  private readonly waiting: { resolve: (s: Uint8Array) => void; reject: (e: unknown) => void }[] =
    [];
  private readonly sink: PipelineSink;

  constructor(slots: Uint8Array[], sink: PipelineSink) {
    this.free = slots;
    this.sink = sink;
  }

  /** A free slot, waiting for a write to finish when all are in use (the back-pressure). */
  async take(): Promise<Uint8Array> {
    if (this.failure) throw this.failure.error;
    const slot = this.free.pop();
    if (slot) return slot;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private give(slot: Uint8Array): void {
    const w = this.waiting.shift();
    if (w) w.resolve(slot);
    else this.free.push(slot);
  }

  /** Queues `work`'s parts for writing after everything submitted before. */
  submit(slot: Uint8Array | null, work: Promise<readonly Uint8Array[]>): void {
    // A chunk may fail before its turn; it is reported in order, by the chain below.
    work.catch(() => undefined);
    this.tail = this.tail.then(async () => {
      const parts = await work;
      await this.sink.write(parts);
      if (slot) this.give(slot);
    });
    this.tail.catch((error: unknown) => {
      if (this.failure) return;
      this.failure = { error };
      for (const w of this.waiting.splice(0)) w.reject(error);
    });
  }

  /** Resolves once everything submitted is written; rejects with the earliest failure. */
  drain(): Promise<void> {
    return this.tail;
  }
}

/** Reports `error`, unless a packet before it failed: that one is what a sequential reader saw. */
async function earliest(lane: OrderedLane, error: unknown): Promise<unknown> {
  try {
    await lane.drain();
  } catch (earlier) {
    return earlier;
  }
  return error;
}

/**
 * Encrypts everything `source` yields into `sink`: the same message as
 * {@link createEncryptStream} with the same options, with constant memory and both cores busy.
 *
 * @throws SaltpackError as {@link createEncryptStream}; `SALTPACK_BACKEND_UNAVAILABLE` without
 *   sodium-native; the source's and the sink's own errors, unchanged.
 */
export async function encryptPipeline(
  source: ReadableStream<Uint8Array>,
  sink: PipelineSink,
  options: EncryptOptions & PipelineOptions,
): Promise<void> {
  const na = sodium();
  const backend: CryptoBackend = options.backend ?? (await defaultBackend());
  const reader = source.getReader();
  try {
    const state = await buildHeader(backend, options);
    await sink.write([state.wire]);
    const inFlight = Math.max(1, options.inFlight ?? PIPELINE_IN_FLIGHT);
    const slots = Array.from(
      { length: inFlight + 1 },
      () => new Uint8Array(PREFIX_ROOM + TAG + CHUNK_SIZE),
    );
    const lane = new OrderedLane(slots, sink);
    const v1 = state.major === 1;
    const p = v1 ? 64 + 24 : PREFIX_ROOM; // this version's hash prefix length
    let k = 0;
    /** Seals the first `n` bytes of the slot's chunk in place and queues its packet. */
    const seal = (slot: Uint8Array, n: number, final: boolean): void => {
      const nonce = payloadNonce(k++);
      const box = slot.subarray(p, p + TAG + n);
      // In place: the chunk already sits behind the tag's room (§3.3).
      na.crypto_secretbox_easy(box, slot.subarray(p + TAG, p + TAG + n), nonce, state.payloadKey);
      slot.set(state.headerHash, 0);
      slot.set(nonce, 64);
      if (!v1) slot[88] = final ? 1 : 0;
      const parts = hashOnPool(slot.subarray(0, p + TAG + n)).then((hash) =>
        packetParts(backend, state, box, hash, final),
      );
      lane.submit(slot, parts);
    };
    try {
      let slot = await lane.take();
      let filled = 0;
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        const piece = r.value;
        let off = 0;
        while (off < piece.length) {
          // A full chunk is sealed only once more input shows it is not the last (§2).
          if (filled === CHUNK_SIZE) {
            seal(slot, filled, false);
            slot = await lane.take();
            filled = 0;
          }
          const n = Math.min(CHUNK_SIZE - filled, piece.length - off);
          slot.set(piece.subarray(off, off + n), p + TAG + filled);
          filled += n;
          off += n;
        }
        options.recycleInput?.(piece);
      }
      if (v1) {
        // Version 1 has no final flag: the message ends with an extra empty packet (§4).
        if (filled > 0) {
          seal(slot, filled, false);
          slot = await lane.take();
        }
        seal(slot, 0, true);
      } else {
        seal(slot, filled, true);
      }
      await lane.drain();
    } catch (e) {
      throw await earliest(lane, e);
    }
  } catch (e) {
    await reader.cancel(e).catch(() => undefined);
    throw e;
  }
}

/** Maps a framing failure to the streams' codes. */
function framingError(cause: unknown, headerDone: boolean, seqno: number): unknown {
  if (!(cause instanceof MsgpackError)) return cause;
  if (!headerDone)
    return new SaltpackError(
      'failed_to_read_header_bytes',
      'failed to read header bytes',
      {},
      { cause },
    );
  return badPacket(seqno, 'malformed packet');
}

/**
 * Decrypts the binary message `source` yields into `sink`: the plaintext
 * {@link createDecryptStream} gives, with constant memory and both cores busy. Each chunk is
 * written only after it authenticated; when this rejects, what was written must be discarded.
 *
 * @returns the sender and receiver information, once the whole message authenticated.
 * @throws SaltpackError as {@link createDecryptStream} (`SALTPACK_NO_DECRYPTION_KEY`,
 *   `SALTPACK_AUTHENTICATION_FAILED`, `SALTPACK_TRUNCATED`, `SALTPACK_MALFORMED`,
 *   `SALTPACK_UNKNOWN_SENDER`); `SALTPACK_BACKEND_UNAVAILABLE` without sodium-native; the
 *   source's and the sink's own errors, unchanged.
 */
export async function decryptPipeline(
  source: ReadableStream<Uint8Array>,
  sink: PipelineSink,
  options: DecryptOptions & PipelineOptions,
): Promise<MessageKeyInfo> {
  const na = sodium();
  const backend: CryptoBackend = options.backend ?? (await defaultBackend());
  const reader = source.getReader();
  const inFlight = Math.max(1, options.inFlight ?? PIPELINE_IN_FLIGHT);
  const capacity = PREFIX_ROOM + TAG + CHUNK_SIZE;
  const slots = Array.from({ length: inFlight }, () => new Uint8Array(capacity));
  const lane = new OrderedLane(slots, sink);
  const framer = new ObjectFramer();
  // Set by the closures below (a holder, so the compiler does not narrow them to their start).
  const got: { state: OpenState | null; info: MessageKeyInfo | null; final: boolean } = {
    state: null,
    info: null,
    final: false,
  };
  let k = 0;

  /** Opens one packet into a slot (or, for an oversized chunk, a buffer of its own). */
  const open = async (s: OpenState, object: Uint8Array): Promise<void> => {
    const packet = parsePayloadPacket(s, object, k++);
    got.final = packet.final;
    const prefix = payloadHashPrefix(s, packet);
    const p = prefix.length;
    const n = packet.box.length;
    // Chunks are 1 MiB by the format's rule, but a reader takes any size the sender chose.
    const own = p + n > capacity;
    const slot = own ? new Uint8Array(p + n) : await lane.take();
    slot.set(prefix, 0);
    slot.set(packet.box, p);
    const hash = hashOnPool(slot.subarray(0, p + n));
    // Opened in place over the copy the pool has already taken (§3.3: released only after the
    // authenticator and the secretbox both check out, below).
    const plaintext = slot.subarray(p + TAG, p + n);
    const opened =
      n >= TAG &&
      na.crypto_secretbox_open_easy(plaintext, slot.subarray(p, p + n), packet.nonce, s.payloadKey);
    const parts = hash.then((h) => [
      checkOpenedChunk(backend, s, packet, h, opened ? plaintext : null),
    ]);
    lane.submit(own ? null : slot, parts);
  };

  /** Takes every complete object the framer holds. */
  const pump = async (): Promise<void> => {
    for (;;) {
      if (got.final) {
        if (framer.buffered > 0) throw trailingGarbage();
        return;
      }
      let object: Uint8Array | null;
      try {
        object = framer.next(got.state ? LIMITS.maxPacketBytes : LIMITS.maxHeaderBytes);
      } catch (cause) {
        throw framingError(cause, got.state !== null, k + 1);
      }
      if (object === null) return;
      if (!got.state) {
        const opened = await openHeader(backend, object, options);
        got.state = opened.state;
        got.info = opened.info;
        continue;
      }
      await open(got.state, object);
    }
  };

  try {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        framer.push(r.value);
        options.recycleInput?.(r.value);
        await pump();
      }
      await pump();
      if (!got.info)
        throw new SaltpackError('failed_to_read_header_bytes', 'failed to read header bytes');
      await lane.drain();
      if (!got.final) throw truncated();
      return got.info;
    } catch (e) {
      throw await earliest(lane, e);
    }
  } catch (e) {
    await reader.cancel(e).catch(() => undefined);
    throw e;
  }
}
