/**
 * Saltpack: Keybase's encryption, signing and signcryption message format.
 *
 * Web Streams are the one streaming implementation; the one-shot functions are wrappers that
 * pipe a single buffer through the same streams. Key material stays behind the handles of
 * `keyring.ts`, so a keystore in another process can take part.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './keyring.js';
export * from './basic.js';
export { defaultBackend, loadBackend } from './backend/index.js';
export type {
  BackendName,
  CryptoBackend,
  Ed25519KeyPair,
  IncrementalHash,
  RandomSource,
} from './backend/index.js';
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
export * from './constants.js';
export { encrypt, createEncryptStream } from './encrypt.js';
export type { EncryptOptions, EncryptionRecipient } from './encrypt.js';
export { decrypt, createDecryptStream } from './decrypt.js';
export type { DecryptOptions, DecryptStream, MessageKeyInfo } from './decrypt.js';
export { sign, signDetached, createSignStream } from './sign.js';
export type { SignOptions } from './sign.js';
export { verify, verifyDetached, createVerifyStream } from './verify.js';
export type { SignerInfo, VerifyOptions, VerifyStream } from './verify.js';
export {
  signcrypt,
  signcryptOpen,
  createSigncryptStream,
  createSigncryptOpenStream,
} from './signcrypt.js';
export type {
  SigncryptInfo,
  SigncryptOpenOptions,
  SigncryptOpenStream,
  SigncryptOptions,
} from './signcrypt.js';
export { inlineEngine } from './engine.js';
export type { OpenedChunk, PayloadEngine, SealedChunk } from './engine.js';
export * from './armor/armor.js';
export {
  encryptArmored,
  signArmored,
  signcryptArmored,
  signDetachedArmored,
  verifyArmored,
  verifyDetachedArmored,
} from './armored.js';
export type { BrandOption } from './armored.js';
export { looksArmored, peekHeader } from './classify.js';
export type { HeaderPeek } from './classify.js';
export { createOpenEncryptedStream, createVerifyAnyStream, openEncrypted } from './open.js';
export type {
  OpenedInfo,
  OpenEncryptedOptions,
  OpenEncryptedStream,
  VerifyAnyStream,
} from './open.js';
