/**
 * The client's browser entry point (`@saltbox/client/browser`): everything in the main entry
 * except what needs Node — the file-backed pins and chain cache (`store.ts`), the rollback
 * cache's file (`kv-cache-file.ts`) and the account config file (`account-config.ts`). Browsers
 * use the in-memory stores of `pins.ts` and give `KvRollbackCache` their own
 * `KvCacheStorage`; the logic is the same modules as on Node.
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
export { DEFAULT_CHAIN_TTL_MS, UserLoader } from './users.js';
export type { UserLoaderOptions, VerifiedKey, VerifiedPgpKey, VerifiedUser } from './users.js';
export { openMyPukBoxes } from './puk.js';
export type { KeystoreOpenBoxesApi } from './puk.js';
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
export { openSaltbox, saltboxAccountEnv } from './saltbox.js';
export type {
  KeySyncResult,
  LazyKeystore,
  OpenSaltboxOptions,
  Saltbox,
  SaltboxStores,
  SyncKeysOptions,
} from './saltbox.js';
