import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStorage } from '../src/storage/postgres.js';
import { runStorageConformance } from './storage-conformance.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';

let cluster: TestPostgres | undefined;
beforeAll(async () => {
  cluster = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

runStorageConformance('postgresql', async () =>
  openPostgresStorage({ databaseUrl: await cluster!.freshDatabase() }),
);

describe('postgresql specifics', () => {
  it('shares nonces and chains between two pools (two server processes)', async () => {
    const url = await cluster!.freshDatabase();
    const [a, b] = await Promise.all([
      openPostgresStorage({ databaseUrl: url }),
      openPostgresStorage({ databaseUrl: url }),
    ]);
    expect(await a.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(true);
    expect(await b.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(false);
    await a.close();
    await b.close();
  });
});
