/** Runs the one conformance suite against all three transports. */
import { join } from 'node:path';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import { connectAgent, startAgent, startWorkerKeystore } from '@saltbox/keystore/node';
import { describeKeystoreConformance } from './conformance.js';
import { CHEAP_KDF, tempDir, tsWorker } from './helpers.js';

describeKeystoreConformance('in-process', async () => {
  const keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
  return {
    client: inProcessClient(keystore),
    remote: false,
    teardown: () => keystore.close(),
  };
});

describeKeystoreConformance('agent (unix socket json-rpc)', async () => {
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
});

describeKeystoreConformance('worker (worker_threads postMessage)', () => {
  const w = tsWorker('worker-memory.ts');
  const client = startWorkerKeystore(w.url, w.options);
  return Promise.resolve({ client, remote: true, teardown: () => client.close() });
});
