/**
 * Storage backends behind one interface.
 *
 * @packageDocumentation
 */
export type * from './types.js';
export { openSqliteStorage, SQLITE_FILE } from './sqlite.js';
export type { SqliteOptions } from './sqlite.js';
export { openPostgresStorage } from './postgres.js';
export type { PostgresOptions } from './postgres.js';
export { createKyselyStorage, isUniqueViolation } from './kysely-storage.js';
export { MIGRATIONS } from './schema.js';
