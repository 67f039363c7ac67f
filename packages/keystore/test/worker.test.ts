/** Worker-specific behaviour: a worker that dies fails pending calls with KEYSTORE_TRANSPORT. */
import { describe, expect, it } from 'vitest';
import { startWorkerKeystore } from '@saltbox/keystore/node';
import { expectCode } from './conformance.js';
import { tsWorker } from './helpers.js';

describe('worker transport', () => {
  it('fails pending and later calls with KEYSTORE_TRANSPORT when the worker dies', async () => {
    const w = tsWorker('worker-crash.ts');
    const client = startWorkerKeystore(w.url, w.options);
    expect((await client.status()).state).toBe('uninitialized');
    // Keep calls in flight until the worker exits by itself.
    const pending = (async () => {
      for (;;) await client.status();
    })();
    await expectCode(pending, 'KEYSTORE_TRANSPORT');
    await expectCode(client.lock(), 'KEYSTORE_TRANSPORT');
    await client.close();
  });

  it('refuses privileged methods by default', async () => {
    const w = tsWorker('worker-memory.ts');
    const client = startWorkerKeystore(w.url, w.options);
    await client.unlock({ passphrase: 'pw', create: true });
    await expectCode(client.exportSecrets({ passphrase: 'pw' }), 'KEYSTORE_REFUSED');
    await client.close();
    await expectCode(client.status(), 'KEYSTORE_TRANSPORT');
  });
});
