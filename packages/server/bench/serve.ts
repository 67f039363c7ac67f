/**
 * The bench's server process: `startServer` on the storage named by the environment, rate
 * limits lifted, logs off. Prints its URL on stdout, exits on SIGTERM.
 */
import { silentLogger, startServer } from '../src/index.js';

const server = await startServer({
  listen: '127.0.0.1:0',
  ...(process.env.BENCH_DATABASE_URL
    ? { databaseUrl: process.env.BENCH_DATABASE_URL }
    : { dataDir: process.env.BENCH_DATA_DIR! }),
  limits: { rateLimit: { burst: 1e9, perSecond: 1e9 } },
  logger: silentLogger,
});
process.stdout.write(`${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
