/**
 * The two stream skeletons every mode is built on: a sealing transform that cuts plaintext into
 * 1 MiB chunks with Saltpack's "hold back until more arrives" rule, and an opening transform
 * that frames msgpack objects, enforces the end-of-message rules and releases a chunk only once
 * its crypto has succeeded. Packet work may be asynchronous (a worker pool), so both keep a
 * small window of in-flight packets and emit results strictly in order.
 */
import { CHUNK_SIZE, LIMITS } from '../constants.js';
import { badPacket, SaltpackError, trailingGarbage, truncated } from '../errors.js';
import { MsgpackError } from '../msgpack.js';
import { ObjectFramer } from './framer.js';

/** Output bytes of one packet, possibly still being computed. */
export type PacketOutput =
  Uint8Array | readonly Uint8Array[] | Promise<Uint8Array | readonly Uint8Array[]>;

/** Spare bytes before each plaintext chunk: room for the secretbox tag. */
const HEADROOM = 16;

/** How many packets may be in flight at once: bounds memory to a few MiB. */
const WINDOW = 4;

class OrderedWindow {
  private readonly queue: Promise<Uint8Array | readonly Uint8Array[]>[] = [];
  private readonly emit: (part: Uint8Array) => void;
  constructor(emit: (part: Uint8Array) => void) {
    this.emit = emit;
  }
  private write(out: Uint8Array | readonly Uint8Array[]): void {
    if (out instanceof Uint8Array) {
      if (out.length > 0) this.emit(out);
    } else for (const p of out) if (p.length > 0) this.emit(p);
  }
  async add(out: PacketOutput): Promise<void> {
    if (!(out instanceof Promise) && this.queue.length === 0) {
      this.write(out);
      return;
    }
    const queued = Promise.resolve(out);
    // A packet may fail before anyone awaits it; its error is reported in order by drainOne.
    queued.catch(() => undefined);
    this.queue.push(queued);
    if (this.queue.length >= WINDOW) await this.drainOne();
  }
  private async drainOne(): Promise<void> {
    const p = this.queue.shift();
    if (!p) return;
    let out: Uint8Array | readonly Uint8Array[];
    try {
      out = await p;
    } catch (e) {
      // The earliest failure wins: later packets are dropped unseen, as a sequential reader
      // would never have reached them.
      await this.abandon();
      throw e;
    }
    this.write(out);
  }
  async drain(): Promise<void> {
    while (this.queue.length > 0) await this.drainOne();
  }
  /** Settles everything in flight (so no rejection goes unhandled) without emitting. */
  async abandon(): Promise<void> {
    const rest = this.queue.splice(0);
    await Promise.allSettled(rest);
  }
}

/** What a sealing mode supplies to {@link createSealStream}. */
export interface SealDriver {
  /** The header's wire bytes; called once, before any packet. */
  header(): Promise<Uint8Array> | Uint8Array;
  /** Seals chunk `k` (0-based). The chunk buffer is owned by the driver from here on. */
  packet(chunk: Uint8Array, k: number, final: boolean): PacketOutput;
  /** Version 1: no final flag; the message ends with an extra empty packet (§4). */
  legacyTerminator: boolean;
}

/**
 * A TransformStream that seals plaintext chunk by chunk.
 */
export function createSealStream(driver: SealDriver): TransformStream<Uint8Array, Uint8Array> {
  // Each chunk buffer has 16 bytes of headroom so an engine can secretbox it in place (the box
  // is the chunk plus a 16-byte tag in front), avoiding a second 1 MiB allocation per chunk.
  const fresh = (): Uint8Array => new Uint8Array(CHUNK_SIZE + HEADROOM).subarray(HEADROOM);
  let pending = fresh();
  let filled = 0;
  let k = 0;
  let window: OrderedWindow;
  const emitPending = async (final: boolean): Promise<void> => {
    const chunk = filled === CHUNK_SIZE ? pending : pending.subarray(0, filled);
    pending = fresh();
    filled = 0;
    await window.add(driver.packet(chunk, k++, final));
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    async start(controller) {
      window = new OrderedWindow((p) => {
        controller.enqueue(p);
      });
      controller.enqueue(await driver.header());
    },
    async transform(input) {
      let off = 0;
      while (off < input.length) {
        // A full chunk is only sealed once more data shows it is not the last one (§2).
        if (filled === CHUNK_SIZE) await emitPending(false);
        const n = Math.min(CHUNK_SIZE - filled, input.length - off);
        pending.set(input.subarray(off, off + n), filled);
        filled += n;
        off += n;
      }
    },
    async flush() {
      try {
        if (driver.legacyTerminator) {
          if (filled > 0) await emitPending(false);
          await emitPending(true);
        } else {
          await emitPending(true);
        }
        await window.drain();
      } catch (e) {
        await window.abandon();
        throw e;
      }
    },
  });
}

/** The result of parsing one payload packet. */
export interface ParsedPacket {
  final: boolean;
  /** The released plaintext (once authenticated); may be asynchronous. */
  output: PacketOutput;
}

/** What an opening mode supplies to {@link createOpenStream}. */
export interface OpenDriver {
  /** Processes the header object (raw bytes of the first msgpack object). */
  header(object: Uint8Array): Promise<void>;
  /** Parses payload packet `k` (0-based) and starts its crypto. Throws coded errors. */
  packet(object: Uint8Array, k: number): ParsedPacket;
  /** Told of the error that ends the stream (e.g. to reject a pending header promise). */
  fail?(error: unknown): void;
}

/**
 * A TransformStream that opens a binary message: header first, then packets, then nothing.
 * Errors are SaltpackErrors; bytes are released only for packets that authenticated.
 */
export function createOpenStream(driver: OpenDriver): TransformStream<Uint8Array, Uint8Array> {
  const framer = new ObjectFramer();
  let headerDone = false;
  let finalSeen = false;
  let k = 0;
  let window: OrderedWindow;

  const pump = async (): Promise<void> => {
    for (;;) {
      if (finalSeen) {
        if (framer.buffered > 0) throw trailingGarbage();
        return;
      }
      let obj: Uint8Array | null;
      try {
        obj = framer.next(headerDone ? LIMITS.maxPacketBytes : LIMITS.maxHeaderBytes);
      } catch (cause) {
        if (!(cause instanceof MsgpackError)) throw cause;
        if (!headerDone)
          throw new SaltpackError(
            'failed_to_read_header_bytes',
            'failed to read header bytes',
            {},
            { cause },
          );
        throw badPacket(k + 1, 'malformed packet');
      }
      if (obj === null) return;
      if (!headerDone) {
        await driver.header(obj);
        headerDone = true;
        continue;
      }
      const parsed = driver.packet(obj, k);
      k++;
      finalSeen = parsed.final;
      await window.add(parsed.output);
    }
  };

  // An earlier packet's failure is reported first, as a sequential reader would; the driver
  // hears of whichever error ends the stream.
  const earliestError = async (e: unknown): Promise<unknown> => {
    let error = e;
    try {
      await window.drain();
    } catch (earlier) {
      error = earlier;
    }
    driver.fail?.(error);
    return error;
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      window = new OrderedWindow((p) => {
        controller.enqueue(p);
      });
    },
    async transform(input) {
      framer.push(input);
      try {
        await pump();
      } catch (e) {
        throw await earliestError(e);
      }
    },
    async flush() {
      try {
        await pump();
        if (!headerDone) {
          throw new SaltpackError('failed_to_read_header_bytes', 'failed to read header bytes');
        }
        await window.drain();
        if (!finalSeen) throw truncated();
      } catch (e) {
        throw await earliestError(e);
      }
    },
  });
}

/** Reads a whole stream into one buffer. */
export async function collect(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A stream that yields one buffer and ends. */
export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Pipes one buffer through a transform and collects the result (the one-shot wrappers). */
export function runThrough(
  transform: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  input: Uint8Array,
): Promise<Uint8Array> {
  const done = collect(transform.readable);
  // Errors surface through `done`; the write side's rejection is the same error.
  streamOf(input)
    .pipeTo(transform.writable)
    .catch(() => undefined);
  return done;
}
