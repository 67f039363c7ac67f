import { openSqliteStorage } from '../src/storage/sqlite.js';
import { runSignupSuite } from './signup-suite.js';

runSignupSuite('sqlite', () => openSqliteStorage({ dataDir: ':memory:' }));
