/**
 * PGP sibkeys as saltbox writes them (spec §3.2, §3.6): `signPgpSibkeyLink` makes a link the
 * user-chain verifier accepts with the armored bundle in the key family, and the verifier
 * refuses a delegation whose section names another fingerprint, a bundle whose full hash the
 * link does not name, a reverse signature by another PGP key, and a missing bundle.
 */
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import {
  assembleSignaturePacket,
  buildEldestLink,
  buildKeyFamily,
  canonicalJson,
  ed25519Kid,
  linkIdV1,
  naclPublicKey,
  parsePgpKey,
  signPgpSibkeyLink,
  toHex,
  uidFromUsername,
  verifyUserChain,
} from '../src/index.js';
import type {
  JsonObject,
  LinkContext,
  RemoteLinkSigner,
  RemotePgpSigner,
  ServerChainLink,
} from '../src/index.js';
import { utf8 } from '@saltbox/saltpack/encoding';
import { backend as loadBackend } from './helpers.js';

const b = await loadBackend();

async function pgpKey(email: string) {
  const { privateKey, publicKey } = await openpgp.generateKey({
    // Legacy EdDSA + ECDH (algorithms 22 and 18): what gpg makes and Keybase's KIDs know.
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Test', email }],
    format: 'object',
  });
  return { privateKey, armoredPublicKey: publicKey.armor() };
}

function pgpSigner(
  key: { privateKey: openpgp.PrivateKey; armoredPublicKey: string },
  signingKey = key.privateKey,
): RemotePgpSigner {
  return {
    armoredPublicKey: key.armoredPublicKey,
    signReverse: async (message) =>
      openpgp.sign({
        message: await openpgp.createMessage({ binary: message }),
        signingKeys: signingKey,
        format: 'armored',
      }),
  };
}

const username = 'pgp_alice';
const uid = uidFromUsername(b, username);
const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
const dev = { secretKey: kp.secretKey, kid: ed25519Kid(kp.publicKey) };
const device: RemoteLinkSigner = {
  kid: dev.kid,
  sign: (r) => Promise.resolve(b.ed25519Sign(r.message, dev.secretKey)),
};
const eldest = buildEldestLink(
  b,
  { uid, username, seqno: 1, prev: null, ctime: 1_700_000_000 },
  dev,
  { id: 'ab'.repeat(15) + '18', kid: dev.kid, name: 'laptop', type: 'desktop' },
);
const ctx2: LinkContext = {
  uid,
  username,
  seqno: 2,
  prev: eldest.linkId,
  eldestKid: dev.kid,
  ctime: 1_700_000_100,
};

async function verify(links: ServerChainLink[], bundles: string[]) {
  const family = await buildKeyFamily(b, [dev.kid, ...bundles]);
  return verifyUserChain(b, { uid, username, links, keyFamily: family, eldestKid: dev.kid });
}

/** Re-signs a PGP sibkey payload after `edit` (reverse sig by `pgp`, link by the device). */
async function relink(base: ServerChainLink, pgp: RemotePgpSigner, edit: (s: JsonObject) => void) {
  const payload = JSON.parse(base.payload_json!) as JsonObject;
  const section = (payload.body as JsonObject).sibkey as JsonObject;
  edit(section);
  section.reverse_sig = null;
  section.reverse_sig = await pgp.signReverse(utf8(canonicalJson(payload)));
  const json = canonicalJson(payload);
  const packet = assembleSignaturePacket(
    b,
    naclPublicKey(dev.kid, 0x20),
    utf8(json),
    b.ed25519Sign(utf8(json), dev.secretKey),
  );
  const id = linkIdV1(b, json);
  return {
    ...base,
    sig: packet.base64,
    payload_json: json,
    payload_hash: id,
    sig_id: toHex(b.sha256(packet.bytes)) + '0f',
  };
}

describe('pgp sibkey links', () => {
  it('a delegation signed through remote signers verifies and makes the pgp key a live sibkey', async () => {
    const key = await pgpKey('alice@example.com');
    const info = await parsePgpKey(b, key.armoredPublicKey);
    const built = await signPgpSibkeyLink(b, ctx2, device, pgpSigner(key));
    const section = (JSON.parse(built.payloadJson) as { body: { sibkey: JsonObject } }).body.sibkey;
    expect(section.kid).toBe(info.kid);
    expect(section.fingerprint).toBe(info.fingerprint);
    expect(section.key_id).toBe(info.keyId.toUpperCase());
    expect(section.full_hash).toBe(info.fullHash);
    expect(section.reverse_sig as string).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const result = await verify([eldest.link, built.link], [key.armoredPublicKey]);
    expect(result.sibkeys).toEqual([dev.kid, info.kid]);
    expect(result.state.activePgpHash.get(info.kid)).toBe(info.fullHash);
  });

  it('refuses a reverse signature by another pgp key, before and after building', async () => {
    const key = await pgpKey('alice@example.com');
    const other = await pgpKey('mallory@example.com');
    await expect(
      signPgpSibkeyLink(b, ctx2, device, pgpSigner(key, other.privateKey)),
    ).rejects.toMatchObject({ code: 'IDENTITY_VERIFY_FAILED' });
    const good = await signPgpSibkeyLink(b, ctx2, device, pgpSigner(key));
    const forged = await relink(good.link, pgpSigner(key, other.privateKey), () => undefined);
    await expect(verify([eldest.link, forged], [key.armoredPublicKey])).rejects.toMatchObject({
      code: 'IDENTITY_REVERSE_SIG_VERIFY_FAILED',
    });
  });

  it('refuses a section naming another fingerprint or key id', async () => {
    const key = await pgpKey('alice@example.com');
    const good = await signPgpSibkeyLink(b, ctx2, device, pgpSigner(key));
    for (const edit of [
      (s: JsonObject) => (s.fingerprint = '00'.repeat(20)),
      (s: JsonObject) => (s.key_id = '0123456789ABCDEF'),
    ]) {
      const bad = await relink(good.link, pgpSigner(key), edit);
      await expect(verify([eldest.link, bad], [key.armoredPublicKey])).rejects.toMatchObject({
        code: 'IDENTITY_FINGERPRINT_MISMATCH',
      });
    }
  });

  it('refuses a bundle whose full hash the link does not name, and a missing bundle', async () => {
    const key = await pgpKey('alice@example.com');
    const good = await signPgpSibkeyLink(b, ctx2, device, pgpSigner(key));
    // Same key, other armor text: another full hash.
    const reArmored = key.armoredPublicKey.replace(/\n/g, '\r\n');
    await expect(verify([eldest.link, good.link], [reArmored])).rejects.toMatchObject({
      code: 'IDENTITY_NO_KEY_WITH_THIS_HASH',
    });
    await expect(verify([eldest.link, good.link], [])).rejects.toMatchObject({
      code: 'IDENTITY_NONEXISTENT_KID',
    });
  });
});
