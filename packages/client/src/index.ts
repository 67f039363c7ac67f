/**
 * saltbox's client: a typed, signed, retrying HTTP client of the server's API, and user
 * loading that trusts only chains it verified itself (pins, prefix checks, a verified cache).
 *
 * @packageDocumentation
 */
// Everything the browser entry exports (the same modules), then what needs Node.
export * from './browser.js';
export {
  FileChainCache,
  FileLogPinStore,
  FilePinStore,
  FileTeamPinStore,
  writeAtomic,
} from './store.js';
export { ownerInChain, verifiedKeyOwner } from './key-owners.js';
export type { VerifiedKeyOwner } from './key-owners.js';
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
export { KV_CACHE_FILE, kvCacheFile } from './kv-cache-file.js';
export { membersRolledSinceKey } from './team-rotation.js';
export type { RolledMember } from './team-rotation.js';
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
