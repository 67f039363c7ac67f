/**
 * Looking at an input before choosing how to open it: armored or binary, and which Saltpack
 * mode its header declares. Only the first bytes are read; the stream is handed on intact.
 *
 * @packageDocumentation
 */
import { createDearmorStream, MODE } from '@saltbox/saltpack';
import { decodeMsgpack, decodeMsgpackAt, msgpackObjectEnd } from '@saltbox/saltpack/encoding';
import type { ArmorFrame, ArmorType } from '@saltbox/saltpack';
import { CliError } from './errors.js';
import { peek } from './io.js';

/** How far to read when looking for the end of the header (1000 recipients ≈ 100 KiB). */
const HEADER_PEEK_LIMIT = 8 * 1024 * 1024;

/** What the first bytes of an input say. */
export interface Sniffed {
  /** The binary message (dearmored when the input was armored). */
  readonly readable: ReadableStream<Uint8Array>;
  /** The armor header frame, when the input was armored. */
  readonly frame: ArmorFrame | undefined;
  /** The header's mode (see `MODE`), or `undefined` when the header could not be read. */
  readonly mode: number | undefined;
}

/** A binary Saltpack message starts with a msgpack bin (the header is wrapped in one). */
function isBinaryStart(b: number): boolean {
  return b === 0xc4 || b === 0xc5 || b === 0xc6;
}

// What may precede armor: whitespace and email-style `>` quoting (the dearmorer skips them).
const SKIP = new Set([0x09, 0x0a, 0x0d, 0x20, 0x3e]);

/** The first byte that is not whitespace or quoting; `undefined` if there is none yet. */
function firstSignificant(head: Uint8Array): number | undefined {
  if (head.length > 0 && isBinaryStart(head[0]!)) return head[0];
  for (const b of head) if (!SKIP.has(b)) return b;
  return undefined;
}

/**
 * The mode field of a header, or `undefined` if `head` does not hold a readable one (the
 * library then reports the precise error when it reads the same bytes).
 */
export function headerMode(head: Uint8Array): number | undefined {
  try {
    const outer = decodeMsgpackAt(head, 0).value;
    if (!(outer instanceof Uint8Array)) return undefined;
    const inner = decodeMsgpack(outer);
    if (!Array.isArray(inner) || inner[0] !== 'saltpack') return undefined;
    const mode = inner[2];
    return typeof mode === 'number' ? mode : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Detects armor (text whose first significant byte is the `B` of `BEGIN`; the dearmorer then
 * reports bad text precisely) and peeks at the header's mode.
 *
 * @throws SaltpackError from the dearmorer when the armor header is bad; CliError
 *   `SALTPACK_MALFORMED` when the input is neither binary nor armored.
 */
export async function sniff(input: ReadableStream<Uint8Array>): Promise<Sniffed> {
  const first = await peek(input, (h) => firstSignificant(h) !== undefined, 64 * 1024);
  let readable = first.readable;
  let framePromise: Promise<ArmorFrame> | undefined;
  const b = firstSignificant(first.head);
  if (b !== undefined && !isBinaryStart(b)) {
    if (b !== 0x42 /* B of BEGIN */) {
      await readable.cancel().catch(() => undefined);
      throw new CliError('SALTPACK_MALFORMED', 'the input is not a saltpack message', {
        hint: 'a saltpack message is binary or starts with BEGIN … SALTPACK',
      });
    }
    const dearmor = createDearmorStream();
    // Errors reach the consumer through `dearmor.readable`; this copy is only bookkeeping.
    readable.pipeTo(dearmor.writable).catch(() => undefined);
    framePromise = dearmor.frame;
    readable = dearmor.readable;
  }
  // Reading pulls the text through the dearmorer (a TransformStream does no work until its
  // output is read), so the frame is known once the header is; armor errors surface here.
  const header = await peek(
    readable,
    (h) => h.length > 0 && msgpackObjectEnd(h, 0, h.length) >= 0,
    HEADER_PEEK_LIMIT,
  );
  const frame = framePromise === undefined ? undefined : await framePromise;
  return { readable: header.readable, frame, mode: headerMode(header.head) };
}

/** A message kind, as the user knows it, with the command that handles it. */
interface Kind {
  name: string;
  hint: string;
}

const KINDS: Record<number, Kind> = {
  [MODE.encryption]: {
    name: 'an encrypted message',
    hint: "use 'saltbox decrypt' to read it",
  },
  [MODE.attachedSigning]: {
    name: 'a signed message',
    hint: "use 'saltbox verify' to check it and print the message",
  },
  [MODE.detachedSigning]: {
    name: 'a detached signature',
    hint: "use 'saltbox verify --detached-signature FILE -i MESSAGE'",
  },
  [MODE.signcryption]: {
    name: 'a signcrypted message',
    hint: "use 'saltbox signcrypt-open' (or 'saltbox decrypt') to read it",
  },
};

const ARMOR_KINDS: Record<ArmorType, readonly number[]> = {
  'ENCRYPTED MESSAGE': [MODE.encryption, MODE.signcryption],
  'SIGNED MESSAGE': [MODE.attachedSigning],
  'DETACHED SIGNATURE': [MODE.detachedSigning],
};

/**
 * Refuses an input whose armor type or header mode is not one of `accepted`, naming what it is
 * and which command reads it. Unknown modes pass (the library reports them).
 *
 * @param what - what the command expected, e.g. `an encrypted message`
 * @throws CliError `CLI_WRONG_MESSAGE_TYPE`.
 */
export function requireMode(sniffed: Sniffed, accepted: readonly number[], what: string): void {
  let actual: number | undefined;
  if (sniffed.frame && !ARMOR_KINDS[sniffed.frame.type].some((m) => accepted.includes(m))) {
    actual = ARMOR_KINDS[sniffed.frame.type][0];
  } else if (sniffed.mode !== undefined && !accepted.includes(sniffed.mode)) {
    actual = sniffed.mode;
  }
  if (actual === undefined) return;
  const kind = KINDS[actual];
  if (kind === undefined) return;
  throw new CliError('CLI_WRONG_MESSAGE_TYPE', `the input is ${kind.name}, not ${what}`, {
    hint: kind.hint,
  });
}
