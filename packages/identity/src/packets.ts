/**
 * Keybase's msgpack packets (spec §3.3): tag-514 NaCl signature packets ("NaCl sig info", v1 and
 * the v2 variant with a signing prefix) and tag-515 encryption packets (PUK boxes).
 *
 * Decoding is strict: canonical msgpack only, no unknown fields, exact types and sizes, and the
 * packet hash (SHA-256 over the packet with `hash.value` set to an empty `bin`) verified when
 * present. Team-link packets in Keybase's vectors omit the `hash` map, so it is optional.
 *
 * @packageDocumentation
 */
import { bytesEqual, concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { MsgpackValue } from '@saltbox/saltpack/encoding';
import { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
import { fromBase64, toBase64, toHex } from './encoding.js';
import { fail, IdentityError } from './errors.js';
import { curve25519Kid, KID_TYPE, naclPublicKey, parseKidBytes } from './ids.js';
import type { KidHex } from './ids.js';

/** Packet tags. */
export const PACKET_TAG = { signature: 514, encryption: 515 } as const;
const HASH_TYPE_SHA256 = 8;
const SIG_HASH_TYPE = 10;
const SIG_TYPE_EDDSA = 32;
const ENC_TYPE_NACL_DH = 33;

/** A decoded tag-514 signature packet. */
export interface SignaturePacket {
  /** 1, or 2 for the prefixed variant. */
  version: 1 | 2;
  /** The signer's Ed25519 KID. */
  kid: KidHex;
  /** The 32-byte Ed25519 public key inside {@link kid} (kept so verifying does not re-parse hex). */
  publicKey: Uint8Array;
  /** The signed payload (inner JSON for v1 links, outer msgpack for v2 links). */
  payload: Uint8Array;
  /** The 64-byte Ed25519 signature. */
  sig: Uint8Array;
  /** The domain-separation prefix of a version-2 packet. */
  prefix?: string;
  /** Whether the packet carried the `hash` map. */
  hasHash: boolean;
  /** The packet bytes exactly as received (sig IDs hash these). */
  bytes: Uint8Array;
}

function asMap(v: MsgpackValue | undefined, what: string): Map<MsgpackValue, MsgpackValue> {
  if (!(v instanceof Map)) throw fail('IDENTITY_BAD_PACKET', `${what} is not a map`);
  for (const k of v.keys())
    if (typeof k !== 'string') throw fail('IDENTITY_BAD_PACKET', `${what} has a non-string key`);
  return v;
}

function onlyKeys(
  m: Map<MsgpackValue, MsgpackValue>,
  allowed: readonly string[],
  what: string,
): void {
  for (const k of m.keys())
    if (!allowed.includes(k as string))
      throw fail('IDENTITY_BAD_PACKET', `${what} has an unknown field`, {
        field: typeof k === 'string' ? k : 'non-string key',
      });
}

function bin(m: Map<MsgpackValue, MsgpackValue>, key: string, length?: number): Uint8Array {
  const v = m.get(key);
  if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length))
    throw fail('IDENTITY_BAD_PACKET', `packet field has the wrong type or size`, { field: key });
  return v;
}

function packetHash(backend: CryptoBackend, packet: Map<MsgpackValue, MsgpackValue>): Uint8Array {
  const copy = new Map(packet);
  copy.set(
    'hash',
    new Map<MsgpackValue, MsgpackValue>([
      ['type', HASH_TYPE_SHA256],
      ['value', new Uint8Array(0)],
    ]),
  );
  return backend.sha256(encodeCanonicalMsgpack(copy));
}

/** `tag` (fixstr) uint16 `version` (fixstr) 1: the last bytes of every canonical packet. */
function packetTail(tag: number): Uint8Array {
  return Uint8Array.of(
    0xa3,
    0x74,
    0x61,
    0x67,
    0xcd,
    tag >> 8,
    tag & 0xff,
    0xa7,
    0x76,
    0x65,
    0x72,
    0x73,
    0x69,
    0x6f,
    0x6e,
    0x01,
  );
}
const TAILS = new Map<number, Uint8Array>([
  [PACKET_TAG.signature, packetTail(PACKET_TAG.signature)],
  [PACKET_TAG.encryption, packetTail(PACKET_TAG.encryption)],
]);
const EMPTY_BIN = Uint8Array.of(0xc4, 0x00);

/**
 * The packet hash computed on the received bytes, once they are known to be canonical: keys
 * sort as body, hash, tag, version and the hash map as type, value, so the 32-byte value sits
 * right before the fixed tag/version tail. Hashing the bytes around it with an empty `bin` in
 * its place equals hashing the re-encoded packet, without a second encoding. Undefined when the
 * layout is not the expected one (then the caller re-encodes).
 */
function packetHashInPlace(
  backend: CryptoBackend,
  bytes: Uint8Array,
  tag: number,
  value: Uint8Array,
): Uint8Array | undefined {
  const tail = TAILS.get(tag);
  if (tail === undefined) return undefined;
  const end = bytes.length - tail.length;
  const start = end - 32;
  if (
    start < 2 ||
    bytes[start - 2] !== 0xc4 ||
    bytes[start - 1] !== 0x20 ||
    !bytesEqual(bytes.subarray(end), tail) ||
    !bytesEqual(bytes.subarray(start, end), value)
  )
    return undefined;
  return backend.sha256(bytes.subarray(0, start - 2), EMPTY_BIN, tail);
}

function decodeOuter(
  backend: CryptoBackend,
  input: string | Uint8Array,
  tag: number,
): {
  packet: Map<MsgpackValue, MsgpackValue>;
  body: Map<MsgpackValue, MsgpackValue>;
  bytes: Uint8Array;
  hasHash: boolean;
} {
  const bytes = typeof input === 'string' ? fromBase64(input) : input;
  let value: MsgpackValue;
  try {
    value = decodeCanonicalMsgpack(bytes);
  } catch (e) {
    if (e instanceof IdentityError)
      throw fail('IDENTITY_BAD_PACKET', `packet is not canonical msgpack`, {}, e);
    throw e;
  }
  const packet = asMap(value, 'packet');
  onlyKeys(packet, ['body', 'hash', 'tag', 'version'], 'packet');
  if (packet.get('tag') !== tag) throw fail('IDENTITY_BAD_PACKET', `packet tag is not ${tag}`);
  if (packet.get('version') !== 1) throw fail('IDENTITY_BAD_PACKET', 'packet version is not 1');
  const body = asMap(packet.get('body'), 'packet body');
  const hash = packet.get('hash');
  if (hash !== undefined) {
    const h = asMap(hash, 'packet hash');
    onlyKeys(h, ['type', 'value'], 'packet hash');
    if (h.get('type') !== HASH_TYPE_SHA256)
      throw fail('IDENTITY_BAD_PACKET', 'packet hash type is not sha256');
    const expected = bin(h, 'value', 32);
    const actual = packetHashInPlace(backend, bytes, tag, expected) ?? packetHash(backend, packet);
    if (!bytesEqual(expected, actual))
      throw fail('IDENTITY_BAD_PACKET', 'packet hash does not match');
  }
  return { packet, body, bytes, hasHash: hash !== undefined };
}

/**
 * Decodes a tag-514 signature packet (base64 or raw bytes) without verifying the signature.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for bad base64, `IDENTITY_BAD_PACKET` for any
 *   structural problem (non-canonical msgpack, unknown field, wrong tag, type or size, packet hash
 *   mismatch, non-Ed25519 KID).
 */
export function decodeSignaturePacket(
  backend: CryptoBackend,
  input: string | Uint8Array,
): SignaturePacket {
  const { body, bytes, hasHash } = decodeOuter(backend, input, PACKET_TAG.signature);
  onlyKeys(
    body,
    ['detached', 'hash_type', 'key', 'payload', 'sig', 'sig_type', 'prefix', 'version'],
    'signature body',
  );
  if (body.get('detached') !== true)
    throw fail('IDENTITY_BAD_PACKET', 'signature packet must be detached');
  if (body.get('hash_type') !== SIG_HASH_TYPE)
    throw fail('IDENTITY_BAD_PACKET', 'unexpected signature hash type');
  if (body.get('sig_type') !== SIG_TYPE_EDDSA)
    throw fail('IDENTITY_BAD_PACKET', 'signature type is not eddsa');
  const keyBytes = bin(body, 'key', 35);
  let kid: KidHex;
  let publicKey: Uint8Array;
  try {
    const parsed = parseKidBytes(keyBytes);
    if (parsed.type !== KID_TYPE.ed25519)
      throw fail('IDENTITY_BAD_PACKET', 'signature key is not ed25519');
    kid = toHex(parsed.bytes);
    publicKey = parsed.payload;
  } catch (e) {
    if (e instanceof IdentityError && e.code === 'IDENTITY_BAD_PACKET') throw e;
    throw fail('IDENTITY_BAD_PACKET', 'signature key is not a kid', {}, e);
  }
  const payload = bin(body, 'payload');
  const sig = bin(body, 'sig', 64);
  const version = body.get('version');
  const prefix = body.get('prefix');
  if (version === undefined && prefix === undefined)
    return { version: 1, kid, publicKey, payload, sig, hasHash, bytes };
  if (version !== 2 || typeof prefix !== 'string' || prefix.length === 0)
    throw fail('IDENTITY_BAD_PACKET', 'a prefixed signature packet needs version 2 and a prefix');
  return { version: 2, kid, publicKey, payload, sig, prefix, hasHash, bytes };
}

/** The bytes an Ed25519 signature in a packet covers: the payload, or `prefix ‖ 0x00 ‖ payload`. */
export function signedBytes(payload: Uint8Array, prefix?: string): Uint8Array {
  return prefix === undefined ? payload : concatBytes(utf8(prefix), Uint8Array.of(0), payload);
}

/** True when the packet's signature verifies under its own KID. */
export function verifySignaturePacket(backend: CryptoBackend, packet: SignaturePacket): boolean {
  return backend.ed25519Verify(
    packet.sig,
    signedBytes(packet.payload, packet.prefix),
    packet.publicKey,
  );
}

/** Options for {@link createSignaturePacket}. */
export interface SignaturePacketOptions {
  /** A domain-separation prefix: produces the version-2 variant. */
  prefix?: string;
  /** Leave out the `hash` map (as Keybase's team-link vectors do). Default: include it. */
  omitHash?: boolean;
}

/**
 * Signs `payload` with a 64-byte NaCl Ed25519 secret key and encodes the tag-514 packet.
 * Returns the raw packet bytes and their base64 form.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a secret key that is not 64 bytes.
 */
export function createSignaturePacket(
  backend: CryptoBackend,
  secretKey: Uint8Array,
  payload: Uint8Array,
  options: SignaturePacketOptions = {},
): { bytes: Uint8Array; base64: string } {
  if (secretKey.length !== 64)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'ed25519 secret key must be 64 bytes');
  const sig = backend.ed25519Sign(signedBytes(payload, options.prefix), secretKey);
  return assembleSignaturePacket(backend, secretKey.subarray(32), payload, sig, options);
}

/**
 * Encodes a tag-514 packet around a signature made elsewhere — by the keystore, which never
 * hands out the secret key (its `sigchain_link` and `reverse_sig` purposes sign the payload as
 * given). The signature is not checked here; verifiers check it.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a public key that is not 32 bytes or a
 *   signature that is not 64.
 */
export function assembleSignaturePacket(
  backend: CryptoBackend,
  publicKey: Uint8Array,
  payload: Uint8Array,
  signature: Uint8Array,
  options: SignaturePacketOptions = {},
): { bytes: Uint8Array; base64: string } {
  if (publicKey.length !== 32 || signature.length !== 64)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'ed25519 public key or signature has the wrong size');
  const kidBytes = concatBytes(Uint8Array.of(1, KID_TYPE.ed25519), publicKey, Uint8Array.of(0x0a));
  const body = new Map<MsgpackValue, MsgpackValue>([
    ['detached', true],
    ['hash_type', SIG_HASH_TYPE],
    ['key', kidBytes],
    ['payload', payload],
    ['sig', signature],
    ['sig_type', SIG_TYPE_EDDSA],
  ]);
  if (options.prefix !== undefined) {
    body.set('prefix', options.prefix);
    body.set('version', 2);
  }
  return encodePacket(backend, PACKET_TAG.signature, body, !options.omitHash);
}

function encodePacket(
  backend: CryptoBackend,
  tag: number,
  body: Map<MsgpackValue, MsgpackValue>,
  withHash: boolean,
): { bytes: Uint8Array; base64: string } {
  const packet = new Map<MsgpackValue, MsgpackValue>([
    ['body', body],
    ['tag', tag],
    ['version', 1],
  ]);
  if (withHash)
    packet.set(
      'hash',
      new Map<MsgpackValue, MsgpackValue>([
        ['type', HASH_TYPE_SHA256],
        ['value', packetHash(backend, packet)],
      ]),
    );
  const bytes = encodeCanonicalMsgpack(packet);
  return { bytes, base64: toBase64(bytes) };
}

// ---------------------------------------------------------------------------------------------
// Tag 515: encryption packets

/** A decoded tag-515 encryption packet. */
export interface EncryptionPacket {
  senderKid: KidHex;
  receiverKid: KidHex;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/**
 * Boxes `plaintext` (a PUK seed) from a Curve25519 sender to a Curve25519 receiver KID with a
 * random nonce, as a base64 tag-515 packet (spec §3.3, §4.2).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a receiver KID that is not Curve25519.
 */
export function createEncryptionPacket(
  backend: CryptoBackend,
  plaintext: Uint8Array,
  senderSecretKey: Uint8Array,
  receiverKid: KidHex,
  nonce: Uint8Array = backend.randomBytes(24),
): string {
  const receiver = naclPublicKey(receiverKid, KID_TYPE.curve25519);
  const senderKid = curve25519Kid(backend.x25519PublicKey(senderSecretKey));
  const shared = backend.boxBeforeNm(receiver, senderSecretKey);
  const ciphertext = backend.secretboxSeal(plaintext, nonce, shared);
  shared.fill(0);
  return encodeEncryptionPacket(backend, { senderKid, receiverKid, nonce, ciphertext });
}

/**
 * Encodes a tag-515 packet around a box made elsewhere (the keystore's `createKeyBoxes`), as
 * base64.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for KIDs that are not Curve25519 or a nonce
 *   that is not 24 bytes.
 */
export function encodeEncryptionPacket(backend: CryptoBackend, packet: EncryptionPacket): string {
  naclPublicKey(packet.receiverKid, KID_TYPE.curve25519);
  naclPublicKey(packet.senderKid, KID_TYPE.curve25519);
  if (packet.nonce.length !== 24)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'an encryption packet nonce is 24 bytes');
  const body = new Map<MsgpackValue, MsgpackValue>([
    ['ciphertext', packet.ciphertext],
    ['enc_type', ENC_TYPE_NACL_DH],
    ['nonce', packet.nonce],
    ['receiver_key', parseKidBytes(hexBytes(packet.receiverKid)).bytes],
    ['sender_key', parseKidBytes(hexBytes(packet.senderKid)).bytes],
  ]);
  return encodePacket(backend, PACKET_TAG.encryption, body, true).base64;
}

function hexBytes(kid: KidHex): Uint8Array {
  const out = new Uint8Array(kid.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(kid.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Decodes a tag-515 packet without opening it.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` or `IDENTITY_BAD_PACKET` for a bad encoding.
 */
export function decodeEncryptionPacket(
  backend: CryptoBackend,
  input: string | Uint8Array,
): EncryptionPacket {
  const { body } = decodeOuter(backend, input, PACKET_TAG.encryption);
  onlyKeys(
    body,
    ['ciphertext', 'enc_type', 'nonce', 'receiver_key', 'sender_key'],
    'encryption body',
  );
  if (body.get('enc_type') !== ENC_TYPE_NACL_DH)
    throw fail('IDENTITY_BAD_PACKET', 'encryption type is not nacl dh');
  const kid = (key: string): KidHex => {
    const b = bin(body, key, 35);
    if (b[0] !== 1 || b[1] !== KID_TYPE.curve25519 || b[34] !== 0x0a)
      throw fail('IDENTITY_BAD_PACKET', 'encryption key is not a curve25519 kid', { field: key });
    return toHex(b);
  };
  return {
    senderKid: kid('sender_key'),
    receiverKid: kid('receiver_key'),
    nonce: bin(body, 'nonce', 24),
    ciphertext: bin(body, 'ciphertext'),
  };
}

/**
 * Opens a tag-515 packet with the receiver's Curve25519 secret key.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` / `IDENTITY_BAD_PACKET` for a bad encoding,
 *   `IDENTITY_DECRYPTION_FAILED` when it does not open.
 */
export function openEncryptionPacket(
  backend: CryptoBackend,
  input: string | Uint8Array,
  receiverSecretKey: Uint8Array,
): { plaintext: Uint8Array; packet: EncryptionPacket } {
  const packet = decodeEncryptionPacket(backend, input);
  const shared = backend.boxBeforeNm(
    naclPublicKey(packet.senderKid, KID_TYPE.curve25519),
    receiverSecretKey,
  );
  const plaintext = backend.secretboxOpen(packet.ciphertext, packet.nonce, shared);
  shared.fill(0);
  if (plaintext === null)
    throw fail('IDENTITY_DECRYPTION_FAILED', 'encryption packet did not open');
  return { plaintext, packet };
}
