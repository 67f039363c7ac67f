import { runSignupSuite } from './signup-suite.js';
import { usePostgresStorage } from './use-postgres.js';

runSignupSuite('postgresql', usePostgresStorage());
