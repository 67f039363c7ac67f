/**
 * Encodings Saltpack is built on but that are not Saltpack: the MessagePack codec and byte
 * helpers (hex, concatenation, comparison). Public as `@saltbox/saltpack/encoding` for the
 * other saltbox packages (identity's canonical MessagePack, the keystore's records, KV
 * ciphertexts), kept out of the root export so Saltpack's API is the message format alone.
 *
 * @packageDocumentation
 */
export {
  decodeMsgpack,
  decodeMsgpackAt,
  encodeMsgpack,
  msgpackObjectEnd,
  MsgpackError,
} from './msgpack.js';
export type {
  DecodeLimits,
  EncodeOptions,
  MsgpackExt,
  MsgpackInput,
  MsgpackValue,
} from './msgpack.js';
export {
  bytesEqual,
  concatBytes,
  constantTimeEqual,
  fromHex,
  toHex,
  uint64BE,
  utf8,
} from './internal/bytes.js';
