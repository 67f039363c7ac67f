/**
 * The Keybase-compatible `kvstore api` (specs/keybase-kvstore.md §1).
 *
 * @packageDocumentation
 */
export * from './backend.js';
export * from './dispatcher.js';
export { KVSTORE_API_HELP } from './help.js';
