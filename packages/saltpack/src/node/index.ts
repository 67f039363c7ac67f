/**
 * Node-only additions to the Saltpack library (`@saltbox/saltpack/node`).
 *
 * @packageDocumentation
 */
export { createWorkerEngine } from './worker-engine.js';
export type { WorkerEngine, WorkerEngineOptions } from './worker-engine.js';
