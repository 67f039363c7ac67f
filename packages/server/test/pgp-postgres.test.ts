import { runPgpRouteSuite } from './pgp-routes-suite.js';
import { usePostgresStorage } from './use-postgres.js';

runPgpRouteSuite('postgresql', usePostgresStorage());
