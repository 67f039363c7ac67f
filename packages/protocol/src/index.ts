/**
 * The HTTP wire contract of saltbox, shared by the client and the server: zod schemas of every
 * request and response, the error-code table, and the request-signing format.
 *
 * Keybase's `user/lookup.json` shape lives in `@saltbox/identity` (`lookupResponseSchema`,
 * `buildLookupResponse`) because the identity layer also reads it from keybase.io.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './schemas.js';
export * from './signing.js';
export * from './contract.js';
export * from './routes.js';
export * from './teams.js';
export * from './kv.js';
export * from './log.js';
export * from './display-text.js';
