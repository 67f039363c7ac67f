/**
 * The Keybase-compatible `kvstore api` dispatcher (specs/keybase-kvstore.md §1): a stream of
 * JSON requests in, one JSON reply per request out, byte for byte what `keybase kvstore api`
 * writes — including Go's quirks, because bots parse these replies:
 *
 * - the request is decoded into one `Call` that lives for the whole stream (Go's decoder
 *   reuses it), so a request that omits `id`, `method` or `params.options` inherits them from
 *   the one before;
 * - errors of the envelope (version, method, login) are never indented, even with `-p`;
 * - a request that does not decode (syntax, wrong type, truncated) gets an error reply and
 *   ends the stream; everything else, success or failure, is a reply and the stream goes on.
 *
 * @packageDocumentation
 */
import { isClientError } from '../errors.js';
import type { KvstoreBackend } from './backend.js';
import {
  GoDecodeErrors,
  goEachField,
  goEncode,
  goInt,
  goStrconvQuote,
  goString,
  scanValue,
} from './go-json.js';
import type { GoJsonValue, GoOut, GoScanResult } from './go-json.js';

/** Go's `Call` as it stands after the requests decoded so far. */
interface CallState {
  jsonrpc: string;
  id: bigint;
  method: string;
  version: bigint;
  /** `params.options` as raw JSON (Go's `json.RawMessage`); undefined = never given. */
  options: GoJsonValue | undefined;
}

/** The methods, exactly (`del`, not `delete`). */
const METHODS = ['get', 'put', 'del', 'list'] as const;
type Method = (typeof METHODS)[number];

/** Per method: Go's options struct name and its JSON field names, in declaration order. */
const OPTION_STRUCTS: Record<Method, { struct: string; fields: readonly string[] }> = {
  get: { struct: 'getEntryOptions', fields: ['team', 'namespace', 'entryKey'] },
  put: {
    struct: 'putEntryOptions',
    fields: ['team', 'namespace', 'entryKey', 'revision', 'entryValue'],
  },
  del: { struct: 'deleteEntryOptions', fields: ['team', 'namespace', 'entryKey', 'revision'] },
  list: { struct: 'listOptions', fields: ['team', 'namespace'] },
};

/** Decoded options (Go zero values: empty strings; pointers absent = undefined). */
interface Options {
  team: string | undefined;
  namespace: string;
  entryKey: string;
  entryValue: string;
  revision: bigint | undefined;
}

/** A failure rendered into the reply's `error` member. */
class ReplyError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** How an error thrown by the backend reads in a reply (Keybase's `AppStatusError` form). */
function describeError(e: unknown): ReplyError {
  if (e instanceof ReplyError) return e;
  if (isClientError(e, 'CLIENT_KVSTORE_STATUS')) {
    const status = Number(e.details.status);
    return new ReplyError(status, `${String(e.details.desc)} (error ${status})`);
  }
  // Client errors are secret-free by construction; anything else could quote data.
  if (isClientError(e)) return new ReplyError(0, e.message);
  return new ReplyError(0, 'internal error');
}

/** Why the request stream could not be read, without the path or anything it held. */
function readError(e: unknown): ReplyError {
  const reasons: Record<string, string> = {
    EISDIR: 'is a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EIO: 'input/output error',
    ECONNRESET: 'connection reset',
    EPIPE: 'broken pipe',
  };
  const code = (e as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? reasons[code] : undefined;
  return new ReplyError(0, `cannot read the requests${reason === undefined ? '' : `: ${reason}`}`);
}

/** Keybase's `fmt.Errorf("<prefix>: %s", err)`: the text is kept, the status code is lost. */
function wrapped(prefix: string, e: unknown): ReplyError {
  return new ReplyError(0, `${prefix}: ${describeError(e).message}`);
}

/** Options of {@link KvstoreApi}. */
export interface KvstoreApiOptions {
  /** Indent replies with four spaces (`-p, --pretty`). */
  readonly pretty?: boolean;
}

/** Where replies go; awaited, so a slow reader slows the dispatcher down. */
export type ReplyWriter = (text: string) => void | Promise<void>;

/**
 * Keybase's `kvstore api` over a {@link KvstoreBackend}.
 *
 * @typeParam Team - the backend's resolved-team type.
 */
export class KvstoreApi<Team = unknown> {
  readonly #backend: KvstoreBackend<Team>;
  readonly #pretty: boolean;

  /**
   * @param backend - who is logged in, team resolution and the KV operations.
   * @param options - `pretty` for four-space indentation.
   */
  constructor(backend: KvstoreBackend<Team>, options: KvstoreApiOptions = {}) {
    this.#backend = backend;
    this.#pretty = options.pretty === true;
  }

  /**
   * Reads JSON requests from `input` one after another (whitespace between them optional, as
   * Go's stream decoder) and writes one reply line per request. Requests are answered as soon
   * as they are complete, so a caller may wait for each reply before writing the next.
   * Never throws for bad input: it becomes an error reply.
   */
  async run(
    input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    write: ReplyWriter,
  ): Promise<void> {
    const call: CallState = { jsonrpc: '', id: 0n, method: '', version: 0n, options: undefined };
    const chunks =
      Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
    let buffer = new Uint8Array(0);
    let position = 0;
    let atEnd = false;
    try {
      for (;;) {
        let scanned: GoScanResult;
        try {
          scanned = scanValue(buffer, position, atEnd);
        } catch {
          // The scanner throws nothing for any input; if it ever did, the caller still gets
          // its one JSON line (a bot parses every reply) and no quoted data.
          await write(this.#reply(call, new ReplyError(0, 'internal error'), false));
          return;
        }
        switch (scanned.type) {
          case 'more': {
            let next: IteratorResult<Uint8Array>;
            try {
              next = await chunks.next();
            } catch (e) {
              // An input that fails to read (a directory given to -i, a broken pipe) ends the
              // stream with an error reply, as Go's decoder returns the read error.
              await write(this.#reply(call, readError(e), false));
              return;
            }
            if (next.done === true) {
              atEnd = true;
            } else {
              const rest = buffer.subarray(position);
              const joined = new Uint8Array(rest.length + next.value.length);
              joined.set(rest);
              joined.set(next.value, rest.length);
              buffer = joined;
              position = 0;
            }
            continue;
          }
          case 'end':
            return;
          case 'truncated':
            await write(
              this.#reply(
                call,
                new ReplyError(0, 'invalid JSON: expected more JSON in input'),
                false,
              ),
            );
            return;
          case 'error':
            await write(this.#reply(call, new ReplyError(0, scanned.message), false));
            return;
          case 'value': {
            position = scanned.end;
            const errors = new GoDecodeErrors();
            decodeCall(scanned.value, call, errors);
            if (errors.first !== undefined) {
              await write(this.#reply(call, new ReplyError(0, errors.first), false));
              return;
            }
            await write(await this.#handle(call));
          }
        }
      }
    } finally {
      await chunks.return?.();
    }
  }

  /**
   * Answers a whole input given as text (e.g. `-m '<json>'`): the concatenated reply lines.
   */
  async runText(text: string): Promise<string> {
    let out = '';
    await this.run([new TextEncoder().encode(text)], (reply) => {
      out += reply;
    });
    return out;
  }

  #reply(call: CallState, outcome: ReplyError | GoOut, indent: boolean): string {
    const envelope: Record<string, GoOut | undefined> = {
      jsonrpc: call.jsonrpc === '' ? undefined : call.jsonrpc,
      id: call.id === 0n ? undefined : call.id,
    };
    if (outcome instanceof ReplyError) {
      envelope.error = { code: outcome.code, message: outcome.message };
    } else {
      envelope.result = outcome;
    }
    return goEncode(envelope, indent);
  }

  async #handle(call: CallState): Promise<string> {
    if (call.version !== 0n && call.version !== 1n) {
      return this.#reply(call, new ReplyError(0, `invalid version ${call.version}`), false);
    }
    const method = call.method;
    if (!(METHODS as readonly string[]).includes(method)) {
      return this.#reply(
        call,
        new ReplyError(0, `invalid v1 method ${goStrconvQuote(method)}`),
        false,
      );
    }
    let username: string | null;
    try {
      username = await this.#backend.currentUsername();
    } catch (e) {
      return this.#reply(call, describeError(e), false);
    }
    if (username === null) return this.#reply(call, new ReplyError(0, 'not logged in'), false);
    let result: GoOut;
    try {
      const options = decodeOptions(call.options, method as Method);
      result = await this.#run(method as Method, options, `${username},${username}`);
    } catch (e) {
      return this.#reply(call, describeError(e), this.#pretty);
    }
    return this.#reply(call, result, this.#pretty);
  }

  async #run(method: Method, o: Options, selfTeam: string): Promise<GoOut> {
    const backend = this.#backend;
    // Absent or null means the self-team; an empty string is passed on (and fails to resolve).
    const teamName = o.team ?? selfTeam;
    const team = await backend.resolveTeam(teamName);
    switch (method) {
      case 'get': {
        const entry = await backend.get(team, o.namespace, o.entryKey);
        return {
          teamName,
          namespace: o.namespace,
          entryKey: o.entryKey,
          entryValue: entry.entryValue,
          revision: entry.revision,
        };
      }
      case 'put': {
        let revision = revisionNumber(o.revision);
        if (revision === 0) {
          try {
            revision = (await backend.get(team, o.namespace, o.entryKey)).revision + 1;
          } catch (e) {
            throw wrapped('error fetching the revision before writing this entry', e);
          }
        }
        const confirmed = await backend.put(team, o.namespace, o.entryKey, o.entryValue, revision);
        if (confirmed !== revision) {
          throw new ReplyError(
            0,
            `kvstore PUT revision error. expected ${revision}, got ${confirmed}`,
          );
        }
        return { teamName, namespace: o.namespace, entryKey: o.entryKey, revision: confirmed };
      }
      case 'del': {
        let revision = revisionNumber(o.revision);
        if (revision === 0) {
          try {
            revision = (await backend.get(team, o.namespace, o.entryKey)).revision + 1;
          } catch (e) {
            throw wrapped('error fetching the revision before deleting this entry', e);
          }
        }
        const confirmed = await backend.del(team, o.namespace, o.entryKey, revision);
        if (confirmed !== revision) {
          throw new ReplyError(
            0,
            `kvstore DEL revision error. expected ${revision}, got ${confirmed}`,
          );
        }
        return { teamName, namespace: o.namespace, entryKey: o.entryKey, revision };
      }
      case 'list': {
        if (o.namespace.length === 0) {
          const namespaces = await backend.listNamespaces(team);
          return { teamName, namespaces: [...namespaces] };
        }
        const keys = await backend.listEntryKeys(team, o.namespace);
        return {
          teamName,
          namespace: o.namespace,
          entryKeys: keys.map((k) => ({ entryKey: k.entryKey, revision: k.revision })),
        };
      }
    }
  }
}

/** 0 = "not given" (Keybase passes 0 to its service for an absent revision). */
function revisionNumber(revision: bigint | undefined): number {
  // Beyond 2^53 no stored revision can match; the backend refuses it as a wrong revision.
  return revision === undefined ? 0 : Number(revision);
}

/** Decodes one request into the stream's `Call` (Go's `Decoder.Decode(&call)`). */
function decodeCall(value: GoJsonValue, call: CallState, errors: GoDecodeErrors): void {
  if (value.kind === 'null') return;
  if (value.kind !== 'object') {
    errors.typeError(value.kind, 'client.Call');
    return;
  }
  goEachField(value.members, ['Jsonrpc', 'ID', 'Method', 'Params'], (field, v) => {
    const at = { struct: 'Call', path: field };
    switch (field) {
      case 'Jsonrpc':
        call.jsonrpc = goString(v, call.jsonrpc, at, errors);
        return;
      case 'ID':
        call.id = goInt(v, call.id, at, errors);
        return;
      case 'Method':
        call.method = goString(v, call.method, at, errors);
        return;
      default:
        if (v.kind === 'null') return;
        if (v.kind !== 'object') {
          errors.typeError(v.kind, 'client.Params', 'Call', 'Params');
          return;
        }
        goEachField(v.members, ['Version', 'Options'], (f, pv) => {
          if (f === 'Version') {
            call.version = goInt(
              pv,
              call.version,
              { struct: 'Params', path: 'Params.Version' },
              errors,
            );
          } else {
            call.options = pv;
          }
        });
    }
  });
}

/**
 * Go's `unmarshalOptions`: decode the raw options into a fresh options struct, then `Check()`.
 *
 * @throws ReplyError with Go's decode error or the check's text.
 */
function decodeOptions(raw: GoJsonValue | undefined, method: Method): Options {
  const { struct, fields } = OPTION_STRUCTS[method];
  const o: Options = {
    team: undefined,
    namespace: '',
    entryKey: '',
    entryValue: '',
    revision: undefined,
  };
  const errors = new GoDecodeErrors();
  if (raw !== undefined && raw.kind !== 'null') {
    if (raw.kind !== 'object') {
      errors.typeError(raw.kind, `client.${struct}`);
    } else {
      goEachField(raw.members, fields, (field, v) => {
        const at = { struct, path: field };
        switch (field) {
          case 'team':
            // *string: null clears it (back to the self-team default).
            if (v.kind === 'null') o.team = undefined;
            else o.team = goString(v, o.team ?? '', at, errors);
            return;
          case 'revision':
            // *int: null clears it; a type error is reported below, whatever is left here.
            if (v.kind === 'null') o.revision = undefined;
            else o.revision = goInt(v, o.revision ?? 0n, at, errors);
            return;
          case 'namespace':
            o.namespace = goString(v, o.namespace, at, errors);
            return;
          case 'entryKey':
            o.entryKey = goString(v, o.entryKey, at, errors);
            return;
          default:
            o.entryValue = goString(v, o.entryValue, at, errors);
        }
      });
    }
  }
  if (errors.first !== undefined) throw new ReplyError(0, errors.first);
  const required = (ok: boolean, name: string): void => {
    if (!ok) throw new ReplyError(0, `\`${name}\` field required`);
  };
  if (method !== 'list') {
    required(o.namespace.length > 0, 'namespace');
    required(o.entryKey.length > 0, 'entryKey');
  }
  if (method === 'put') required(o.entryValue.length > 0, 'entryValue');
  if ((method === 'put' || method === 'del') && o.revision !== undefined && o.revision <= 0n) {
    throw new ReplyError(
      0,
      'if setting optional `revision` field, it needs to be a positive integer',
    );
  }
  return o;
}
