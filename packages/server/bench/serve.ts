/**
 * The bench's server process (forked by bench/bench.ts with an IPC channel): `startServer` on
 * the storage named by the environment, rate limits lifted, logs off. Sends its URL to the
 * parent, answers `cpu` with this process's CPU time (seconds), exits on SIGTERM.
 */
import { silentLogger, startServer } from '../src/index.js';

const server = await startServer({
  listen: '127.0.0.1:0',
  // On PostgreSQL, BENCH_DATA_DIR holds the log root key every server process shares.
  ...(process.env.BENCH_DATABASE_URL
    ? {
        databaseUrl: process.env.BENCH_DATABASE_URL,
        ...(process.env.BENCH_DATA_DIR ? { dataDir: process.env.BENCH_DATA_DIR } : {}),
      }
    : { dataDir: process.env.BENCH_DATA_DIR! }),
  limits: { rateLimit: { burst: 1e9, perSecond: 1e9 }, signupRate: { burst: 1e9, perSecond: 1e9 } },
  logger: silentLogger,
});
process.send!({ type: 'url', url: server.url });
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'cpu') {
    const u = process.cpuUsage();
    process.send!({ type: 'cpu', cpuSeconds: (u.user + u.system) / 1e6 });
  }
});
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
