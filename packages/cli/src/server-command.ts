/**
 * `saltbox server`: the directory and storage server (packages/server) on SQLite by default or
 * PostgreSQL (`--database-url` / `DATABASE_URL`). Loaded on demand so other commands do not
 * pay for the server's dependencies at start-up.
 *
 * @packageDocumentation
 */
import { join } from 'node:path';
import type { CommandContext, Flags } from './commands.js';
import { CliError } from './errors.js';
import { saltboxHome } from './keys.js';
import { setInterruptHandler } from './signals.js';

/** The default SQLite data directory: `$SALTBOX_HOME/server`. */
export function defaultServerDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(saltboxHome({ env }), 'server');
}

/** Hides credentials in a database URL before it is printed. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * Starts the server and runs until SIGINT or SIGTERM, then closes it cleanly.
 *
 * @throws CliError `CLI_SERVER_FAILED` when it cannot start.
 */
export async function serverCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { startServer, DEFAULT_LISTEN } = await import('@saltbox/server');
  const listen = typeof flags.listen === 'string' ? flags.listen : DEFAULT_LISTEN;
  const databaseUrl =
    typeof flags['database-url'] === 'string' ? flags['database-url'] : process.env.DATABASE_URL;
  const dataDir = typeof flags.data === 'string' ? flags.data : defaultServerDataDir();
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer(databaseUrl ? { listen, databaseUrl } : { listen, dataDir });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const detail =
      code === 'EADDRINUSE'
        ? 'the address is in use'
        : code === 'VALIDATION_FAILED' && e instanceof Error
          ? e.message
          : 'see the log above';
    throw new CliError('CLI_SERVER_FAILED', `cannot start the server: ${detail}`, { cause: e });
  }
  const where = databaseUrl ? `postgresql ${redactUrl(databaseUrl)}` : `sqlite in ${dataDir}`;
  if (flags.json === true) {
    ctx.console.stdout(
      `${JSON.stringify({ url: running.url, storage: databaseUrl ? 'postgresql' : 'sqlite' })}\n`,
    );
  } else {
    ctx.console.stderr(`saltbox: server listening on ${running.url} (${where}); ctrl-c stops it\n`);
  }
  // The first SIGINT/SIGTERM shuts the server down cleanly (main.ts exits on a second one).
  await new Promise<void>((resolve) => {
    setInterruptHandler(() => {
      resolve();
      return Promise.resolve();
    });
  });
  await running.close();
}
