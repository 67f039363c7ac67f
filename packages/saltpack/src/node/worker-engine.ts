/**
 * A {@link PayloadEngine} on a pool of worker threads (Node only), so encryption and decryption
 * use every core: the main thread frames, authenticates and does I/O while workers run
 * secretbox and SHA-512 over 1 MiB chunks. Buffers move by transfer, not copy.
 *
 * Workers are unreferenced while idle, so an engine left open never keeps a process alive.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { OpenedChunk, PayloadEngine, SealedChunk } from '../engine.js';
import { SaltpackError } from '../errors.js';

// The worker is plain CommonJS evaluated from a string, so it runs the same whether this module
// is loaded from TypeScript sources (tests) or from the build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  const input = new Uint8Array(m.data, m.offset, m.length);
  const h = createHash('sha512').update(m.prefix);
  if (m.op === 'seal') {
    // In place when the chunk has 16 bytes of headroom (libsodium allows overlapping buffers):
    // no allocation here, so no garbage piles up in a worker whose heap rarely collects.
    let out;
    if (m.offset >= 16) out = new Uint8Array(m.data, m.offset - 16, m.length + 16);
    else out = new Uint8Array(m.length + 16);
    sodium.crypto_secretbox_easy(out, input, m.nonce, m.key);
    const hash = new Uint8Array(h.update(out).digest());
    parentPort.postMessage(
      { id: m.id, out: out.buffer, outOffset: out.byteOffset, outLength: out.length, hash: hash.buffer },
      [out.buffer, hash.buffer],
    );
    return;
  }
  // Hash the box before opening it in place over itself.
  const hash = new Uint8Array(h.update(input).digest());
  let ok = false;
  if (m.length >= 16) {
    ok = sodium.crypto_secretbox_open_easy(new Uint8Array(m.data, m.offset + 16, m.length - 16), input, m.nonce, m.key);
  }
  parentPort.postMessage(
    { id: m.id, out: ok ? m.data : null, outOffset: m.offset + 16, outLength: m.length - 16, hash: hash.buffer },
    ok ? [m.data, hash.buffer] : [hash.buffer],
  );
});
`;

interface Reply {
  id: number;
  out: ArrayBuffer | null;
  outOffset: number;
  outLength: number;
  hash: ArrayBuffer;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** A worker-pool engine; call `close()` when done (or let idle workers be collected at exit). */
export interface WorkerEngine extends PayloadEngine {
  /** Number of worker threads. */
  readonly threads: number;
  /** Terminates the workers; pending operations reject. */
  close(): Promise<void>;
}

/** Options of {@link createWorkerEngine}. */
export interface WorkerEngineOptions {
  /** Worker threads (default: available parallelism, at least 1, at most 8). */
  threads?: number;
}

/** Transferable view: the buffer itself when the view covers it, otherwise a copy. */
function ownBuffer(bytes: Uint8Array): { data: ArrayBuffer; offset: number; length: number } {
  const buf = bytes.buffer;
  if (buf instanceof ArrayBuffer && !(buf as { resizable?: boolean }).resizable) {
    return { data: buf, offset: bytes.byteOffset, length: bytes.byteLength };
  }
  const copy = bytes.slice();
  return { data: copy.buffer, offset: 0, length: copy.length };
}

/**
 * Starts a pool of worker threads for payload crypto.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` if sodium-native cannot be resolved.
 */
export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  let sodiumPath: string;
  try {
    sodiumPath = createRequire(import.meta.url).resolve('sodium-native');
  } catch (cause) {
    throw new SaltpackError(
      'backend_unavailable',
      'the worker engine needs sodium-native',
      {},
      { cause },
    );
  }
  const threads = Math.max(1, Math.min(8, options.threads ?? availableParallelism()));
  const pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: unknown) => void; slot: Slot }
  >();
  let nextId = 0;
  let closed = false;
  const slots: Slot[] = [];
  const fail = (e: unknown): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sodiumPath },
      // A worker only moves buffers through native calls: a small heap keeps its memory down.
      resourceLimits: {
        maxYoungGenerationSizeMb: 1,
        maxOldGenerationSizeMb: 16,
        codeRangeSizeMb: 4,
      },
    });
    const slot: Slot = { worker, busy: 0 };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (--slot.busy === 0) worker.unref();
      p.resolve(reply);
    });
    worker.on('error', (e) => {
      fail(new SaltpackError('backend_unavailable', 'a crypto worker failed', {}, { cause: e }));
    });
    slots.push(slot);
  }
  const run = (
    op: 'seal' | 'open',
    key: Uint8Array,
    nonce: Uint8Array,
    bytes: Uint8Array,
    prefix: Uint8Array,
  ): Promise<Reply> => {
    if (closed)
      return Promise.reject(new SaltpackError('invalid_parameter', 'the worker engine is closed'));
    let slot = slots[0]!;
    for (const s of slots) if (s.busy < slot.busy) slot = s;
    const id = nextId++;
    const { data, offset, length } = ownBuffer(bytes);
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject, slot });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, op, key, nonce, prefix, data, offset, length }, [data]);
    });
  };
  return {
    threads,
    async sealChunk(key, nonce, chunk, hashPrefix): Promise<SealedChunk> {
      const r = await run('seal', key, nonce, chunk, hashPrefix);
      return {
        box: new Uint8Array(r.out!, r.outOffset, r.outLength),
        hash: new Uint8Array(r.hash),
      };
    },
    async openChunk(key, nonce, box, hashPrefix): Promise<OpenedChunk> {
      const r = await run('open', key, nonce, box, hashPrefix);
      return {
        plaintext: r.out ? new Uint8Array(r.out, r.outOffset, r.outLength) : null,
        hash: new Uint8Array(r.hash),
      };
    },
    async close() {
      closed = true;
      fail(new SaltpackError('invalid_parameter', 'the worker engine is closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
