/**
 * The Keybase-compatible `kvstore api` (specs/keybase-kvstore.md §1).
 *
 * @packageDocumentation
 */
export {
  entryNotFound,
  KEYBASE_STATUS,
  kvstoreStatus,
  notATeamMember,
  revisionOutOfDate,
  teamNotFound,
  writePermissionDenied,
  wrongRevision,
} from './backend.js';
export type { KvstoreBackend, KvstoreEntry, KvstoreEntryKey } from './backend.js';
export { KvstoreApi } from './dispatcher.js';
export type { KvstoreApiOptions, ReplyWriter } from './dispatcher.js';
export { KVSTORE_API_HELP } from './help.js';
