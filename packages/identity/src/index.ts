/**
 * Keybase's identity formats for saltbox: IDs, canonical JSON and msgpack, tag-514/515 packets,
 * v1/v2 sigchain links, user and team chain verifiers, and the PUK/PTK/paper-key derivations.
 *
 * Pure format code: no I/O, no private-key storage. Crypto comes from the
 * `@saltbox/saltpack` {@link CryptoBackend} passed in.
 *
 * @packageDocumentation
 */
export type { CryptoBackend } from '@saltbox/saltpack';
export { codeForErrType, ERR_TYPE_CODES, IdentityError, isIdentityError } from './errors.js';
export type {
  ChainErrorCode,
  IdentityErrorCode,
  IdentityErrorDetails,
  KeybaseErrType,
  OtherIdentityErrorCode,
} from './errors.js';
export { fromBase64, fromBase64Url, hexToBytes, toBase64, toBase64Url, toHex } from './encoding.js';
export {
  asciiLower,
  curve25519Kid,
  ed25519Kid,
  formatUserVersion,
  generateDeviceId,
  generateSubteamId,
  ID_SUFFIX,
  isDeviceId,
  isKid,
  isPgpKid,
  isRootTeamId,
  isTeamId,
  isUid,
  KID_TYPE,
  kidFromPayload,
  linkIdV1,
  linkIdV2,
  naclPublicKey,
  parseKid,
  parseKidBytes,
  parseUserVersion,
  rootTeamId,
  shortSigId,
  SIG_ID_SUFFIX,
  sigId,
  sigIdBase,
  uidFromUsername,
} from './ids.js';
export type { KidHex, KidType, ParsedKid, Uid, UserVersion } from './ids.js';
export {
  canonicalizeImplicitTeamName,
  isValidUsername,
  normalizeUsername,
  parseTeamName,
} from './names.js';
export type { ImplicitTeamName, TeamName } from './names.js';
export { naclKeyPairs } from './nacl-key-pair.js';
export type { NaclKeyPairs } from './nacl-key-pair.js';
export {
  derivePaperKeys,
  generatePaperKeyPhrase,
  normalizePaperKeyPhrase,
  PAPER_KEY_NO_PREFIX_WORDS,
  PAPER_KEY_SCRYPT,
  PAPER_KEY_VERSION,
  PAPER_KEY_WORDS,
  paperKeyWordVersion,
  parsePaperKeyPhrase,
} from './paper-key.js';
export type { PaperKeyPhrase, PaperKeys } from './paper-key.js';
export {
  derivePerUserKeys,
  derivePerUserKeySecret,
  openPerUserKeyPrev,
  PUK_REASONS,
  sealPerUserKeyPrev,
} from './per-user-key.js';
export type { PerUserKeys } from './per-user-key.js';
export {
  decodeTeamMemberBox,
  derivePerTeamKeys,
  deriveTeamApplicationKey,
  deriveTeamKeySecret,
  encodeTeamMemberBox,
  openTeamKeyBox,
  openTeamPrev,
  sealTeamKeyBox,
  sealTeamPrev,
  TEAM_APPLICATIONS,
  TEAM_KEY_STRINGS,
  teamBoxNonce,
  teamSeedCheck,
  teamSeedCheckStart,
} from './team-keys.js';
export type { PerTeamKeys, TeamApplication, TeamKeyBox } from './team-keys.js';
export { openVersionedSecretbox, sealVersionedSecretbox } from './secretbox-envelope.js';
export { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
export { canonicalJson, isJsonObject, parseCanonicalJson, parseJson } from './canonical-json.js';
export type { JsonObject, JsonValue } from './canonical-json.js';
export {
  assembleSignaturePacket,
  createEncryptionPacket,
  createSignaturePacket,
  decodeEncryptionPacket,
  decodeSignaturePacket,
  encodeEncryptionPacket,
  openEncryptionPacket,
  PACKET_TAG,
  signedBytes,
  verifySignaturePacket,
} from './packets.js';
export type { EncryptionPacket, SignaturePacket, SignaturePacketOptions } from './packets.js';
export {
  isStubbableTeamLink,
  isStubbableUserLink,
  linkTypeCode,
  linkTypeName,
  TEAM_LINK_TYPES,
  USER_LINK_TYPES,
} from './link-types.js';
export type { TeamLinkType, UserLinkType } from './link-types.js';
export { decodeOuterLink, encodeOuterLink } from './outer-link.js';
export type { OuterLink } from './outer-link.js';
export {
  dearmorPgp,
  encryptToPgpKeys,
  isArmoredPgpKey,
  parsePgpKey,
  readPgpSignedData,
  verifyPgpMessage,
} from './pgp.js';
export type { PgpKeyBundle } from './pgp.js';
export { buildKeyFamily, hasKey, linkNaclKids } from './key-family.js';
export type { KeyFamily } from './key-family.js';
export { importChainLink, readPgpSignedOuterLink } from './chain-link.js';
export type { ImportedLink, ImportOptions, ServerChainLink } from './chain-link.js';
export { extendUserChain, importUserLinks, verifyUserChain } from './user-chain.js';
export type {
  DeviceInfo,
  KeyInfo,
  PerUserKeyInfo,
  UserChainInput,
  UserChainResult,
  UserChainState,
} from './user-chain.js';
export {
  buildEldestLink,
  buildPerUserKeyLink,
  buildPgpUpdateLink,
  buildRevokeLink,
  buildSibkeyLink,
  buildSubkeyLink,
  buildTeamLink,
  DEFAULT_EXPIRE_IN,
  signEldestLink,
  signPerUserKeyLink,
  signPgpSibkeyLink,
  signRevokeLink,
  signSibkeyLink,
  signSubkeyLink,
} from './builders.js';
export type {
  BuiltLink,
  DeviceSection,
  LinkContext,
  LinkSigner,
  LinkSignRequest,
  PerTeamKeySection,
  RemoteLinkSigner,
  RemotePgpSigner,
  RevokeSection,
} from './builders.js';
export {
  buildLookupResponse,
  buildLookupUser,
  lookupPerUserKeySchema,
  lookupResponseSchema,
  lookupStatusSchema,
  lookupUserSchema,
} from './lookup.js';
export type { LookupResponse, LookupUser, LookupUserInput } from './lookup.js';
export {
  extendTeamChain,
  roleAtLeast,
  TEAM_ROLES,
  teamRoleAt,
  teamSignersFromUserChains,
  verifyTeamChain,
} from './team-chain.js';
export type {
  PerTeamKeyInfo,
  SubteamInfo,
  TeamChainInput,
  TeamChainOptions,
  TeamChainResult,
  TeamChainState,
  TeamRole,
  TeamSignerKey,
  TeamSignerLookup,
} from './team-chain.js';
export { openTeamKeys, teamSeedAt } from './team-chain-keys.js';
export type { PukSecretLookup, TeamKeyResponse } from './team-chain-keys.js';
export { teamMembersByUid, teamOrphanRule, teamRotationPending } from './team-rules.js';
export type { TeamOrphanRule } from './team-rules.js';
export { buildTeamLinkWith } from './team-link-signer.js';
export type { RemoteSigner } from './team-link-signer.js';
export {
  decodeChainTail,
  encodeChainTail,
  MAP_EMPTY_HASH,
  MAP_HASH_BYTES,
  mapKey,
  mapLeafHash,
  mapNodeHash,
  mapPrefix,
  MemoryMap,
  proveMap,
  runMapRead,
  runMapReadAsync,
  updateMap,
  verifyMapProof,
} from './merkle-map.js';
export type { ChainTail, MapNode, MapProof, MapRead } from './merkle-map.js';
export {
  appendLogLeaf,
  logConsistencyProof,
  logInclusionPath,
  logLeafHash,
  logNodeHash,
  logRootHash,
  MemoryLog,
  runLogRead,
  runLogReadAsync,
  verifyLogConsistency,
  verifyLogInclusion,
} from './merkle-log.js';
export type { LogNodeRef, LogRead } from './merkle-log.js';
export {
  linkMerkleRoot,
  logLeafData,
  logRootHashMeta,
  logRootPayload,
  signLogRoot,
  verifyLogRoot,
  verifyLogRootsConsistent,
} from './merkle-root.js';
export type { LinkMerkleRoot, LogRootBody, SignedLogRoot, VerifiedLogRoot } from './merkle-root.js';
