import { describe, expect, it } from 'vitest';
import { buildLookupResponse, lookupResponseSchema } from '../src/index.js';

describe('user/lookup.json shape', () => {
  it('builds replies that the schema reads back, null for unknown names', () => {
    const reply = buildLookupResponse([
      {
        uid: '74c38cf7ceb947f5632045d8ca5d4819',
        username: 'max32',
        allBundles: ['0120820d3981b4238c83bd9d3e809e7a027c311b3fc5befd073d2bfb4894b9be86b80a'],
        perUserKeys: [
          {
            generation: 1,
            seqno: 2,
            signingKid: '0120820d3981b4238c83bd9d3e809e7a027c311b3fc5befd073d2bfb4894b9be86b80a',
            encryptionKid: '0121820d3981b4238c83bd9d3e809e7a027c311b3fc5befd073d2bfb4894b9be86b80a',
          },
        ],
      },
      null,
    ]);
    const parsed = lookupResponseSchema.parse(JSON.parse(JSON.stringify(reply)));
    expect(Array.isArray(parsed.them) && parsed.them[1]).toBe(null);
  });

  it('accepts the single-object uid= form and extra keybase.io fields, rejects a missing status', () => {
    const user = {
      id: '74c38cf7ceb947f5632045d8ca5d4819',
      basics: { username: 'max32', status: 0, extra: 1 },
      public_keys: { all_bundles: [] },
      pictures: {},
    };
    expect(
      lookupResponseSchema.safeParse({ status: { code: 0, name: 'OK' }, them: user }).success,
    ).toBe(true);
    const noStatus = { ...user, basics: { username: 'max32' } };
    expect(
      lookupResponseSchema.safeParse({ status: { code: 0, name: 'OK' }, them: [noStatus] }).success,
    ).toBe(false);
  });
});
