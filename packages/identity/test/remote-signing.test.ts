/**
 * The `sign…Link` builders (signatures from a remote signer, as the keystore gives them) make
 * exactly the links the `build…Link` builders make with the same keys, those links verify as a
 * chain, and a signer that returns a wrong signature is refused before a link is produced.
 */
import { describe, expect, it } from 'vitest';
import {
  buildEldestLink,
  buildKeyFamily,
  buildPerUserKeyLink,
  buildRevokeLink,
  buildSibkeyLink,
  buildSubkeyLink,
  curve25519Kid,
  derivePerUserKeys,
  ed25519Kid,
  importUserLinks,
  signEldestLink,
  signPerUserKeyLink,
  signRevokeLink,
  signSibkeyLink,
  signSubkeyLink,
  uidFromUsername,
  verifyUserChain,
} from '../src/index.js';
import type { LinkContext, LinkSignRequest, RemoteLinkSigner } from '../src/index.js';
import { backend as loadBackend } from './helpers.js';

const b = await loadBackend();

function keyPair() {
  const kp = b.ed25519KeyPairFromSeed(b.randomBytes(32));
  return { secretKey: kp.secretKey, kid: ed25519Kid(kp.publicKey) };
}

/** A remote signer over an in-memory key that records the purposes it was asked for. */
function remote(k: { secretKey: Uint8Array; kid: string }, log: LinkSignRequest['purpose'][]) {
  const signer: RemoteLinkSigner = {
    kid: k.kid,
    sign: (r) => {
      log.push(r.purpose);
      return Promise.resolve(b.ed25519Sign(r.message, k.secretKey));
    },
  };
  return signer;
}

describe('remote link signing', () => {
  it('makes the same links as the in-memory builders, and they verify', async () => {
    const username = 'remote_alice';
    const uid = uidFromUsername(b, username);
    const dev = keyPair();
    const other = keyPair();
    const encKid = curve25519Kid(b.x25519PublicKey(b.randomBytes(32)));
    const puk = derivePerUserKeys(b, b.randomBytes(32));
    const pukSigner = { secretKey: puk.signing.secretKey, kid: puk.signingKid };
    const ids: string[] = [];
    const ctx = (seqno: number): LinkContext => ({
      uid,
      username,
      seqno,
      prev: ids[seqno - 2] ?? null,
      ...(seqno > 1 ? { eldestKid: dev.kid } : {}),
      ctime: 1_700_000_000,
    });
    const log: LinkSignRequest['purpose'][] = [];
    const device = {
      id: 'aa'.repeat(15) + '18',
      kid: dev.kid,
      name: 'laptop',
      type: 'desktop' as const,
    };
    const pairs = [
      [
        () => buildEldestLink(b, ctx(1), dev, device),
        () => signEldestLink(b, ctx(1), remote(dev, log), device),
      ],
      [
        () => buildSubkeyLink(b, ctx(2), dev, encKid, { ...device, kid: encKid }),
        () => signSubkeyLink(b, ctx(2), remote(dev, log), encKid, { ...device, kid: encKid }),
      ],
      [
        () =>
          buildPerUserKeyLink(b, ctx(3), dev, {
            generation: 1,
            signing: pukSigner,
            encryptionKid: puk.encryptionKid,
          }),
        () =>
          signPerUserKeyLink(b, ctx(3), remote(dev, log), {
            generation: 1,
            signing: remote(pukSigner, log),
            encryptionKid: puk.encryptionKid,
          }),
      ],
      [
        () => buildSibkeyLink(b, ctx(4), dev, other),
        () => signSibkeyLink(b, ctx(4), remote(dev, log), remote(other, log)),
      ],
      [
        () => buildRevokeLink(b, ctx(5), dev, { kids: [other.kid] }),
        () => signRevokeLink(b, ctx(5), remote(dev, log), { kids: [other.kid] }),
      ],
    ] as const;
    const links = [];
    for (const [local, viaRemote] of pairs) {
      const expected = local();
      const got = await viaRemote();
      // Ed25519 is deterministic: the same keys give byte-identical links.
      expect(got.link).toEqual(expected.link);
      ids.push(got.linkId);
      links.push(got.link);
    }
    expect(log).toEqual([
      'sigchain_link',
      'sigchain_link',
      'reverse_sig',
      'sigchain_link',
      'reverse_sig',
      'sigchain_link',
      'sigchain_link',
    ]);
    const imported = await importUserLinks(b, links);
    const kids = [dev.kid, encKid, other.kid, ...imported.map((l) => l.signingKid!)];
    const result = await verifyUserChain(b, {
      uid,
      username,
      links,
      keyFamily: await buildKeyFamily(b, [...new Set(kids)]),
      eldestKid: dev.kid,
    });
    expect(result.state.perUserKeys.get(1)?.encryptionKid).toBe(puk.encryptionKid);
  });

  it('refuses a signature that does not verify under the named key', async () => {
    const dev = keyPair();
    const impostor = keyPair();
    const ctx: LinkContext = {
      uid: uidFromUsername(b, 'remote_eve'),
      username: 'remote_eve',
      seqno: 1,
      prev: null,
      ctime: 1,
    };
    const lying: RemoteLinkSigner = {
      kid: dev.kid,
      sign: (r) => Promise.resolve(b.ed25519Sign(r.message, impostor.secretKey)),
    };
    await expect(signEldestLink(b, ctx, lying)).rejects.toMatchObject({
      code: 'IDENTITY_VERIFY_FAILED',
    });
    const short: RemoteLinkSigner = {
      kid: dev.kid,
      sign: () => Promise.resolve(new Uint8Array(63)),
    };
    await expect(signEldestLink(b, ctx, short)).rejects.toMatchObject({
      code: 'IDENTITY_VERIFY_FAILED',
    });
  });
});
