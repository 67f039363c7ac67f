/**
 * `saltbox server`: the directory and storage server (packages/server) on SQLite by default or
 * PostgreSQL (`--database-url` / `DATABASE_URL`). Loaded on demand so other commands do not
 * pay for the server's dependencies at start-up.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandContext, Flags } from './context.js';
import type { SignupMode, SignupPolicy } from '@saltbox/server';
import { CliError, usage } from './errors.js';
import { HOME_FILES } from '@saltbox/keystore/paths';
import { saltboxHome } from './keys.js';
import { setInterruptHandler } from './signals.js';

/** The default SQLite data directory: `$SALTBOX_HOME/server`. */
export function defaultServerDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(saltboxHome({ env }), HOME_FILES.serverData);
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

/** Default sign-ups per hour from one address (the server's own default). */
const DEFAULT_SIGNUPS_PER_HOUR = 5;

/**
 * The sign-up switch and rate from `--signup` / `SALTBOX_SIGNUP` (open, invite, closed) and
 * `--signup-rate` / `SALTBOX_SIGNUP_RATE` (sign-ups per hour per address; also the burst).
 *
 * @throws CliError `CLI_USAGE` for an unknown mode or a rate that is not a positive integer.
 */
function signupOptions(
  flags: Flags,
  modes: readonly SignupMode[],
  reserved: readonly string[],
): { policy: SignupPolicy; rate: { burst: number; perSecond: number } } {
  const rawMode = typeof flags.signup === 'string' ? flags.signup : process.env.SALTBOX_SIGNUP;
  const mode = rawMode === undefined || rawMode === '' ? 'open' : rawMode;
  if (!(modes as readonly string[]).includes(mode))
    throw usage(`--signup must be one of ${modes.join(', ')}`);
  const rawRate =
    typeof flags['signup-rate'] === 'string'
      ? flags['signup-rate']
      : process.env.SALTBOX_SIGNUP_RATE;
  const perHour =
    rawRate === undefined || rawRate === '' ? DEFAULT_SIGNUPS_PER_HOUR : Number(rawRate);
  if (!Number.isSafeInteger(perHour) || perHour < 1)
    throw usage('--signup-rate must be a whole number of sign-ups per hour, at least 1');
  return {
    policy: { mode: mode as SignupMode, reserved },
    rate: { burst: perHour, perSecond: perHour / 3600 },
  };
}

/**
 * `saltbox server invite`: makes a single-use sign-up invite code in the server's database
 * (SQLite under `--data`, or `--database-url`) and prints it once; only its hash is stored.
 * Works while the server runs (SQLite in WAL mode, or PostgreSQL, takes both).
 *
 * @throws CliError `CLI_SERVER_FAILED` when there is no database at `--data`, or it cannot be
 *   opened or written.
 */
export async function serverInviteCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { createInvite, loadOrCreateLogSeed, openPostgresStorage, openSqliteStorage, SQLITE_FILE } =
    await import('@saltbox/server');
  const databaseUrl =
    typeof flags['database-url'] === 'string' ? flags['database-url'] : process.env.DATABASE_URL;
  const dataDir = typeof flags.data === 'string' ? flags.data : defaultServerDataDir();
  // Opening would create an empty database, and the code would be valid on no running server.
  if (!databaseUrl && !existsSync(join(dataDir, SQLITE_FILE)))
    throw new CliError(
      'CLI_SERVER_FAILED',
      `cannot make an invite: no saltbox database in ${dataDir}`,
      {
        hint: "pass the --data DIR (or --database-url) that 'saltbox server' runs with",
      },
    );
  let code: string;
  try {
    // The server's own root key, should opening backfill the log (a database from before it).
    const logSeed = (): Uint8Array => loadOrCreateLogSeed(dataDir);
    const storage = databaseUrl
      ? await openPostgresStorage({ databaseUrl, poolSize: 1, logSeed })
      : await openSqliteStorage({ dataDir, logSeed });
    try {
      code = await createInvite(storage);
    } finally {
      await storage.close();
    }
  } catch (e) {
    const { detail, hint } = startFailure(e);
    throw new CliError('CLI_SERVER_FAILED', `cannot make an invite: ${detail}`, {
      cause: e,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  if (flags.json === true) {
    ctx.console.stdout(`${JSON.stringify({ invite: code })}\n`);
    return;
  }
  ctx.console.stdout(`${code}\n`);
  ctx.console.stderr(
    "saltbox: a single-use invite: give it to one person, who signs up with 'saltbox signup USER --invite CODE'\n",
  );
}

/**
 * What went wrong at start, and what to do about it (issue #12.12): storage errors name the
 * file and say what is wrong with it; nothing was logged before this point, so the message is
 * the whole story.
 */
function startFailure(e: unknown): { detail: string; hint?: string } {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : '';
  switch (code) {
    case 'EADDRINUSE':
      return {
        detail: 'the address is in use',
        hint: 'pick another --listen port, or stop the other server',
      };
    case 'EADDRNOTAVAIL':
      return {
        detail: "the address is not one of this machine's",
        hint: 'check the host in --listen',
      };
    case 'VALIDATION_FAILED':
      return { detail: message };
    case 'STORAGE_NOT_A_DATABASE':
      return {
        detail: message,
        hint: '--data must be a directory whose saltbox.sqlite was made by saltbox server; move that file away or choose another --data',
      };
    case 'STORAGE_CORRUPT':
      return {
        detail: message,
        hint: 'restore the file from a backup (stop every server using it first), or move it away to start an empty server',
      };
    case 'STORAGE_UNREADABLE':
      return {
        detail: message,
        hint: 'the server must be able to read and write --data and every file in it; check the path, owner and permissions',
      };
    case 'STORAGE_FULL':
      return { detail: message, hint: 'free space on the disk that holds the database' };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
      return {
        detail: `cannot reach the database (${code})`,
        hint: 'check the host and port in --database-url or DATABASE_URL, and that postgresql runs',
      };
    case '28P01':
    case '28000':
      return {
        detail: 'the database refused the credentials',
        hint: 'check the user and password in --database-url or DATABASE_URL',
      };
    case '3D000':
      return {
        detail: 'the database does not exist',
        hint: 'create it (createdb) or fix the name in --database-url',
      };
    default:
      // Never the message of an unknown error: it may quote anything. The code or class starts
      // the search; SALTBOX_DEBUG=1 prints the cause.
      return {
        detail: `unexpected ${typeof code === 'string' ? code : e instanceof Error ? e.name : 'error'}`,
        hint: 'run it again with SALTBOX_DEBUG=1 to see the cause',
      };
  }
}

/**
 * Starts the server and runs until SIGINT or SIGTERM, then closes it cleanly.
 *
 * @throws CliError `CLI_SERVER_FAILED` when it cannot start.
 */
export async function serverCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { startServer, DEFAULT_LISTEN, LOG_KEY_FILE, RESERVED_USERNAMES, SIGNUP_MODES } =
    await import('@saltbox/server');
  const listen = typeof flags.listen === 'string' ? flags.listen : DEFAULT_LISTEN;
  const databaseUrl =
    typeof flags['database-url'] === 'string' ? flags['database-url'] : process.env.DATABASE_URL;
  const dataDir = typeof flags.data === 'string' ? flags.data : defaultServerDataDir();
  const signup = signupOptions(flags, SIGNUP_MODES, RESERVED_USERNAMES);
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({
      listen,
      // On PostgreSQL the data directory still holds the log's root key (log-root-key): every
      // start, and every process given the same directory, signs with the same key.
      ...(databaseUrl ? { databaseUrl, dataDir } : { dataDir }),
      signup: signup.policy,
      limits: { signupRate: signup.rate },
    });
  } catch (e) {
    const { detail, hint } = startFailure(e);
    throw new CliError('CLI_SERVER_FAILED', `cannot start the server: ${detail}`, {
      cause: e,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  const where = databaseUrl ? `postgresql ${redactUrl(databaseUrl)}` : `sqlite in ${dataDir}`;
  // The log root key's KID (issue 14 item 1): what an operator publishes, so that clients and
  // auditors can check the key they pin on first contact ('saltbox log verify', 'log audit --key').
  const logKey = await running.storage.log.kid();
  if (flags.json === true) {
    ctx.console.stdout(
      `${JSON.stringify({ url: running.url, storage: databaseUrl ? 'postgresql' : 'sqlite', logKey })}\n`,
    );
  } else {
    ctx.console.stderr(
      `saltbox: server listening on ${running.url} (${where}); ctrl-c stops it\nsaltbox: log root key ${logKey} (${join(dataDir, LOG_KEY_FILE)})\n`,
    );
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
