/**
 * Saltpack ASCII armor (spec §8): Base62 text in 15-character words between a
 * `BEGIN … SALTPACK <type>.` header and a matching `END ….` footer.
 *
 * The Web Streams here are the one implementation; {@link armor} and {@link dearmor} pipe a
 * single buffer through them. Both streams hold memory independent of the message size: the
 * armorer keeps at most one partial 32-byte block, the dearmorer at most one partial
 * 43-character group plus a frame line of at most 8 KiB.
 *
 * @packageDocumentation
 */
import { SaltpackError } from '../errors.js';
import {
  BLOCK_BYTES,
  BLOCK_CHARS,
  Base62Decoder,
  decodeBase62,
  encodeBase62,
  encodeBlock,
  isArmorByte,
} from './basex.js';
import {
  ARMOR_TYPES,
  assertValidBrand,
  buildFrame,
  checkFooter,
  checkFrameType,
  isArmorType,
  parseFrame,
} from './frame.js';
import type { ArmorFrame, ArmorType } from './frame.js';

export type { ArmorFrame, ArmorType } from './frame.js';
export { ARMOR_TYPES, decodeBase62, encodeBase62 };

/** Options for {@link createArmorStream} and {@link armor}. */
export interface ArmorOptions {
  /** The frame type: `ENCRYPTED MESSAGE` also covers signcryption (§8.2). */
  readonly type: ArmorType;
  /** Optional brand such as `KEYBASE`: 1–128 of `[A-Za-z0-9]`; omitted or `''` for none. */
  readonly brand?: string;
}

/** Options for {@link createDearmorStream} and {@link dearmor}. */
export interface DearmorOptions {
  /** The frame type(s) to accept; every type when omitted. */
  readonly expectedType?: ArmorType | readonly ArmorType[];
}

/** The two ends of a dearmoring stream plus the parsed header frame. */
export interface DearmorStream {
  /** The decoded binary message, emitted group by group as the text arrives. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Where the armored text goes (bytes, any chunking). */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Resolves as soon as the header frame is parsed and accepted; rejects with the same error
   * that fails the stream if the header is bad or never completes.
   */
  readonly frame: Promise<ArmorFrame>;
}

const SPACE = 0x20;
const LF = 0x0a;
const DOT = 0x2e;
// Go's armor parameters (§8.2): 15 characters per word, 200 words per line.
const WORD_CHARS = 15;
const WORDS_PER_LINE = 200;
// Go reads a frame line with an 8192-byte limit and reports an overflow when that many bytes
// arrive without the period (§8.3).
const FRAME_READ_LIMIT = 8192;

const asciiEncoder = new TextEncoder();
const asciiDecoder = new TextDecoder();

function assertBytes(chunk: unknown): asserts chunk is Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new SaltpackError('invalid_parameter', 'stream chunks must be Uint8Array');
  }
}

/**
 * Creates a stream that armors binary bytes into Saltpack ASCII armor, byte-for-byte the layout
 * Go writes (§8.2): `<header>. `, the Base62 text in 15-character words each followed by a
 * space (LF after every 200th word) — so a last word of exactly 15 characters is followed by
 * one too — then `. <footer>.` and LF.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (reason `invalid_parameter`) synchronously
 *   for an unknown type or an invalid brand, and as the stream error for a chunk that is not a
 *   `Uint8Array`.
 */
export function createArmorStream(options: ArmorOptions): TransformStream<Uint8Array, Uint8Array> {
  const brand = options.brand ?? '';
  assertValidBrand(brand);
  const header = buildFrame('BEGIN', options.type, brand);
  const footer = buildFrame('END', options.type, brand);

  const pending = new Uint8Array(BLOCK_BYTES);
  let pendingLength = 0;
  const group = new Uint8Array(BLOCK_CHARS);
  let wordLength = 0;
  let words = 0;

  // Copies encoded characters into `out` with the word separators. The separator is written as
  // soon as a word is full, which is exactly Go's rule including its "full last word" quirk.
  // The counters live in locals during the loop (closure variables would be re-read from memory
  // on every character).
  const emit = (chars: number, out: Uint8Array, o: number): number => {
    let inWord = wordLength;
    let count = words;
    let i = 0;
    while (i < chars) {
      const end = Math.min(chars, i + WORD_CHARS - inWord);
      inWord += end - i;
      while (i < end) out[o++] = group[i++]!;
      if (inWord === WORD_CHARS) {
        inWord = 0;
        count++;
        out[o++] = count % WORDS_PER_LINE === 0 ? LF : SPACE;
      }
    }
    wordLength = inWord;
    words = count;
    return o;
  };
  const capacity = (chars: number): number => chars + Math.floor((wordLength + chars) / WORD_CHARS);

  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controller.enqueue(asciiEncoder.encode(`${header}. `));
    },
    transform(chunk, controller) {
      assertBytes(chunk);
      const blocks = Math.floor((pendingLength + chunk.length) / BLOCK_BYTES);
      if (blocks === 0) {
        pending.set(chunk, pendingLength);
        pendingLength += chunk.length;
        return;
      }
      const out = new Uint8Array(capacity(blocks * BLOCK_CHARS));
      let o = 0;
      let i = 0;
      if (pendingLength > 0) {
        i = BLOCK_BYTES - pendingLength;
        pending.set(chunk.subarray(0, i), pendingLength);
        o = emit(encodeBlock(pending, 0, BLOCK_BYTES, group, 0), out, o);
        pendingLength = 0;
      }
      for (; i + BLOCK_BYTES <= chunk.length; i += BLOCK_BYTES) {
        o = emit(encodeBlock(chunk, i, BLOCK_BYTES, group, 0), out, o);
      }
      pending.set(chunk.subarray(i), 0);
      pendingLength = chunk.length - i;
      controller.enqueue(out);
    },
    flush(controller) {
      const tail = asciiEncoder.encode(`. ${footer}.\n`);
      const chars = pendingLength > 0 ? encodeBlock(pending, 0, pendingLength, group, 0) : 0;
      const out = new Uint8Array(capacity(chars) + tail.length);
      const o = emit(chars, out, 0);
      out.set(tail, o);
      controller.enqueue(out);
    },
  });
}

// Dearmoring states, in input order (§8.3): header line, Base62 body, footer line, trailer.
const HEADER = 0;
const BODY = 1;
const FOOTER = 2;
const TRAILER = 3;
type State = typeof HEADER | typeof BODY | typeof FOOTER | typeof TRAILER;

/**
 * Creates a stream that reads Saltpack ASCII armor (text bytes, any chunking) and emits the
 * binary message (§8.3). Decoded bytes are emitted as each 43-character group completes; only
 * the last partial group is held back until the body's closing period shows it is final.
 *
 * Errors fail both sides of the stream (and reject `frame` if the header was not accepted
 * yet). Each is a {@link SaltpackError}:
 * - `bad_frame` (`SALTPACK_BAD_ARMOR`): a header or footer that is malformed, longer than 8 KiB
 *   before its period, of a type not in `expectedType`, or a footer that disagrees with the
 *   header in type or brand;
 * - `corrupt_input` (`SALTPACK_BAD_ARMOR`, `details.offset` counted from the byte after the
 *   header's period): a body byte outside the alphabet and skip set, or an overflowing group;
 * - `invalid_encoding_length` (`SALTPACK_BAD_ARMOR`): an impossible final group length;
 * - `unexpected_eof` (`SALTPACK_TRUNCATED`): input ended before the footer's period (including
 *   before the header's);
 * - `trailing_garbage` (`SALTPACK_MALFORMED`): after the footer, anything but alphabet and
 *   skip characters (trailing words are accepted, as in Go);
 * - `invalid_parameter` (`SALTPACK_INVALID_ARGUMENT`): a chunk that is not a `Uint8Array`.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (reason `invalid_parameter`) synchronously
 *   when `expectedType` names an unknown type.
 */
export function createDearmorStream(options: DearmorOptions = {}): DearmorStream {
  const accepted = acceptedTypes(options.expectedType);

  let resolveFrame!: (frame: ArmorFrame) => void;
  let rejectFrame!: (error: unknown) => void;
  let frameSettled = false;
  const frame = new Promise<ArmorFrame>((resolve, reject) => {
    resolveFrame = resolve;
    rejectFrame = reject;
  });
  // A caller that only reads the data must not see an unhandled rejection from `frame`; callers
  // that await it still get the error.
  frame.catch(() => undefined);
  const settleFrame = (error: unknown): void => {
    if (!frameSettled) {
      frameSettled = true;
      rejectFrame(error);
    }
  };

  let state: State = HEADER;
  const line = new Uint8Array(FRAME_READ_LIMIT);
  let lineLength = 0;
  let headerFrame: ArmorFrame | undefined;
  const decoder = new Base62Decoder();

  // Collects a frame line up to its period; returns the index after the period, or -1 when the
  // chunk ended first. Bytes are checked as they arrive, so a binary file fed in by mistake
  // fails at once instead of after 8 KiB (§8.3: only alphabet and skip characters).
  const readLine = (chunk: Uint8Array, pos: number, what: string): number => {
    const dot = chunk.indexOf(DOT, pos);
    const end = dot < 0 ? chunk.length : dot;
    for (let i = pos; i < end; i++) {
      if (!isArmorByte(chunk[i]!)) {
        throw new SaltpackError('bad_frame', `error in framing: invalid ascii sequence in ${what}`);
      }
    }
    if (lineLength + (end - pos) >= FRAME_READ_LIMIT) {
      throw new SaltpackError(
        'bad_frame',
        `error in framing: no period within ${FRAME_READ_LIMIT} bytes of armor ${what}`,
      );
    }
    line.set(chunk.subarray(pos, end), lineLength);
    lineLength += end - pos;
    return dot < 0 ? -1 : dot + 1;
  };
  const takeLine = (): string => {
    const text = asciiDecoder.decode(line.subarray(0, lineLength));
    lineLength = 0;
    return text;
  };

  const step = (chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) => {
    let pos = 0;
    while (pos < chunk.length) {
      switch (state) {
        case HEADER: {
          const next = readLine(chunk, pos, 'header');
          if (next < 0) return;
          const parsed = parseFrame(takeLine(), 'BEGIN');
          checkFrameType(parsed, accepted);
          headerFrame = parsed;
          frameSettled = true;
          resolveFrame(parsed);
          state = BODY;
          pos = next;
          break;
        }
        case BODY: {
          const dot = chunk.indexOf(DOT, pos);
          const end = dot < 0 ? chunk.length : dot;
          const data = decoder.update(chunk, pos, end);
          if (data.length > 0) controller.enqueue(data);
          if (dot < 0) return;
          // The period proves the held-back partial group is the final one (§8.3).
          const last = decoder.final();
          if (last.length > 0) controller.enqueue(last);
          state = FOOTER;
          pos = dot + 1;
          break;
        }
        case FOOTER: {
          const next = readLine(chunk, pos, 'footer');
          if (next < 0) return;
          checkFooter(headerFrame!, parseFrame(takeLine(), 'END'));
          state = TRAILER;
          pos = next;
          break;
        }
        case TRAILER: {
          // Go reads to EOF after the footer and allows only alphabet and skip bytes (§8.3).
          for (let i = pos; i < chunk.length; i++) {
            if (!isArmorByte(chunk[i]!)) {
              throw new SaltpackError(
                'trailing_garbage',
                'trailing garbage found at end of message',
              );
            }
          }
          return;
        }
      }
    }
  };

  // `cancel` (called on abort of the writable or cancel of the readable) is in the Streams
  // standard and in Node 20 but not yet in TypeScript's DOM types, hence the widened type. It
  // settles `frame` so that nobody waits forever on a stream that was given up.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel(reason: unknown): void } = {
    transform(chunk, controller) {
      try {
        assertBytes(chunk);
        step(chunk, controller);
      } catch (e) {
        settleFrame(e);
        throw e;
      }
    },
    flush() {
      if (state === TRAILER) return;
      const where = state === HEADER ? 'header' : state === BODY ? 'body' : 'footer';
      const error = new SaltpackError(
        'unexpected_eof',
        `armor truncated: input ended inside the ${where}`,
      );
      settleFrame(error);
      throw error;
    },
    cancel(reason) {
      settleFrame(
        reason instanceof SaltpackError
          ? reason
          : new SaltpackError(
              'unexpected_eof',
              'armor stream was cancelled before its header',
              {},
              {
                cause: reason,
              },
            ),
      );
    },
  };
  // A readable high-water mark of one chunk (instead of zero) lets the transform run before
  // anyone reads, so `frame` resolves for callers that await it first and only then start
  // consuming the body. Backpressure still applies once one output chunk is waiting.
  const transform = new TransformStream<Uint8Array, Uint8Array>(transformer, undefined, {
    highWaterMark: 1,
  });
  return { readable: transform.readable, writable: transform.writable, frame };
}

function acceptedTypes(expected: DearmorOptions['expectedType']): readonly ArmorType[] {
  if (expected === undefined) return ARMOR_TYPES;
  const list: readonly unknown[] = typeof expected === 'string' ? [expected] : expected;
  if (!Array.isArray(list) || list.length === 0 || !list.every(isArmorType)) {
    throw new SaltpackError('invalid_parameter', 'expectedType must name armor types');
  }
  return list;
}

/** Writes `input` into a transform and collects everything it emits. */
async function pipeOnce(
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  input: Uint8Array,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const writing = (async () => {
    await writer.write(input);
    await writer.close();
  })();
  // The read side reports the stream error; keep the write side's copy from going unhandled.
  writing.catch(() => undefined);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await writing;
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Armors a whole binary message (through {@link createArmorStream}) and returns the text,
 * ending in `.` and LF.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (reason `invalid_parameter`) for an unknown
 *   type, an invalid brand or non-`Uint8Array` data (as a rejected promise).
 */
export async function armor(data: Uint8Array, options: ArmorOptions): Promise<string> {
  assertBytes(data);
  return asciiDecoder.decode(await pipeOnce(createArmorStream(options), data));
}

/**
 * Dearmors a whole armored message (through {@link createDearmorStream}). No data is returned
 * unless the whole text, footer and trailer included, is valid.
 *
 * @throws SaltpackError (as a rejected promise) with the reasons listed at
 *   {@link createDearmorStream}: `bad_frame`, `corrupt_input`, `invalid_encoding_length`
 *   (`SALTPACK_BAD_ARMOR`), `unexpected_eof` (`SALTPACK_TRUNCATED`), `trailing_garbage`
 *   (`SALTPACK_MALFORMED`), `invalid_parameter` (`SALTPACK_INVALID_ARGUMENT`).
 */
export async function dearmor(
  text: string | Uint8Array,
  options: DearmorOptions = {},
): Promise<{ data: Uint8Array; frame: ArmorFrame }> {
  const bytes = typeof text === 'string' ? asciiEncoder.encode(text) : text;
  assertBytes(bytes);
  const stream = createDearmorStream(options);
  const data = await pipeOnce(stream, bytes);
  return { data, frame: await stream.frame };
}
