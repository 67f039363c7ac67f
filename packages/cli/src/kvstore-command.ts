/**
 * `saltbox kvstore api` (Keybase's JSON interface, specs/keybase-kvstore.md §1.1) and the
 * human `saltbox kv get|put|del|list`. Both only wire `@saltbox/client`'s `KvstoreApi` to
 * files, standard input/output and the account's KV backend; the semantics live there.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { CommandContext, Flags } from './context.js';
import { CliError, ioError, usage } from './errors.js';
import { connectService, ServiceUnavailable } from './service-client.js';
import type { ServiceClient } from './service-client.js';
import { displayText } from './ui.js';

/**
 * Runs `fn` against the running agent's client service (issue #15.2), or returns undefined when
 * there is none, or it predates the service: the caller then runs in-process. Nothing has been
 * executed when it falls back (an unknown method is refused before anything runs).
 */
async function viaAgent<T>(fn: (service: ServiceClient) => Promise<T>): Promise<T | undefined> {
  const service = await connectService();
  if (!service) return undefined;
  try {
    return await fn(service);
  } catch (e) {
    if (e instanceof ServiceUnavailable) return undefined;
    throw e;
  } finally {
    service.close();
  }
}

/** The in-process dispatcher over this home's backend (loaded only when no agent serves). */
async function inProcessApi(pretty: boolean) {
  const [{ KvstoreApi }, { openKvstoreBackend, unavailableBackend }] = await Promise.all([
    import('@saltbox/client'),
    import('./kvstore-backend.js'),
  ]);
  // A session that cannot be opened is a reply per request, not a crash (bot contract).
  const backend = await openKvstoreBackend().catch(unavailableBackend);
  return { api: new KvstoreApi(backend, { pretty }), close: () => backend.close() };
}

/** Go's `*PathError` text for a failed open, as Keybase prints it in a JSON reply. */
function goOpenError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'ENOTDIR'
            ? 'not a directory'
            : 'input/output error';
  return `open ${path}: ${reason}`;
}

const stringFlag = (flags: Flags, name: string): string =>
  typeof flags[name] === 'string' ? flags[name] : '';

const positionals = (flags: Flags): string[] =>
  Array.isArray(flags._positionals)
    ? flags._positionals.filter((p): p is string => typeof p === 'string')
    : [];

/**
 * `kvstore api [-m JSON | -i FILE] [-o FILE] [-p]`: one reply line per request; API errors are
 * replies and the exit status stays 0, as with Keybase. Only a wrong command line fails.
 *
 * @throws CliError `CLI_USAGE` for positional arguments or both `-m` and `-i`.
 */
export async function kvstoreApiCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  if (positionals(flags).length > 0) throw usage('api takes no arguments');
  const message = stringFlag(flags, 'm');
  const infile = stringFlag(flags, 'infile');
  const outfile = stringFlag(flags, 'outfile');
  if (message !== '' && infile !== '') throw usage('specify -m or -i, but not both');
  const pretty = flags.pretty === true;

  // Keybase reports a file it cannot open as a JSON error on standard output (exit 0).
  const failOpen = (path: string, e: unknown): void => {
    ctx.console.stdout(
      `${JSON.stringify({ error: { code: 0, message: goOpenError(path, e) } })}\n`,
    );
  };
  let out: FileHandle | undefined;
  if (outfile !== '') {
    try {
      out = await open(outfile, 'w');
    } catch (e) {
      failOpen(outfile, e);
      return;
    }
  }
  try {
    let input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    if (message !== '') {
      input = [new TextEncoder().encode(message)];
    } else if (infile !== '') {
      try {
        // Open first, so a missing file is reported before anything else happens.
        await (await open(infile, 'r')).close();
      } catch (e) {
        failOpen(infile, e);
        return;
      }
      input = createReadStream(infile);
    } else {
      input = process.stdin;
    }
    const write = async (reply: string): Promise<void> => {
      if (out) await out.write(reply);
      else ctx.console.stdout(reply);
    };
    const source = input;
    const served = await viaAgent(async (service) => {
      if (message !== '') {
        for (const reply of (await service.kvstoreApi({ text: message, pretty })).replies)
          await write(reply);
        return true;
      }
      // Streamed: each request is answered as soon as it is complete, as in-process.
      const { stream } = await service.kvstoreOpen({ pretty });
      for await (const chunk of source) {
        const data = Buffer.from(chunk).toString('base64');
        for (const reply of (await service.kvstoreWrite({ stream, data })).replies)
          await write(reply);
      }
      for (const reply of (await service.kvstoreEnd({ stream })).replies) await write(reply);
      return true;
    });
    if (served === undefined) {
      const { api, close } = await inProcessApi(pretty);
      try {
        await api.run(input, write);
      } finally {
        await close();
      }
    }
  } finally {
    await out?.close();
  }
}

/** Sends `kv` requests through one dispatcher over this home's backend. */
export interface KvRequests {
  /**
   * Runs one request and returns its result.
   *
   * @throws CliError `CLI_KV` with the API's error message.
   */
  request(
    method: string,
    options: Record<string, string | number | undefined>,
  ): Promise<Record<string, unknown>>;
  /** Closes the session (keystore, agent connection) behind the backend. */
  close(): Promise<void>;
}

/**
 * Opens the account's KV backend once for several requests (`saltbox run`, `inject`): the same
 * dispatcher, verification and rollback cache as `saltbox kv`.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN` when this home has no account: the commands for people
 *   say so as every other account command does (exit 3, where, and how to sign up or log in);
 *   only `kvstore api` answers Keybase's bare `not logged in` (the bot contract).
 */
export async function openKvRequests(): Promise<KvRequests> {
  const service = await connectService();
  let runText: (text: string) => Promise<string>;
  let close: () => Promise<void>;
  if (service) {
    let local: Awaited<ReturnType<typeof inProcessApi>> | undefined;
    runText = async (text) => {
      if (!local) {
        try {
          return (await service.kvstoreApi({ text })).replies.join('');
        } catch (e) {
          if (!(e instanceof ServiceUnavailable)) throw e;
          local = await inProcessApi(false);
        }
      }
      return local.api.runText(text);
    };
    close = async () => {
      service.close();
      await local?.close();
    };
  } else {
    const { requireConfig } = await import('./session.js');
    await requireConfig();
    const { openKvstoreBackend } = await import('./kvstore-backend.js');
    const { KvstoreApi } = await import('@saltbox/client');
    const backend = await openKvstoreBackend();
    const api = new KvstoreApi(backend);
    runText = (text) => api.runText(text);
    close = () => backend.close();
  }
  return {
    async request(method, options) {
      const reply = JSON.parse(
        await runText(JSON.stringify({ method, params: { version: 1, options } })),
      ) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
      if (reply.error) {
        throw new CliError('CLI_KV', reply.error.message);
      }
      return reply.result ?? {};
    },
    close,
  };
}

/** Runs one request through the dispatcher and returns its result, or throws its error. */
async function request(
  method: string,
  options: Record<string, string | number | undefined>,
): Promise<Record<string, unknown>> {
  const requests = await openKvRequests();
  try {
    return await requests.request(method, options);
  } finally {
    await requests.close();
  }
}

function revisionFlag(flags: Flags): number | undefined {
  const raw = flags.revision;
  if (typeof raw !== 'string') return undefined;
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw usage('--revision must be a positive integer');
  return Number(raw);
}

function teamFlag(flags: Flags): string | undefined {
  return typeof flags.team === 'string' ? flags.team : undefined;
}

function printJson(ctx: CommandContext, result: Record<string, unknown>): void {
  ctx.console.stdout(`${JSON.stringify(result)}\n`);
}

/** Exactly `n` positionals named in `names`, else a usage error. */
function args(flags: Flags, names: string[], optional = 0): string[] {
  const p = positionals(flags);
  if (p.length < names.length - optional || p.length > names.length) {
    throw usage(`expected ${names.join(' ')}`);
  }
  return p;
}

/**
 * `kv get [--team T] NAMESPACE KEY`: prints the value exactly as `kv put` stored it, so
 * `kv get … > FILE` and `kv put -i FILE` round-trip (up to the 1 MiB limit); on a terminal a
 * newline follows a value that lacks one, for the prompt's sake. With `--json`, the Keybase
 * result. An unset or deleted entry prints nothing and fails with `CLI_KV_NO_VALUE`
 * (with `--json` it is a result with `entryValue: null`).
 *
 * @throws CliError `CLI_KV` for API errors, `CLI_KV_NO_VALUE`, `CLI_USAGE`.
 */
export async function kvGet(flags: Flags, ctx: CommandContext): Promise<void> {
  const [namespace, entryKey] = args(flags, ['NAMESPACE', 'KEY']);
  const result = await request('get', { team: teamFlag(flags), namespace, entryKey });
  if (flags.json === true) {
    printJson(ctx, result);
    return;
  }
  if (typeof result.entryValue !== 'string') {
    throw new CliError('CLI_KV_NO_VALUE', `no value at ${String(namespace)}/${String(entryKey)}`);
  }
  const value = result.entryValue;
  ctx.console.stdout(process.stdout.isTTY && !value.endsWith('\n') ? `${value}\n` : value);
}

/**
 * `kv put [--team T] [--revision N] NAMESPACE KEY [VALUE | -i FILE]`: the value from the
 * argument, a file, or standard input (as is, no newline stripped).
 *
 * @throws CliError `CLI_KV`, `CLI_USAGE`, `CLI_IO`, `CLI_KV_VALUE_NOT_TEXT`.
 */
export async function kvPut(flags: Flags, ctx: CommandContext): Promise<void> {
  const [namespace, entryKey, given] = args(flags, ['NAMESPACE', 'KEY', 'VALUE'], 1);
  const infile = stringFlag(flags, 'input');
  if (given !== undefined && infile !== '') throw usage('give VALUE or -i FILE, not both');
  let entryValue = given;
  if (entryValue === undefined) {
    let bytes: Buffer;
    try {
      bytes = infile !== '' ? await readFile(infile) : await readAll(process.stdin);
    } catch (e) {
      throw ioError(infile !== '' ? `cannot read "${infile}"` : 'cannot read standard input', e);
    }
    entryValue = utf8Text(bytes, infile !== '' ? `"${infile}"` : 'standard input');
  }
  // Keybase's API takes an empty value for a missing one ("`entryValue` field required"),
  // which reads oddly after 'kv put NS KEY ""'; say it in the command's own terms.
  if (entryValue === '')
    throw usage(
      'a kv value cannot be empty',
      "to remove the entry, use 'saltbox kv del NAMESPACE KEY'",
    );
  const result = await request('put', {
    team: teamFlag(flags),
    namespace,
    entryKey,
    entryValue,
    revision: revisionFlag(flags),
  });
  if (flags.json === true) {
    printJson(ctx, result);
    return;
  }
  ctx.console.stderr(
    `saltbox: wrote ${String(namespace)}/${String(entryKey)} at revision ${String(result.revision)}\n`,
  );
}

/**
 * `kv del [--team T] [--revision N] NAMESPACE KEY`.
 *
 * @throws CliError `CLI_KV`, `CLI_USAGE`.
 */
export async function kvDel(flags: Flags, ctx: CommandContext): Promise<void> {
  const [namespace, entryKey] = args(flags, ['NAMESPACE', 'KEY']);
  const result = await request('del', {
    team: teamFlag(flags),
    namespace,
    entryKey,
    revision: revisionFlag(flags),
  });
  if (flags.json === true) {
    printJson(ctx, result);
    return;
  }
  ctx.console.stderr(
    `saltbox: deleted ${String(namespace)}/${String(entryKey)} at revision ${String(result.revision)}\n`,
  );
}

/**
 * `kv list [--team T] [NAMESPACE]`: namespaces, or a namespace's keys with their revisions
 * (`KEY<TAB>REVISION`), one per line.
 *
 * @throws CliError `CLI_KV`, `CLI_USAGE`.
 */
export async function kvList(flags: Flags, ctx: CommandContext): Promise<void> {
  const [namespace] = args(flags, ['NAMESPACE'], 1);
  const result = await request('list', { team: teamFlag(flags), namespace });
  if (flags.json === true) {
    printJson(ctx, result);
    return;
  }
  if (namespace === undefined) {
    const names = (result.namespaces ?? []) as string[];
    ctx.console.stdout(names.map((n) => `${displayText(n)}\n`).join(''));
  } else {
    const keys = (result.entryKeys ?? []) as { entryKey: string; revision: number }[];
    ctx.console.stdout(keys.map((k) => `${displayText(k.entryKey)}\t${k.revision}\n`).join(''));
  }
}

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) {
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/**
 * The input as text. KV values are strings (Keybase's API is JSON): bytes that are not UTF-8
 * would be replaced by U+FFFD and stored changed without a word, so they are refused.
 *
 * @throws CliError `CLI_KV_VALUE_NOT_TEXT`.
 */
function utf8Text(bytes: Buffer, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CliError(
      'CLI_KV_VALUE_NOT_TEXT',
      `${source} is not utf-8 text; kv values are text and it would be stored changed`,
    );
  }
}
