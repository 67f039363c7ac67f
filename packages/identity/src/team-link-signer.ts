/**
 * Building v2 team links with signers that live elsewhere (the keystore): the same payload and
 * outer link as {@link buildTeamLink}, but each signature is requested through an async
 * {@link RemoteSigner}, so no secret key ever reaches this code. The device key signs the outer
 * link (the keystore's `sigchain_link` purpose: a msgpack array, as given); the new per-team
 * signing key signs the reverse signature (`reverse_sig`: the canonical JSON, as given).
 *
 * @packageDocumentation
 */
import { fromHex, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { BuiltLink, LinkContext } from './builders.js';
import { DEFAULT_EXPIRE_IN } from './builders.js';
import { canonicalJson } from './canonical-json.js';
import type { JsonObject } from './canonical-json.js';
import { toHex } from './encoding.js';
import { fail } from './errors.js';
import { linkIdV2, naclPublicKey, KID_TYPE, SIG_ID_SUFFIX } from './ids.js';
import type { KidHex } from './ids.js';
import { linkTypeCode } from './link-types.js';
import { encodeOuterLink } from './outer-link.js';
import { assembleSignaturePacket } from './packets.js';

/** An Ed25519 key that signs bytes as given, somewhere else (e.g. through the keystore). */
export interface RemoteSigner {
  /** The key's Ed25519 KID. */
  kid: KidHex;
  /** Returns the 64-byte signature over exactly `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * Builds a v2 team link (spec §6.1) signed through `signer`, with a `per_team_key` section
 * reverse-signed through `perTeamKey.signer` when given. Private teams (seq_type 3) only.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for an unknown team link type, a signer
 *   that is not an Ed25519 KID, or a signature of the wrong size.
 */
export async function buildTeamLinkWith(
  backend: CryptoBackend,
  ctx: Omit<LinkContext, 'sigVersion' | 'highSkip'>,
  signer: RemoteSigner,
  type: string,
  team: JsonObject,
  perTeamKey?: { generation: number; encryptionKid: KidHex; signer: RemoteSigner },
): Promise<BuiltLink> {
  const code = type.startsWith('team.') ? linkTypeCode(type, false) : undefined;
  if (code === undefined) throw fail('IDENTITY_INVALID_ARGUMENT', 'unknown team link type');
  const seqType = 3;
  const teamSection: JsonObject = { ...team };
  if (perTeamKey)
    teamSection.per_team_key = {
      encryption_kid: perTeamKey.encryptionKid,
      generation: perTeamKey.generation,
      reverse_sig: null,
      signing_kid: perTeamKey.signer.kid,
    };
  const key: JsonObject = { kid: signer.kid, uid: ctx.uid, username: ctx.username };
  if (ctx.eldestKid !== undefined) key.eldest_kid = ctx.eldestKid;
  const body: JsonObject = { team: teamSection, key, type, version: 2 };
  if (ctx.merkleRoot) body.merkle_root = { ...ctx.merkleRoot };
  const payload: JsonObject = {
    body,
    ctime: ctx.ctime,
    expire_in: ctx.expireIn ?? DEFAULT_EXPIRE_IN,
    prev: ctx.prev,
    seq_type: seqType,
    seqno: ctx.seqno,
    tag: 'signature',
  };
  if (ctx.client) payload.client = { ...ctx.client };
  if (perTeamKey) {
    // The new key signs the payload with its own slot null (spec §3.6).
    const unsigned = utf8(canonicalJson(payload));
    const rs = await perTeamKey.signer.sign(unsigned);
    (teamSection.per_team_key as JsonObject).reverse_sig = assembleSignaturePacket(
      backend,
      naclPublicKey(perTeamKey.signer.kid, KID_TYPE.ed25519),
      unsigned,
      rs,
    ).base64;
  }
  const payloadJson = canonicalJson(payload);
  const outer = encodeOuterLink({
    version: 2,
    seqno: ctx.seqno,
    prev: ctx.prev === null ? null : fromHex(ctx.prev),
    curr: backend.sha256(utf8(payloadJson)),
    linkType: code,
    seqType,
    ignoreIfUnsupported: false,
    fieldCount: 7,
  });
  const sig = await signer.sign(outer);
  const packet = assembleSignaturePacket(
    backend,
    naclPublicKey(signer.kid, KID_TYPE.ed25519),
    outer,
    sig,
  );
  const linkId = linkIdV2(backend, outer);
  const sigId = toHex(backend.sha256(packet.bytes)) + SIG_ID_SUFFIX.teamV2;
  return {
    link: {
      seqno: ctx.seqno,
      prev: ctx.prev,
      sig: packet.base64,
      payload_json: payloadJson,
      kid: signer.kid,
      sig_version: 2,
      sig_id: sigId,
      payload_hash: linkId,
      ctime: ctx.ctime,
    },
    linkId,
    sigId,
    payloadJson,
  };
}
