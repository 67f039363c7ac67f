/**
 * saltbox's client: a typed, signed, retrying HTTP client of the server's API, and user
 * loading that trusts only chains it verified itself (pins, prefix checks, a verified cache).
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './http.js';
export * from './pins.js';
export * from './log.js';
export * from './store.js';
export * from './users.js';
export * from './key-owners.js';
export * from './puk.js';
export * from './kvstore-api/index.js';
export * from './account-config.js';
export * from './account.js';
export * from './fingerprint.js';
export * from './encryption-keys.js';
export * from './kv.js';
export * from './kv-cache.js';
export * from './kv-cache-file.js';
export * from './teams.js';
export * from './team-ops.js';
export * from './saltbox.js';
export * from './node.js';
