/**
 * A {@link PayloadEngine} on a pool of worker threads (Node only), so encryption and decryption
 * use every core: the main thread frames, authenticates and does I/O while workers run
 * secretbox and SHA-512 over 1 MiB chunks. The same workers share out a large header's key
 * agreement (`boxBeforeNmMany`: one X25519 and HSalsa20 per recipient, about 40 µs each), with
 * the calling thread taking an equal share.
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
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Transferable } from 'node:worker_threads';
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
//
// Key agreement needs HSalsa20, which sodium-native lacks: the worker imports it from
// @noble/ciphers, as backend/hsalsa.ts does, and says `ready` once it has it (a message for
// ready(), and a flag in shared memory that the caller reads synchronously: a caller whose
// encryptions never wait on I/O would not get to the message); until then the
// engine does key agreement on the calling thread. boxKey mirrors hsalsaBoxKey there (the
// tests check that both paths give the same message bytes).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
const { createHash } = require('node:crypto');
let hsalsa = null;
import(workerData.salsaUrl).then(
  (m) => {
    hsalsa = m.hsalsa;
    Atomics.store(new Int32Array(workerData.readyFlag), 0, 1);
    parentPort.postMessage({ ready: true });
  },
  () => parentPort.postMessage({ ready: false }),
);
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const ZERO_NONCE = new Uint32Array(4);
const point = new Uint8Array(32);
const pointWords = new Uint32Array(8);
const keyWords = new Uint32Array(8);
function boxKey(secret, peer, out) {
  try {
    sodium.crypto_scalarmult(point, secret, peer);
  } catch {
    point.fill(0); // a low-order peer: the all-zero point, as the backends do
  }
  const pv = new DataView(point.buffer);
  for (let i = 0; i < 8; i++) pointWords[i] = pv.getUint32(i * 4, true);
  hsalsa(SIGMA, pointWords, ZERO_NONCE, keyWords);
  const ov = new DataView(out.buffer, out.byteOffset, 32);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, keyWords[i], true);
}
parentPort.on('message', (m) => {
  if (m.op === 'beforenm') {
    const peers = new Uint8Array(m.peers);
    const keys = new Uint8Array(peers.length);
    for (let o = 0; o < peers.length; o += 32)
      boxKey(m.secret, peers.subarray(o, o + 32), keys.subarray(o, o + 32));
    parentPort.postMessage({ id: m.id, ok: true, keys: keys.buffer }, [keys.buffer]);
    return;
  }
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
  /** Chunk jobs: SHA-512(prefix ‖ box). */
  hash?: ArrayBuffer;
  /** Key agreement jobs: the 32-byte keys, in order. */
  keys?: ArrayBuffer;
}

interface WorkerSlot {
  worker: Worker;
  busy: number;
  /** Set to 1 by the worker once HSalsa20 is loaded: key agreement may go to it. */
  readyFlag: Int32Array;
  /** The worker thread has ended. */
  exited: boolean;
  /** Settles with `ready` once the worker has said whether it loaded. */
  loaded: Promise<boolean>;
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
  /**
   * Resolves once every worker has loaded what key agreement needs: true, or false when one
   * could not (then `boxBeforeNmMany` uses the workers that can, or this thread).
   */
  ready(): Promise<boolean>;
  /** Counters, for tests and benchmarks: peers whose key agreement ran on a worker. */
  readonly stats: { peersOnWorkers: number };
  /** Shares the peers between the ready workers and this thread above the threshold. */
  boxBeforeNmMany(secretKey: Uint8Array, peers: readonly Uint8Array[]): Promise<Uint8Array[]>;
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
  /**
   * `boxBeforeNmMany` with fewer peers than this runs on the calling thread (default 128):
   * below it, a worker round trip costs about what it saves.
   */
  keyAgreementThreshold?: number;
}

/** Default of {@link WorkerEngineOptions.keyAgreementThreshold}. */
export const KEY_AGREEMENT_THRESHOLD = 128;

/**
 * Starts a pool of worker threads for payload crypto.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` if sodium-native cannot be resolved.
 */
export function createWorkerEngine(options: WorkerEngineOptions = {}): WorkerEngine {
  let sodiumPath: string;
  let salsaUrl: string;
  try {
    const require = createRequire(import.meta.url);
    sodiumPath = require.resolve('sodium-native');
    salsaUrl = pathToFileURL(require.resolve('@noble/ciphers/salsa.js')).href;
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
  const backend = options.backend ?? createNativeBackend();
  const fallback = inlineEngine(backend);
  const local = share ? fallback : null;
  const keyAgreementThreshold = options.keyAgreementThreshold ?? KEY_AGREEMENT_THRESHOLD;
  let turn = 0;
  const pending = new Map<
    number,
    { target: WorkerSlot; resolve: (r: Reply) => void; reject: (e: unknown) => void }
  >();
  let nextId = 0;
  let closed = false;
  const workers: WorkerSlot[] = [];
  const fail = (e: unknown): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  for (let i = 0; i < threads; i++) {
    const readyFlag = new SharedArrayBuffer(4);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sodiumPath, salsaUrl, readyFlag },
      // A worker only calls into native code: a small heap keeps its memory down.
      resourceLimits: {
        maxYoungGenerationSizeMb: 1,
        maxOldGenerationSizeMb: 16,
        codeRangeSizeMb: 4,
      },
    });
    let loaded!: (ok: boolean) => void;
    const entry: WorkerSlot = {
      worker,
      busy: 0,
      readyFlag: new Int32Array(readyFlag),
      exited: false,
      loaded: new Promise<boolean>((resolve) => {
        loaded = resolve;
      }),
    };
    worker.on('message', (reply: Reply | { ready: boolean }) => {
      if ('ready' in reply) {
        loaded(reply.ready);
        return;
      }
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (--entry.busy === 0) worker.unref();
      p.resolve(reply);
    });
    worker.on('error', (e) => {
      entry.exited = true; // an uncaught error ends the thread: no new jobs for it
      fail(new SaltpackError('backend_unavailable', 'a crypto worker failed', {}, { cause: e }));
    });
    worker.on('exit', () => {
      entry.exited = true;
      loaded(false);
      // A worker that ended (crashed, or killed from outside) answers nothing more: its jobs
      // fail now instead of hanging, and later jobs go to the others or to this thread.
      const gone = new SaltpackError('backend_unavailable', 'a crypto worker exited');
      for (const [id, p] of pending)
        if (p.target === entry) {
          pending.delete(id);
          p.reject(gone);
        }
    });
    // After the listeners: adding a 'message' listener refs the worker's port again, and an
    // engine that was never used must not keep the process alive.
    worker.unref();
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

  const stats = { peersOnWorkers: 0 };

  /** Sends one job to a worker; the reply arrives through the `message` handler. */
  const post = (
    target: WorkerSlot,
    job: Record<string, unknown>,
    transfer: Transferable[] = [],
  ): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { target, resolve, reject });
      if (target.busy++ === 0) target.worker.ref();
      target.worker.postMessage({ id, ...job }, transfer);
    });

  const run = async (
    op: 'seal' | 'open',
    key: Uint8Array,
    nonce: Uint8Array,
    bytes: Uint8Array,
    prefix: Uint8Array,
  ): Promise<{ ok: boolean; hash: Uint8Array; slot: SharedSlot } | null> => {
    if (closed) throw new SaltpackError('invalid_parameter', 'the worker engine is closed');
    const alive = workers.filter((w) => !w.exited);
    let target = alive[0];
    if (!target) return null;
    for (const w of alive) if (w.busy < target.busy) target = w;
    const slot = takeSlot(bytes.length);
    slot.bytes.set(bytes, 16);
    const reply = await post(target, {
      op,
      key,
      nonce,
      prefix,
      slot: slot.buffer,
      length: bytes.length,
    });
    return { ok: reply.ok, hash: new Uint8Array(reply.hash!), slot };
  };

  /** Key agreement for `peers` on one worker: the peers go over packed, the keys come back. */
  const agreeOn = async (
    target: WorkerSlot,
    secretKey: Uint8Array,
    peers: readonly Uint8Array[],
  ): Promise<Uint8Array[]> => {
    if (peers.length === 0) return [];
    stats.peersOnWorkers += peers.length;
    const packed = new Uint8Array(peers.length * 32);
    peers.forEach((p, i) => {
      packed.set(p, i * 32);
    });
    const reply = await post(target, { op: 'beforenm', secret: secretKey, peers: packed.buffer }, [
      packed.buffer,
    ]);
    const keys = new Uint8Array(reply.keys!);
    return peers.map((_, i) => keys.subarray(i * 32, i * 32 + 32));
  };

  // Round robin: `threads` jobs to the workers, then one on this thread.
  const localTurn = (): boolean => {
    if (!local) return false;
    turn = (turn + 1) % (threads + 1);
    return turn === 0;
  };

  return {
    threads,
    stats,
    async ready() {
      // Referenced while waiting: a caller with nothing else pending must not exit meanwhile.
      for (const w of workers) w.worker.ref();
      try {
        return (await Promise.all(workers.map((w) => w.loaded))).every(Boolean);
      } finally {
        for (const w of workers) if (w.busy === 0) w.worker.unref();
      }
    },
    async sealChunk(key, nonce, chunk, hashPrefix): Promise<SealedChunk> {
      if (localTurn()) return local!.sealChunk(key, nonce, chunk, hashPrefix);
      const r = await run('seal', key, nonce, chunk, hashPrefix);
      // Every worker has exited: this thread does the work.
      if (!r) return fallback.sealChunk(key, nonce, chunk, hashPrefix);
      const box = r.slot.bytes.slice(0, chunk.length + 16);
      release(r.slot);
      return { box, hash: r.hash };
    },
    async openChunk(key, nonce, box, hashPrefix): Promise<OpenedChunk> {
      if (localTurn()) return local!.openChunk(key, nonce, box, hashPrefix);
      const r = await run('open', key, nonce, box, hashPrefix);
      if (!r) return fallback.openChunk(key, nonce, box, hashPrefix);
      const plaintext = r.ok ? r.slot.bytes.slice(32, 16 + box.length) : null;
      release(r.slot);
      return { plaintext, hash: r.hash };
    },
    async boxBeforeNmMany(secretKey, peers): Promise<Uint8Array[]> {
      if (closed) throw new SaltpackError('invalid_parameter', 'the worker engine is closed');
      // Checked here: the worker maps a failing scalar multiplication to the all-zero point
      // (low-order peers), which must not also swallow a key of the wrong length.
      if (secretKey.length !== 32 || peers.some((p) => p.length !== 32))
        throw new SaltpackError('invalid_parameter', 'box keys must be 32 bytes');
      const helpers = workers.filter((w) => !w.exited && Atomics.load(w.readyFlag, 0) === 1);
      if (peers.length < keyAgreementThreshold || helpers.length === 0)
        return peers.map((peer) => backend.boxBeforeNm(peer, secretKey));
      // Equal shares: one per ready worker, and one for this thread while they run.
      const size = Math.ceil(peers.length / (helpers.length + (share ? 1 : 0)));
      const theirs = helpers.map((w, j) =>
        agreeOn(w, secretKey, peers.slice(j * size, (j + 1) * size)),
      );
      const mine = peers.slice(helpers.length * size).map((p) => backend.boxBeforeNm(p, secretKey));
      return [...(await Promise.all(theirs)).flat(), ...mine];
    },
    async close() {
      closed = true;
      fail(new SaltpackError('invalid_parameter', 'the worker engine is closed'));
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
