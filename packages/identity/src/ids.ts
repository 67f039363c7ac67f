/**
 * Keybase's identifiers (spec §2): KIDs, UIDs, device IDs, team IDs, sig IDs, link IDs and
 * user versions. All are rendered as lowercase hex, as Keybase does on the wire.
 *
 * @packageDocumentation
 */
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend, RandomSource } from '@saltbox/saltpack';
import { toBase64Url, toHex, hexToBytes } from './encoding.js';
import { fail } from './errors.js';

/** A KID rendered as 70 lowercase hex characters. */
export type KidHex = string;

/** KID type bytes (spec §2.1; values below 0x20 are RFC 4880 public-key algorithm IDs). */
export const KID_TYPE = {
  pgpRsa: 0x01,
  pgpElgamal: 0x10,
  pgpDsa: 0x11,
  pgpEcdh: 0x12,
  pgpEcdsa: 0x13,
  pgpEddsa: 0x16,
  ed25519: 0x20,
  curve25519: 0x21,
} as const;

/** A KID type byte. */
export type KidType = (typeof KID_TYPE)[keyof typeof KID_TYPE];

const KID_VERSION = 0x01;
const KID_SUFFIX = 0x0a;
const KID_TYPES = new Set<number>(Object.values(KID_TYPE));

/** A parsed KID. */
export interface ParsedKid {
  /** The key type byte. */
  type: KidType;
  /** The 32-byte payload: a NaCl public key, or the SHA-256 key hash of a PGP key. */
  payload: Uint8Array;
  /** The 35 raw bytes. */
  bytes: Uint8Array;
}

/**
 * True for the KID of a PGP key: any type byte but NaCl's `20` (Ed25519) and `21` (Curve25519),
 * spec §2.1. A PGP KID is a hash of the key, not the key: the key itself travels as an armored
 * bundle.
 */
export function isPgpKid(kid: string): boolean {
  const t = kid.slice(2, 4);
  return t !== '20' && t !== '21';
}

/**
 * Builds a KID from a type and a 32-byte payload (spec §2.1).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when the payload is not 32 bytes.
 */
export function kidFromPayload(type: KidType, payload: Uint8Array): KidHex {
  if (payload.length !== 32)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'kid payload must be 32 bytes');
  return toHex(concatBytes(Uint8Array.of(KID_VERSION, type), payload, Uint8Array.of(KID_SUFFIX)));
}

/**
 * The KID (`0120…0a`) of an Ed25519 public key.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when the key is not 32 bytes.
 */
export function ed25519Kid(publicKey: Uint8Array): KidHex {
  return kidFromPayload(KID_TYPE.ed25519, publicKey);
}

/**
 * The KID (`0121…0a`) of a Curve25519 public key.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when the key is not 32 bytes.
 */
export function curve25519Kid(publicKey: Uint8Array): KidHex {
  return kidFromPayload(KID_TYPE.curve25519, publicKey);
}

/**
 * Parses raw KID bytes with Keybase's checks: length 35, version 1, trailer 0x0a, known type.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when any check fails.
 */
export function parseKidBytes(bytes: Uint8Array): ParsedKid {
  if (bytes.length !== 35 || bytes[0] !== KID_VERSION || bytes[34] !== KID_SUFFIX)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'malformed kid');
  const type = bytes[1]!;
  if (!KID_TYPES.has(type)) throw fail('IDENTITY_INVALID_ARGUMENT', 'unknown kid type');
  return { type: type as KidType, payload: bytes.slice(2, 34), bytes: bytes.slice() };
}

/**
 * Parses a hex KID.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for non-hex input or a malformed KID.
 */
export function parseKid(kid: KidHex): ParsedKid {
  return parseKidBytes(hexToBytes(kid, 35, 'kid'));
}

/** True when `kid` is a well-formed KID of the given type (any known type when omitted). */
export function isKid(kid: unknown, type?: KidType): kid is KidHex {
  if (typeof kid !== 'string' || !/^01[0-9a-f]{66}0a$/.test(kid)) return false;
  const t = parseInt(kid.slice(2, 4), 16);
  return type === undefined ? KID_TYPES.has(t) : t === type;
}

/**
 * The 32-byte NaCl public key inside an Ed25519 or Curve25519 KID.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when the KID is malformed or of another type.
 */
export function naclPublicKey(
  kid: KidHex,
  type: typeof KID_TYPE.ed25519 | typeof KID_TYPE.curve25519,
): Uint8Array {
  const parsed = parseKid(kid);
  if (parsed.type !== type)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'kid has the wrong key type', { kid });
  return parsed.payload;
}

// ---------------------------------------------------------------------------------------------
// UIDs, device IDs, team IDs (spec §2.2)

/** ID suffix bytes (spec §2.2). */
export const ID_SUFFIX = {
  uid: 0x19,
  legacyUid: 0x00,
  device: 0x18,
  rootTeam: 0x24,
  rootTeamPublic: 0x2e,
  subteam: 0x25,
  subteamPublic: 0x2f,
  invite: 0x27,
} as const;

/** A 16-byte UID as 32 lowercase hex characters. */
export type Uid = string;

/**
 * The v2 UID of a username: `SHA-256(lowercase(name))[0:15] ‖ 0x19` (spec §2.2).
 *
 * Lower-casing is ASCII-only, matching Keybase's normalisation of usernames (which are ASCII).
 */
export function uidFromUsername(backend: CryptoBackend, username: string): Uid {
  const h = backend.sha256(utf8(asciiLower(username)));
  return toHex(concatBytes(h.subarray(0, 15), Uint8Array.of(ID_SUFFIX.uid)));
}

/** True for a 32-hex UID with a v2 (`19`) or legacy (`00`) suffix. */
export function isUid(uid: unknown): uid is Uid {
  return typeof uid === 'string' && /^[0-9a-f]{30}(?:19|00)$/.test(uid);
}

/** A fresh device ID: 16 random bytes with the last overwritten by `0x18` (spec §2.2). */
export function generateDeviceId(random: RandomSource): string {
  const b = random.randomBytes(16);
  b[15] = ID_SUFFIX.device;
  return toHex(b);
}

/** True for a 32-hex device ID ending in `18`. */
export function isDeviceId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{30}18$/.test(id);
}

/**
 * The ID of a root team: `SHA-256(lowercase(name))[0:15] ‖ suffix`, where the suffix is `24`
 * for a private team and `2e` for a public one (spec §2.2).
 */
export function rootTeamId(backend: CryptoBackend, name: string, isPublic = false): string {
  const h = backend.sha256(utf8(asciiLower(name)));
  const suffix = isPublic ? ID_SUFFIX.rootTeamPublic : ID_SUFFIX.rootTeam;
  return toHex(concatBytes(h.subarray(0, 15), Uint8Array.of(suffix)));
}

/** A fresh subteam ID: 15 random bytes and suffix `25` (private) or `2f` (public). */
export function generateSubteamId(random: RandomSource, isPublic = false): string {
  const b = random.randomBytes(16);
  b[15] = isPublic ? ID_SUFFIX.subteamPublic : ID_SUFFIX.subteam;
  return toHex(b);
}

/** True for a 32-hex team ID with one of the four team suffixes. */
export function isTeamId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{30}(?:24|2e|25|2f)$/.test(id);
}

/** Whether a team ID denotes a root team (as opposed to a subteam). */
export function isRootTeamId(id: string): boolean {
  return id.endsWith('24') || id.endsWith('2e');
}

// ---------------------------------------------------------------------------------------------
// Sig IDs and link IDs

/** Sig ID suffixes (spec §2.2). */
export const SIG_ID_SUFFIX = {
  /** User sigchain links (v1 and v2). */
  user: '0f',
  /** Team links signed v2, and `wallet.stellar` v2. */
  teamV2: '22',
  /** Sig v3 (hidden chains). */
  v3: '38',
} as const;

/** A sig ID without suffix: the 64-hex SHA-256 of the raw signature packet bytes. */
export function sigIdBase(backend: CryptoBackend, packetBytes: Uint8Array): string {
  return toHex(backend.sha256(packetBytes));
}

/** A full 66-hex sig ID: `SHA-256(packet bytes)` ‖ suffix (default `0f`, user sigs). */
export function sigId(
  backend: CryptoBackend,
  packetBytes: Uint8Array,
  suffix: (typeof SIG_ID_SUFFIX)[keyof typeof SIG_ID_SUFFIX] = SIG_ID_SUFFIX.user,
): string {
  return sigIdBase(backend, packetBytes) + suffix;
}

/** The short sig ID: the first 27 bytes of the hash in unpadded base64url (`SIG_SHORT_ID_BYTES`). */
export function shortSigId(backend: CryptoBackend, packetBytes: Uint8Array): string {
  return toBase64Url(backend.sha256(packetBytes).subarray(0, 27));
}

/** Link ID of a v1 link: SHA-256 of the payload JSON bytes exactly as signed (spec §3.4). */
export function linkIdV1(backend: CryptoBackend, payloadJson: string | Uint8Array): string {
  return toHex(backend.sha256(typeof payloadJson === 'string' ? utf8(payloadJson) : payloadJson));
}

/** Link ID of a v2 link: SHA-256 of the outer msgpack bytes (spec §3.5). */
export function linkIdV2(backend: CryptoBackend, outerBytes: Uint8Array): string {
  return toHex(backend.sha256(outerBytes));
}

// ---------------------------------------------------------------------------------------------
// User versions (team membership entries)

/** A member reference in team links: a UID and the eldest seqno of the user's live subchain. */
export interface UserVersion {
  uid: Uid;
  eldestSeqno: number;
}

/**
 * Parses `"<uid>"` or `"<uid>%<eldest_seqno>"`; a bare UID means eldest seqno 1 (spec §2.2).
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for anything else.
 */
export function parseUserVersion(text: string): UserVersion {
  const m = /^([0-9a-f]{32})(?:%(\d{1,15}))?$/.exec(text);
  if (!m) throw fail('IDENTITY_MALFORMED', 'malformed user version');
  const eldestSeqno = m[2] === undefined ? 1 : Number(m[2]);
  return { uid: m[1]!, eldestSeqno };
}

/** Renders a user version as `"<uid>%<eldest_seqno>"` (Keybase's `PercentForm`). */
export function formatUserVersion(uv: UserVersion): string {
  return `${uv.uid}%${uv.eldestSeqno}`;
}

/** ASCII-only lower-casing: Keybase names are ASCII, and locale rules must not apply. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
