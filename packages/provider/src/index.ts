/**
 * saltbox's secrets provider: a Go-CDK-style {@link Keeper}, a {@link URLMux}, the
 * `keybase://` / `saltbox://` opener (Saltpack to users' and teams' verified keys, decryption
 * through the keystore), a public-key cache, the Vault-transit bridge and the age plugin
 * protocol.
 *
 * @packageDocumentation
 */
export {
  ERROR_CODES,
  errorCodeOf,
  invalidArgument,
  isProviderError,
  PROVIDER_REASONS,
  ProviderError,
} from './errors.js';
export type { ErrorCode, ProviderErrorDetails, ProviderReason } from './errors.js';
export { findInCauses, Keeper } from './keeper.js';
export type { KeeperDriver } from './keeper.js';
export { checkParams, parseKeeperUrl, URLMux } from './mux.js';
export type { KeeperOpener, KeeperUrl } from './mux.js';
export {
  fromClientError,
  parseRecipients,
  recipientLabel,
  teamResolver,
  userDirectory,
  userEncryptionKids,
} from './recipients.js';
export type {
  PgpRecipientKeys,
  Recipient,
  RecipientDirectory,
  RecipientKeys,
  TeamLoaderLike,
  TeamResolver,
} from './recipients.js';
export {
  CachedDirectory,
  DEFAULT_CACHE_TTL_S,
  fileKeyCacheStore,
  memoryKeyCacheStore,
} from './key-cache.js';
export type { CacheStats, KeyCacheStore } from './key-cache.js';
export { fileFollowStore, memoryFollowStore } from './follows.js';
export type { FollowRecord, FollowStore } from './follows.js';
export { fromKeystoreError, noAgent, notLoggedIn } from './keystore-errors.js';
export {
  isOpenPgpMessage,
  parseSaltboxUrl,
  recipientList,
  SALTBOX_SCHEMES,
  SALTBOX_URL_PARAMS,
  saltboxKeeper,
  saltboxOpener,
} from './saltbox-keeper.js';
export type {
  KeeperFormat,
  SaltboxKeeperOptions,
  SaltboxOpenerDeps,
  SaltboxUrlOptions,
} from './saltbox-keeper.js';
export {
  answerVaultRequest,
  checkVaultRequestHead,
  handleVaultRequest,
  newVaultToken,
  parseVaultListen,
  prepareVaultSocketPath,
  startVaultBridge,
  VAULT_CIPHERTEXT_PREFIX,
  VAULT_MAX_BODY,
  vaultDecrypter,
  vaultKeeperResolver,
} from './vault-bridge.js';
export type {
  VaultAnswer,
  VaultBridge,
  VaultHandlerOptions,
  VaultListen,
  VaultRequest,
  VaultRequestHead,
  VaultRoute,
} from './vault-bridge.js';
export { hashivaultKeeper, hashivaultOpener } from './hashivault-keeper.js';
export type { HashivaultOptions } from './hashivault-keeper.js';
export { bech32Decode, bech32Encode } from './bech32.js';
export {
  AGE_IDENTITY_HRP,
  AGE_RECIPIENT_HRP,
  AGE_STANZA_TYPE,
  ageIdentity,
  ageRecipient,
  encodeStanza,
  isAgeIdentity,
  parseAgeRecipient,
  runAgePlugin,
  StanzaReader,
} from './age-plugin.js';
export type { AgePluginHandlers, AgePluginIo, Stanza } from './age-plugin.js';
export {
  openAccountProviderContext,
  openProviderContext,
  requireProviderAccount,
} from './node-context.js';
export type { ProviderContext, ProviderContextOptions } from './node-context.js';
