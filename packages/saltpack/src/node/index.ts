/**
 * Node-only additions to the Saltpack library (`@saltbox/saltpack/node`).
 *
 * @packageDocumentation
 */
export { KEY_AGREEMENT_THRESHOLD, createWorkerEngine } from './worker-engine.js';
export type { WorkerEngine, WorkerEngineOptions } from './worker-engine.js';
export { createThreadpoolEngine } from './threadpool-engine.js';
export type { ThreadpoolEngine } from './threadpool-engine.js';
export { PIPELINE_IN_FLIGHT, decryptPipeline, encryptPipeline } from './pipeline.js';
export type { PipelineOptions, PipelineSink } from './pipeline.js';
