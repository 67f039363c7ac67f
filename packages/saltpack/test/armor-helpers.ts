/** Test helpers for the armor suites: stream plumbing, chunking and re-wrapping. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDearmorStream } from '../src/armor/armor.js';
import type { ArmorFrame, ArmorType, DearmorOptions } from '../src/armor/armor.js';

export const VECTOR_DIR = resolve(import.meta.dirname, 'vectors');

export interface ArmorVector {
  id: string;
  description: string;
  mode: 'encryption' | 'attached_signing' | 'detached_signing' | 'signcryption';
  version: [number, number];
  armored: boolean;
  brand: string;
  message_armored: string;
  derived_from?: string;
  mutation?: string;
  expected: {
    ok: boolean;
    brand?: string;
    error?: string;
    error_class?: string;
    go_error?: string;
  };
}

export function loadArmorVectors(): ArmorVector[] {
  const file = JSON.parse(readFileSync(resolve(VECTOR_DIR, 'armor.json'), 'utf8')) as {
    vectors: ArmorVector[];
  };
  return file.vectors;
}

/** The armor type Go uses for a vector's mode (§8.2: signcryption shares ENCRYPTED MESSAGE). */
export function armorTypeForMode(mode: ArmorVector['mode']): ArmorType {
  switch (mode) {
    case 'encryption':
    case 'signcryption':
      return 'ENCRYPTED MESSAGE';
    case 'attached_signing':
      return 'SIGNED MESSAGE';
    case 'detached_signing':
      return 'DETACHED SIGNATURE';
  }
}

/** A small deterministic PRNG (mulberry32) so chunkings are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits bytes into pieces of the given sizes (cycled), the last piece taking the rest. */
export function chunkBySizes(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  for (let s = 0; i < bytes.length; s++) {
    const n = Math.max(1, sizes[s % sizes.length]!);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Random chunk sizes between 1 and `max` from a seed. */
export function randomSizes(seed: number, count: number, max: number): number[] {
  const r = prng(seed);
  return Array.from({ length: count }, () => 1 + Math.floor(r() * max));
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Feeds chunks into a stream pair while reading it; resolves with every output chunk. */
export async function runStream(
  pair: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  chunks: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const writer = pair.writable.getWriter();
  const writing = (async () => {
    for (const c of chunks) await writer.write(c);
    await writer.close();
  })();
  writing.catch(() => undefined);
  const out: Uint8Array[] = [];
  const reader = pair.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.push(value);
  }
  await writing;
  return out;
}

/** Dearmors through the stream API with the given chunking. */
export async function dearmorChunks(
  chunks: readonly Uint8Array[],
  options: DearmorOptions = {},
): Promise<{ data: Uint8Array; frame: ArmorFrame }> {
  const stream = createDearmorStream(options);
  const data = concat(await runStream(stream, chunks));
  return { data, frame: await stream.frame };
}

/** Runs `f` and returns what it threw (failing the test if it did not throw). */
export async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, got none');
}

const SEPARATORS = [' ', '  ', '\t', '\r\n', '\n', '\n> ', '\r\n>> ', ' \t ', '>'] as const;
const SKIPS = [' ', '\t', '\r', '\n', '>'] as const;

/**
 * Re-wraps armored text the way mail clients and people do (§8.3): every space or LF between
 * words becomes a random run of `[>\n\r\t ]`, optionally with a leading quote, and skip
 * characters are sprinkled inside body words (allowed anywhere in the body, §8.1).
 */
export function rewrap(text: string, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const tokens = text.split(/[ \n]/);
  let dots = 0;
  const out: string[] = [];
  for (const token of tokens) {
    let t = token;
    // Tokens strictly between the header's and the body's periods are pure Base62 words.
    if (dots === 1 && /^[0-9A-Za-z]+$/.test(t)) {
      let w = '';
      for (const ch of t) w += (random() < 0.1 ? pick(SKIPS) : '') + ch;
      t = w;
    }
    dots += (token.match(/\./g) ?? []).length;
    out.push(t);
  }
  let result = random() < 0.5 ? '> ' : '';
  out.forEach((t, i) => {
    result += (i === 0 ? '' : pick(SEPARATORS)) + t;
  });
  return result;
}
