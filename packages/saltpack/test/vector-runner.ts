/**
 * Runs Saltpack known-answer vectors in the schema of packages/saltpack/test/vectors/README.md.
 * Used by the Vitest suite and by `npm run vectors -- --dir <path>` (scripts/vectors.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoBackend } from '../src/backend/types.js';
import type { PayloadEngine } from '../src/engine.js';
import {
  boxKeyFromSecret,
  createBasicKeyring,
  createSymmetricResolver,
  signingKeyFromSecret,
} from '../src/basic.js';
import { createDecryptStream } from '../src/decrypt.js';
import type { DecryptOptions, DecryptStream } from '../src/decrypt.js';
import { encrypt } from '../src/encrypt.js';
import type { EncryptOptions } from '../src/encrypt.js';
import { decryptPipeline, encryptPipeline } from '../src/node/pipeline.js';
import { ERROR_CLASS_CODES, GO_ERROR_REASONS, SaltpackError } from '../src/errors.js';
import { bytesEqual, fromHex, toHex } from '../src/internal/bytes.js';
import { sign, signDetached } from '../src/sign.js';
import { createSigncryptOpenStream, signcrypt } from '../src/signcrypt.js';
import { createVerifyStream, verifyDetached } from '../src/verify.js';
import * as armorApi from '../src/armor/armor.js';

export type Feed = 'oneshot' | 'stream' | 'bytewise';

/**
 * Where encryption's chunks are processed: in the stream (default), through a payload engine,
 * or by the Node bulk pipeline (`src/node/pipeline.ts`), which has no stream of its own.
 */
export type Via = PayloadEngine | 'pipeline';

/** The decryption pipeline as a stream pair, so vectors feed it exactly as they feed streams. */
export function decryptPipelineStream(options: DecryptOptions): DecryptStream {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  const writer = output.writable.getWriter();
  const info = decryptPipeline(
    input.readable,
    {
      async write(parts) {
        // The pipeline reuses its buffers once a write settles: keep copies.
        for (const p of parts) await writer.write(p.slice());
      },
    },
    options,
  );
  info.then(
    () => writer.close(),
    (e: unknown) => writer.abort(e),
  );
  return { readable: output.readable, writable: input.writable, info };
}

/** Encrypts with the bulk pipeline into one buffer. */
export async function encryptWithPipeline(
  plaintext: Uint8Array,
  options: EncryptOptions,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      if (plaintext.length > 0) c.enqueue(plaintext);
      c.close();
    },
  });
  await encryptPipeline(
    source,
    {
      write(ps) {
        for (const p of ps) parts.push(p.slice());
        return Promise.resolve();
      },
    },
    options,
  );
  return Buffer.concat(parts);
}

interface KeyPairHex {
  public: string;
  secret: string;
  seed?: string;
}

export interface Vector {
  id: string;
  description?: string;
  mode: 'encryption' | 'attached_signing' | 'detached_signing' | 'signcryption';
  version: [number, number];
  armored?: boolean;
  brand?: string;
  plaintext_length: number;
  plaintext_hex?: string;
  plaintext_recipe?: { mul: number; add: number; mod: number; length: number };
  plaintext_sha256: string;
  message_b64?: string;
  message_armored?: string;
  sender?: KeyPairHex;
  sender_anonymous?: boolean;
  signer?: KeyPairHex;
  signer_anonymous?: boolean;
  recipients?: (
    | { type: 'box'; public: string; secret?: string; hidden?: boolean }
    | { type: 'symmetric'; identifier: string; key: string }
  )[];
  ephemeral?: KeyPairHex;
  payload_key?: string;
  signature_nonce?: string;
  deterministic?: boolean;
  derived_from?: string;
  decrypt_keyring?: {
    box_keys?: { public: string; secret: string }[];
    symmetric_keys?: { identifier: string; key: string }[];
  };
  expected: {
    ok: boolean;
    sender_public?: string;
    sender_anonymous?: boolean;
    receiver_index?: number;
    receiver_hidden?: boolean;
    signer_public?: string;
    signer_anonymous?: boolean;
    brand?: string;
    error?: string;
    error_class?: keyof typeof ERROR_CLASS_CODES;
    packet_seqno?: number;
  };
}

/** Loads every `*.json` vector file of a directory. */
export function loadVectorDir(dir: string): { file: string; vectors: Vector[] }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        format?: string;
        vectors?: Vector[];
      };
      if (doc.format !== 'saltpack-test-vectors' || !Array.isArray(doc.vectors))
        return { file, vectors: [] };
      return { file, vectors: doc.vectors };
    });
}

/** The vector's plaintext, rebuilt and checked against its SHA-256. */
export function plaintextOf(v: Vector): Uint8Array {
  let p: Uint8Array;
  if (v.plaintext_hex !== undefined) p = fromHex(v.plaintext_hex);
  else if (v.plaintext_recipe) {
    const { mul, add, mod, length } = v.plaintext_recipe;
    p = new Uint8Array(length);
    for (let i = 0; i < length; i++) p[i] = (mul * i + add) % mod;
  } else throw new Error(`vector ${v.id}: no plaintext`);
  const sha = createHash('sha256').update(p).digest('hex');
  if (sha !== v.plaintext_sha256)
    throw new Error(`vector ${v.id}: plaintext does not match its sha256`);
  return p;
}

function messageBytes(v: Vector): Uint8Array {
  if (v.message_armored !== undefined) return new TextEncoder().encode(v.message_armored);
  return new Uint8Array(Buffer.from(v.message_b64 ?? '', 'base64'));
}

/** Feeds `input` to a writable in the chosen pattern and collects the readable. */
async function pump(
  t: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  input: Uint8Array,
  feed: Feed,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reading = (async () => {
    const r = t.readable.getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      parts.push(value.slice());
    }
  })();
  const writing = (async () => {
    const w = t.writable.getWriter();
    const step = feed === 'oneshot' ? Math.max(1, input.length) : feed === 'bytewise' ? 1 : 0;
    let off = 0;
    let i = 0;
    while (off < input.length) {
      // 'stream': irregular piece sizes that straddle msgpack and armor boundaries.
      const n = step || [1, 7, 100, 4093, 65536, 333][i++ % 6]!;
      await w.write(input.subarray(off, off + n));
      off += n;
    }
    await w.close();
  })();
  const results = await Promise.allSettled([reading, writing]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function armorTypeOf(v: Vector): armorApi.ArmorType {
  if (v.mode === 'attached_signing') return 'SIGNED MESSAGE';
  if (v.mode === 'detached_signing') return 'DETACHED SIGNATURE';
  return 'ENCRYPTED MESSAGE';
}

interface Outcome {
  output: Uint8Array;
  facts: Record<string, unknown>;
}

/** Opens/verifies a vector's message with the given feed pattern. */
async function open(v: Vector, backend: CryptoBackend, feed: Feed, engine?: Via): Promise<Outcome> {
  const message = messageBytes(v);
  const ring = v.decrypt_keyring ?? {};
  const keys = (ring.box_keys ?? []).map((k) => boxKeyFromSecret(backend, fromHex(k.secret)));
  const keyring = createBasicKeyring(keys);
  const symmetricResolver = createSymmetricResolver(
    (ring.symmetric_keys ?? []).map((k) => ({
      identifier: fromHex(k.identifier),
      key: fromHex(k.key),
    })),
  );
  const facts: Record<string, unknown> = {};
  if (v.mode === 'detached_signing') {
    let sig = message;
    if (v.armored) {
      const d = armorApi.createDearmorStream({ expectedType: 'DETACHED SIGNATURE' });
      sig = await pump(d, message, feed);
      facts.brand = (await d.frame).brand;
    }
    const info = await verifyDetached(sig, plaintextOf(v), { backend });
    facts.signer_public = toHex(info.signerPublicKey);
    return { output: plaintextOf(v), facts };
  }
  let stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  let after: () => Promise<void>;
  if (v.mode === 'encryption') {
    const s =
      engine === 'pipeline'
        ? decryptPipelineStream({ keyring, backend })
        : createDecryptStream({ keyring, backend, ...(engine ? { engine } : {}) });
    stream = s;
    after = async () => {
      const info = await s.info;
      facts.sender_public = toHex(info.senderPublicKey);
      facts.sender_anonymous = info.senderIsAnonymous;
      facts.receiver_index = info.receiverIndex;
      facts.receiver_hidden = info.receiverIsHidden;
    };
  } else if (v.mode === 'attached_signing') {
    const s = createVerifyStream({
      backend,
      ...(engine && engine !== 'pipeline' ? { engine } : {}),
    });
    stream = s;
    after = async () => {
      facts.signer_public = toHex((await s.signer).signerPublicKey);
    };
  } else {
    const s = createSigncryptOpenStream({ keyring, symmetricResolver, backend });
    stream = s;
    after = async () => {
      const info = await s.info;
      facts.signer_anonymous = info.signerPublicKey === null;
      if (info.signerPublicKey) facts.signer_public = toHex(info.signerPublicKey);
    };
  }
  let frame: Promise<armorApi.ArmorFrame> | undefined;
  if (v.armored) {
    const d = armorApi.createDearmorStream({ expectedType: armorTypeOf(v) });
    frame = d.frame;
    frame.catch(() => undefined);
    stream = { writable: d.writable, readable: d.readable.pipeThrough(stream) };
  }
  const output = await pump(stream, message, feed);
  await after();
  if (frame) facts.brand = (await frame).brand;
  return { output, facts };
}

/**
 * Checks one vector; returns `null` when it passes, otherwise why it failed.
 */
export async function checkVector(
  v: Vector,
  backend: CryptoBackend,
  feed: Feed,
  engine?: Via,
): Promise<string | null> {
  let outcome: Outcome;
  try {
    outcome = await open(v, backend, feed, engine);
  } catch (e) {
    if (v.expected.ok) return `expected success, got ${describe(e)}`;
    return checkError(v, e);
  }
  if (!v.expected.ok)
    return `expected ${v.expected.error ?? 'an error'} (${v.expected.error_class ?? '?'}), got success`;
  if (!bytesEqual(outcome.output, plaintextOf(v))) return 'output differs from the plaintext';
  for (const key of [
    'sender_public',
    'sender_anonymous',
    'receiver_index',
    'receiver_hidden',
    'signer_public',
    'signer_anonymous',
    'brand',
  ] as const) {
    const want = v.expected[key];
    if (want !== undefined && outcome.facts[key] !== want) {
      return `${key}: expected ${String(want)}, got ${String(outcome.facts[key])}`;
    }
  }
  return null;
}

function describe(e: unknown): string {
  if (e instanceof SaltpackError) return `${e.code}/${e.reason}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function checkError(v: Vector, e: unknown): string | null {
  if (!(e instanceof SaltpackError)) return `expected a SaltpackError, got ${describe(e)}`;
  const cls = v.expected.error_class;
  if (cls !== undefined) {
    const code = ERROR_CLASS_CODES[cls] as string | undefined;
    if (code === undefined) return `unknown error_class ${cls}`;
    if (e.code !== code) return `expected code ${code} (${cls}), got ${describe(e)}`;
  }
  const goName = v.expected.error;
  if (goName !== undefined && goName in GO_ERROR_REASONS) {
    const reason = GO_ERROR_REASONS[goName as keyof typeof GO_ERROR_REASONS];
    if (e.reason !== reason) return `expected reason ${reason} (${goName}), got ${describe(e)}`;
  }
  if (v.expected.packet_seqno !== undefined && e.details.packetSeqno !== v.expected.packet_seqno) {
    return `expected packet ${v.expected.packet_seqno}, got ${String(e.details.packetSeqno)}`;
  }
  return null;
}

/** A random source that replays fixed byte strings in order (deterministic re-sealing). */
function replay(values: Uint8Array[]): { randomBytes(n: number): Uint8Array } {
  const queue = values.slice();
  return {
    randomBytes(n) {
      const next = queue.shift();
      if (next?.length !== n)
        throw new Error(`replayed randomness exhausted or wrong length (${n})`);
      return next;
    },
  };
}

/** Whether a vector can be rebuilt byte for byte. */
export function isResealable(v: Vector): boolean {
  // Vectors built by hand (compat.json) record no ephemeral key, payload key or nonce: they
  // cannot be, and are not meant to be, rebuilt by an encoder.
  const inputs =
    v.mode === 'attached_signing' || v.mode === 'detached_signing'
      ? v.signature_nonce !== undefined && v.signer !== undefined
      : v.payload_key !== undefined && v.ephemeral !== undefined;
  return v.deterministic === true && v.derived_from === undefined && v.expected.ok && inputs;
}

/** Re-seals a deterministic vector and compares bytes; `null` when identical. */
export async function checkReseal(
  v: Vector,
  backend: CryptoBackend,
  engine?: Via,
): Promise<string | null> {
  const plaintext = plaintextOf(v);
  const major = v.version[0] as 1 | 2;
  let binary: Uint8Array;
  try {
    if (v.mode === 'encryption') {
      binary = await (engine === 'pipeline' ? encryptWithPipeline : encrypt)(plaintext, {
        backend,
        version: major,
        sender:
          v.sender_anonymous || !v.sender
            ? null
            : boxKeyFromSecret(backend, fromHex(v.sender.secret)),
        recipients: (v.recipients ?? []).map((r) => {
          if (r.type !== 'box') throw new Error('encryption vector with a symmetric recipient');
          return { publicKey: fromHex(r.public), hidden: r.hidden === true };
        }),
        random: replay([fromHex(v.payload_key!), fromHex(v.ephemeral!.secret)]),
        preserveRecipientOrder: true,
        ...(engine && engine !== 'pipeline' ? { engine } : {}),
      });
    } else if (v.mode === 'signcryption') {
      binary = await signcrypt(plaintext, {
        backend,
        signer:
          v.signer_anonymous || !v.signer
            ? null
            : signingKeyFromSecret(backend, fromHex(v.signer.secret)),
        receivers: (v.recipients ?? []).map((r) =>
          r.type === 'box'
            ? fromHex(r.public)
            : { identifier: fromHex(r.identifier), key: fromHex(r.key) },
        ),
        random: replay([fromHex(v.payload_key!), fromHex(v.ephemeral!.secret)]),
        preserveRecipientOrder: true,
      });
    } else {
      const signer = signingKeyFromSecret(backend, fromHex(v.signer!.secret));
      // Go's 16-byte nonce and nil empty chunk, asked for explicitly: by default saltbox writes
      // 32 random bytes and an empty bin, as the format says (§5).
      const options = {
        signer,
        version: major,
        backend,
        nonce: fromHex(v.signature_nonce!),
        emptyChunk: 'nil',
        ...(engine && engine !== 'pipeline' ? { engine } : {}),
      } as const;
      binary =
        v.mode === 'attached_signing'
          ? await sign(plaintext, options)
          : await signDetached(plaintext, options);
    }
  } catch (e) {
    return `re-seal failed: ${describe(e)}`;
  }
  if (v.armored) {
    const text = await armorApi.armor(binary, { type: armorTypeOf(v), brand: v.brand ?? '' });
    return text === v.message_armored ? null : 're-armored text differs';
  }
  const want = messageBytes(v);
  if (!bytesEqual(binary, want))
    return `re-sealed bytes differ (${binary.length} vs ${want.length} bytes)`;
  return null;
}
