/**
 * saltbox's secrets provider: a Go-CDK-style {@link Keeper}, a {@link URLMux}, the
 * `keybase://` / `saltbox://` opener (Saltpack to users' and teams' verified keys, decryption
 * through the keystore), a public-key cache, the Vault-transit bridge and the age plugin
 * protocol.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './keeper.js';
export * from './mux.js';
export * from './recipients.js';
export * from './key-cache.js';
export * from './follows.js';
export * from './keystore-errors.js';
export * from './saltbox-keeper.js';
export * from './vault-bridge.js';
export * from './hashivault-keeper.js';
export * from './bech32.js';
export * from './age-plugin.js';
export * from './node-context.js';
