import { runTeamRouteSuite } from './team-routes-suite.js';
import { usePostgresStorage } from './use-postgres.js';

runTeamRouteSuite('postgresql', usePostgresStorage());
