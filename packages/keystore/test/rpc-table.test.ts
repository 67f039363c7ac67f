/**
 * The RPC table is the single source: these tests fail when the runtime method set, the
 * declared interface, the implementation or a client proxy drift apart (the xmtp-js 13.x bug).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { KeystoreApi, KeystoreMethod } from '@saltbox/keystore';
import {
  KEYSTORE_METHODS,
  LocalKeystore,
  createRpcClient,
  inProcessClient,
  memoryStore,
  openKeystore,
  rpcTable,
} from '@saltbox/keystore';

/** Written out by hand on purpose: adding a method must touch this list, type and runtime. */
const DECLARED = [
  'status',
  'unlock',
  'lock',
  'createDevice',
  'derivePaperKeyDevice',
  'getPublicKeyBundle',
  'sign',
  'boxBatch',
  'unboxBatch',
  'createKeyBoxes',
  'openKeyBoxes',
  'sealKv',
  'openKv',
  'pgpGenerate',
  'pgpImport',
  'pgpList',
  'pgpSignReverseSig',
  'pgpDecrypt',
  'exportSecrets',
] as const;

const nonRpc = new Set(['callExtra', 'close']);
const clientMethods = (c: object) =>
  Object.keys(c)
    .filter((k) => !nonRpc.has(k))
    .sort();

describe('rpc table', () => {
  it('declares exactly the methods the types declare', () => {
    // Checked by tsc (test files are type-checked): the hand list, the table and the API agree.
    expectTypeOf<(typeof DECLARED)[number]>().toEqualTypeOf<KeystoreMethod>();
    expectTypeOf<keyof KeystoreApi>().toEqualTypeOf<KeystoreMethod>();
    expect([...KEYSTORE_METHODS].sort()).toEqual([...DECLARED].sort());
    expect(Object.keys(rpcTable).sort()).toEqual([...DECLARED].sort());
  });

  it('is implemented by LocalKeystore, method for method', () => {
    expectTypeOf<LocalKeystore>().toExtend<KeystoreApi>();
    for (const m of KEYSTORE_METHODS) {
      expect(typeof (LocalKeystore.prototype as unknown as Record<string, unknown>)[m]).toBe(
        'function',
      );
    }
  });

  it('gives every client proxy exactly the table methods', async () => {
    const ks = await openKeystore({ store: memoryStore() });
    expect(clientMethods(inProcessClient(ks))).toEqual([...DECLARED].sort());
    const rpc = createRpcClient(() => undefined);
    expect(clientMethods(rpc.client)).toEqual([...DECLARED].sort());
    await ks.close();
  });

  it('has a request and a response schema per entry, and only exportSecrets is privileged', () => {
    for (const m of KEYSTORE_METHODS) {
      const e: { request: unknown; response: unknown; privileged?: boolean } = rpcTable[m];
      expect(e.request).toBeInstanceOf(z.ZodType);
      expect(e.response).toBeInstanceOf(z.ZodType);
    }
    const privileged = KEYSTORE_METHODS.filter(
      (m) => (rpcTable[m] as { privileged?: boolean }).privileged,
    );
    expect(privileged).toEqual(['exportSecrets']);
  });

  it('round-trips byte fields through the wire form as base64', () => {
    const req = {
      items: [
        {
          kid: `0120${'ab'.repeat(32)}0a`,
          purpose: 'nist' as const,
          message: new Uint8Array([1, 2, 3]),
        },
      ],
    };
    const wire = z.encode(rpcTable.sign.request, req);
    expect(JSON.parse(JSON.stringify(wire))).toEqual({
      items: [{ kid: req.items[0]!.kid, purpose: 'nist', message: 'AQID' }],
    });
    expect(z.decode(rpcTable.sign.request, wire)).toEqual(req);
    expect(
      rpcTable.sign.request.safeParse({ items: [{ ...wire.items[0], message: 'AQI=x' }] }).success,
    ).toBe(false);
  });
});
