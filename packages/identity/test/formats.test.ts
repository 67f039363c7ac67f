import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeMsgpack } from '@saltbox/saltpack/encoding';
import {
  buildEldestLink,
  buildKeyFamily,
  buildPerUserKeyLink,
  canonicalJson,
  createEncryptionPacket,
  createSignaturePacket,
  curve25519Kid,
  decodeCanonicalMsgpack,
  decodeSignaturePacket,
  derivePerUserKeys,
  ed25519Kid,
  encodeCanonicalMsgpack,
  extendUserChain,
  fromBase64,
  IdentityError,
  importChainLink,
  openEncryptionPacket,
  parseCanonicalJson,
  parseJson,
  toBase64,
  verifySignaturePacket,
  verifyUserChain,
  USER_LINK_TYPES,
} from '../src/index.js';
import { generateChain } from '../bench/chain-gen.js';
import { backend, readVector } from './helpers.js';

async function codeOf(f: () => unknown): Promise<string | undefined> {
  try {
    await f();
  } catch (e) {
    if (e instanceof IdentityError) return e.code;
    throw e;
  }
  return undefined;
}

describe('canonical JSON', () => {
  it('sorts keys, compacts, and escapes like Go', () => {
    expect(canonicalJson({ b: 1, a: ['<&>', '\u2028'], c: null })).toBe(
      '{"a":["\\u003c\\u0026\\u003e","\\u2028"],"b":1,"c":null}',
    );
  });

  it('round-trips every payload_json of v2_simple.json byte for byte', () => {
    for (const l of readVector('chains', 'v2_simple.json').chain)
      expect(canonicalJson(parseJson(l.payload_json))).toBe(l.payload_json);
  });

  it('rejects non-canonical or duplicate-key JSON with coded errors', async () => {
    expect(await codeOf(() => parseCanonicalJson('{"b":1,"a":2}'))).toBe('IDENTITY_NON_CANONICAL');
    expect(await codeOf(() => parseJson('{"a":1,"a":2}'))).toBe('IDENTITY_MALFORMED');
  });

  it('keeps integers beyond 2^53 exact', () => {
    expect(canonicalJson(parseJson('{"n":9007199254740993}'))).toBe('{"n":9007199254740993}');
  });

  it('parses strings run by run: escapes between plain runs, raw control characters refused', async () => {
    const long = 'A'.repeat(2000);
    expect(parseJson(`["${long}\\n\\u0041\\"${long}", -1.5e3, 0]`)).toEqual([
      `${long}\nA"${long}`,
      -1500,
      0,
    ]);
    expect(await codeOf(() => parseJson('["a\u0001b"]'))).toBe('IDENTITY_MALFORMED');
    expect(await codeOf(() => parseJson('["abc'))).toBe('IDENTITY_MALFORMED');
    expect(await codeOf(() => parseJson(`[${'9'.repeat(401)}]`))).toBe('IDENTITY_MALFORMED');
    expect(parseJson(`[${'9'.repeat(400)}]`)).toEqual([BigInt('9'.repeat(400))]);
  });
});

describe('base64', () => {
  it('round-trips any bytes and refuses every non-canonical form', async () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    }
    for (const bad of ['QQ', 'QR==', 'QUI=QUI=', 'QU\u00c9=', 'Q\u0141==', 'QUJD\n', 'QU=I'])
      expect(await codeOf(() => fromBase64(bad))).toBe('IDENTITY_MALFORMED');
  });
});

describe('canonical msgpack', () => {
  it('orders string keys as Go does (body, hash, tag, version) and re-decodes', () => {
    const bytes = encodeCanonicalMsgpack({ version: 1, tag: 514, hash: 1, body: 2 });
    expect([...(decodeCanonicalMsgpack(bytes) as Map<unknown, unknown>).keys()]).toEqual([
      'body',
      'hash',
      'tag',
      'version',
    ]);
  });

  it('rejects a non-minimal integer and unsorted keys with IDENTITY_NON_CANONICAL', async () => {
    expect(await codeOf(() => decodeCanonicalMsgpack(Uint8Array.of(0xcc, 0x05)))).toBe(
      'IDENTITY_NON_CANONICAL',
    );
    expect(
      await codeOf(() =>
        decodeCanonicalMsgpack(
          encodeMsgpack(
            new Map([
              ['b', 1],
              ['a', 2],
            ]),
          ),
        ),
      ),
    ).toBe('IDENTITY_NON_CANONICAL');
  });
});

describe('packets', () => {
  it('decodes a team-vector packet (no hash map) and verifies it', async () => {
    const b = await backend();
    const link = readVector('teamchains', '2keys.json').teams.cabal.links[0];
    const p = decodeSignaturePacket(b, link.sig);
    expect(p.hasHash).toBe(false);
    expect(verifySignaturePacket(b, p)).toBe(true);
  });

  it('creates v1 and prefixed v2 packets whose hash and signature check', async () => {
    const b = await backend();
    const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
    for (const prefix of [undefined, 'Keybase-TeamStore-1']) {
      const { base64 } = createSignaturePacket(
        b,
        kp.secretKey,
        new TextEncoder().encode('hi'),
        prefix ? { prefix } : {},
      );
      const p = decodeSignaturePacket(b, base64);
      expect(p.hasHash).toBe(true);
      expect(p.prefix).toBe(prefix);
      expect(verifySignaturePacket(b, p)).toBe(true);
    }
  });

  it('boxes a PUK seed in a tag-515 packet that opens for the receiver only', async () => {
    const b = await backend();
    const sender = b.randomBytes(32);
    const receiver = b.randomBytes(32);
    const seed = b.randomBytes(32);
    const packet = createEncryptionPacket(
      b,
      seed,
      sender,
      curve25519Kid(b.x25519PublicKey(receiver)),
    );
    expect(openEncryptionPacket(b, packet, receiver).plaintext).toEqual(seed);
    expect(await codeOf(() => openEncryptionPacket(b, packet, b.randomBytes(32)))).toBe(
      'IDENTITY_DECRYPTION_FAILED',
    );
  });
});

describe('builders and the verifier agree', () => {
  it('verifies a generated v1 and v2 chain and extends it link by link', async () => {
    const b = await backend();
    for (const v of [1, 2] as const) {
      const chain = generateChain(b, 30, v);
      const family = await buildKeyFamily(b, chain.keys);
      const r = await verifyUserChain(b, {
        uid: chain.uid,
        username: chain.username,
        links: chain.links,
        keyFamily: family,
        eldestKid: chain.eldestKid,
      });
      expect(r.linkCount).toBe(30);
      // A subkey, a sibkey and a revocation: each kind of write to the state.
      const more = [chain.next(), chain.next(), chain.next()];
      const f2 = await buildKeyFamily(b, chain.keys);
      const before = structuredClone(r.state);
      let state = r.state;
      let last = r;
      for (const l of more) {
        last = await extendUserChain(b, state, [l], f2);
        state = last.state;
      }
      // Extending shares unchanged entries with the input state but must never modify it.
      expect(r.state).toEqual(before);
      const whole = await verifyUserChain(b, {
        uid: chain.uid,
        username: chain.username,
        links: chain.links,
        keyFamily: f2,
        eldestKid: chain.eldestKid,
      });
      expect(state).toEqual(whole.state);
      expect({ ...last, state: null }).toEqual({ ...whole, state: null, previousSubchains: [] });
    }
  });

  it('refuses a v1 link whose signed text is payload_json behind a byte-order mark', async () => {
    const b = await backend();
    const chain = generateChain(b, 1, 1);
    const family = await buildKeyFamily(b, [...chain.keys]);
    const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
    const kid = ed25519Kid(kp.publicKey);
    const built = buildEldestLink(
      b,
      { uid: chain.uid, username: chain.username, seqno: 1, prev: null, ctime: 1, sigVersion: 1 },
      { secretKey: kp.secretKey },
    );
    const json = built.link.payload_json!;
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf, ...new TextEncoder().encode(json));
    const resigned = { ...built.link, sig: createSignaturePacket(b, kp.secretKey, bom).base64 };
    const withKid = await buildKeyFamily(b, [...family.kids, kid]);
    const input = { uid: chain.uid, username: chain.username, keyFamily: withKid, eldestKid: kid };
    expect((await verifyUserChain(b, { ...input, links: [built.link] })).linkCount).toBe(1);
    expect(await codeOf(() => verifyUserChain(b, { ...input, links: [resigned] }))).toBe(
      'IDENTITY_VERIFY_FAILED',
    );
  });

  it('builds a per_user_key link (on a one-link chain of its own) whose reverse signature verifies', async () => {
    const b = await backend();
    const chain = generateChain(b, 1, 1);
    const family = await buildKeyFamily(b, chain.keys);
    const first = await verifyUserChain(b, {
      uid: chain.uid,
      username: chain.username,
      links: chain.links,
      keyFamily: family,
      eldestKid: chain.eldestKid,
    });
    const puk = derivePerUserKeys(b, b.randomBytes(32));
    expect(first.sibkeys).toEqual([chain.eldestKid]);
    const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
    const built = buildPerUserKeyLink(
      b,
      { uid: chain.uid, username: chain.username, seqno: 1, prev: null, ctime: 1 },
      { secretKey: kp.secretKey },
      {
        generation: 1,
        signing: { secretKey: puk.signing.secretKey },
        encryptionKid: puk.encryptionKid,
      },
    );
    const fam = await buildKeyFamily(b, [built.link.kid!]);
    const r = await verifyUserChain(b, {
      uid: chain.uid,
      username: chain.username,
      links: [built.link],
      keyFamily: fam,
    });
    expect(r.latestPerUserKey?.encryptionKid).toBe(puk.encryptionKid);
    const tampered = {
      ...built.link,
      payload_json: built.link.payload_json!.replace('"generation":1', '"generation":2'),
    };
    expect(
      await codeOf(() =>
        verifyUserChain(b, {
          uid: chain.uid,
          username: chain.username,
          links: [tampered],
          keyFamily: fam,
        }),
      ),
    ).toBe('IDENTITY_VERIFY_FAILED');
  });
});

describe('fuzz: mutated links and packets give coded errors, never crashes', () => {
  it('mutated signature packets', async () => {
    const b = await backend();
    const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
    const good = createSignaturePacket(b, kp.secretKey, new TextEncoder().encode('payload')).bytes;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (i, x) => {
          const bad = good.slice();
          bad[i]! ^= x;
          try {
            const p = decodeSignaturePacket(b, bad);
            // A flip inside the signature or payload decodes but must not verify.
            expect(verifySignaturePacket(b, p)).toBe(false);
          } catch (e) {
            expect(e).toBeInstanceOf(IdentityError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutated chain links (bytes of sig and payload_json)', async () => {
    const b = await backend();
    const chain = generateChain(b, 6, 2);
    const family = await buildKeyFamily(b, chain.keys);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom('sig', 'payload_json'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (li, field, pos, x) => {
          const links = chain.links.map((l) => ({ ...l }));
          const l = links[li]!;
          if (field === 'sig') {
            const bytes = fromBase64(l.sig!);
            bytes[pos % bytes.length]! ^= x;
            l.sig = toBase64(bytes);
          } else {
            const s = l.payload_json!;
            const k = pos % s.length;
            l.payload_json =
              s.slice(0, k) +
              String.fromCharCode((s.charCodeAt(k) ^ x) & 0x7f || 0x20) +
              s.slice(k + 1);
            if (l.payload_json === s) return;
          }
          try {
            await verifyUserChain(b, {
              uid: chain.uid,
              username: chain.username,
              links,
              keyFamily: family,
              eldestKid: chain.eldestKid,
            });
            expect.unreachable('a mutated chain verified');
          } catch (e) {
            expect(e).toBeInstanceOf(IdentityError);
            expect((e as IdentityError).errType).toBeDefined();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('arbitrary JSON-ish objects as links', async () => {
    const b = await backend();
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          importChainLink(b, v as never, {
            chain: 'user',
            supportedTypes: new Set(Object.keys(USER_LINK_TYPES)),
          });
        } catch (e) {
          expect(e).toBeInstanceOf(IdentityError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
