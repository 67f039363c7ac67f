import { openSqliteStorage } from '../src/storage/sqlite.js';
import { runTeamRouteSuite } from './team-routes-suite.js';

runTeamRouteSuite('sqlite', () => openSqliteStorage({ dataDir: ':memory:' }));
