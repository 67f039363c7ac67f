/**
 * Saltpack: Keybase's encryption, signing and signcryption message format.
 *
 * Web Streams are the one streaming implementation; the one-shot functions are wrappers that
 * pipe a single buffer through the same streams. Key material stays behind the handles of
 * `keyring.ts`, so a keystore in another process can take part.
 *
 * @packageDocumentation
 */
export {
  badCiphertext,
  badPacket,
  badSignature,
  badTag,
  ERROR_CLASS_CODES,
  GO_ERROR_REASONS,
  invalidArgument,
  isSaltpackError,
  SaltpackError,
  trailingGarbage,
  truncated,
} from './errors.js';
export type { SaltpackErrorCode, SaltpackErrorDetails, SaltpackErrorReason } from './errors.js';
export type {
  BoxKeyring,
  BoxRequest,
  BoxSecretKey,
  MaybePromise,
  SigningKeyring,
  SigningSecretKey,
  SymmetricKeyResolver,
  SymmetricReceiver,
} from './keyring.js';
export {
  boxKeyFromSecret,
  createBasicKeyring,
  createSignerAllowList,
  createSymmetricResolver,
  generateBoxKey,
  generateSigningKey,
  signingKeyFromSecret,
} from './basic.js';
export type { LocalBoxKey, LocalSigningKey } from './basic.js';
export { defaultBackend, loadBackend } from './backend/index.js';
export type {
  BackendName,
  CryptoBackend,
  Ed25519KeyPair,
  IncrementalHash,
  RandomSource,
} from './backend/index.js';
export {
  ATTACHED_SIGNATURE_PREFIX,
  CHUNK_SIZE,
  DERIVED_SBOX_KEY_NONCE,
  DETACHED_SIGNATURE_PREFIX,
  FORMAT_NAME,
  LIMITS,
  MODE,
  PAYLOAD_KEY_BOX_NONCE_V1,
  PAYLOAD_NONCE_PREFIX,
  RECIPSB_NONCE_PREFIX,
  SENDER_KEY_SBOX_NONCE,
  SIGNCRYPTION_BOX_KEY_IDENTIFIER_CONTEXT,
  SIGNCRYPTION_SIGNATURE_PREFIX,
  SIGNCRYPTION_SYMMETRIC_KEY_CONTEXT,
  VERSION_1,
  VERSION_2,
} from './constants.js';
export type { Mode, Version } from './constants.js';
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
export {
  armor,
  ARMOR_TYPES,
  createArmorStream,
  createDearmorStream,
  dearmor,
  decodeBase62,
  encodeBase62,
} from './armor/armor.js';
export type {
  ArmorFrame,
  ArmorOptions,
  ArmorType,
  DearmorOptions,
  DearmorStream,
} from './armor/armor.js';
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
