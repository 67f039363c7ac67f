/**
 * Node-only additions to the Saltpack library (`@saltbox/saltpack/node`).
 *
 * @packageDocumentation
 */
export { KEY_AGREEMENT_THRESHOLD, createWorkerEngine } from './worker-engine.js';
export type { WorkerEngine, WorkerEngineOptions } from './worker-engine.js';
