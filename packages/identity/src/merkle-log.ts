/**
 * The signed log's history: a Merkle tree over every root ever published, in the shape of
 * RFC 9162 §2.1 (Certificate Transparency v2), so a client holding root m can check in
 * O(log n) hashes that root n extends it (a consistency proof, §2.1.4) and that an old root is
 * part of the history (an inclusion proof, §2.1.3).
 *
 * Why this and not Keybase's skip pointers (spec §7): a skip sequence from root m to root n is
 * log2(n − m) whole signed roots, each carrying log2(n) skip hashes (~20 KiB from a root 10,000
 * publications back); a consistency proof is ~log2(n) 32-byte hashes (~0.5 KiB), and it proves
 * the whole history is a prefix, not only that one chain of roots links up.
 *
 * Leaf i (0-based) is root i + 1's `(seqno, map, ctime)`; hashes are SHA-256 with RFC 9162's
 * 0x00 leaf / 0x01 node prefixes. Proof generation is written against complete-subtree reads
 * (`[level, index]`: the hash of leaves index·2^level … (index+1)·2^level − 1), yielded like the
 * map's reads so a synchronous or an asynchronous store can answer; a store keeps exactly the
 * complete subtrees that {@link appendLogLeaf} returns.
 *
 * @packageDocumentation
 */
import { bytesEqual } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** A complete subtree: `2^level` leaves starting at leaf `index · 2^level`. */
export type LogNodeRef = readonly [level: number, index: number];

/** A log read: yields the complete subtrees it needs and is resumed with their hashes. */
export type LogRead<T> = Generator<LogNodeRef, T, Uint8Array>;

/** RFC 9162 leaf hash. */
export function logLeafHash(backend: CryptoBackend, data: Uint8Array): Uint8Array {
  return backend.sha256(LEAF_PREFIX, data);
}

/** RFC 9162 interior hash. */
export function logNodeHash(
  backend: CryptoBackend,
  left: Uint8Array,
  right: Uint8Array,
): Uint8Array {
  return backend.sha256(NODE_PREFIX, left, right);
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** MTH of leaves [start, end), from stored complete subtrees (RFC 9162 §2.1.1). */
function* rangeHash(backend: CryptoBackend, start: number, end: number): LogRead<Uint8Array> {
  const n = end - start;
  if (n === 0) return backend.sha256();
  if (isPowerOfTwo(n) && start % n === 0) return yield [Math.log2(n), start / n];
  const k = splitPoint(n);
  const left = yield* rangeHash(backend, start, start + k);
  const right = yield* rangeHash(backend, start + k, end);
  return logNodeHash(backend, left, right);
}

/** The root hash of the first `size` leaves. */
export function logRootHash(backend: CryptoBackend, size: number): LogRead<Uint8Array> {
  return rangeHash(backend, 0, size);
}

/**
 * Appends leaf number `size` (0-based) with hash `leafHash`: returns the complete subtrees that
 * now exist and must be stored (the leaf itself first), and the new root hash.
 */
export function* appendLogLeaf(
  backend: CryptoBackend,
  size: number,
  leafHash: Uint8Array,
): LogRead<{ nodes: { level: number; index: number; hash: Uint8Array }[]; root: Uint8Array }> {
  const nodes = [{ level: 0, index: size, hash: leafHash }];
  let hash = leafHash;
  let index = size;
  // Each time the new leaf completes a left sibling's pair, their parent is complete too.
  for (let level = 0; index % 2 === 1; level++) {
    const left = yield [level, index - 1];
    hash = logNodeHash(backend, left, hash);
    index = (index - 1) / 2;
    nodes.push({ level: level + 1, index, hash });
  }
  const known = new Map(nodes.map((n) => [`${n.level}/${n.index}`, n.hash]));
  const root = yield* withKnown(rangeHash(backend, 0, size + 1), known);
  return { nodes, root };
}

/** Answers reads of nodes not yet stored from `known`. */
function* withKnown<T>(read: LogRead<T>, known: Map<string, Uint8Array>): LogRead<T> {
  let step = read.next();
  while (step.done !== true) {
    const [level, index] = step.value;
    const hit = known.get(`${level}/${index}`);
    step = read.next(hit ?? (yield step.value));
  }
  return step.value;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[start:end]): the inclusion path of leaf `m` (0-based). */
function* path(
  backend: CryptoBackend,
  m: number,
  start: number,
  end: number,
): LogRead<Uint8Array[]> {
  const n = end - start;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) {
    const rest = yield* path(backend, m, start, start + k);
    return [...rest, yield* rangeHash(backend, start + k, end)];
  }
  const rest = yield* path(backend, m - k, start + k, end);
  return [...rest, yield* rangeHash(backend, start, start + k)];
}

/** The inclusion path of leaf `index` (0-based) in the log of `size` leaves. */
export function logInclusionPath(
  backend: CryptoBackend,
  index: number,
  size: number,
): LogRead<Uint8Array[]> {
  return path(backend, index, 0, size);
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b). */
function* subproof(
  backend: CryptoBackend,
  m: number,
  start: number,
  end: number,
  whole: boolean,
): LogRead<Uint8Array[]> {
  const n = end - start;
  if (m === n) return whole ? [] : [yield* rangeHash(backend, start, end)];
  const k = splitPoint(n);
  if (m <= k) {
    const rest = yield* subproof(backend, m, start, start + k, whole);
    return [...rest, yield* rangeHash(backend, start + k, end)];
  }
  const rest = yield* subproof(backend, m - k, start + k, end, false);
  return [...rest, yield* rangeHash(backend, start, start + k)];
}

/** The consistency proof from the log of `older` leaves to the log of `newer` leaves. */
export function* logConsistencyProof(
  backend: CryptoBackend,
  older: number,
  newer: number,
): LogRead<Uint8Array[]> {
  if (older <= 0 || older >= newer) return [];
  return yield* subproof(backend, older, 0, newer, true);
}

/**
 * RFC 9162 §2.1.3.2: whether `path` proves leaf `index` (hash `leafHash`) is in the log of `size`
 * leaves whose root is `root`.
 */
export function verifyLogInclusion(
  backend: CryptoBackend,
  index: number,
  size: number,
  leafHash: Uint8Array,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = logNodeHash(backend, p, r);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else r = logNodeHash(backend, r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows that the log of `older` leaves with root `olderRoot`
 * is a prefix of the log of `newer` leaves with root `newerRoot`.
 */
export function verifyLogConsistency(
  backend: CryptoBackend,
  older: number,
  newer: number,
  olderRoot: Uint8Array,
  newerRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(older) || !Number.isSafeInteger(newer) || older < 1 || newer < older)
    return false;
  if (older === newer) return proof.length === 0 && bytesEqual(olderRoot, newerRoot);
  const path = isPowerOfTwo(older) ? [olderRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = older - 1;
  let sn = newer - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = logNodeHash(backend, c, fr);
      sr = logNodeHash(backend, c, sr);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else sr = logNodeHash(backend, sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return bytesEqual(fr, olderRoot) && bytesEqual(sr, newerRoot) && sn === 0;
}

/** Runs a log read against a synchronous node lookup. */
export function runLogRead<T>(
  read: LogRead<T>,
  node: (level: number, index: number) => Uint8Array,
): T {
  let step = read.next();
  while (step.done !== true) step = read.next(node(step.value[0], step.value[1]));
  return step.value;
}

/** Runs a log read against an asynchronous node lookup. */
export async function runLogReadAsync<T>(
  read: LogRead<T>,
  node: (level: number, index: number) => Promise<Uint8Array>,
): Promise<T> {
  let step = read.next();
  while (step.done !== true) step = read.next(await node(step.value[0], step.value[1]));
  return step.value;
}

/** A whole history tree in memory: tests, and the auditor replaying a log. */
export class MemoryLog {
  private readonly nodes = new Map<string, Uint8Array>();
  size = 0;

  private readonly backend: CryptoBackend;

  constructor(backend: CryptoBackend) {
    this.backend = backend;
  }

  private readonly read = (level: number, index: number): Uint8Array => {
    const h = this.nodes.get(`${level}/${index}`);
    if (h === undefined) throw new Error(`log node ${level}/${index} is missing`);
    return h;
  };

  /** Appends a leaf's data and returns the new root hash. */
  append(data: Uint8Array): Uint8Array {
    const { nodes, root } = runLogRead(
      appendLogLeaf(this.backend, this.size, logLeafHash(this.backend, data)),
      this.read,
    );
    for (const n of nodes) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    this.size++;
    return root;
  }

  root(size = this.size): Uint8Array {
    return runLogRead(logRootHash(this.backend, size), this.read);
  }

  inclusion(index: number, size = this.size): Uint8Array[] {
    return runLogRead(logInclusionPath(this.backend, index, size), this.read);
  }

  consistency(older: number, newer = this.size): Uint8Array[] {
    return runLogRead(logConsistencyProof(this.backend, older, newer), this.read);
  }
}
