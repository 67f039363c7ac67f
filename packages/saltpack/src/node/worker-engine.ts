/**
 * A {@link PayloadEngine} on a pool of worker threads (Node only), so encryption and decryption
 * use every core: the main thread frames, authenticates and does I/O while workers run
 * secretbox and SHA-512 over 1 MiB chunks.
 *
 * Jobs travel through a small pool of reused SharedArrayBuffer slots: the bytes are copied in,
 * processed in place by the worker, and copied out. Transferring ArrayBuffers instead leaves
 * their memory to V8's lazy accounting of buffers arriving from other threads, and peak RSS
 * doubled; with reused slots the memory in flight is bounded by the jobs in flight.
 *
 * Workers are unreferenced while idle, so an engine left open never keeps a process alive.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE } from '../constants.js';
import { createNativeBackend } from '../backend/native.js';
import type { CryptoBackend } from '../backend/types.js';
import { inlineEngine } from '../engine.js';
import type { OpenedChunk, PayloadEngine, SealedChunk } from '../engine.js';
import { SaltpackError } from '../errors.js';

// Plain CommonJS evaluated from a string, so the worker runs the same whether this module is
// loaded from TypeScript sources (tests) or from the build. The job's bytes sit at offset 16 of
// the slot; libsodium allows overlapping buffers, so sealing and opening happen in place and
// nothing but the 64-byte hash is allocated here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  const input = new Uint8Array(m.slot, 16, m.length);
  const h = createHash('sha512').update(m.prefix);
  if (m.op === 'seal') {
    const out = new Uint8Array(m.slot, 0, m.length + 16);
    sodium.crypto_secretbox_easy(out, input, m.nonce, m.key);
    const hash = new Uint8Array(h.update(out).digest());
    parentPort.postMessage({ id: m.id, ok: true, hash: hash.buffer }, [hash.buffer]);
    return;
  }
  const hash = new Uint8Array(h.update(input).digest()); // hash the box before opening over it
  const ok = m.length >= 16 &&
    sodium.crypto_secretbox_open_easy(new Uint8Array(m.slot, 32, m.length - 16), input, m.nonce, m.key);
  parentPort.postMessage({ id: m.id, ok, hash: hash.buffer }, [hash.buffer]);
});
`;

interface Reply {
  id: number;
  ok: boolean;
  hash: ArrayBuffer;
}

interface WorkerSlot {
  worker: Worker;
  busy: number;
}

/** A reusable shared buffer: 16 bytes of headroom for the tag, then the job's bytes. */
interface SharedSlot {
  buffer: SharedArrayBuffer;
  bytes: Uint8Array;
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
  /** Worker threads (default: available parallelism minus one, at least 1, at most 8). */
  threads?: number;
  /**
   * Also run every (threads + 1)-th chunk on the calling thread (default true). The caller's
   * thread is mostly waiting on I/O, so it can take a share of the crypto; that saves one worker
   * isolate (about 12 MiB) for the same use of the cores.
   */
  shareCallingThread?: boolean;
  /** Backend for the calling thread's share (default: the native backend). */
  backend?: CryptoBackend;
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
  const threads = Math.max(1, Math.min(8, options.threads ?? availableParallelism() - 1));
  const share = options.shareCallingThread ?? true;
  const local = share ? inlineEngine(options.backend ?? createNativeBackend()) : null;
  let turn = 0;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  let nextId = 0;
  let closed = false;
  const workers: WorkerSlot[] = [];
  const fail = (e: unknown): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sodiumPath },
      // A worker only calls into native code: a small heap keeps its memory down.
      resourceLimits: {
        maxYoungGenerationSizeMb: 1,
        maxOldGenerationSizeMb: 16,
        codeRangeSizeMb: 4,
      },
    });
    const entry: WorkerSlot = { worker, busy: 0 };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (--entry.busy === 0) worker.unref();
      p.resolve(reply);
    });
    worker.on('error', (e) => {
      fail(new SaltpackError('backend_unavailable', 'a crypto worker failed', {}, { cause: e }));
    });
    workers.push(entry);
  }

  const freeSlots: SharedSlot[] = [];
  const takeSlot = (length: number): SharedSlot => {
    const need = length + 32;
    const slot = freeSlots.pop();
    if (slot && slot.buffer.byteLength >= need) return slot;
    const buffer = new SharedArrayBuffer(Math.max(need, CHUNK_SIZE + 64));
    return { buffer, bytes: new Uint8Array(buffer) };
  };
  const release = (slot: SharedSlot): void => {
    if (freeSlots.length < 16) freeSlots.push(slot);
  };

  const run = async (
    op: 'seal' | 'open',
    key: Uint8Array,
    nonce: Uint8Array,
    bytes: Uint8Array,
    prefix: Uint8Array,
  ): Promise<{ ok: boolean; hash: Uint8Array; slot: SharedSlot }> => {
    if (closed) throw new SaltpackError('invalid_parameter', 'the worker engine is closed');
    let target = workers[0]!;
    for (const w of workers) if (w.busy < target.busy) target = w;
    const id = nextId++;
    const slot = takeSlot(bytes.length);
    slot.bytes.set(bytes, 16);
    const reply = await new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (target.busy++ === 0) target.worker.ref();
      target.worker.postMessage({
        id,
        op,
        key,
        nonce,
        prefix,
        slot: slot.buffer,
        length: bytes.length,
      });
    });
    return { ok: reply.ok, hash: new Uint8Array(reply.hash), slot };
  };

  // Round robin: `threads` jobs to the workers, then one on this thread.
  const localTurn = (): boolean => {
    if (!local) return false;
    turn = (turn + 1) % (threads + 1);
    return turn === 0;
  };

  return {
    threads,
    async sealChunk(key, nonce, chunk, hashPrefix): Promise<SealedChunk> {
      if (localTurn()) return local!.sealChunk(key, nonce, chunk, hashPrefix);
      const r = await run('seal', key, nonce, chunk, hashPrefix);
      const box = r.slot.bytes.slice(0, chunk.length + 16);
      release(r.slot);
      return { box, hash: r.hash };
    },
    async openChunk(key, nonce, box, hashPrefix): Promise<OpenedChunk> {
      if (localTurn()) return local!.openChunk(key, nonce, box, hashPrefix);
      const r = await run('open', key, nonce, box, hashPrefix);
      const plaintext = r.ok ? r.slot.bytes.slice(32, 16 + box.length) : null;
      release(r.slot);
      return { plaintext, hash: r.hash };
    },
    async close() {
      closed = true;
      fail(new SaltpackError('invalid_parameter', 'the worker engine is closed'));
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
