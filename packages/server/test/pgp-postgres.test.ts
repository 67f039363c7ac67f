import { afterAll, beforeAll } from 'vitest';
import { openPostgresStorage } from '../src/storage/postgres.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';
import { runPgpRouteSuite } from './pgp-routes-suite.js';

let cluster: TestPostgres | undefined;
beforeAll(async () => {
  cluster = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

runPgpRouteSuite('postgresql', async () =>
  openPostgresStorage({ databaseUrl: await cluster!.freshDatabase() }),
);
