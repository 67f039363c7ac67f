import { logRoutesSuite } from './log-routes-suite.js';
import { usePostgresStorage } from './use-postgres.js';

logRoutesSuite('PostgreSQL', usePostgresStorage());
