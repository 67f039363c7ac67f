/**
 * Saltpack's constants (specs/saltpack.md §2, §7). Byte strings are given exactly as the
 * reference implementation uses them.
 */
import { utf8 } from './internal/bytes.js';

/** The format name at the start of every header. */
export const FORMAT_NAME = 'saltpack';

/** Message modes (header field 3). */
export const MODE = {
  encryption: 0,
  attachedSigning: 1,
  detachedSigning: 2,
  signcryption: 3,
} as const;

/** A message mode number. */
export type Mode = (typeof MODE)[keyof typeof MODE];

/** A `[major, minor]` version. */
export type Version = readonly [number, number];

/** Version 1: legacy encryption and signing. */
export const VERSION_1: Version = [1, 0];
/** Version 2: current for every mode. */
export const VERSION_2: Version = [2, 0];

/** Plaintext bytes per payload packet, every mode (Go `encryptionBlockSize`). */
export const CHUNK_SIZE = 1024 * 1024;

/** Nonce of the sender secretbox. */
export const SENDER_KEY_SBOX_NONCE = utf8('saltpack_sender_key_sbox');
/** Nonce of every v1 payload-key box. */
export const PAYLOAD_KEY_BOX_NONCE_V1 = utf8('saltpack_payload_key_box');
/** Prefix of v2 payload-key box nonces and signcryption key-box nonces. */
export const RECIPSB_NONCE_PREFIX = utf8('saltpack_recipsb');
/** Prefix of payload secretbox nonces (encryption). */
export const PAYLOAD_NONCE_PREFIX = utf8('saltpack_ploadsb');
/** Nonce of the signcryption box-receiver shared-key derivation. */
export const DERIVED_SBOX_KEY_NONCE = utf8('saltpack_derived_sboxkey');
/** Attached-signature prefix, NUL included. */
export const ATTACHED_SIGNATURE_PREFIX = utf8('saltpack attached signature\0');
/** Detached-signature prefix, NUL included. */
export const DETACHED_SIGNATURE_PREFIX = utf8('saltpack detached signature\0');
/** Signcryption chunk-signature prefix, NUL included. */
export const SIGNCRYPTION_SIGNATURE_PREFIX = utf8('saltpack encrypted signature\0');
/** HMAC key for the symmetric-receiver derived key. */
export const SIGNCRYPTION_SYMMETRIC_KEY_CONTEXT = utf8(
  'saltpack signcryption derived symmetric key',
);
/** HMAC key for the box-receiver identifier. */
export const SIGNCRYPTION_BOX_KEY_IDENTIFIER_CONTEXT = utf8(
  'saltpack signcryption box key identifier',
);

/** Limits applied to untrusted input so memory stays bounded (not part of the format). */
export const LIMITS = {
  /** Largest accepted header object (about 100 bytes per recipient; 1 M recipients fit). */
  maxHeaderBytes: 128 * 1024 * 1024,
  /** Largest accepted payload packet: Go accepts oversized chunks, so allow 64 MiB. */
  maxPacketBytes: 64 * 1024 * 1024,
} as const;
