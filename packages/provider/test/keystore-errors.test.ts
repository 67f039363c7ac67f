/**
 * An agent socket that cannot be used (#12.23) reaches provider users (Pulumi, SOPS, the age
 * plugin) as `PROVIDER_NO_AGENT` naming the path — not `PROVIDER_INTERNAL` "keystore call failed".
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { connectAgent } from '@saltbox/keystore/node';
import { fromKeystoreError } from '../src/keystore-errors.js';
import { failure } from './helpers.js';

describe('fromKeystoreError', () => {
  it('an unusable agent socket is PROVIDER_NO_AGENT naming the path', async () => {
    const long = join(tmpdir(), 'x'.repeat(120), 'agent.sock');
    const e = await failure(
      connectAgent(long).catch((k: unknown) => Promise.reject(fromKeystoreError(k))),
    );
    expect([e.code, e.reason]).toEqual(['FailedPrecondition', 'PROVIDER_NO_AGENT']);
    expect(e.message).toContain(long);
    expect(e.details).toMatchObject({ keystoreCode: 'KEYSTORE_AGENT_SOCKET' });
  });
});
