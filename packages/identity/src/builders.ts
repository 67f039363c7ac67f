/**
 * Builders for the links saltbox writes (spec §3.1–§3.6): `eldest`, `sibkey`, `subkey`,
 * `revoke`, `per_user_key`, `pgp_update` on user chains, and v2 team links with `per_team_key`
 * sections. Each returns the link in the simple `sig/get` form, so what a builder makes is
 * exactly what the verifiers read.
 *
 * The signing keys are passed in as 64-byte NaCl secret keys because this package holds none:
 * the keystore calls these builders (or reproduces the payload and signs through its own RPC).
 *
 * @packageDocumentation
 */
import { fromHex, utf8 } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson } from './canonical-json.js';
import type { JsonObject } from './canonical-json.js';
import type { ServerChainLink } from './chain-link.js';
import { fail } from './errors.js';
import { ed25519Kid, linkIdV1, linkIdV2, SIG_ID_SUFFIX } from './ids.js';
import type { KidHex } from './ids.js';
import { linkTypeCode } from './link-types.js';
import { encodeOuterLink } from './outer-link.js';
import { createSignaturePacket } from './packets.js';
import { toHex } from './encoding.js';

/** Default `expire_in`: 16 years, Keybase's value for NaCl delegations (spec §3.1). */
export const DEFAULT_EXPIRE_IN = 504576000;

/** An Ed25519 signer: the 64-byte NaCl secret key (seed ‖ public key). */
export interface LinkSigner {
  secretKey: Uint8Array;
}

/** Where a new link goes and who writes it. */
export interface LinkContext {
  uid: string;
  username: string;
  seqno: number;
  /** The previous link's ID, or null for seqno 1. */
  prev: string | null;
  /** The eldest KID; omitted only on the very first link (spec §3.1). */
  eldestKid?: KidHex;
  /** Unix seconds. */
  ctime: number;
  expireIn?: number;
  /** 1 (inner JSON signed) or 2 (outer msgpack signed). Default 1, as Keybase's client. */
  sigVersion?: 1 | 2;
  /** Optional `merkle_root` the signer saw. */
  merkleRoot?: { ctime: number; seqno: number; hash: string; hash_meta: string };
  /** Optional `client` block. */
  client?: { name: string; version: string };
  /** v2 only: the high skip to embed (a 9-field outer link). */
  highSkip?: { seqno: number; hash: string | null };
}

/** A link ready to post, plus its identifiers. */
export interface BuiltLink {
  link: ServerChainLink;
  linkId: string;
  sigId: string;
  payloadJson: string;
}

function signerKid(signer: LinkSigner): KidHex {
  if (signer.secretKey.length !== 64)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'ed25519 secret key must be 64 bytes');
  return ed25519Kid(signer.secretKey.subarray(32));
}

function payloadFor(
  ctx: LinkContext,
  kid: KidHex,
  type: string,
  sections: JsonObject,
  seqType: number,
  team: boolean,
): JsonObject {
  const version = ctx.sigVersion ?? 1;
  const key: JsonObject = { kid, uid: ctx.uid, username: ctx.username };
  if (!team) key.host = 'keybase.io';
  if (ctx.eldestKid !== undefined) key.eldest_kid = ctx.eldestKid;
  const body: JsonObject = { ...sections, key, type, version };
  if (ctx.merkleRoot) body.merkle_root = { ...ctx.merkleRoot };
  const payload: JsonObject = {
    body,
    ctime: ctx.ctime,
    expire_in: ctx.expireIn ?? DEFAULT_EXPIRE_IN,
    prev: ctx.prev,
    seqno: ctx.seqno,
    tag: 'signature',
  };
  if (ctx.client) payload.client = { ...ctx.client };
  if (version === 2 || seqType !== 1) payload.seq_type = seqType;
  if (ctx.highSkip) payload.high_skip = { ...ctx.highSkip };
  return payload;
}

/**
 * Signs a payload whose reverse-sig slot (if any) is already filled, as a v1 or v2 link.
 */
function finish(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  payload: JsonObject,
  type: string,
  hasRevocations: boolean,
  seqType: number,
  sigIdSuffix: string,
): BuiltLink {
  const payloadJson = canonicalJson(payload);
  const kid = signerKid(signer);
  if ((ctx.sigVersion ?? 1) === 1) {
    const packet = createSignaturePacket(backend, signer.secretKey, utf8(payloadJson));
    const linkId = linkIdV1(backend, payloadJson);
    const sigId = toHex(backend.sha256(packet.bytes)) + sigIdSuffix;
    return {
      link: {
        seqno: ctx.seqno,
        prev: ctx.prev,
        sig: packet.base64,
        payload_json: payloadJson,
        kid,
        sig_version: 1,
        sig_id: sigId,
        payload_hash: linkId,
        ctime: ctx.ctime,
      },
      linkId,
      sigId,
      payloadJson,
    };
  }
  const code = linkTypeCode(type, hasRevocations);
  if (code === undefined) throw fail('IDENTITY_INVALID_ARGUMENT', 'unknown link type');
  const outer = encodeOuterLink({
    version: 2,
    seqno: ctx.seqno,
    prev: ctx.prev === null ? null : fromHex(ctx.prev),
    curr: backend.sha256(utf8(payloadJson)),
    linkType: code,
    seqType,
    ignoreIfUnsupported: false,
    ...(ctx.highSkip
      ? {
          highSkip: {
            seqno: ctx.highSkip.seqno,
            hash: ctx.highSkip.hash === null ? null : fromHex(ctx.highSkip.hash),
          },
          fieldCount: 9 as const,
        }
      : { fieldCount: 7 as const }),
  });
  const packet = createSignaturePacket(backend, signer.secretKey, outer);
  const linkId = linkIdV2(backend, outer);
  const sigId = toHex(backend.sha256(packet.bytes)) + sigIdSuffix;
  return {
    link: {
      seqno: ctx.seqno,
      prev: ctx.prev,
      sig: packet.base64,
      payload_json: payloadJson,
      kid,
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

/**
 * Fills a reverse signature (spec §3.6): the new key signs the canonical payload with the slot
 * null; the base64 packet goes into the slot.
 */
function fillReverseSig(
  backend: CryptoBackend,
  payload: JsonObject,
  path: readonly string[],
  newKey: LinkSigner,
): void {
  let holder = payload;
  for (const p of path.slice(0, -1)) holder = holder[p] as JsonObject;
  const field = path[path.length - 1]!;
  holder[field] = null;
  const packet = createSignaturePacket(backend, newKey.secretKey, utf8(canonicalJson(payload)));
  holder[field] = packet.base64;
}

/** A device section (spec §3.1). */
export interface DeviceSection {
  id: string;
  kid: KidHex;
  name?: string;
  type?: 'desktop' | 'mobile' | 'backup';
  status?: 1 | 2;
}

function deviceJson(d: DeviceSection | undefined): JsonObject {
  if (!d) return {};
  const o: JsonObject = { id: d.id, kid: d.kid, status: d.status ?? 1 };
  if (d.name !== undefined) o.name = d.name;
  if (d.type !== undefined) o.type = d.type;
  return { device: o };
}

/**
 * Builds the `eldest` link of a new (sub)chain, signed by the eldest key.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a malformed key.
 */
export function buildEldestLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  device?: DeviceSection,
): BuiltLink {
  const payload = payloadFor(ctx, signerKid(signer), 'eldest', deviceJson(device), 1, false);
  return finish(backend, ctx, signer, payload, 'eldest', false, 1, SIG_ID_SUFFIX.user);
}

/**
 * Builds a `sibkey` link delegating `newKey`, with its reverse signature.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for malformed keys.
 */
export function buildSibkeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  newKey: LinkSigner,
  device?: DeviceSection,
): BuiltLink {
  const sections: JsonObject = {
    ...deviceJson(device),
    sibkey: { kid: signerKid(newKey), reverse_sig: null },
  };
  const payload = payloadFor(ctx, signerKid(signer), 'sibkey', sections, 1, false);
  fillReverseSig(backend, payload, ['body', 'sibkey', 'reverse_sig'], newKey);
  return finish(backend, ctx, signer, payload, 'sibkey', false, 1, SIG_ID_SUFFIX.user);
}

/**
 * Builds a `subkey` link delegating an encryption key under the signing sibkey.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a malformed key.
 */
export function buildSubkeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  subkeyKid: KidHex,
  device?: DeviceSection,
): BuiltLink {
  const parent = signerKid(signer);
  const sections: JsonObject = {
    ...deviceJson(device),
    subkey: { kid: subkeyKid, parent_kid: parent },
  };
  const payload = payloadFor(ctx, parent, 'subkey', sections, 1, false);
  return finish(backend, ctx, signer, payload, 'subkey', false, 1, SIG_ID_SUFFIX.user);
}

/**
 * Builds a `revoke` link revoking keys and/or sigs (a device revocation lists both its keys and
 * passes the device with status 2).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when nothing is revoked.
 */
export function buildRevokeLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  revoke: { kids?: readonly KidHex[]; sigIds?: readonly string[] },
  device?: DeviceSection,
): BuiltLink {
  const r: JsonObject = {};
  if (revoke.kids?.length) r.kids = [...revoke.kids];
  if (revoke.sigIds?.length) r.sig_ids = [...revoke.sigIds];
  if (Object.keys(r).length === 0)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'a revoke link must revoke something');
  const payload = payloadFor(
    ctx,
    signerKid(signer),
    'revoke',
    { ...deviceJson(device), revoke: r },
    1,
    false,
  );
  return finish(backend, ctx, signer, payload, 'revoke', true, 1, SIG_ID_SUFFIX.user);
}

/**
 * Builds a `per_user_key` link announcing generation `generation` of a PUK, reverse-signed by
 * the PUK signing key (spec §3.2, §4).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for malformed keys or generation.
 */
export function buildPerUserKeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  puk: { generation: number; signing: LinkSigner; encryptionKid: KidHex },
): BuiltLink {
  if (!Number.isSafeInteger(puk.generation) || puk.generation < 1)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'generation must be ≥ 1');
  const section: JsonObject = {
    encryption_kid: puk.encryptionKid,
    generation: puk.generation,
    reverse_sig: null,
    signing_kid: signerKid(puk.signing),
  };
  const payload = payloadFor(
    ctx,
    signerKid(signer),
    'per_user_key',
    { per_user_key: section },
    1,
    false,
  );
  fillReverseSig(backend, payload, ['body', 'per_user_key', 'reverse_sig'], puk.signing);
  return finish(backend, ctx, signer, payload, 'per_user_key', false, 1, SIG_ID_SUFFIX.user);
}

/**
 * Builds a `pgp_update` link naming the new version (full hash) of a PGP sibkey.
 */
export function buildPgpUpdateLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: LinkSigner,
  update: { kid: KidHex; keyId: string; fingerprint: string; fullHash: string },
): BuiltLink {
  const section: JsonObject = {
    fingerprint: update.fingerprint,
    full_hash: update.fullHash,
    key_id: update.keyId.toUpperCase(),
    kid: update.kid,
  };
  const payload = payloadFor(
    ctx,
    signerKid(signer),
    'pgp_update',
    { pgp_update: section },
    1,
    false,
  );
  return finish(backend, ctx, signer, payload, 'pgp_update', false, 1, SIG_ID_SUFFIX.user);
}

/** A `per_team_key` section to embed, with the PTK signing key for its reverse signature. */
export interface PerTeamKeySection {
  generation: number;
  encryptionKid: KidHex;
  signing: LinkSigner;
  seedCheck?: { version: 1; value: string };
}

/**
 * Builds a v2 team link (spec §6.1): `body.team` holds the type's section; a `per_team_key`
 * section is reverse-signed by the PTK signing key. Team links omit `host`; the seq_type is 3
 * for private teams and 1 for public ones.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for an unknown team link type.
 */
export function buildTeamLink(
  backend: CryptoBackend,
  ctx: Omit<LinkContext, 'sigVersion'>,
  signer: LinkSigner,
  type: string,
  team: JsonObject,
  options: { perTeamKey?: PerTeamKeySection; isPublic?: boolean } = {},
): BuiltLink {
  if (!type.startsWith('team.') || linkTypeCode(type, false) === undefined)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'unknown team link type');
  const seqType = options.isPublic ? 1 : 3;
  const teamSection: JsonObject = { ...team };
  const ptk = options.perTeamKey;
  if (ptk) {
    const s: JsonObject = {
      encryption_kid: ptk.encryptionKid,
      generation: ptk.generation,
      reverse_sig: null,
      signing_kid: signerKid(ptk.signing),
    };
    if (ptk.seedCheck) s.seed_check = { h: ptk.seedCheck.value, v: ptk.seedCheck.version };
    teamSection.per_team_key = s;
  }
  const full: LinkContext = { ...ctx, sigVersion: 2 };
  const payload = payloadFor(full, signerKid(signer), type, { team: teamSection }, seqType, true);
  payload.seq_type = seqType;
  if (ptk)
    fillReverseSig(backend, payload, ['body', 'team', 'per_team_key', 'reverse_sig'], ptk.signing);
  return finish(backend, full, signer, payload, type, false, seqType, SIG_ID_SUFFIX.teamV2);
}
