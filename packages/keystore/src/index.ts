/**
 * The keystore: the only home of private keys. One JSON-serialisable API (the RPC table in
 * `rpc.ts`), served in-process, by a local agent over a Unix socket (`@saltbox/keystore/node`)
 * or from a Web Worker. Persistence is a byte store wrapped in encryption at rest.
 *
 * This entry point is platform-neutral (browsers, Workers, Node); Node-only pieces — the file
 * store, the agent, the `worker_threads` transport, Argon2id — live in `@saltbox/keystore/node`.
 *
 * @packageDocumentation
 */
export {
  corrupt,
  invalidArgument,
  isKeystoreError,
  isKeystoreErrorCode,
  KeystoreError,
  lockedError,
  refused,
  toKeystoreError,
  transportError,
  unknownKey,
} from './errors.js';
export type { KeystoreErrorCode, KeystoreErrorDetails, KeystoreErrorJSON } from './errors.js';
export { rpcTable, KEYSTORE_METHODS, isKeystoreMethod } from './rpc.js';
export type {
  ItemResult,
  KeystoreApi,
  KeystoreMethod,
  RequestOf,
  ResponseOf,
  RpcEntry,
  RpcTable,
} from './rpc.js';
export { LocalKeystore, openKeystore } from './keystore.js';
export { kidPublicKey } from './derive.js';
export type { KeystoreOptions } from './keystore.js';
export {
  PURPOSES_BY_KEY_KIND,
  SIGNATURE_PREFIXES,
  SIGNING_PURPOSES,
  signPayload,
} from './purposes.js';
export type { SigningKeyKind, SigningPurpose } from './purposes.js';
export { assertRecordName, memoryStore, prefixedStore } from './store/byte-store.js';
export type { ByteStore } from './store/byte-store.js';
export { encryptedStore, RECORD_VERSION } from './store/encrypted.js';
export type { EncryptedStore } from './store/encrypted.js';
export {
  DEFAULT_ARGON2ID,
  DEFAULT_SCRYPT,
  FORMAT_VERSION,
  META_RECORD,
} from './store/passphrase.js';
export type {
  Argon2idFunction,
  Argon2idParams,
  KdfChoice,
  ScryptParams,
} from './store/passphrase.js';
export { indexedDbStore } from './store/indexeddb.js';
export { inProcessClient } from './transport/in-process.js';
export type { InProcessOptions } from './transport/in-process.js';
export { createRpcClient, createRpcServer, JSONRPC_ERRORS } from './transport/jsonrpc.js';
export type {
  ExtraMethods,
  JsonRpcErrorObject,
  JsonRpcRequest,
  JsonRpcResponse,
  KeystoreClient,
  RpcClientHandle,
  RpcClientOptions,
  RpcServer,
  RpcServerOptions,
} from './transport/jsonrpc.js';
export { browserEndpoint, connectPort, servePort } from './transport/port.js';
export type { BrowserPortLike, MessageEndpoint } from './transport/port.js';
export { KV_CHUNK } from './kv-seal.js';
export { kvMetadataBytes } from './kv-entry.js';
export type { KvEntryMetadata } from './kv-entry.js';
export { keystoreBoxKey, keystoreKeyring, keystoreSigningKey } from './saltpack-keys.js';
export type { KeystoreKeyringOptions } from './saltpack-keys.js';
