/**
 * The keystore conformance suite: one function, run against every transport. A transport
 * factory returns a client over a fresh, uninitialised keystore (cheap scrypt) and a teardown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CryptoBackend } from '@saltbox/saltpack';
import { defaultBackend, generateBoxKey } from '@saltbox/saltpack';
import { concatBytes, fromHex, toHex, uint64BE, utf8 } from '@saltbox/saltpack/encoding';
import type { KeystoreClient } from '@saltbox/keystore';
import { KeystoreError, SIGNATURE_PREFIXES, kidPublicKey } from '@saltbox/keystore';

/** What a transport factory hands the suite. */
export interface Harness {
  client: KeystoreClient;
  /** True when the transport crosses a process/thread boundary (privileged calls refused). */
  remote: boolean;
  teardown(): Promise<void>;
}

/** Creates a client over a fresh keystore. */
export type HarnessFactory = () => Promise<Harness>;

const PASS = 'correct horse battery staple';
const PAPER =
  'abandon ability able about above absent absorb abstract absurd abuse access accident acid';

/** Expects a promise to reject with a KeystoreError of `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<KeystoreError> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${code}, got success`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KeystoreError);
  expect((e as KeystoreError).code).toBe(code);
  return e as KeystoreError;
}

function okItems<T>(items: readonly ({ result: T } | { error: { code: string } })[]): T[] {
  return items.map((i) => {
    if ('error' in i) throw new Error(`item failed: ${i.error.code}`);
    return i.result;
  });
}

/** Registers the conformance tests for one transport. */
export function describeKeystoreConformance(name: string, factory: HarnessFactory): void {
  describe(`keystore conformance: ${name}`, () => {
    const live: Harness[] = [];
    let backend: CryptoBackend;
    const make = async (unlock = true): Promise<KeystoreClient> => {
      backend = await defaultBackend();
      const h = await factory();
      live.push(h);
      if (unlock) await h.client.unlock({ passphrase: PASS, create: true });
      return h.client;
    };
    afterEach(async () => {
      await Promise.all(live.splice(0).map((h) => h.teardown()));
    });

    it('goes through the lifecycle: uninitialized → unlocked → locked → unlocked', async () => {
      const ks = await make(false);
      expect((await ks.status()).state).toBe('uninitialized');
      await expectCode(ks.unlock({ passphrase: PASS }), 'KEYSTORE_UNINITIALIZED');
      expect(await ks.unlock({ passphrase: PASS, create: true })).toEqual({ state: 'unlocked' });
      const dev = await ks.createDevice({ name: 'laptop', type: 'desktop' });
      expect(await ks.lock()).toEqual({ state: 'locked' });
      expect((await ks.status()).state).toBe('locked');
      await expectCode(ks.getPublicKeyBundle(), 'KEYSTORE_LOCKED');
      await expectCode(ks.unlock({ passphrase: 'wrong passphrase' }), 'KEYSTORE_WRONG_PASSPHRASE');
      expect((await ks.status()).state).toBe('locked');
      await ks.unlock({ passphrase: PASS });
      const status = await ks.status();
      expect(status.state).toBe('unlocked');
      expect(status.counts.devices).toBe(1);
      expect((await ks.getPublicKeyBundle()).devices).toEqual([dev]);
    });

    it('creates devices with Keybase-shaped IDs and KIDs', async () => {
      const ks = await make();
      const d = await ks.createDevice({ name: 'bot 1', type: 'bot' });
      expect(d.deviceId).toMatch(/^[0-9a-f]{30}18$/);
      expect(d.signingKid).toMatch(/^0120[0-9a-f]{64}0a$/);
      expect(d.encryptionKid).toMatch(/^0121[0-9a-f]{64}0a$/);
      expect(d).toMatchObject({ name: 'bot 1', type: 'bot', persistent: true });
    });

    it('derives the paper key of the known answer', async () => {
      const ks = await make();
      const p = await ks.derivePaperKeyDevice({ phrase: `  ${PAPER.toUpperCase()} ` });
      expect(p.signingKid).toBe(
        '0120579202e3e574de1c71df522550ef8ffbcd6a4def8a31c9a2bd59459d0545b9ca0a',
      );
      expect(p.encryptionKid).toBe(
        '0121c9a3082377a404b55045f4f111aed85ee0026f8920e1257aa2fdc2e4f5b5a2050a',
      );
      expect(p).toMatchObject({ name: 'abandon ability', type: 'backup' });
      const e = await expectCode(
        ks.derivePaperKeyDevice({ phrase: 'too short a phrase' }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      expect(e.message).not.toContain('short');
    });

    it('keeps oneshot paper keys out of storage', async () => {
      const ks = await make();
      const p = await ks.derivePaperKeyDevice({ phrase: PAPER, persist: false });
      expect(p.persistent).toBe(false);
      await ks.lock();
      await ks.unlock({ passphrase: PASS });
      expect((await ks.getPublicKeyBundle()).devices).toEqual([]);
    });

    it('stores a oneshot paper key when it is derived again with persist', async () => {
      const ks = await make();
      const oneshot = await ks.derivePaperKeyDevice({ phrase: PAPER, persist: false });
      const kept = await ks.derivePaperKeyDevice({ phrase: PAPER, persist: true });
      expect(kept).toEqual({ ...oneshot, persistent: true });
      await ks.lock();
      await ks.unlock({ passphrase: PASS });
      expect((await ks.getPublicKeyBundle()).devices).toEqual([kept]);
    });

    it('signs with domain separation per purpose, per item', async () => {
      const ks = await make();
      const d = await ks.createDevice({ name: 'd', type: 'desktop' });
      const pub = kidPublicKey(d.signingKid);
      const msg = utf8('GET /api/v1/x');
      const link = utf8('{"body":{}}');
      const saltpackInput = concatBytes(utf8('saltpack detached signature\0'), new Uint8Array(64));
      const res = await ks.sign({
        items: [
          { kid: d.signingKid, purpose: 'http_request', message: msg },
          { kid: d.signingKid, purpose: 'sigchain_link', message: link },
          { kid: d.signingKid, purpose: 'saltpack', message: saltpackInput },
          { kid: d.signingKid, purpose: 'sigchain_link', message: msg },
          { kid: d.signingKid, purpose: 'saltpack', message: msg },
          { kid: `0120${'00'.repeat(32)}0a`, purpose: 'nist', message: msg },
        ],
      });
      const [http, chain, sp] = okItems(res.items.slice(0, 3));
      const prefixed = concatBytes(utf8(SIGNATURE_PREFIXES.http_request), new Uint8Array([0]), msg);
      expect(backend.ed25519Verify(http!.signature, prefixed, pub)).toBe(true);
      expect(backend.ed25519Verify(http!.signature, msg, pub)).toBe(false);
      expect(backend.ed25519Verify(chain!.signature, link, pub)).toBe(true);
      expect(backend.ed25519Verify(sp!.signature, saltpackInput, pub)).toBe(true);
      expect(res.items.slice(3).map((i) => ('error' in i ? i.error.code : 'ok'))).toEqual([
        'KEYSTORE_INVALID_ARGUMENT',
        'KEYSTORE_INVALID_ARGUMENT',
        'KEYSTORE_UNKNOWN_KEY',
      ]);
    });

    it('rejects malformed requests as a whole with KEYSTORE_INVALID_ARGUMENT', async () => {
      const ks = await make();
      await expectCode(
        ks.sign({ items: [{ kid: 'nope', purpose: 'nist', message: new Uint8Array(1) }] }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      await expectCode(
        ks.boxBatch({
          items: [
            {
              kid: `0121${'00'.repeat(32)}0a`,
              peer: new Uint8Array(31),
              nonce: new Uint8Array(24),
            },
          ],
        }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      await expectCode(ks.callExtra('no.such.method'), 'KEYSTORE_UNKNOWN_METHOD');
    });

    it('serves Saltpack MAC-key halves and payload-key unboxes, and nothing else', async () => {
      const ks = await make();
      const d = await ks.createDevice({ name: 'd', type: 'desktop' });
      const ours = kidPublicKey(d.encryptionKid);
      const sender = generateBoxKey(backend);
      const headerHash = backend.sha512(utf8('a header'));
      const macNonce = (i: number, bit: number) => {
        const n = concatBytes(headerHash.slice(0, 16), uint64BE(i));
        n[15] = (n[15]! & 0xfe) | bit;
        return n;
      };
      const zeros = new Uint8Array(32);
      const recipsb = (i: number) => concatBytes(utf8('saltpack_recipsb'), uint64BE(i));
      const payloadKey = backend.randomBytes(32);
      const sealedPayloadKey = await sender.box(ours, recipsb(3), payloadKey);

      const boxes = await ks.boxBatch({
        items: Array.from({ length: 10 }, (_, i) => ({
          kid: d.encryptionKid,
          peer: sender.publicKey,
          nonce: macNonce(i, i % 2),
        })),
      });
      const ok = okItems(boxes.items);
      for (let i = 0; i < 10; i++) {
        // The same box computed from the other side of the Diffie-Hellman.
        const expected = await sender.box(ours, macNonce(i, i % 2), zeros);
        expect(toHex(ok[i]!.box)).toBe(toHex(expected));
      }
      const derived = await ks.boxBatch({
        items: [
          { kid: d.encryptionKid, peer: sender.publicKey, nonce: utf8('saltpack_derived_sboxkey') },
        ],
      });
      expect(okItems(derived.items)).toHaveLength(1);

      const opened = await ks.unboxBatch({
        items: [
          {
            kid: d.encryptionKid,
            peer: sender.publicKey,
            nonce: recipsb(3),
            box: sealedPayloadKey,
          },
          {
            kid: d.encryptionKid,
            peer: sender.publicKey,
            nonce: recipsb(2),
            box: sealedPayloadKey,
          },
        ],
      });
      const [hit, miss] = okItems(opened.items);
      expect(toHex(hit!.plaintext!)).toBe(toHex(payloadKey));
      expect(miss!.plaintext).toBeNull();

      // A random nonce (the shape of a seed box) is refused both ways.
      const random = backend.randomBytes(24);
      random[16] = 1;
      const refused = await ks.boxBatch({
        items: [{ kid: d.encryptionKid, peer: sender.publicKey, nonce: random }],
      });
      const refusedUnbox = await ks.unboxBatch({
        items: [
          { kid: d.encryptionKid, peer: sender.publicKey, nonce: random, box: sealedPayloadKey },
        ],
      });
      expect(refused.items[0]).toMatchObject({ error: { code: 'KEYSTORE_REFUSED' } });
      expect(refusedUnbox.items[0]).toMatchObject({ error: { code: 'KEYSTORE_REFUSED' } });
    });

    it('creates PUK and team generations, boxes them, and another keystore opens them', async () => {
      const alice = await make();
      const bob = await make();
      const aDev = await alice.createDevice({ name: 'a', type: 'desktop' });
      const bDev = await bob.createDevice({ name: 'b', type: 'desktop' });
      const bDevPub = kidPublicKey(bDev.encryptionKid);
      const aDevPub = kidPublicKey(aDev.encryptionKid);

      // Alice's PUK generations 1 and 2, both boxed to "her other device" (Bob's keystore
      // plays that device here), gen 2 with the prev chain.
      const g1 = await alice.createKeyBoxes({
        key: { kind: 'puk' },
        generation: 'new',
        senderKid: aDev.encryptionKid,
        recipients: [{ publicKey: bDevPub }],
      });
      expect(g1.generation).toBe(1);
      expect(g1.prev).toBeNull();
      const g2 = await alice.createKeyBoxes({
        key: { kind: 'puk' },
        generation: 'new',
        senderKid: aDev.encryptionKid,
        recipients: [{ publicKey: bDevPub }],
      });
      expect(g2.generation).toBe(2);
      expect(g2.prev).not.toBeNull();
      for (const b of [...g1.boxes, ...g2.boxes]) {
        expect(b.nonce.subarray(16, 20).some((x) => x !== 0)).toBe(true);
      }
      const opened = await bob.openKeyBoxes({
        items: [
          {
            key: { kind: 'puk' },
            generation: 2,
            receiverKid: bDev.encryptionKid,
            senderPublicKey: aDevPub,
            nonce: g2.boxes[0]!.nonce,
            ciphertext: g2.boxes[0]!.ciphertext,
            prevs: [{ generation: 2, prev: g2.prev! }],
            expected: [
              { generation: 1, signingKid: g1.signingKid, encryptionKid: g1.encryptionKid },
              { generation: 2, signingKid: g2.signingKid, encryptionKid: g2.encryptionKid },
            ],
          },
          {
            key: { kind: 'puk' },
            generation: 1,
            receiverKid: bDev.encryptionKid,
            senderPublicKey: aDevPub,
            nonce: g1.boxes[0]!.nonce,
            ciphertext: g1.boxes[0]!.ciphertext,
            expected: [
              { generation: 1, signingKid: g2.signingKid, encryptionKid: g2.encryptionKid },
            ],
          },
        ],
      });
      expect(opened.items[0]).toEqual({ result: { generations: [1, 2] } });
      expect(opened.items[1]).toMatchObject({ error: { code: 'KEYSTORE_KEY_MISMATCH' } });
      const bobBundle = await bob.getPublicKeyBundle();
      expect(bobBundle.puks).toEqual([
        { generation: 1, signingKid: g1.signingKid, encryptionKid: g1.encryptionKid },
        { generation: 2, signingKid: g2.signingKid, encryptionKid: g2.encryptionKid },
      ]);

      // A team whose seed Alice boxes to Bob's (now shared) PUK gen 2.
      const teamId = toHex(backend.randomBytes(15)) + '24';
      const t1 = await alice.createKeyBoxes({
        key: { kind: 'team', teamId },
        generation: 'new',
        senderKid: aDev.encryptionKid,
        recipients: [{ publicKey: kidPublicKey(g2.encryptionKid) }, { publicKey: bDevPub }],
      });
      expect(t1.noncePrefix).toHaveLength(20);
      expect([...t1.boxes[1]!.nonce.subarray(20)]).toEqual([0, 0, 0, 2]);
      const teamOpen = await bob.openKeyBoxes({
        items: [
          {
            key: { kind: 'team', teamId },
            generation: 1,
            receiverKid: g2.encryptionKid,
            senderPublicKey: aDevPub,
            nonce: t1.boxes[0]!.nonce,
            ciphertext: t1.boxes[0]!.ciphertext,
          },
          {
            // A team box must be addressed to a PUK, not to a device key.
            key: { kind: 'team', teamId },
            generation: 1,
            receiverKid: bDev.encryptionKid,
            senderPublicKey: aDevPub,
            nonce: t1.boxes[1]!.nonce,
            ciphertext: t1.boxes[1]!.ciphertext,
          },
        ],
      });
      expect(teamOpen.items[0]).toEqual({ result: { generations: [1] } });
      expect(teamOpen.items[1]).toMatchObject({ error: { code: 'KEYSTORE_UNKNOWN_KEY' } });

      // KV entries sealed by Alice's device open for Bob; tampering and wrong keys fail per item.
      const mask = backend.randomBytes(32);
      const sealed = await alice.sealKv({
        items: [
          {
            teamId,
            generation: 1,
            signerKid: aDev.signingKid,
            readerKeyMask: mask,
            plaintext: utf8('v1'),
          },
          { teamId, generation: 9, signerKid: aDev.signingKid, plaintext: utf8('x') },
        ],
      });
      expect(sealed.items[1]).toMatchObject({ error: { code: 'KEYSTORE_UNKNOWN_KEY' } });
      const s0 = okItems(sealed.items.slice(0, 1))[0]!;
      expect(s0.sealed).toHaveLength(2 + 80);
      const tampered = s0.sealed.slice();
      tampered[5]! ^= 1;
      const signerPublicKey = kidPublicKey(aDev.signingKid);
      const read = await bob.openKv({
        items: [
          {
            teamId,
            generation: 1,
            signerPublicKey,
            readerKeyMask: mask,
            nonce: s0.nonce,
            sealed: s0.sealed,
          },
          {
            teamId,
            generation: 1,
            signerPublicKey,
            readerKeyMask: mask,
            nonce: s0.nonce,
            sealed: tampered,
          },
          { teamId, generation: 1, signerPublicKey, nonce: s0.nonce, sealed: s0.sealed },
          {
            teamId,
            generation: 1,
            signerPublicKey: bDevPub,
            readerKeyMask: mask,
            nonce: s0.nonce,
            sealed: s0.sealed,
          },
        ],
      });
      expect(read.items[0]).toEqual({ result: { plaintext: utf8('v1') } });
      expect(read.items.slice(1).map((i) => ('error' in i ? i.error.code : 'ok'))).toEqual([
        'KEYSTORE_DECRYPTION_FAILED',
        'KEYSTORE_DECRYPTION_FAILED',
        'KEYSTORE_DECRYPTION_FAILED',
      ]);
    });

    it('refuses to box for a sender that is not a device and for unknown generations', async () => {
      const ks = await make();
      const d = await ks.createDevice({ name: 'd', type: 'desktop' });
      await expectCode(
        ks.createKeyBoxes({
          key: { kind: 'puk' },
          generation: 3,
          senderKid: d.encryptionKid,
          recipients: [],
        }),
        'KEYSTORE_UNKNOWN_KEY',
      );
      const g = await ks.createKeyBoxes({
        key: { kind: 'puk' },
        generation: 'new',
        senderKid: d.encryptionKid,
        recipients: [],
      });
      await expectCode(
        ks.createKeyBoxes({
          key: { kind: 'puk' },
          generation: 1,
          senderKid: g.encryptionKid,
          recipients: [],
        }),
        'KEYSTORE_UNKNOWN_KEY',
      );
      // A PUK signing key signs only reverse signatures.
      const r = await ks.sign({
        items: [{ kid: g.signingKid, purpose: 'http_request', message: new Uint8Array(1) }],
      });
      expect(r.items[0]).toMatchObject({ error: { code: 'KEYSTORE_REFUSED' } });
    });

    it('exports secrets only in-process and only with the passphrase', async () => {
      const h = await make();
      const d = await h.createDevice({ name: 'd', type: 'desktop' });
      const harness = live[live.length - 1]!;
      if (harness.remote) {
        await expectCode(h.exportSecrets({ passphrase: PASS }), 'KEYSTORE_REFUSED');
        return;
      }
      await expectCode(h.exportSecrets({ passphrase: 'nope' }), 'KEYSTORE_WRONG_PASSPHRASE');
      const out = await h.exportSecrets({ passphrase: PASS });
      expect(out.devices).toHaveLength(1);
      const seed = out.devices[0]!.signingSeed;
      expect(toHex(backend.ed25519KeyPairFromSeed(seed).publicKey)).toBe(
        toHex(kidPublicKey(d.signingKid)),
      );
      expect(fromHex(d.signingKid.slice(4, 68))).toEqual(kidPublicKey(d.signingKid));
    });
  });
}
