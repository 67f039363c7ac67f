/**
 * PGP sibkeys through the server (issue #7 item 2) on any storage (`pgp-*.test.ts` run it on
 * SQLite and PostgreSQL): a delegation appended with its armored key is stored, served with the
 * chain and in Keybase's lookup (`all_bundles`, `pgp_public_keys`); a bundle that is not the
 * delegated key, a section naming another fingerprint, a bundle no link names, and a missing
 * bundle are refused with coded errors, and nothing is stored.
 */
import * as openpgp from 'openpgp';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { utf8 } from '@saltbox/saltpack/encoding';
import {
  assembleSignaturePacket,
  buildKeyFamily,
  canonicalJson,
  curve25519Kid,
  encodeOuterLink,
  hexToBytes,
  KID_TYPE,
  linkIdV1,
  naclPublicKey,
  parsePgpKey,
  signPgpSibkeyLink,
  signSubkeyLink,
  toHex,
  verifyUserChain,
} from '@saltbox/identity';
import type { BuiltLink, JsonObject, RemotePgpSigner } from '@saltbox/identity';
import { chainResponseSchema } from '@saltbox/protocol';
import type { ChainLink } from '@saltbox/protocol';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import type { Storage } from '../src/storage/types.js';
import { newUser, signed } from './helpers.js';
import type { TestUser } from './helpers.js';

const backend = await defaultBackend();

async function pgpKey(email: string) {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ email }],
    format: 'object',
  });
  const signer: RemotePgpSigner = {
    armoredPublicKey: publicKey.armor(),
    signReverse: async (message) =>
      openpgp.sign({
        message: await openpgp.createMessage({ binary: message }),
        signingKeys: privateKey,
        format: 'armored',
      }),
  };
  return { privateKey, armored: publicKey.armor(), signer };
}

/** Registers the PGP route tests on storage from `open` (a fresh database per test). */
export function runPgpRouteSuite(label: string, open: () => Promise<Storage>): void {
  describe(`pgp sibkeys through the server (${label})`, () => {
    let storage: Storage;
    let app: App;
    let alice: TestUser;

    beforeEach(async () => {
      storage = await open();
      app = createApp({ storage, backend });
      const { user, request } = newUser(backend, 'pgp_alice');
      const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', { body: request });
      expect(res.status, await res.clone().text()).toBe(201);
      alice = user;
      return async () => {
        app.stop();
        await storage.close();
      };
    });

    const dev = () => alice.devices[0]!;
    const ctx = () => {
      const last = alice.links[alice.links.length - 1]!;
      return {
        uid: alice.uid,
        username: alice.username,
        seqno: alice.links.length + 1,
        prev: last.linkId,
        eldestKid: alice.eldestKid,
        ctime: 1_700_000_200,
      };
    };
    const deviceSigner = () => ({
      kid: dev().kid,
      sign: (r: { message: Uint8Array }) =>
        Promise.resolve(backend.ed25519Sign(r.message, dev().signing.secretKey)),
    });
    const append = (links: ChainLink[], pgpBundles: string[]) =>
      signed(backend, app, dev(), `/api/v1/users/${alice.username}/chain`, {
        body: { links, pgpBundles },
      });
    const fetchChain = async () => {
      const res = await signed(backend, app, dev(), `/api/v1/users/${alice.username}/chain`);
      expect(res.status).toBe(200);
      return chainResponseSchema.parse(await res.json());
    };

    /** Re-signs a built PGP sibkey link after `edit` changed its section. */
    async function edited(
      built: BuiltLink,
      signer: RemotePgpSigner,
      edit: (s: JsonObject) => void,
    ): Promise<ChainLink> {
      const payload = JSON.parse(built.payloadJson) as JsonObject;
      const section = (payload.body as JsonObject).sibkey as JsonObject;
      edit(section);
      section.reverse_sig = null;
      section.reverse_sig = await signer.signReverse(utf8(canonicalJson(payload)));
      const json = canonicalJson(payload);
      const sig = backend.ed25519Sign(utf8(json), dev().signing.secretKey);
      const packet = assembleSignaturePacket(
        backend,
        naclPublicKey(dev().kid, KID_TYPE.ed25519),
        utf8(json),
        sig,
      );
      return {
        ...(built.link as ChainLink),
        sig: packet.base64,
        payload_json: json,
        payload_hash: linkIdV1(backend, json),
        sig_id: toHex(backend.sha256(packet.bytes)) + '0f',
      };
    }

    it('stores a pgp sibkey with its bundle, serves both, and lists it in the lookup', async () => {
      const key = await pgpKey('alice@example.com');
      const info = await parsePgpKey(backend, key.armored);
      const link = await signPgpSibkeyLink(backend, ctx(), deviceSigner(), key.signer);
      const res = await append([link.link as ChainLink], [key.armored]);
      expect(res.status, await res.clone().text()).toBe(200);
      const chain = await fetchChain();
      expect(chain.pgpBundles).toEqual([key.armored]);
      // What the server serves verifies on its own (the client's view).
      const result = await verifyUserChain(backend, {
        uid: chain.uid,
        username: chain.username,
        links: chain.links,
        keyFamily: await buildKeyFamily(backend, [
          alice.eldestKid,
          dev().encKid,
          ...chain.pgpBundles!,
        ]),
        eldestKid: alice.eldestKid,
      });
      expect(result.sibkeys).toContain(info.kid);
      const lookup = (await (
        await app.request('/_/api/1.0/user/lookup.json?usernames=pgp_alice')
      ).json()) as {
        them: { public_keys: { all_bundles: string[]; pgp_public_keys?: string[] } }[];
      };
      const pk = lookup.them[0]!.public_keys;
      expect(pk.all_bundles).toContain(key.armored);
      expect(pk.all_bundles).not.toContain(info.kid);
      expect(pk.pgp_public_keys).toEqual([key.armored]);
    });

    it('refuses a bundle of another key, a mismatched fingerprint, an unnamed and a missing bundle', async () => {
      const key = await pgpKey('alice@example.com');
      const other = await pgpKey('mallory@example.com');
      const link = await signPgpSibkeyLink(backend, ctx(), deviceSigner(), key.signer);
      // [link, bundles, code, what the message names]
      const cases: [ChainLink, string[], string, string][] = [
        [link.link as ChainLink, [other.armored], 'VALIDATION_FAILED', 'not named'],
        [link.link as ChainLink, [], 'CHAIN_INVALID', 'IDENTITY_NONEXISTENT_KID'],
        [
          link.link as ChainLink,
          [key.armored.replace(/\n/g, '\r\n')],
          'VALIDATION_FAILED',
          'not named',
        ],
        [
          await edited(link, key.signer, (s) => (s.fingerprint = '11'.repeat(20))),
          [key.armored],
          'CHAIN_INVALID',
          'IDENTITY_FINGERPRINT_MISMATCH',
        ],
        [
          await edited(link, other.signer, () => undefined),
          [key.armored],
          'CHAIN_INVALID',
          'IDENTITY_REVERSE_SIG_VERIFY_FAILED',
        ],
        [
          await edited(link, key.signer, (s) => delete s.full_hash),
          [key.armored],
          'CHAIN_INVALID',
          'full_hash',
        ],
      ];
      for (const [l, bundles, code, named] of cases) {
        const res = await append([l], bundles);
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code, body.error.message).toBe(code);
        expect(body.error.message).toContain(named);
      }
      const chain = await fetchChain();
      expect(chain.links).toHaveLength(3);
      expect(chain.pgpBundles).toBeUndefined();
      expect(await storage.users.getPgpBundles(alice.uid)).toEqual([]);
    });

    /**
     * A v2 `subkey` link signed by the PGP sibkey (#12.22): the PGP message signs the outer link
     * (spec §3.5). `outerType` overrides the outer link's type code (a mismatch when not 12).
     */
    async function pgpSignedV2Subkey(
      key: { privateKey: openpgp.PrivateKey },
      pgpKid: string,
      outerType = 12,
    ): Promise<ChainLink> {
      const c = { ...ctx(), sigVersion: 2 as const };
      const subkeyKid = curve25519Kid(backend.x25519PublicKey(backend.randomBytes(32)));
      // Built by the device key, then re-signed as the PGP key's: same body, other signer.
      const built = await signSubkeyLink(backend, c, deviceSigner(), subkeyKid);
      const payload = JSON.parse(built.payloadJson) as JsonObject;
      const body = payload.body as JsonObject;
      (body.key as JsonObject).kid = pgpKid;
      (body.subkey as JsonObject).parent_kid = pgpKid;
      const json = canonicalJson(payload);
      const outer = encodeOuterLink({
        version: 2,
        seqno: c.seqno,
        prev: hexToBytes(c.prev),
        curr: backend.sha256(utf8(json)),
        linkType: outerType,
        seqType: 1,
        ignoreIfUnsupported: false,
        fieldCount: 7,
      });
      const sig = await openpgp.sign({
        message: await openpgp.createMessage({ binary: outer }),
        signingKeys: key.privateKey,
        format: 'armored',
      });
      return {
        seqno: c.seqno,
        prev: c.prev,
        sig,
        payload_json: json,
        kid: pgpKid,
        sig_version: 2,
        ctime: c.ctime,
      };
    }

    it('accepts a v2 link signed by the pgp sibkey, as the client verifier does', async () => {
      const key = await pgpKey('alice@example.com');
      const info = await parsePgpKey(backend, key.armored);
      const sibkey = await signPgpSibkeyLink(backend, ctx(), deviceSigner(), key.signer);
      expect((await append([sibkey.link as ChainLink], [key.armored])).status).toBe(200);
      alice.links.push(sibkey);

      // A mismatching outer link (a sibkey's type code) is refused, and nothing is stored.
      const mismatched = await append([await pgpSignedV2Subkey(key, info.kid, 11)], []);
      expect(mismatched.status).toBe(400);
      const error = ((await mismatched.json()) as { error: { code: string; message: string } })
        .error;
      expect(error.code).toBe('CHAIN_INVALID');
      expect(error.message).toContain('IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD');
      expect((await fetchChain()).links).toHaveLength(4);

      const link = await pgpSignedV2Subkey(key, info.kid);
      const res = await append([link], []);
      expect(res.status, await res.clone().text()).toBe(200);
      const chain = await fetchChain();
      expect(chain.links).toHaveLength(5);
      expect(chain.links[4]!.sig_version).toBe(2);
      // The client's view: the served chain verifies, the new subkey is live under the PGP key.
      const result = await verifyUserChain(backend, {
        uid: chain.uid,
        username: chain.username,
        links: chain.links,
        keyFamily: await buildKeyFamily(backend, [
          alice.eldestKid,
          dev().encKid,
          JSON.parse(link.payload_json).body.subkey.kid as string,
          ...chain.pgpBundles!,
        ]),
        eldestKid: alice.eldestKid,
      });
      expect(result.linkCount).toBe(5);
      expect(result.subkeys).toContain(JSON.parse(link.payload_json).body.subkey.kid);
    });
  });
}
