/**
 * The signed log's map: every user and team chain's tail, keyed by UID or team ID, in a sparse
 * binary Merkle tree (DESIGN.md "The signed log"; Keybase's tree in spec §7 plays the same role).
 *
 * Shape. A key is SHA-256 of the ID (256 bits, so no one can choose where an ID lands); the tree
 * branches on the key's bits, most significant first. A subtree holding no key hashes to
 * {@link MAP_EMPTY_HASH}; a subtree holding exactly one key is that key's leaf, wherever it sits
 * (so a tree of n keys is about log2 n deep, not 256); any other subtree is an interior node over
 * its two halves. The shape is a function of the key set alone, so equal sets give equal roots.
 * Hashes are SHA-512 (the 128-hex form Keybase's `merkle_root.hash` carries), with one-byte
 * domain prefixes so a leaf can never be read as an interior node.
 *
 * Leaf value: the canonical JSON `[tail seqno, tail link ID, eldest KID | null]`.
 *
 * The tree code reads nodes through a generator protocol (it yields the bit-prefix it needs and
 * is resumed with the node), so one implementation serves a synchronous store (SQLite, memory)
 * and an asynchronous one (PostgreSQL). Nodes are never deleted: chains only grow, so a prefix
 * that became interior stays interior, and a versioned store can answer for any past root.
 *
 * @packageDocumentation
 */
import { bytesEqual, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson, parseJson } from './canonical-json.js';
import { hexToBytes, toHex } from './encoding.js';
import { fail } from './errors.js';
import type { KidHex } from './ids.js';

/** Bytes of a map hash (SHA-512). */
export const MAP_HASH_BYTES = 64;
/** The hash of an empty subtree (and of an empty map). */
export const MAP_EMPTY_HASH: Uint8Array = new Uint8Array(MAP_HASH_BYTES);

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** A chain's tail as the log records it: the leaf value. */
export interface ChainTail {
  seqno: number;
  linkId: string;
  /** The eldest KID of a user's current subchain; null for teams. */
  eldestKid: KidHex | null;
}

/** A stored node: its hash, and for a leaf the key and encoded value it holds. */
export interface MapNode {
  hash: Uint8Array;
  leaf?: { key: Uint8Array; value: Uint8Array };
}

/**
 * A map read: yields the bit-prefix ('' for the root, then '0', '01', …) whose node it needs and
 * is resumed with that node, or undefined when the prefix holds none (an empty subtree).
 */
export type MapRead<T> = Generator<string, T, MapNode | undefined>;

/** Proof of what the map holds for one ID: the path from the root, and what ends it. */
export interface MapProof {
  /** Sibling hashes (hex), the child of the root first. */
  siblings: string[];
  /** The leaf that ends the path, or null when it ends in an empty subtree. */
  leaf: { key: string; value: string } | null;
}

/** The 256-bit map key of a UID or team ID. */
export function mapKey(backend: CryptoBackend, id: string): Uint8Array {
  return backend.sha256(utf8(id));
}

/** The leaf value of a chain tail. */
export function encodeChainTail(tail: ChainTail): Uint8Array {
  return utf8(canonicalJson([tail.seqno, tail.linkId, tail.eldestKid]));
}

/**
 * Reads a leaf value back.
 *
 * @throws IdentityError `IDENTITY_MERKLE_PROOF_INVALID` when the bytes are not a chain tail.
 */
export function decodeChainTail(value: Uint8Array): ChainTail {
  let v: unknown;
  try {
    v = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch {
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log leaf value is not json');
  }
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    typeof v[0] !== 'number' ||
    !Number.isSafeInteger(v[0]) ||
    v[0] < 1 ||
    typeof v[1] !== 'string' ||
    !/^[0-9a-f]{64}$/.test(v[1]) ||
    !(v[2] === null || (typeof v[2] === 'string' && /^[0-9a-f]{70}$/.test(v[2])))
  )
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log leaf value is not a chain tail');
  const tail: ChainTail = { seqno: v[0], linkId: v[1], eldestKid: v[2] as KidHex | null };
  if (!bytesEqual(encodeChainTail(tail), value))
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log leaf value is not canonical');
  return tail;
}

/** Hash of a leaf holding `value` under `key`; independent of the depth it sits at. */
export function mapLeafHash(
  backend: CryptoBackend,
  key: Uint8Array,
  value: Uint8Array,
): Uint8Array {
  return backend.sha512(LEAF_PREFIX, key, value);
}

/** Hash of an interior node over its two halves. */
export function mapNodeHash(
  backend: CryptoBackend,
  left: Uint8Array,
  right: Uint8Array,
): Uint8Array {
  return backend.sha512(NODE_PREFIX, left, right);
}

/** Bit `i` of a key, most significant first. */
function bit(key: Uint8Array, i: number): 0 | 1 {
  return ((key[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;
}

/** The first `depth` bits of a key as a '0'/'1' string: a node's address. */
export function mapPrefix(key: Uint8Array, depth: number): string {
  return keyBits(key).slice(0, depth);
}

/** All 256 bits of a key as a '0'/'1' string (prefixes of it are node addresses). */
function keyBits(key: Uint8Array): string {
  let s = '';
  for (const byte of key) s += byte.toString(2).padStart(8, '0');
  return s;
}

function firstDifferingBit(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length * 8; i++) if (bit(a, i) !== bit(b, i)) return i;
  return -1;
}

function hashOf(node: MapNode | undefined): Uint8Array {
  return node?.hash ?? MAP_EMPTY_HASH;
}

/**
 * Sets `key` to `value`, reading through `writes` (the batch so far) before the store, and
 * records every node it changes in `writes`. Returns the new root hash.
 */
function* setOne(
  backend: CryptoBackend,
  key: Uint8Array,
  value: Uint8Array,
  writes: Map<string, MapNode>,
): MapRead<Uint8Array> {
  function* get(prefix: string): MapRead<MapNode | undefined> {
    return writes.has(prefix) ? writes.get(prefix) : yield prefix;
  }
  const leaf: MapNode = { hash: mapLeafHash(backend, key, value), leaf: { key, value } };
  const bits = keyBits(key);
  let depth = 0;
  let deepestInterior: number;
  for (;;) {
    const prefix = bits.slice(0, depth);
    const node = yield* get(prefix);
    if (node === undefined || (node.leaf !== undefined && bytesEqual(node.leaf.key, key))) {
      writes.set(prefix, leaf);
      deepestInterior = depth - 1;
      break;
    }
    if (node.leaf !== undefined) {
      // Another key's leaf sits here: both move down to where their keys part.
      const split = firstDifferingBit(node.leaf.key, key);
      if (split < 0) throw fail('IDENTITY_INVALID_ARGUMENT', 'two ids share a map key');
      writes.set(mapPrefix(node.leaf.key, split + 1), node);
      writes.set(mapPrefix(key, split + 1), leaf);
      deepestInterior = split;
      break;
    }
    depth++;
  }
  for (let d = deepestInterior; d >= 0; d--) {
    const prefix = bits.slice(0, d);
    const left = yield* get(prefix + '0');
    const right = yield* get(prefix + '1');
    writes.set(prefix, { hash: mapNodeHash(backend, hashOf(left), hashOf(right)) });
  }
  return hashOf(yield* get(''));
}

/**
 * Applies a batch of `[id, tail]` updates. Returns the nodes to store (by prefix) and the new
 * root hash.
 */
export function* updateMap(
  backend: CryptoBackend,
  updates: readonly (readonly [id: string, tail: ChainTail])[],
): MapRead<{ writes: Map<string, MapNode>; root: Uint8Array }> {
  const writes = new Map<string, MapNode>();
  let root: Uint8Array | undefined;
  for (const [id, tail] of updates)
    root = yield* setOne(backend, mapKey(backend, id), encodeChainTail(tail), writes);
  if (root === undefined) {
    const top: MapNode | undefined = yield '';
    root = hashOf(top);
  }
  return { writes, root };
}

/** Builds the proof of what the map holds for `id`. */
export function* proveMap(backend: CryptoBackend, id: string): MapRead<MapProof> {
  const key = mapKey(backend, id);
  const bits = keyBits(key);
  const siblings: string[] = [];
  for (let depth = 0; ; depth++) {
    const prefix = bits.slice(0, depth);
    const node: MapNode | undefined = yield prefix;
    if (node === undefined) return { siblings, leaf: null };
    if (node.leaf !== undefined)
      return { siblings, leaf: { key: toHex(node.leaf.key), value: toHex(node.leaf.value) } };
    const sibling: MapNode | undefined = yield prefix + (bit(key, depth) === 1 ? '0' : '1');
    siblings.push(toHex(hashOf(sibling)));
  }
}

/** Runs a map read against a synchronous node lookup. */
export function runMapRead<T>(read: MapRead<T>, node: (prefix: string) => MapNode | undefined): T {
  let step = read.next();
  while (step.done !== true) step = read.next(node(step.value));
  return step.value;
}

/** Runs a map read against an asynchronous node lookup. */
export async function runMapReadAsync<T>(
  read: MapRead<T>,
  node: (prefix: string) => Promise<MapNode | undefined>,
): Promise<T> {
  let step = read.next();
  while (step.done !== true) step = read.next(await node(step.value));
  return step.value;
}

/** A whole map in memory: tests, and the auditor replaying a log. */
export class MemoryMap {
  readonly nodes = new Map<string, MapNode>();

  private readonly backend: CryptoBackend;

  constructor(backend: CryptoBackend) {
    this.backend = backend;
  }

  /** Applies a batch of updates and returns the new root hash. */
  update(updates: readonly (readonly [string, ChainTail])[]): Uint8Array {
    const { writes, root } = runMapRead(updateMap(this.backend, updates), (p) => this.nodes.get(p));
    for (const [p, n] of writes) this.nodes.set(p, n);
    return root;
  }

  get root(): Uint8Array {
    return hashOf(this.nodes.get(''));
  }

  prove(id: string): MapProof {
    return runMapRead(proveMap(this.backend, id), (p) => this.nodes.get(p));
  }
}

function proofHex(s: unknown, bytes: number): Uint8Array {
  if (typeof s !== 'string' || s.length !== bytes * 2 || !/^[0-9a-f]*$/.test(s))
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log map proof has a malformed hash');
  return hexToBytes(s);
}

/**
 * Checks a map proof against a root the caller trusts and returns what it proves: the tail of
 * `id`'s chain, or null when the map holds no chain for `id`.
 *
 * @throws IdentityError `IDENTITY_MERKLE_PROOF_INVALID` when the proof is malformed or does not
 * lead to `root`.
 */
export function verifyMapProof(
  backend: CryptoBackend,
  root: Uint8Array,
  id: string,
  proof: MapProof,
): ChainTail | null {
  const key = mapKey(backend, id);
  if (!Array.isArray(proof.siblings) || proof.siblings.length > 256)
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log map proof has a malformed path');
  const depth = proof.siblings.length;
  let hash = MAP_EMPTY_HASH;
  let found: ChainTail | null = null;
  if (proof.leaf !== null) {
    const leafKey = proofHex(proof.leaf.key, 32);
    if (typeof proof.leaf.value !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(proof.leaf.value))
      throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log map proof has a malformed leaf');
    const value = hexToBytes(proof.leaf.value);
    // The leaf that ends the path must lie on this key's path (share its first `depth` bits).
    if (mapPrefix(leafKey, depth) !== mapPrefix(key, depth))
      throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log map proof ends off the path');
    hash = mapLeafHash(backend, leafKey, value);
    if (bytesEqual(leafKey, key)) found = decodeChainTail(value);
  }
  for (let d = depth - 1; d >= 0; d--) {
    const sibling = proofHex(proof.siblings[d], MAP_HASH_BYTES);
    hash =
      bit(key, d) === 1 ? mapNodeHash(backend, sibling, hash) : mapNodeHash(backend, hash, sibling);
  }
  if (!bytesEqual(hash, root))
    throw fail('IDENTITY_MERKLE_PROOF_INVALID', 'log map proof does not lead to the signed root');
  return found;
}
