/**
 * Every error the Saltpack library raises.
 *
 * The `code` is the stable contract (callers and other packages switch on it); the `reason`
 * names the precise condition in the reference implementation's vocabulary so tests and
 * diagnostics can tell, say, a bad authenticator from a bad ciphertext. Messages are lowercase
 * and never contain key material or plaintext.
 *
 * @packageDocumentation
 */

/**
 * Stable error codes. Each of the vector suite's coarse `error_class` values maps to exactly one
 * code (see {@link ERROR_CLASS_CODES}); the remaining codes cover API misuse and keyring failures.
 */
export type SaltpackErrorCode =
  /** The input ended before the message did (Go: `io.ErrUnexpectedEOF`). */
  | 'SALTPACK_TRUNCATED'
  /** None of the keyring's keys can open the message. */
  | 'SALTPACK_NO_DECRYPTION_KEY'
  /** An authenticator, key box, sender box or payload box failed to open. */
  | 'SALTPACK_AUTHENTICATION_FAILED'
  /** A signature did not verify. */
  | 'SALTPACK_BAD_SIGNATURE'
  /** The binary structure is wrong: bad header, wrong mode or version, trailing data, … */
  | 'SALTPACK_MALFORMED'
  /** The ASCII armor is wrong: framing, brand, alphabet or block length. */
  | 'SALTPACK_BAD_ARMOR'
  /** The keyring refused the sender's or signer's public key. */
  | 'SALTPACK_UNKNOWN_SENDER'
  /** A caller passed something invalid (wrong key length, no recipients, duplicate keys, …). */
  | 'SALTPACK_INVALID_ARGUMENT'
  /** No crypto backend could be loaded on this platform. */
  | 'SALTPACK_BACKEND_UNAVAILABLE';

/**
 * The precise condition, named after the reference implementation's error where one exists.
 */
export type SaltpackErrorReason =
  | 'unexpected_eof'
  | 'no_decryption_key'
  | 'bad_tag'
  | 'bad_ciphertext'
  | 'bad_signature'
  | 'trailing_garbage'
  | 'wrong_message_type'
  | 'bad_version'
  | 'bad_frame'
  | 'invalid_encoding_length'
  | 'corrupt_input'
  | 'bad_sender_key_secretbox'
  | 'decryption_failed'
  | 'unexpected_empty_block'
  | 'failed_to_read_header_bytes'
  | 'bad_header'
  | 'bad_packet'
  | 'bad_symmetric_key'
  | 'bad_box_key'
  | 'bad_ephemeral_key'
  | 'wrong_number_of_keys'
  | 'no_sender_key'
  | 'bad_receivers'
  | 'repeated_key'
  | 'invalid_parameter'
  | 'packet_overflow'
  | 'backend_unavailable';

/** Structured, secret-free details attached to an error. */
export interface SaltpackErrorDetails {
  /** Payload packet number counting the header as packet 0 (Go's `seqno`). */
  packetSeqno?: number;
  /** For `wrong_message_type`: the expected and received modes. */
  wantedMode?: number;
  receivedMode?: number;
  /** For `bad_version`: the received version. */
  version?: readonly [number, number];
  /** For `corrupt_input`: the offending offset in the armored body. */
  offset?: number;
  /** The armor brand or frame text involved, when relevant (never secret). */
  frame?: string;
}

/** Maps each vector `error_class` to the code the library raises for it. */
export const ERROR_CLASS_CODES = {
  truncated: 'SALTPACK_TRUNCATED',
  no_key: 'SALTPACK_NO_DECRYPTION_KEY',
  authentication: 'SALTPACK_AUTHENTICATION_FAILED',
  signature: 'SALTPACK_BAD_SIGNATURE',
  format: 'SALTPACK_MALFORMED',
  armor: 'SALTPACK_BAD_ARMOR',
} as const satisfies Record<string, SaltpackErrorCode>;

/** Maps each reference-library error name (as the vectors record it) to a reason. */
export const GO_ERROR_REASONS = {
  ErrUnexpectedEOF: 'unexpected_eof',
  ErrNoDecryptionKey: 'no_decryption_key',
  ErrBadTag: 'bad_tag',
  ErrBadCiphertext: 'bad_ciphertext',
  ErrBadSignature: 'bad_signature',
  ErrTrailingGarbage: 'trailing_garbage',
  ErrWrongMessageType: 'wrong_message_type',
  ErrBadVersion: 'bad_version',
  ErrBadFrame: 'bad_frame',
  ErrInvalidEncodingLength: 'invalid_encoding_length',
  CorruptInputError: 'corrupt_input',
  ErrBadSenderKeySecretbox: 'bad_sender_key_secretbox',
  ErrDecryptionFailed: 'decryption_failed',
  ErrUnexpectedEmptyBlock: 'unexpected_empty_block',
  ErrFailedToReadHeaderBytes: 'failed_to_read_header_bytes',
  GoPanic: 'bad_packet',
} as const satisfies Record<string, SaltpackErrorReason>;

const REASON_CODES: Record<SaltpackErrorReason, SaltpackErrorCode> = {
  unexpected_eof: 'SALTPACK_TRUNCATED',
  no_decryption_key: 'SALTPACK_NO_DECRYPTION_KEY',
  bad_tag: 'SALTPACK_AUTHENTICATION_FAILED',
  bad_ciphertext: 'SALTPACK_AUTHENTICATION_FAILED',
  bad_sender_key_secretbox: 'SALTPACK_AUTHENTICATION_FAILED',
  decryption_failed: 'SALTPACK_AUTHENTICATION_FAILED',
  bad_signature: 'SALTPACK_BAD_SIGNATURE',
  trailing_garbage: 'SALTPACK_MALFORMED',
  wrong_message_type: 'SALTPACK_MALFORMED',
  bad_version: 'SALTPACK_MALFORMED',
  unexpected_empty_block: 'SALTPACK_MALFORMED',
  failed_to_read_header_bytes: 'SALTPACK_MALFORMED',
  bad_header: 'SALTPACK_MALFORMED',
  bad_packet: 'SALTPACK_MALFORMED',
  bad_symmetric_key: 'SALTPACK_MALFORMED',
  bad_box_key: 'SALTPACK_MALFORMED',
  bad_ephemeral_key: 'SALTPACK_MALFORMED',
  wrong_number_of_keys: 'SALTPACK_INVALID_ARGUMENT',
  packet_overflow: 'SALTPACK_MALFORMED',
  bad_frame: 'SALTPACK_BAD_ARMOR',
  invalid_encoding_length: 'SALTPACK_BAD_ARMOR',
  corrupt_input: 'SALTPACK_BAD_ARMOR',
  no_sender_key: 'SALTPACK_UNKNOWN_SENDER',
  bad_receivers: 'SALTPACK_INVALID_ARGUMENT',
  repeated_key: 'SALTPACK_INVALID_ARGUMENT',
  invalid_parameter: 'SALTPACK_INVALID_ARGUMENT',
  backend_unavailable: 'SALTPACK_BACKEND_UNAVAILABLE',
};

/**
 * The one error type of this package. `code` is stable; `reason` and `details` refine it.
 */
export class SaltpackError extends Error {
  override readonly name = 'SaltpackError';
  readonly code: SaltpackErrorCode;
  readonly reason: SaltpackErrorReason;
  readonly details: SaltpackErrorDetails;

  constructor(
    reason: SaltpackErrorReason,
    message: string,
    details: SaltpackErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.reason = reason;
    this.code = REASON_CODES[reason];
    this.details = details;
  }

  /** A JSON form that carries no secrets: code, reason, message and details. */
  toJSON(): {
    code: SaltpackErrorCode;
    reason: SaltpackErrorReason;
    message: string;
    details: SaltpackErrorDetails;
  } {
    return { code: this.code, reason: this.reason, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link SaltpackError}, optionally with the given code. */
export function isSaltpackError(e: unknown, code?: SaltpackErrorCode): e is SaltpackError {
  return e instanceof SaltpackError && (code === undefined || e.code === code);
}

// Constructors for the common cases, so call sites stay short and messages stay consistent.

/** @internal */
export const truncated = (): SaltpackError =>
  new SaltpackError('unexpected_eof', 'message truncated: input ended before the final packet');
/** @internal */
export const badTag = (packetSeqno: number): SaltpackError =>
  new SaltpackError(
    'bad_tag',
    `in packet ${packetSeqno}: bad authenticator; data was corrupted in transit`,
    { packetSeqno },
  );
/** @internal */
export const badCiphertext = (packetSeqno: number): SaltpackError =>
  new SaltpackError(
    'bad_ciphertext',
    `in packet ${packetSeqno}: bad ciphertext; secretbox failed to open`,
    { packetSeqno },
  );
/** @internal */
export const badSignature = (packetSeqno?: number): SaltpackError =>
  new SaltpackError(
    'bad_signature',
    packetSeqno === undefined ? 'invalid signature' : `in packet ${packetSeqno}: invalid signature`,
    packetSeqno === undefined ? {} : { packetSeqno },
  );
/** @internal */
export const trailingGarbage = (): SaltpackError =>
  new SaltpackError('trailing_garbage', 'trailing garbage found at end of message');
/** @internal */
export const badPacket = (packetSeqno: number, what: string): SaltpackError =>
  new SaltpackError('bad_packet', `in packet ${packetSeqno}: ${what}`, { packetSeqno });
/** @internal */
export const invalidArgument = (what: string): SaltpackError =>
  new SaltpackError('invalid_parameter', what);
