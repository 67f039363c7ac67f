/**
 * The client service's table is the single declaration (issue #15.2), as the keystore's
 * `rpc-table.test.ts` checks for its own: the hand-written list below, the light client's method
 * names, the schemas, the agent's implementation and what a real agent serves on its socket must
 * all name the same methods.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { memoryStore, openKeystore } from '@saltbox/keystore';
import { agentSocketPath, startAgent } from '@saltbox/keystore/node';
import { createClientService } from '../src/client-service.js';
import { connectService } from '../src/service-client.js';
import type { ServiceClient } from '../src/service-client.js';
import { SERVICE_METHODS } from '../src/service-methods.js';
import type { ServiceMethod } from '../src/service-methods.js';
import { serviceTable } from '../src/service-table.js';
import type { ServiceApi } from '../src/service-table.js';

/** Written out by hand on purpose: adding a method must touch this list, the types and runtime. */
const DECLARED = ['status', 'kvstoreApi', 'kvstoreOpen', 'kvstoreWrite', 'kvstoreEnd'] as const;

const home = mkdtempSync(join(tmpdir(), 'saltbox-service-table-'));
const previousHome = process.env.SALTBOX_HOME;
process.env.SALTBOX_HOME = home;
const paths = { keystoreDir: join(home, 'keystore'), socketPath: agentSocketPath(home) };
afterAll(() => {
  if (previousHome === undefined) delete process.env.SALTBOX_HOME;
  else process.env.SALTBOX_HOME = previousHome;
  rmSync(home, { recursive: true, force: true });
});

describe('client service table', () => {
  it('declares exactly the methods the types and the runtime list declare', () => {
    expectTypeOf<(typeof DECLARED)[number]>().toEqualTypeOf<ServiceMethod>();
    expectTypeOf<keyof ServiceApi>().toEqualTypeOf<ServiceMethod>();
    expectTypeOf<Exclude<keyof ServiceClient, 'close'>>().toEqualTypeOf<ServiceMethod>();
    expect([...SERVICE_METHODS].sort()).toEqual([...DECLARED].sort());
    expect(Object.keys(serviceTable).sort()).toEqual([...DECLARED].sort());
    for (const m of SERVICE_METHODS) {
      expect(serviceTable[m].request).toBeInstanceOf(z.ZodType);
      expect(serviceTable[m].response).toBeInstanceOf(z.ZodType);
    }
  });

  it('is implemented method for method, and served as client.<name>', async () => {
    const keystore = await openKeystore({ store: memoryStore() });
    const service = createClientService(keystore, paths);
    expect(Object.keys(service.api).sort()).toEqual([...DECLARED].sort());
    expect(Object.keys(service.methods).sort()).toEqual(DECLARED.map((m) => `client.${m}`).sort());
    await service.close();
    await keystore.close();
  });

  it('a real agent serves it to the light client over its socket, validating requests', async () => {
    const keystore = await openKeystore({ store: memoryStore() });
    let service: ReturnType<typeof createClientService> | undefined;
    const agent = await startAgent({
      socketPath: paths.socketPath,
      keystore,
      serve: (ks) => {
        service = createClientService(ks, paths);
        return service.methods;
      },
    });
    try {
      const client = await connectService();
      expect(client).toBeDefined();
      expect(
        Object.keys(client!)
          .filter((k) => k !== 'close')
          .sort(),
      ).toEqual([...DECLARED].sort());
      // Nobody is logged in in this home: the reply the in-process dispatcher gives too.
      const { replies } = await client!.kvstoreApi({
        text: '{"method":"get","params":{"options":{"namespace":"n","entryKey":"k"}}}',
      });
      expect(replies).toEqual(['{"error":{"code":0,"message":"not logged in"}}\n']);
      expect(await client!.status({})).toEqual({ warm: false, username: null, served: 1 });
      // A request the table refuses is an error, and runs nothing.
      await expect(client!.kvstoreWrite({ stream: 1, data: 'not base64!' })).rejects.toMatchObject({
        code: 'CLI_AGENT_SERVICE',
      });
      client!.close();
    } finally {
      await agent.stop();
      await service?.close();
      await keystore.close();
    }
  });

  it('without an agent, the light client finds none (commands then run in-process)', async () => {
    expect(await connectService()).toBeUndefined();
  });
});
