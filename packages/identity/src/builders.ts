/**
 * Builders for the links saltbox writes (spec §3.1–§3.6): `eldest`, `sibkey`, `subkey`,
 * `revoke`, `per_user_key`, `pgp_update` on user chains, and v2 team links with `per_team_key`
 * sections. Each returns the link in the simple `sig/get` form, so what a builder makes is
 * exactly what the verifiers read.
 *
 * Each builder is written once, as a plan that asks for its signatures (a generator yielding
 * {@link LinkSignRequest}s), and run two ways: `build…Link` signs with 64-byte NaCl secret keys
 * passed in (tests, tools), `sign…Link` asks {@link RemoteLinkSigner}s — the keystore, which
 * never hands out a secret key — and checks every signature it gets back before using it.
 *
 * @packageDocumentation
 */
import { fromHex, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson } from './canonical-json.js';
import type { JsonObject } from './canonical-json.js';
import type { ServerChainLink } from './chain-link.js';
import { fail } from './errors.js';
import { ed25519Kid, KID_TYPE, linkIdV1, linkIdV2, naclPublicKey, SIG_ID_SUFFIX } from './ids.js';
import type { KidHex } from './ids.js';
import { linkTypeCode } from './link-types.js';
import { encodeOuterLink } from './outer-link.js';
import { assembleSignaturePacket } from './packets.js';
import { toHex } from './encoding.js';
import { parsePgpKey, verifyPgpMessage } from './pgp.js';

/** Default `expire_in`: 16 years, Keybase's value for NaCl delegations (spec §3.1). */
export const DEFAULT_EXPIRE_IN = 504576000;

/** An Ed25519 signer: the 64-byte NaCl secret key (seed ‖ public key). */
export interface LinkSigner {
  secretKey: Uint8Array;
}

/**
 * One signature a link needs: `kid` signs `message` raw (no prefix). `purpose` says which kind,
 * so a keystore can apply its own rules: `sigchain_link` for the link itself, `reverse_sig` for
 * the new key's signature inside it (spec §3.6).
 */
export interface LinkSignRequest {
  kid: KidHex;
  purpose: 'sigchain_link' | 'reverse_sig';
  message: Uint8Array;
}

/** An Ed25519 signer that holds its key elsewhere (the keystore): the async form of {@link LinkSigner}. */
export interface RemoteLinkSigner {
  /** The signing KID (`0120…0a`). */
  kid: KidHex;
  /** Returns the 64-byte Ed25519 signature over `request.message`. */
  sign(request: LinkSignRequest): Promise<Uint8Array>;
}

/** A builder's plan: yields the signatures it needs, receives them, returns the link. */
type Plan<T = BuiltLink> = Generator<LinkSignRequest, T, Uint8Array>;

/** Runs a plan with secret keys in memory. */
function runWithKeys<T>(backend: CryptoBackend, plan: Plan<T>, signers: LinkSigner[]): T {
  const keys = new Map(signers.map((s) => [signerKid(s), s.secretKey]));
  let step = plan.next();
  while (!step.done) {
    const key = keys.get(step.value.kid);
    if (key === undefined) throw fail('IDENTITY_INVALID_ARGUMENT', 'no key for a signature');
    step = plan.next(backend.ed25519Sign(step.value.message, key));
  }
  return step.value;
}

/**
 * Runs a plan with remote signers. Every signature is verified before it goes into a link: a
 * keystore that signed with another key (or garbage) must not produce a link that the server
 * then refuses for reasons far from the cause.
 *
 * @throws IdentityError `IDENTITY_VERIFY_FAILED` for a signature that does not verify.
 */
async function runRemote<T>(
  backend: CryptoBackend,
  plan: Plan<T>,
  signers: RemoteLinkSigner[],
): Promise<T> {
  const byKid = new Map(signers.map((s) => [s.kid, s]));
  let step = plan.next();
  while (!step.done) {
    const request = step.value;
    const signer = byKid.get(request.kid);
    if (signer === undefined) throw fail('IDENTITY_INVALID_ARGUMENT', 'no signer for a signature');
    const sig = await signer.sign(request);
    const publicKey = naclPublicKey(request.kid, KID_TYPE.ed25519);
    if (sig.length !== 64 || !backend.ed25519Verify(sig, request.message, publicKey))
      throw fail('IDENTITY_VERIFY_FAILED', 'a signer returned a signature that does not verify', {
        kid: request.kid,
      });
    step = plan.next(sig);
  }
  return step.value;
}

/** A signed tag-514 packet over `payload` by `kid` (asks the plan's driver for the signature). */
function* packetPlan(
  backend: CryptoBackend,
  kid: KidHex,
  purpose: LinkSignRequest['purpose'],
  payload: Uint8Array,
): Generator<LinkSignRequest, { bytes: Uint8Array; base64: string }, Uint8Array> {
  const sig = yield { kid, purpose, message: payload };
  return assembleSignaturePacket(backend, naclPublicKey(kid, KID_TYPE.ed25519), payload, sig);
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
function* finish(
  backend: CryptoBackend,
  ctx: LinkContext,
  kid: KidHex,
  payload: JsonObject,
  type: string,
  hasRevocations: boolean,
  seqType: number,
  sigIdSuffix: string,
): Plan {
  const payloadJson = canonicalJson(payload);
  if ((ctx.sigVersion ?? 1) === 1) {
    const packet = yield* packetPlan(backend, kid, 'sigchain_link', utf8(payloadJson));
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
  const packet = yield* packetPlan(backend, kid, 'sigchain_link', outer);
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
function* fillReverseSig(
  backend: CryptoBackend,
  payload: JsonObject,
  path: readonly string[],
  newKid: KidHex,
): Generator<LinkSignRequest, void, Uint8Array> {
  let holder = payload;
  for (const p of path.slice(0, -1)) holder = holder[p] as JsonObject;
  const field = path[path.length - 1]!;
  holder[field] = null;
  const packet = yield* packetPlan(backend, newKid, 'reverse_sig', utf8(canonicalJson(payload)));
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

// ---------------------------------------------------------------------------------------------
// Plans: one per link type, each written once for both ways of signing.

function* eldestPlan(
  backend: CryptoBackend,
  ctx: LinkContext,
  kid: KidHex,
  device?: DeviceSection,
): Plan {
  const payload = payloadFor(ctx, kid, 'eldest', deviceJson(device), 1, false);
  return yield* finish(backend, ctx, kid, payload, 'eldest', false, 1, SIG_ID_SUFFIX.user);
}

function* sibkeyPlan(
  backend: CryptoBackend,
  ctx: LinkContext,
  kid: KidHex,
  newKid: KidHex,
  device?: DeviceSection,
): Plan {
  const sections: JsonObject = {
    ...deviceJson(device),
    sibkey: { kid: newKid, reverse_sig: null },
  };
  const payload = payloadFor(ctx, kid, 'sibkey', sections, 1, false);
  yield* fillReverseSig(backend, payload, ['body', 'sibkey', 'reverse_sig'], newKid);
  return yield* finish(backend, ctx, kid, payload, 'sibkey', false, 1, SIG_ID_SUFFIX.user);
}

function* subkeyPlan(
  backend: CryptoBackend,
  ctx: LinkContext,
  parent: KidHex,
  subkeyKid: KidHex,
  device?: DeviceSection,
): Plan {
  const sections: JsonObject = {
    ...deviceJson(device),
    subkey: { kid: subkeyKid, parent_kid: parent },
  };
  const payload = payloadFor(ctx, parent, 'subkey', sections, 1, false);
  return yield* finish(backend, ctx, parent, payload, 'subkey', false, 1, SIG_ID_SUFFIX.user);
}

/** What a `revoke` link revokes. */
export interface RevokeSection {
  kids?: readonly KidHex[];
  sigIds?: readonly string[];
}

function* revokePlan(
  backend: CryptoBackend,
  ctx: LinkContext,
  kid: KidHex,
  revoke: RevokeSection,
  device?: DeviceSection,
): Plan {
  const r: JsonObject = {};
  if (revoke.kids?.length) r.kids = [...revoke.kids];
  if (revoke.sigIds?.length) r.sig_ids = [...revoke.sigIds];
  if (Object.keys(r).length === 0)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'a revoke link must revoke something');
  const payload = payloadFor(ctx, kid, 'revoke', { ...deviceJson(device), revoke: r }, 1, false);
  return yield* finish(backend, ctx, kid, payload, 'revoke', true, 1, SIG_ID_SUFFIX.user);
}

function* perUserKeyPlan(
  backend: CryptoBackend,
  ctx: LinkContext,
  kid: KidHex,
  puk: { generation: number; signingKid: KidHex; encryptionKid: KidHex },
): Plan {
  if (!Number.isSafeInteger(puk.generation) || puk.generation < 1)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'generation must be ≥ 1');
  const section: JsonObject = {
    encryption_kid: puk.encryptionKid,
    generation: puk.generation,
    reverse_sig: null,
    signing_kid: puk.signingKid,
  };
  const payload = payloadFor(ctx, kid, 'per_user_key', { per_user_key: section }, 1, false);
  yield* fillReverseSig(backend, payload, ['body', 'per_user_key', 'reverse_sig'], puk.signingKid);
  return yield* finish(backend, ctx, kid, payload, 'per_user_key', false, 1, SIG_ID_SUFFIX.user);
}

// ---------------------------------------------------------------------------------------------
// Signing with secret keys in memory

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
  return runWithKeys(backend, eldestPlan(backend, ctx, signerKid(signer), device), [signer]);
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
  const plan = sibkeyPlan(backend, ctx, signerKid(signer), signerKid(newKey), device);
  return runWithKeys(backend, plan, [signer, newKey]);
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
  const plan = subkeyPlan(backend, ctx, signerKid(signer), subkeyKid, device);
  return runWithKeys(backend, plan, [signer]);
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
  revoke: RevokeSection,
  device?: DeviceSection,
): BuiltLink {
  const plan = revokePlan(backend, ctx, signerKid(signer), revoke, device);
  return runWithKeys(backend, plan, [signer]);
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
  const plan = perUserKeyPlan(backend, ctx, signerKid(signer), {
    generation: puk.generation,
    signingKid: signerKid(puk.signing),
    encryptionKid: puk.encryptionKid,
  });
  return runWithKeys(backend, plan, [signer, puk.signing]);
}

// ---------------------------------------------------------------------------------------------
// Signing through a keystore

/**
 * {@link buildEldestLink} with a remote signer (the keystore).
 *
 * @throws IdentityError `IDENTITY_VERIFY_FAILED` when the signer's signature does not verify,
 *   `IDENTITY_INVALID_ARGUMENT` for malformed input; whatever the signer throws.
 */
export function signEldestLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  device?: DeviceSection,
): Promise<BuiltLink> {
  return runRemote(backend, eldestPlan(backend, ctx, signer.kid, device), [signer]);
}

/**
 * {@link buildSibkeyLink} with remote signers: `signer` signs the link, `newKey` its reverse
 * signature.
 *
 * @throws IdentityError as {@link signEldestLink}.
 */
export function signSibkeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  newKey: RemoteLinkSigner,
  device?: DeviceSection,
): Promise<BuiltLink> {
  const plan = sibkeyPlan(backend, ctx, signer.kid, newKey.kid, device);
  return runRemote(backend, plan, [signer, newKey]);
}

/**
 * {@link buildSubkeyLink} with a remote signer (the parent sibkey).
 *
 * @throws IdentityError as {@link signEldestLink}.
 */
export function signSubkeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  subkeyKid: KidHex,
  device?: DeviceSection,
): Promise<BuiltLink> {
  return runRemote(backend, subkeyPlan(backend, ctx, signer.kid, subkeyKid, device), [signer]);
}

/**
 * {@link buildRevokeLink} with a remote signer.
 *
 * @throws IdentityError as {@link signEldestLink}; `IDENTITY_INVALID_ARGUMENT` when nothing
 *   is revoked.
 */
export function signRevokeLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  revoke: RevokeSection,
  device?: DeviceSection,
): Promise<BuiltLink> {
  return runRemote(backend, revokePlan(backend, ctx, signer.kid, revoke, device), [signer]);
}

/**
 * {@link buildPerUserKeyLink} with remote signers: `signer` (a device) signs the link,
 * `puk.signing` (the PUK signing key, held by the keystore) its reverse signature.
 *
 * @throws IdentityError as {@link signEldestLink}.
 */
export function signPerUserKeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  puk: { generation: number; signing: RemoteLinkSigner; encryptionKid: KidHex },
): Promise<BuiltLink> {
  const plan = perUserKeyPlan(backend, ctx, signer.kid, {
    generation: puk.generation,
    signingKid: puk.signing.kid,
    encryptionKid: puk.encryptionKid,
  });
  return runRemote(backend, plan, [signer, puk.signing]);
}

/**
 * A PGP key held elsewhere (the keystore) that reverse-signs its own delegation (spec §3.6):
 * Keybase's PGP reverse signature is an armored, attached OpenPGP signature (a
 * `-----BEGIN PGP MESSAGE-----` block) over the link's canonical JSON with the slot null.
 */
export interface RemotePgpSigner {
  /** The armored public key: the bundle whose trimmed SHA-256 is the `full_hash`. */
  armoredPublicKey: string;
  /** Returns the armored attached signature over `message`, made by this key. */
  signReverse(message: Uint8Array): Promise<string>;
}

/**
 * A `sibkey` link delegating a PGP key (spec §3.2): the section carries the PGP key's `kid`,
 * `fingerprint`, `key_id` (upper-case, as Keybase writes it) and `full_hash`, and the PGP key's
 * reverse signature. `signer` (a device sibkey) signs the link. The reverse signature is
 * verified against the bundle before it goes into the link.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` (unreadable bundle), `IDENTITY_VERIFY_FAILED` (the
 *   PGP signer or the link signer returned a signature that does not verify, or one over other
 *   bytes), `IDENTITY_INVALID_ARGUMENT`; whatever the signers throw.
 */
export async function signPgpSibkeyLink(
  backend: CryptoBackend,
  ctx: LinkContext,
  signer: RemoteLinkSigner,
  pgp: RemotePgpSigner,
): Promise<BuiltLink> {
  const bundle = await parsePgpKey(backend, pgp.armoredPublicKey);
  const section: JsonObject = {
    fingerprint: bundle.fingerprint,
    full_hash: bundle.fullHash,
    key_id: bundle.keyId.toUpperCase(),
    kid: bundle.kid,
    reverse_sig: null,
  };
  const payload = payloadFor(ctx, signer.kid, 'sibkey', { sibkey: section }, 1, false);
  const message = utf8(canonicalJson(payload));
  const armored = await pgp.signReverse(message);
  let signed: Uint8Array;
  try {
    signed = await verifyPgpMessage(armored, [bundle]);
  } catch (e) {
    throw fail('IDENTITY_VERIFY_FAILED', 'the pgp reverse signature does not verify', {}, e);
  }
  if (signed.length !== message.length || !signed.every((b, i) => b === message[i]))
    throw fail('IDENTITY_VERIFY_FAILED', 'the pgp reverse signature covers other bytes');
  section.reverse_sig = armored;
  const plan = finish(backend, ctx, signer.kid, payload, 'sibkey', false, 1, SIG_ID_SUFFIX.user);
  return runRemote(backend, plan, [signer]);
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
  const kid = signerKid(signer);
  const payload = payloadFor(ctx, kid, 'pgp_update', { pgp_update: section }, 1, false);
  const plan = finish(backend, ctx, kid, payload, 'pgp_update', false, 1, SIG_ID_SUFFIX.user);
  return runWithKeys(backend, plan, [signer]);
}

/** A `per_team_key` section to embed, with the PTK signing key for its reverse signature. */
export interface PerTeamKeySection {
  generation: number;
  encryptionKid: KidHex;
  signing: LinkSigner;
  seedCheck?: { version: 1; value: string };
}

function* teamPlan(
  backend: CryptoBackend,
  ctx: Omit<LinkContext, 'sigVersion'>,
  kid: KidHex,
  type: string,
  team: JsonObject,
  ptk:
    | {
        generation: number;
        encryptionKid: KidHex;
        signingKid: KidHex;
        seedCheck?: { version: 1; value: string };
      }
    | undefined,
  isPublic: boolean,
): Plan {
  if (!type.startsWith('team.') || linkTypeCode(type, false) === undefined)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'unknown team link type');
  const seqType = isPublic ? 1 : 3;
  const teamSection: JsonObject = { ...team };
  if (ptk) {
    const s: JsonObject = {
      encryption_kid: ptk.encryptionKid,
      generation: ptk.generation,
      reverse_sig: null,
      signing_kid: ptk.signingKid,
    };
    if (ptk.seedCheck) s.seed_check = { h: ptk.seedCheck.value, v: ptk.seedCheck.version };
    teamSection.per_team_key = s;
  }
  const full: LinkContext = { ...ctx, sigVersion: 2 };
  const payload = payloadFor(full, kid, type, { team: teamSection }, seqType, true);
  payload.seq_type = seqType;
  if (ptk)
    yield* fillReverseSig(
      backend,
      payload,
      ['body', 'team', 'per_team_key', 'reverse_sig'],
      ptk.signingKid,
    );
  return yield* finish(backend, full, kid, payload, type, false, seqType, SIG_ID_SUFFIX.teamV2);
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
  const ptk = options.perTeamKey;
  const plan = teamPlan(
    backend,
    ctx,
    signerKid(signer),
    type,
    team,
    ptk && { ...ptk, signingKid: signerKid(ptk.signing) },
    options.isPublic ?? false,
  );
  return runWithKeys(backend, plan, ptk ? [signer, ptk.signing] : [signer]);
}
