/**
 * The signed log's pure parts: the map of chain tails (merkle-map.ts), the history tree
 * (merkle-log.ts, RFC 9162 §2.1) and signed roots (merkle-root.ts). Each is checked against an
 * independent from-the-definition computation written here, and every proof is tampered with
 * to show it then fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  encodeChainTail,
  IdentityError,
  logLeafData,
  logLeafHash,
  logNodeHash,
  MAP_EMPTY_HASH,
  mapKey,
  mapLeafHash,
  mapNodeHash,
  MemoryLog,
  MemoryMap,
  signLogRoot,
  toHex,
  verifyLogConsistency,
  verifyLogInclusion,
  verifyLogRoot,
  verifyLogRootsConsistent,
  verifyMapProof,
} from '../src/index.js';
import type { ChainTail, LogRootBody, MapProof, SignedLogRoot } from '../src/index.js';
import { backend } from './helpers.js';

const b: CryptoBackend = await backend('native');

function tail(seqno: number, salt = 0): ChainTail {
  return { seqno, linkId: toHex(b.sha256(utf8(`link ${seqno} ${salt}`))), eldestKid: null };
}

/** The map's definition, straight: recursion over the set of keys at each depth. */
function referenceMapRoot(entries: Map<string, ChainTail>): Uint8Array {
  const items = [...entries].map(([id, t]) => ({ key: mapKey(b, id), value: encodeChainTail(t) }));
  const bitAt = (k: Uint8Array, i: number): number => (k[i >> 3]! >> (7 - (i & 7))) & 1;
  const hash = (set: typeof items, depth: number): Uint8Array => {
    if (set.length === 0) return MAP_EMPTY_HASH;
    if (set.length === 1) return mapLeafHash(b, set[0]!.key, set[0]!.value);
    return mapNodeHash(
      b,
      hash(
        set.filter((x) => bitAt(x.key, depth) === 0),
        depth + 1,
      ),
      hash(
        set.filter((x) => bitAt(x.key, depth) === 1),
        depth + 1,
      ),
    );
  };
  return hash(items, 0);
}

/** RFC 9162 §2.1.1 MTH, straight from the definition. */
function referenceLogRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return b.sha256();
  if (leaves.length === 1) return logLeafHash(b, leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return logNodeHash(b, referenceLogRoot(leaves.slice(0, k)), referenceLogRoot(leaves.slice(k)));
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof IdentityError) return e.code;
    throw e;
  }
  return undefined;
}

describe('the map of chain tails', () => {
  it('has the root of its definition and proves every entry, whatever the order of updates', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 9 })), {
          maxLength: 80,
        }),
        fc.integer({ min: 1, max: 7 }),
        (updates, batch) => {
          const map = new MemoryMap(b);
          const expected = new Map<string, ChainTail>();
          for (let i = 0; i < updates.length; i += batch) {
            const slice = updates
              .slice(i, i + batch)
              .map(([id, s]) => [`id${id}`, tail(s, id)] as const);
            map.update(slice);
            for (const [id, t] of slice) expected.set(id, t);
          }
          expect(toHex(map.root)).toBe(toHex(referenceMapRoot(expected)));
          for (const [id, t] of expected)
            expect(verifyMapProof(b, map.root, id, map.prove(id))).toEqual(t);
          for (let absent = 61; absent < 66; absent++)
            expect(verifyMapProof(b, map.root, `id${absent}`, map.prove(`id${absent}`))).toBe(null);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a proof that was tampered with or is shown against another root', () => {
    const map = new MemoryMap(b);
    map.update(Array.from({ length: 200 }, (_, i) => [`team${i}`, tail(i + 1)] as const));
    const proof = map.prove('team7');
    expect(proof.siblings.length).toBeGreaterThan(3);
    const bad: MapProof[] = [
      { ...proof, siblings: proof.siblings.slice(1) },
      { ...proof, siblings: [...proof.siblings.slice(0, -1), toHex(new Uint8Array(64))] },
      { ...proof, leaf: { ...proof.leaf!, value: toHex(encodeChainTail(tail(99))) } },
      { ...proof, leaf: null },
      { ...proof, siblings: ['zz'] },
    ];
    for (const p of bad)
      expect(code(() => verifyMapProof(b, map.root, 'team7', p))).toBe(
        'IDENTITY_MERKLE_PROOF_INVALID',
      );
    // The same proof for another ID, and against an older root.
    expect(code(() => verifyMapProof(b, map.root, 'team8', proof))).toBe(
      'IDENTITY_MERKLE_PROOF_INVALID',
    );
    const before = map.root;
    map.update([['team7', tail(500)]]);
    expect(code(() => verifyMapProof(b, before, 'team7', map.prove('team7')))).toBe(
      'IDENTITY_MERKLE_PROOF_INVALID',
    );
    expect(verifyMapProof(b, before, 'team7', proof)).toEqual(tail(8));
  });

  it('keeps proofs short: ~log2(n) siblings at 5,000 entries', () => {
    const map = new MemoryMap(b);
    map.update(Array.from({ length: 5_000 }, (_, i) => [`u${i}`, tail(1, i)] as const));
    const depths = ['u1', 'u777', 'u4999'].map((id) => map.prove(id).siblings.length);
    for (const d of depths) expect(d).toBeLessThan(32);
  });
});

describe('the history tree (RFC 9162)', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => utf8(`root ${i + 1}`));
  const log = new MemoryLog(b);
  const roots = leaves.map((l) => log.append(l));

  it('has the MTH of its definition at every size', () => {
    for (let n = 1; n <= leaves.length; n++) {
      expect(toHex(roots[n - 1]!)).toBe(toHex(referenceLogRoot(leaves.slice(0, n))));
      expect(toHex(log.root(n))).toBe(toHex(roots[n - 1]!));
    }
  });

  it('proves inclusion of every leaf at every size, and nothing tampered', () => {
    for (let n = 1; n <= 40; n++)
      for (let i = 0; i < n; i++) {
        const path = log.inclusion(i, n);
        const leaf = logLeafHash(b, leaves[i]!);
        expect(verifyLogInclusion(b, i, n, leaf, path, roots[n - 1]!)).toBe(true);
        expect(verifyLogInclusion(b, i, n, logLeafHash(b, utf8('x')), path, roots[n - 1]!)).toBe(
          false,
        );
        if (n > 1)
          expect(verifyLogInclusion(b, (i + 1) % n, n, leaf, path, roots[n - 1]!)).toBe(false);
      }
  });

  it('proves consistency between every pair of sizes, and refuses forks and rollbacks', () => {
    for (let n = 2; n <= 45; n++)
      for (let m = 1; m < n; m++) {
        const proof = log.consistency(m, n);
        expect(
          verifyLogConsistency(b, m, n, roots[m - 1]!, roots[n - 1]!, proof),
          `${m}→${n}`,
        ).toBe(true);
        // A different older history (a fork) or the sizes swapped (a rollback) do not verify.
        expect(verifyLogConsistency(b, m, n, roots[m]!, roots[n - 1]!, proof)).toBe(false);
        expect(verifyLogConsistency(b, n, m, roots[n - 1]!, roots[m - 1]!, proof)).toBe(false);
        if (proof.length > 0) {
          const bent = proof.map((h, i) => (i === proof.length - 1 ? b.sha256(h) : h));
          expect(verifyLogConsistency(b, m, n, roots[m - 1]!, roots[n - 1]!, bent)).toBe(false);
        }
      }
  });

  it('keeps a consistency proof from 10,000 roots back under 1 KiB', () => {
    const big = new MemoryLog(b);
    for (let i = 0; i < 10_500; i++) big.append(utf8(`r${i}`));
    const proof = big.consistency(500, 10_500);
    expect(proof.length * 32).toBeLessThan(1024);
    expect(verifyLogConsistency(b, 500, 10_500, big.root(500), big.root(10_500), proof)).toBe(true);
  });
});

describe('signed roots', () => {
  const key = b.ed25519KeyPairFromSeed(new Uint8Array(32).fill(7));
  const other = b.ed25519KeyPairFromSeed(new Uint8Array(32).fill(8));
  const kid = signLogRoot(
    b,
    { seqno: 1, ctime: 1, map: toHex(MAP_EMPTY_HASH), log: toHex(b.sha256()), prev: null },
    key.secretKey,
    [],
  ).kid;

  /** A little server: publishes roots over a growing map; `fork` changes the last update. */
  function publish(count: number, fork = ''): { roots: SignedLogRoot[]; log: MemoryLog } {
    const map = new MemoryMap(b);
    const log = new MemoryLog(b);
    const roots: SignedLogRoot[] = [];
    let prev: string | null = null;
    for (let seqno = 1; seqno <= count; seqno++) {
      map.update([[`team${seqno % 5}${seqno === count ? fork : ''}`, tail(seqno)]]);
      const body = { seqno, ctime: 1_700_000_000 + seqno, map: toHex(map.root), prev };
      const logRoot = log.append(logLeafData(body));
      const signed = signLogRoot(
        b,
        { ...body, log: toHex(logRoot) },
        key.secretKey,
        log.inclusion(seqno - 1),
      );
      roots.push(signed);
      prev = toHex(b.sha256(utf8(signed.payloadJson)));
    }
    return { roots, log };
  }

  const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

  it('verifies, with hash_meta = SHA-256 of the payload', () => {
    const [r1] = publish(1).roots;
    const v = verifyLogRoot(b, r1!, kid);
    expect(v.seqno).toBe(1);
    expect(v.hashMeta).toBe(toHex(b.sha256(utf8(r1!.payloadJson))));
  });

  it('refuses another key, a changed payload or signature, and a map not in its history', () => {
    const r = publish(6).roots[5]!;
    const body = JSON.parse(r.payloadJson) as LogRootBody;
    const forged = signLogRoot(b, body, other.secretKey, r.leafPath.map(fromHex));
    const otherMap = signLogRoot(
      b,
      { ...body, map: toHex(new Uint8Array(64).fill(1)) },
      key.secretKey,
      r.leafPath.map(fromHex),
    );
    const cases: SignedLogRoot[] = [
      forged,
      { ...forged, kid },
      { ...r, payloadJson: r.payloadJson.replace('"seqno":6', '"seqno":7') },
      { ...r, sig: Buffer.from(new Uint8Array(64)).toString('base64') },
      { ...r, leafPath: [] },
      otherMap,
    ];
    for (const c of cases)
      expect(code(() => verifyLogRoot(b, c, kid))).toBe('IDENTITY_LOG_ROOT_INVALID');
  });

  it('joins an older root to a newer one, and catches a rollback and a fork', () => {
    const { roots, log } = publish(40);
    const v = roots.map((r) => verifyLogRoot(b, r, kid));
    const proof = (m: number): string[] => log.consistency(m, 40).map(toHex);
    for (const m of [1, 2, 7, 16, 39, 40])
      expect(() => {
        verifyLogRootsConsistent(b, v[m - 1]!, v[39]!, proof(m));
      }).not.toThrow();
    // Rollback: shown root 10 after root 30.
    expect(
      code(() => {
        verifyLogRootsConsistent(b, v[29]!, v[9]!, []);
      }),
    ).toBe('IDENTITY_LOG_INCONSISTENT');
    // Fork at seqno 40: another root at the same seqno.
    const forked = publish(40, '-fork').roots.map((r) => verifyLogRoot(b, r, kid));
    expect(
      code(() => {
        verifyLogRootsConsistent(b, v[39]!, forked[39]!, []);
      }),
    ).toBe('IDENTITY_LOG_INCONSISTENT');
    // Fork at seqno 39: the honest log's proof from 39 to 40 does not join it.
    const sibling = publish(39, '-fork').roots.map((r) => verifyLogRoot(b, r, kid));
    expect(
      code(() => {
        verifyLogRootsConsistent(b, sibling[38]!, v[39]!, proof(39));
      }),
    ).toBe('IDENTITY_LOG_INCONSISTENT');
    // A fork further back, against the honest proof from its size.
    const early = publish(20, '-fork').roots.map((r) => verifyLogRoot(b, r, kid));
    expect(
      code(() => {
        verifyLogRootsConsistent(b, early[19]!, v[39]!, proof(20));
      }),
    ).toBe('IDENTITY_LOG_INCONSISTENT');
  });
});
