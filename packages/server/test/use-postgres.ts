/**
 * One real PostgreSQL cluster per test file ({@link startTestPostgres}), started before the
 * file's tests and stopped after them, for the suites that run on both backends.
 */
import { afterAll, beforeAll } from 'vitest';
import { openPostgresStorage } from '../src/storage/postgres.js';
import type { Storage } from '../src/storage/types.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';

/** Registers the cluster's hooks; the returned function opens storage on a fresh database. */
export function usePostgresStorage(): () => Promise<Storage> {
  let cluster: TestPostgres | undefined;
  beforeAll(async () => {
    cluster = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  return async () => openPostgresStorage({ databaseUrl: await cluster!.freshDatabase() });
}
