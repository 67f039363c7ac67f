/** Runs the one conformance suite (and its PGP part) against all three transports. */
import { join } from 'node:path';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import { connectAgent, startAgent, startWorkerKeystore } from '@saltbox/keystore/node';
import { describeKeystoreConformance } from './conformance.js';
import type { HarnessFactory } from './conformance.js';
import { describePgpConformance } from './pgp-conformance.js';
import { CHEAP_KDF, tempDir, tsWorker } from './helpers.js';

const inProcess: HarnessFactory = async () => {
  const keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
  return {
    client: inProcessClient(keystore),
    remote: false,
    teardown: () => keystore.close(),
  };
};

const agent: HarnessFactory = async () => {
  const dir = await tempDir();
  const keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
  const agent = await startAgent({ socketPath: join(dir.path, 'agent.sock'), keystore });
  const client = await connectAgent(agent.socketPath);
  return {
    client,
    remote: true,
    teardown: async () => {
      await client.close();
      await agent.stop();
      await keystore.close();
      await dir.remove();
    },
  };
};

const worker: HarnessFactory = () => {
  const w = tsWorker('worker-memory.ts');
  const client = startWorkerKeystore(w.url, w.options);
  return Promise.resolve({ client, remote: true, teardown: () => client.close() });
};

describeKeystoreConformance('in-process', inProcess);
describeKeystoreConformance('agent (unix socket json-rpc)', agent);
describeKeystoreConformance('worker (worker_threads postMessage)', worker);
describePgpConformance('in-process', inProcess);
describePgpConformance('agent (unix socket json-rpc)', agent);
describePgpConformance('worker (worker_threads postMessage)', worker);
