import { openSqliteStorage } from '../src/storage/sqlite.js';
import { runPgpRouteSuite } from './pgp-routes-suite.js';

runPgpRouteSuite('sqlite', () => openSqliteStorage({ dataDir: ':memory:' }));
