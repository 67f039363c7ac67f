/**
 * saltbox's client: a typed, signed, retrying HTTP client of the server's API, and user
 * loading that trusts only chains it verified itself (pins, prefix checks, a verified cache).
 *
 * @packageDocumentation
 */
export { CLIENT_ERROR_CODES, ClientError, isClientError } from './errors.js';
export type { ClientErrorCode, ClientErrorDetails } from './errors.js';
export {
  ApiClient,
  DEFAULT_RETRY,
  keystoreRequestSigner,
  parseRetryAfter,
  secretKeyRequestSigner,
} from './http.js';
export type {
  ApiClientOptions,
  CallArgs,
  KeystoreSignApi,
  RequestSigner,
  RetryPolicy,
} from './http.js';
export { MemoryChainCache, MemoryPinStore } from './pins.js';
export type { CachedChain, ChainCache, Pin, PinStore } from './pins.js';
export {
  DEFAULT_LOG_FRESH_MS,
  isLogUnreachable,
  LOG_FRESH_ENV,
  LogClient,
  logFreshMsFromEnv,
  MemoryLogPinStore,
} from './log.js';
export type { LogClientOptions, LoggedTail, LogPin, LogPinStore } from './log.js';
export {
  FileChainCache,
  FileLogPinStore,
  FilePinStore,
  FileTeamPinStore,
  writeAtomic,
} from './store.js';
export { DEFAULT_CHAIN_TTL_MS, UserLoader } from './users.js';
export type { UserLoaderOptions, VerifiedKey, VerifiedPgpKey, VerifiedUser } from './users.js';
export { ownerInChain, verifiedKeyOwner } from './key-owners.js';
export type { VerifiedKeyOwner } from './key-owners.js';
export { openMyPukBoxes } from './puk.js';
export type { KeystoreOpenBoxesApi } from './puk.js';
export {
  entryNotFound,
  KEYBASE_STATUS,
  KVSTORE_API_HELP,
  KvstoreApi,
  kvstoreStatus,
  notATeamMember,
  revisionOutOfDate,
  teamNotFound,
  writePermissionDenied,
  wrongRevision,
} from './kvstore-api/index.js';
export type {
  KvstoreApiOptions,
  KvstoreBackend,
  KvstoreEntry,
  KvstoreEntryKey,
  ReplyWriter,
} from './kvstore-api/index.js';
export {
  ACCOUNT_CONFIG_FILE,
  accountConfigPath,
  accountConfigSchema,
  accountDeviceSchema,
  readAccountConfig,
  removeAccountConfig,
  writeAccountConfig,
} from './account-config.js';
export type { AccountConfig, AccountDevice } from './account-config.js';
export { Account, loginWithPaperKey, signup } from './account.js';
export type {
  AccountEnv,
  AccountKeystore,
  DeviceView,
  LoginResult,
  NewPaperKey,
  SignupResult,
} from './account.js';
export { formatFingerprint, userFingerprint } from './fingerprint.js';
export { userEncryptionKids } from './encryption-keys.js';
export { KvClient, verifiedWriterKeys } from './kv.js';
export { teamWriterAt } from './kv-writers.js';
export type {
  KvClientOptions,
  KvEntryRef,
  KvIdentity,
  KvKeystore,
  KvPageResult,
  KvValue,
  KvWriterKeyLookup,
} from './kv.js';
export { KvRollbackCache } from './kv-cache.js';
export type { KvCacheKey, KvCacheRecord, KvCacheStorage } from './kv-cache.js';
export { KV_CACHE_FILE, kvCacheFile } from './kv-cache-file.js';
export {
  DEFAULT_TEAM_TTL_MS,
  encryptionPublicKey,
  MemoryTeamPinStore,
  TeamLoader,
} from './teams.js';
export type {
  TeamLoaderOptions,
  TeamPin,
  TeamPinStore,
  VerifiedTeam,
  VerifiedTeamKey,
  VerifiedTeamMember,
  VerifiedTeamPastMember,
} from './teams.js';
export { TeamManager } from './team-ops.js';
export type {
  MyTeam,
  TeamActor,
  TeamKeystore,
  TeamManagerOptions,
  TeamKeyCheck,
  TeamRecipient,
  TeamRotationReport,
} from './team-ops.js';
export { membersRolledSinceKey } from './team-rotation.js';
export type { RolledMember } from './team-rotation.js';
export { openSaltbox, saltboxAccountEnv } from './saltbox.js';
export type {
  KeySyncResult,
  LazyKeystore,
  OpenSaltboxOptions,
  Saltbox,
  SaltboxStores,
  SyncKeysOptions,
} from './saltbox.js';
export {
  HOME_FILES,
  homeLayout,
  homeStores,
  openSaltboxHome,
  removeStaleTempFiles,
  saltboxHome,
  syncDirectory,
  tempPathFor,
  writeFileAtomic,
} from './node.js';
export type { AtomicWriteOptions, HomeLayout, OpenSaltboxHomeOptions } from './node.js';
