/**
 * `saltbox run` and `saltbox inject`: secrets from the encrypted KV store handed to a program
 * through its environment, or filled into a file, from `saltbox://TEAM/NAMESPACE/KEY`
 * references (references.ts).
 *
 * Values are read through the same verifying dispatcher as `saltbox kv get`
 * (kvstore-command.ts), all of them before anything runs or is written, so a reference that
 * cannot be read stops with its coded error and nothing has happened. `run` keeps values in
 * memory only (the child's environment); with masking on, the child's standard output and error
 * are pipes through {@link Masker}, and standard input is the child's own.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import type { CommandContext, Flags } from './context.js';
import { CliError, ioError, usage } from './errors.js';
import { parseEnvFile } from './env-file.js';
import { writeSecretFileAtomic } from './keys.js';
import { Masker } from './masking.js';
import {
  fillTemplate,
  isReference,
  parseReference,
  referenceKey,
  templatePlaceholders,
} from './references.js';
import type { Reference } from './references.js';
import { setSignalForwarder } from './signals.js';

/**
 * Linux refuses a single `NAME=value` string over 32 pages (MAX_ARG_STRLEN) with E2BIG; checked
 * before starting anything so the message can name the variable.
 */
const LINUX_MAX_ENV_STRING = 32 * 4096;

/** Signals passed on to the child while it runs (SIGINT and SIGTERM through signals.ts). */
const FORWARDED_DIRECTLY = ['SIGHUP'] as const;

const positionals = (flags: Flags): string[] =>
  Array.isArray(flags._positionals)
    ? flags._positionals.filter((p): p is string => typeof p === 'string')
    : [];

const strings = (flags: Flags, name: string): string[] => {
  const v = flags[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

/** A reference and what it is for in messages (`DB_PASSWORD`, `app.tmpl line 3`). */
interface Wanted {
  readonly reference: Reference;
  readonly where: string;
}

/**
 * Reads every distinct reference once, in order; the first that cannot be read stops it all.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN` (no account in this home); `CLI_KV_NO_VALUE` (unset or
 *   deleted), `CLI_KV` (no such team, not a member, a verification failure: the API's
 *   message), naming where the reference was.
 */
async function resolve(wanted: readonly Wanted[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  if (wanted.length === 0) return values;
  const { openKvRequests } = await import('./kvstore-command.js');
  const kv = await openKvRequests();
  try {
    for (const { reference: r, where } of wanted) {
      const key = referenceKey(r);
      if (values.has(key)) continue;
      let result: Record<string, unknown>;
      try {
        result = await kv.request('get', {
          team: r.team,
          namespace: r.namespace,
          entryKey: r.entryKey,
        });
      } catch (e) {
        if (e instanceof CliError) {
          throw new CliError(e.code, `${where}: cannot read ${r.text}: ${e.message}`, {
            cause: e,
          });
        }
        throw e;
      }
      if (typeof result.entryValue !== 'string') {
        const team = r.team === undefined ? '' : ` --team ${r.team}`;
        throw new CliError('CLI_KV_NO_VALUE', `${where}: no value at ${r.text}`, {
          hint: `see what is there with 'saltbox kv list${team} ${r.namespace}'`,
        });
      }
      values.set(key, result.entryValue);
    }
  } finally {
    await kv.close();
  }
  return values;
}

/**
 * The child's environment: ours, then each `--env-file` in order (a later file wins), with
 * every `saltbox://` value replaced by the secret it names.
 */
async function childEnvironment(
  envFiles: readonly string[],
): Promise<{ env: Record<string, string>; secrets: string[] }> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) env[name] = value;
  }
  for (const file of envFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw ioError(`cannot read env file ${file}`, e);
    }
    for (const [name, value] of parseEnvFile(text, file)) env[name] = value;
  }
  const wanted: (Wanted & { name: string })[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isReference(value))
      wanted.push({ name, where: name, reference: parseReference(value, name) });
  }
  const values = await resolve(wanted);
  const secrets: string[] = [];
  for (const { name, reference } of wanted) {
    const value = values.get(referenceKey(reference))!;
    if (value.includes('\0')) {
      throw new CliError(
        'CLI_ENV_VALUE',
        `${name}: the value of ${reference.text} holds a NUL byte, which an environment variable cannot`,
      );
    }
    const size = Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
    if (process.platform === 'linux' && size > LINUX_MAX_ENV_STRING) {
      throw new CliError(
        'CLI_ENV_VALUE',
        `${name}: the value of ${reference.text} is ${Buffer.byteLength(value)} bytes; linux takes at most ${LINUX_MAX_ENV_STRING - 1} bytes per environment variable`,
      );
    }
    env[name] = value;
    secrets.push(value);
  }
  return { env, secrets };
}

/**
 * Starts the child. `ready` resolves once it runs, or fails with a coded error when it cannot
 * be started (the child object exists at once, so signals can be forwarded from the start).
 */
function start(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  pipes: boolean,
): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(command, args, {
    env,
    stdio: ['inherit', pipes ? 'pipe' : 'inherit', pipes ? 'pipe' : 'inherit'],
  });
  const ready = new Promise<void>((resolvePromise, reject) => {
    child.once('spawn', () => {
      resolvePromise();
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new CliError('CLI_COMMAND_NOT_FOUND', `command not found: ${command}`));
      } else if (e.code === 'E2BIG') {
        reject(new CliError('CLI_ENV_VALUE', `the environment is too large to start ${command}`));
      } else if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'ENOEXEC') {
        reject(
          new CliError(
            'CLI_COMMAND_NOT_EXECUTABLE',
            `cannot execute ${command}: permission denied`,
          ),
        );
      } else {
        reject(ioError(`cannot start ${command}`, e));
      }
    });
  });
  return { child, ready };
}

/**
 * Copies `from` to `to` through a masker, honouring back-pressure (a slow reader slows the
 * child). When `to` fails (EPIPE: our reader went away) the child's pipe is closed, so the child
 * sees what it would have seen writing to the reader directly.
 */
async function pump(from: Readable, to: NodeJS.WriteStream, masker: Masker): Promise<void> {
  // An object, not a `let`: the flag changes in a listener, between the loop's checks.
  const output = { broken: false };
  const onError = (): void => {
    output.broken = true;
    from.destroy();
  };
  to.on('error', onError);
  const drained = (): Promise<void> =>
    new Promise((resolvePromise) => {
      const done = (): void => {
        to.off('drain', done);
        to.off('error', done);
        to.off('close', done);
        resolvePromise();
      };
      to.once('drain', done);
      to.once('error', done);
      to.once('close', done);
    });
  try {
    for await (const chunk of from) {
      const out = masker.push(chunk as Buffer);
      if (!output.broken && out.length > 0 && !to.write(out)) await drained();
    }
    const rest = masker.end();
    if (!output.broken && rest.length > 0) to.write(rest);
  } catch {
    // The pipe was destroyed above (our output failed); nothing more can be delivered.
  } finally {
    to.off('error', onError);
  }
}

/** The exit code for the child's end: its own, or 128 + the signal that killed it. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : osConstants.signals[signal];
  return n === undefined ? 1 : 128 + n;
}

/**
 * `saltbox run [--env-file FILE]... [--no-masking] -- CMD ARGS...`: runs CMD with every
 * `saltbox://` reference in its environment replaced by the value it names; returns CMD's exit
 * code (128 + n when signal n killed it).
 *
 * @throws CliError before CMD starts: `CLI_USAGE` (no CMD), `CLI_IO` / `CLI_ENV_FILE` (an env
 *   file), `CLI_BAD_REFERENCE`, `CLI_KV_NO_VALUE` / `CLI_KV` (a reference cannot be read),
 *   `CLI_ENV_VALUE`, `CLI_COMMAND_NOT_FOUND` (exit 127), `CLI_COMMAND_NOT_EXECUTABLE` (126).
 */
export async function runCommand(flags: Flags, _ctx: CommandContext): Promise<number> {
  const [command, ...args] = positionals(flags);
  if (command === undefined) throw usage('expected a command to run: saltbox run -- CMD ARGS...');
  const { env, secrets } = await childEnvironment(strings(flags, 'env-file'));
  // Nothing to conceal: the child keeps our terminal, as with --no-masking.
  const masking = flags['no-masking'] !== true && secrets.length > 0;

  const { child, ready } = start(command, args, env, masking);
  // From now on signals belong to the child: saltbox passes them on and exits when it does.
  // On a terminal, Ctrl-C (SIGINT) and a hangup (SIGHUP) already reach the child, which is in
  // the terminal's foreground process group with saltbox; sending them again would turn a
  // graceful shutdown into a forced one in programs that treat a second Ctrl-C so. SIGTERM
  // never comes from the terminal and is always passed on.
  const onTerminal = isatty(0) || isatty(1) || isatty(2);
  const forward = (signal: NodeJS.Signals): void => {
    if (onTerminal && signal !== 'SIGTERM') return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  setSignalForwarder(forward);
  const direct = FORWARDED_DIRECTLY.map((s) => {
    const listener = (): void => {
      forward(s);
    };
    process.on(s, listener);
    return () => process.off(s, listener);
  });
  try {
    const exited = new Promise<number>((resolvePromise) => {
      child.once('exit', (code, signal) => {
        resolvePromise(exitCodeOf(code, signal));
      });
    });
    await ready;
    const pumps =
      masking && child.stdout && child.stderr
        ? [
            pump(child.stdout, process.stdout, new Masker(secrets)),
            pump(child.stderr, process.stderr, new Masker(secrets)),
          ]
        : [];
    const [code] = await Promise.all([exited, ...pumps]);
    return code;
  } finally {
    setSignalForwarder(undefined);
    for (const off of direct) off();
  }
}

/**
 * `saltbox inject [-i TEMPLATE] [-o FILE]`: the template with each `{{ saltbox://… }}` replaced
 * by its value, written to FILE (0600, atomically: complete or not at all) or standard output.
 * Every reference is read before anything is written.
 *
 * @throws CliError `CLI_IO` (template, output), `CLI_BAD_REFERENCE`, `CLI_KV_NO_VALUE` /
 *   `CLI_KV` (a reference cannot be read).
 */
export async function injectCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  if (positionals(flags).length > 0) throw usage('inject takes no arguments; use -i TEMPLATE');
  const input = typeof flags.input === 'string' ? flags.input : undefined;
  const output = typeof flags.output === 'string' ? flags.output : undefined;
  let template: string;
  try {
    template =
      input === undefined || input === '-'
        ? await readStdin()
        : await readFile(input, { encoding: 'utf8' });
  } catch (e) {
    throw ioError(
      input === undefined ? 'cannot read standard input' : `cannot read template ${input}`,
      e,
    );
  }
  const placeholders = templatePlaceholders(template, input ?? 'standard input');
  const values = await resolve(
    placeholders.map((p) => ({ reference: p.reference, where: p.where })),
  );
  const text = fillTemplate(template, placeholders, values);
  if (output === undefined || output === '-') {
    ctx.console.stdout(text);
    return;
  }
  await writeSecretFileAtomic(output, text, true);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
