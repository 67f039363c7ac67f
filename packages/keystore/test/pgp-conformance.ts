/**
 * The PGP methods of the conformance suite (`pgpGenerate`, `pgpImport`, `pgpList`,
 * `pgpSignReverseSig`, `pgpDecrypt`), run against every transport: only public facts come back,
 * keys survive a lock, bad input gets its code without echoing a passphrase, the reverse
 * signature is exactly what the user-chain verifier accepts, and decryption happens inside.
 */
import * as openpgp from 'openpgp';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { toHex, utf8 } from '@saltbox/saltpack/encoding';
import {
  buildEldestLink,
  buildKeyFamily,
  ed25519Kid,
  signPgpSibkeyLink,
  uidFromUsername,
  verifyUserChain,
} from '@saltbox/identity';
import type { KeystoreClient } from '@saltbox/keystore';
import type { Harness, HarnessFactory } from './conformance.js';
import { expectCode } from './conformance.js';

const PASS = 'correct horse battery staple';
const KEY_PASS = 'pgp key passphrase 7f3a';

async function protectedKey() {
  return openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Imported', email: 'imported@example.com' }],
    passphrase: KEY_PASS,
    format: 'armored',
  });
}

async function encryptTo(armoredPublicKey: string, text: string, armor = false) {
  const encryptionKeys = (await openpgp.readKey({ armoredKey: armoredPublicKey })).toPublic();
  const message = await openpgp.createMessage({ binary: utf8(text) });
  if (armor) return utf8(await openpgp.encrypt({ message, encryptionKeys, format: 'armored' }));
  return openpgp.encrypt({ message, encryptionKeys, format: 'binary' });
}

/** Registers the PGP conformance tests for one transport. */
export function describePgpConformance(name: string, factory: HarnessFactory): void {
  describe(`keystore pgp conformance: ${name}`, () => {
    const live: Harness[] = [];
    const make = async (): Promise<KeystoreClient> => {
      const h = await factory();
      live.push(h);
      await h.client.unlock({ passphrase: PASS, create: true });
      return h.client;
    };
    afterEach(async () => {
      await Promise.all(live.splice(0).map((h) => h.teardown()));
    });

    it('generates an ed25519 key, answers public facts only, and keeps it across a lock', async () => {
      const backend = await defaultBackend();
      const ks = await make();
      const info = await ks.pgpGenerate({ userId: 'Alice <alice@example.com>' });
      expect(info.kid).toMatch(/^0116[0-9a-f]{64}0a$/);
      expect(info.fingerprint).toMatch(/^[0-9a-f]{40}$/);
      expect(info.keyId).toBe(info.fingerprint.slice(24));
      expect(info.fullHash).toBe(toHex(backend.sha256(utf8(info.armoredPublicKey.trim()))));
      expect(info.armoredPublicKey).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect(info.userIds).toEqual(['Alice <alice@example.com>']);
      const key = await openpgp.readKey({ armoredKey: info.armoredPublicKey });
      expect(key.isPrivate()).toBe(false);
      expect(key.getFingerprint()).toBe(info.fingerprint);
      await ks.lock();
      await ks.unlock({ passphrase: PASS });
      const listed = await ks.pgpList();
      expect(listed.keys).toEqual([info]);
      expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
      await expectCode(ks.pgpGenerate({ userId: '<>' }), 'KEYSTORE_INVALID_ARGUMENT');
    });

    it('imports a protected secret key with its passphrase, and refuses bad imports by code', async () => {
      const ks = await make();
      const { privateKey, publicKey } = await protectedKey();
      const wrong = await expectCode(
        ks.pgpImport({ armoredSecretKey: privateKey, passphrase: 'not it' }),
        'KEYSTORE_WRONG_PASSPHRASE',
      );
      expect(wrong.message).not.toContain('not it');
      await expectCode(ks.pgpImport({ armoredSecretKey: privateKey }), 'KEYSTORE_WRONG_PASSPHRASE');
      const pub = await expectCode(
        ks.pgpImport({ armoredSecretKey: publicKey }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      expect(pub.message).toContain('public key');
      await expectCode(
        ks.pgpImport({ armoredSecretKey: '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n' }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      expect((await ks.pgpList()).keys).toEqual([]);
      const info = await ks.pgpImport({ armoredSecretKey: privateKey, passphrase: KEY_PASS });
      const expected = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint();
      expect(info.fingerprint).toBe(expected);
      await expectCode(
        ks.pgpImport({ armoredSecretKey: privateKey, passphrase: KEY_PASS }),
        'KEYSTORE_CONFLICT',
      );
      // The stored key needs no passphrase any more: decryption works after a relock.
      await ks.lock();
      await ks.unlock({ passphrase: PASS });
      const out = await ks.pgpDecrypt({ ciphertext: await encryptTo(publicKey, 'imported') });
      expect(new TextDecoder().decode(out.plaintext)).toBe('imported');
      expect(out.kid).toBe(info.kid);
    });

    it('decrypts binary and armored messages to a held key, and refuses others by code', async () => {
      const ks = await make();
      const info = await ks.pgpGenerate({ userId: 'bob@example.com' });
      for (const armor of [false, true]) {
        const ct = await encryptTo(info.armoredPublicKey, `secret ${armor}`, armor);
        const out = await ks.pgpDecrypt({ ciphertext: ct });
        expect(new TextDecoder().decode(out.plaintext)).toBe(`secret ${armor}`);
      }
      const other = await openpgp.generateKey({
        type: 'ecc',
        curve: 'ed25519Legacy',
        userIDs: [{ email: 'carol@example.com' }],
        format: 'armored',
      });
      await expectCode(
        ks.pgpDecrypt({ ciphertext: await encryptTo(other.publicKey, 'not yours') }),
        'KEYSTORE_DECRYPTION_FAILED',
      );
      await expectCode(
        ks.pgpDecrypt({ ciphertext: utf8('not a pgp message') }),
        'KEYSTORE_INVALID_ARGUMENT',
      );
      await ks.lock();
      await expectCode(ks.pgpDecrypt({ ciphertext: utf8('x') }), 'KEYSTORE_LOCKED');
    });

    it('reverse-signs exactly the sibkey link delegating the key, which then verifies', async () => {
      const backend = await defaultBackend();
      const ks = await make();
      const pgp = await ks.pgpGenerate({ userId: 'dave@example.com' });
      const username = 'pgp_dave';
      const uid = uidFromUsername(backend, username);
      const kp = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
      const dev = { secretKey: kp.secretKey, kid: ed25519Kid(kp.publicKey) };
      const eldest = buildEldestLink(
        backend,
        { uid, username, seqno: 1, prev: null, ctime: 1_700_000_000 },
        dev,
        { id: 'cd'.repeat(15) + '18', kid: dev.kid, name: 'laptop', type: 'desktop' },
      );
      const link = await signPgpSibkeyLink(
        backend,
        { uid, username, seqno: 2, prev: eldest.linkId, eldestKid: dev.kid, ctime: 1_700_000_001 },
        {
          kid: dev.kid,
          sign: (r) => Promise.resolve(backend.ed25519Sign(r.message, dev.secretKey)),
        },
        {
          armoredPublicKey: pgp.armoredPublicKey,
          signReverse: async (message) =>
            (await ks.pgpSignReverseSig({ kid: pgp.kid, message })).signature,
        },
      );
      const result = await verifyUserChain(backend, {
        uid,
        username,
        links: [eldest.link, link.link],
        keyFamily: await buildKeyFamily(backend, [dev.kid, pgp.armoredPublicKey]),
        eldestKid: dev.kid,
      });
      expect(result.sibkeys).toContain(pgp.kid);
      // Anything but that link's payload is refused: the key is no signing oracle.
      await expectCode(
        ks.pgpSignReverseSig({ kid: pgp.kid, message: utf8(eldest.payloadJson) }),
        'KEYSTORE_REFUSED',
      );
      await expectCode(
        ks.pgpSignReverseSig({ kid: pgp.kid, message: utf8('plain text') }),
        'KEYSTORE_REFUSED',
      );
      await expectCode(
        ks.pgpSignReverseSig({ kid: '0116' + '00'.repeat(32) + '0a', message: utf8('{}') }),
        'KEYSTORE_UNKNOWN_KEY',
      );
    });
  });
}
