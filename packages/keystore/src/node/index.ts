/**
 * Node-only parts of the keystore: the file byte store, the agent (Unix socket or Windows pipe), the
 * `worker_threads` transport, Argon2id over sodium-native, and default paths.
 *
 * @packageDocumentation
 */
export { fileStore } from './file-store.js';
export { MAX_MESSAGE_BYTES, connectAgent, prepareAgentSocketDir, startAgent } from './agent.js';
export type {
  Agent,
  AgentClient,
  AgentOptions,
  AgentStatus,
  ConnectAgentOptions,
} from './agent.js';
export {
  HOME_FILES,
  agentSocketPath,
  homeHash,
  homeLayout,
  keystoreDirOf,
  maxSocketPathBytes,
  saltboxHome,
} from './paths.js';
export type { Env, HomeLayout, HostInfo, SocketHostInfo } from './paths.js';
export {
  removeStaleTempFiles,
  syncDirectory,
  tempPathFor,
  writeFileAtomic,
} from './atomic-file.js';
export type { AtomicWriteOptions } from './atomic-file.js';
export { nodeEndpoint, serveInWorker, startWorkerKeystore } from './worker.js';
export { openFileKeystore } from './open.js';
export { nodeArgon2id } from './argon2.js';
export type { FileKeystoreOptions } from './open.js';
