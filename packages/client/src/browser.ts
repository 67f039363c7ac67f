/**
 * The client's browser entry point (`@saltbox/client/browser`): everything in the main entry
 * except what needs Node — the file-backed pins and chain cache (`store.ts`), the rollback
 * cache's file (`kv-cache-file.ts`) and the account config file (`account-config.ts`). Browsers
 * use the in-memory stores of `pins.ts` and give `KvRollbackCache` their own
 * `KvCacheStorage`; the logic is the same modules as on Node.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './http.js';
export * from './pins.js';
export * from './log.js';
export * from './users.js';
export * from './puk.js';
export type { AccountConfig, AccountDevice } from './account-config.js';
export * from './account.js';
export * from './fingerprint.js';
export * from './encryption-keys.js';
export * from './kv.js';
export * from './kv-cache.js';
export * from './teams.js';
export * from './team-ops.js';
export * from './saltbox.js';
