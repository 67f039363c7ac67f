/**
 * The Vault-transit bridge (spec keystore-and-secrets-providers §2.4, §3.6, §3.7): the two
 * transit endpoints Pulumi's `hashivault://` keeper and SOPS's `hc_vault_transit_uri` call,
 * answered by saltbox keepers, so the stock Pulumi CLI and SOPS encrypt their data keys to
 * saltbox users and teams.
 *
 * Served only on loopback TCP or a Unix socket. Every request needs the session token in
 * `X-Vault-Token` and `X-Vault-Request: true` (a browser cannot send it without a CORS
 * preflight, and no preflight is ever answered); requests carrying `Origin` are refused; only
 * `PUT`/`POST /v1/<engine>/{encrypt,decrypt}/<key>` exist — `..`, encoded slashes, queries and
 * every other path are refused. Answers are always JSON: 2xx with the field the Go keeper
 * type-asserts, or an error status with `{"errors":[…]}` (an empty 404 would crash it).
 *
 * Ciphertexts are `vault:v1:` + standard base64 of the Saltpack message; decryption ignores the
 * key name (the message names its recipients): it goes to one keeper of the account
 * ({@link VaultHandlerOptions.decrypter}), so renaming or removing an alias, or a key name that
 * was never one, cannot strand a file (issue 12, defect 20).
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProviderError } from './errors.js';
import type { ErrorCode } from './errors.js';
import type { Keeper } from './keeper.js';
import { parseKeeperUrl } from './mux.js';
import type { KeeperOpener } from './mux.js';

/** Prefix of bridge ciphertexts (Vault's own shape: `vault:v<version>:<base64>`). */
export const VAULT_CIPHERTEXT_PREFIX = 'vault:v1:';

/** Largest request body accepted (a ciphertext to 1000 users is about 300 KiB). */
export const VAULT_MAX_BODY = 4 * 1024 * 1024;

/** An answer: status and JSON body. */
export interface VaultAnswer {
  status: number;
  body: unknown;
}

/** What the handler needs. */
export interface VaultHandlerOptions {
  /** The session token clients must send in `X-Vault-Token`. */
  token: string;
  /** Secrets-engine mounts served (default `['transit']`). */
  engines?: readonly string[];
  /**
   * The keeper for a key name (a recipient set such as `alice,bob`, or an alias from config).
   *
   * @throws ProviderError `InvalidArgument` for a key name that is neither.
   */
  keeperFor(keyName: string): Promise<Keeper>;
  /**
   * The keeper every decryption goes to, whatever the key name: a ciphertext names its own
   * recipients, so it must open with the account's keys even when its key name is no longer
   * an alias (renamed, removed) or never was a recipient list ({@link vaultDecrypter}).
   */
  decrypter(): Promise<Keeper>;
}

const ENGINE = /^[A-Za-z0-9_-]{1,64}$/;
const KEY_NAME = /^[A-Za-z0-9,:._+-]{1,1024}$/;

function errors(status: number, ...messages: string[]): VaultAnswer {
  return { status, body: { errors: messages } };
}

/** HTTP status for a provider code (Vault answers 400 for bad input, 503 when sealed). */
function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'InvalidArgument':
    case 'NotFound':
    case 'Unimplemented':
      return 400;
    case 'PermissionDenied':
      return 403;
    case 'FailedPrecondition':
      return 503;
    case 'ResourceExhausted':
      return 429;
    case 'DeadlineExceeded':
    case 'Canceled':
      return 504;
    default:
      return 500;
  }
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || !BASE64.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function success(data: Record<string, unknown>): VaultAnswer {
  // Vault's response envelope; the Go client reads `data`.
  return {
    status: 200,
    body: {
      request_id: randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data,
      wrap_info: null,
      warnings: null,
      auth: null,
    },
  };
}

/** A request's head as the bridge sees it before reading any of its body. */
export interface VaultRequestHead {
  method: string;
  /** The raw request target (path and query, undecoded). */
  target: string;
  headers: Record<string, string | undefined>;
}

/** A request as the handler sees it (what `node:http` gives, reduced). */
export interface VaultRequest extends VaultRequestHead {
  body: Uint8Array;
}

/** What an accepted head asks for. */
export interface VaultRoute {
  op: 'encrypt' | 'decrypt';
  /** The decoded key name (a recipient list or an alias; decryption ignores it). */
  keyName: string;
}

/**
 * Judges a request by its head alone: origin, token, `X-Vault-Request`, path, method and the
 * declared `Content-Length` (issue 12, defect 18). The server calls it before reading a byte of
 * the body, so a caller without the token, or with a body over {@link VAULT_MAX_BODY}, costs
 * the bridge no memory.
 *
 * @returns the route, or the refusal to send.
 */
export function checkVaultRequestHead(
  req: VaultRequestHead,
  options: Pick<VaultHandlerOptions, 'token' | 'engines'>,
): VaultRoute | VaultAnswer {
  if (req.headers.origin !== undefined)
    return errors(403, 'requests from browsers (with an Origin header) are refused');
  if (req.method === 'OPTIONS') return errors(405, 'method not allowed');
  if (!tokenMatches(req.headers['x-vault-token'], options.token))
    return errors(403, 'permission denied');
  if (req.headers['x-vault-request'] !== 'true')
    return errors(412, 'missing required request header "X-Vault-Request: true"');

  // Path rules: checked on the raw target, before any decoding.
  const target = req.target;
  if (target.includes('?') || target.includes('#')) return errors(400, 'query strings are refused');
  if (/%2f|%5c|%2e|\\/i.test(target) || target.split('/').some((s) => s === '..' || s === '.'))
    return errors(400, 'path traversal is refused');
  const parts = target.split('/');
  // ['', 'v1', engine, op, key]
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'v1')
    return errors(404, 'no handler for route');
  const [, , engine, op, rawKey] = parts as [string, string, string, string, string];
  const engines = options.engines ?? ['transit'];
  if (!ENGINE.test(engine) || !engines.includes(engine)) return errors(404, 'no handler for route');
  if (op !== 'encrypt' && op !== 'decrypt') return errors(404, 'no handler for route');
  if (req.method !== 'PUT' && req.method !== 'POST')
    return errors(405, 'method not allowed: use PUT or POST');
  let keyName: string;
  try {
    keyName = decodeURIComponent(rawKey);
  } catch {
    return errors(400, 'invalid key name');
  }
  if (!KEY_NAME.test(keyName)) return errors(400, 'invalid key name');
  const length = req.headers['content-length'];
  if (length !== undefined && !(/^\d{1,16}$/.test(length) && Number(length) <= VAULT_MAX_BODY))
    return errors(413, 'request body too large');
  return { op, keyName };
}

/**
 * Answers an accepted request from its body.
 *
 * @returns the answer; keeper failures become Vault's status codes, never an exception.
 */
export async function answerVaultRequest(
  route: VaultRoute,
  body: Uint8Array,
  options: VaultHandlerOptions,
): Promise<VaultAnswer> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return errors(400, 'failed to parse JSON input');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return errors(400, 'failed to parse JSON input');
  const input = json as Record<string, unknown>;
  if ('batch_input' in input) return errors(400, 'batch_input is not supported');

  try {
    if (route.op === 'encrypt') {
      const keeper = await options.keeperFor(route.keyName);
      const plaintext = decodeBase64(input.plaintext);
      if (!plaintext) return errors(400, 'plaintext must be standard base64');
      const ct = await keeper.encrypt(plaintext);
      return success({
        ciphertext: VAULT_CIPHERTEXT_PREFIX + Buffer.from(ct).toString('base64'),
        key_version: 1,
      });
    }
    const text = input.ciphertext;
    if (typeof text !== 'string' || !text.startsWith(VAULT_CIPHERTEXT_PREFIX))
      return errors(400, 'invalid ciphertext: no prefix');
    const ct = decodeBase64(text.slice(VAULT_CIPHERTEXT_PREFIX.length));
    if (!ct || ct.length === 0) return errors(400, 'invalid ciphertext: bad base64');
    // Not keeperFor(route.keyName): the key name only routes encryption.
    const keeper = await options.decrypter();
    const plaintext = await keeper.decrypt(ct);
    return success({ plaintext: Buffer.from(plaintext).toString('base64') });
  } catch (e) {
    if (e instanceof ProviderError) return errors(statusFor(e.code), e.message);
    return errors(500, 'internal error');
  }
}

/**
 * Answers one request: {@link checkVaultRequestHead}, then {@link answerVaultRequest}. Pure
 * apart from the keepers, so the rules are tested without sockets (and with them, through
 * {@link startVaultBridge}, which reads the body only after the head passed).
 */
export async function handleVaultRequest(
  req: VaultRequest,
  options: VaultHandlerOptions,
): Promise<VaultAnswer> {
  const route = checkVaultRequestHead(req, options);
  if ('status' in route) return route;
  return answerVaultRequest(route, req.body, options);
}

/** Where the bridge listens: `127.0.0.1:8200`, `[::1]:8200`, `localhost:0`, or a socket path. */
export type VaultListen = string;

/** A running bridge. */
export interface VaultBridge {
  /** `http://127.0.0.1:<port>` or `unix://<path>` — what VAULT_ADDR should say. */
  readonly address: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Parses a listen address; only loopback hosts and Unix socket paths.
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_VAULT_REFUSED`) for anything else.
 */
export function parseVaultListen(
  listen: VaultListen,
): { host: string; port: number } | { path: string } {
  if (listen.startsWith('unix://')) return { path: listen.slice('unix://'.length) };
  if (listen.startsWith('/')) return { path: listen };
  const m = /^(?:\[([0-9a-f:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !LOOPBACK.has(host) || port > 65535)
    throw new ProviderError(
      'InvalidArgument',
      'PROVIDER_VAULT_REFUSED',
      'the vault bridge listens on loopback (127.0.0.1:PORT, [::1]:PORT) or a unix socket path only',
      { listen },
    );
  return { host, port };
}

function what(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

function pathTaken(path: string, found: string, message: string): ProviderError {
  return new ProviderError(
    'AlreadyExists',
    'PROVIDER_VAULT_PATH_TAKEN',
    `the vault bridge cannot listen on ${path}: ${message}`,
    { path, found },
  );
}

/**
 * Whether a process answers on the Unix socket at `path`: a connection is accepted (or cannot
 * be judged: no permission, a full backlog, no answer within a second). Only a refused
 * connection (ECONNREFUSED) — the socket of a process that is gone — counts as stale.
 */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (answers: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => {
      done(true);
    }, 1_000);
    s.once('connect', () => {
      done(true);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      done(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT');
    });
  });
}

/**
 * Makes a Unix socket path ready for the bridge (issue 12, defect 19): nothing there, or a
 * stale socket — a socket nobody answers on, as a killed agent leaves — which is removed.
 * Anything else is left exactly as it is: a regular file, a directory, a link, or a socket a
 * live process serves.
 *
 * @throws ProviderError `AlreadyExists` (`PROVIDER_VAULT_PATH_TAKEN`) naming what is there.
 */
export async function prepareVaultSocketPath(path: string): Promise<void> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw pathTaken(path, 'unreadable', 'the path cannot be inspected');
  }
  if (!st.isSocket())
    throw pathTaken(path, what(st), `${what(st)} is there (only a stale socket is replaced)`);
  if (await socketAnswers(path))
    throw pathTaken(path, 'a live socket', 'another process is serving that socket');
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw pathTaken(path, 'a stale socket', 'the stale socket there cannot be removed');
  }
}

/** A fresh session token (`sbx.` + 32 random bytes, base64url). */
export function newVaultToken(): string {
  return `sbx.${randomBytes(32).toString('base64url')}`;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Reads a body of at most `limit` bytes (a chunked body declares no length). Past the limit it
 * stops reading and resolves `undefined`; the caller answers 413 and closes the connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.once('error', reject);
  });
}

function send(res: ServerResponse, answer: VaultAnswer, close = false): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    // A refusal before (or instead of) reading the body ends the connection: what the client
    // still sends is never read.
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/**
 * Starts the bridge.
 *
 * @throws ProviderError `InvalidArgument` for a non-loopback address, `AlreadyExists`
 *   (`PROVIDER_VAULT_PATH_TAKEN`) for a socket path holding anything but a stale socket
 *   ({@link prepareVaultSocketPath}); socket errors (`EADDRINUSE`) as they come.
 */
export async function startVaultBridge(
  options: VaultHandlerOptions & { listen: VaultListen },
): Promise<VaultBridge> {
  const where = parseVaultListen(options.listen);
  // The head is judged before a byte of the body is read (issue 12, defect 18); a client
  // sending `Expect: 100-continue` gets its 100 only then.
  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = headerValue(v);
    const route = checkVaultRequestHead(
      { method: req.method ?? '', target: req.url ?? '', headers },
      options,
    );
    if ('status' in route) {
      send(res, route, true);
      return;
    }
    if (expectsContinue) res.writeContinue();
    void (async () => {
      const body = await readBody(req, VAULT_MAX_BODY);
      if (!body) {
        send(res, errors(413, 'request body too large'), true);
        return;
      }
      send(res, await answerVaultRequest(route, body, options));
    })().catch(() => {
      if (!res.headersSent) send(res, errors(500, 'internal error'), true);
      else res.destroy();
    });
  };
  const server: Server = createServer((req, res) => {
    serve(req, res, false);
  });
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, true);
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in where) {
      prepareVaultSocketPath(where.path).then(() => server.listen(where.path, resolve), reject);
    } else server.listen(where.port, where.host, resolve);
  });
  let address: string;
  if ('path' in where) {
    await chmod(where.path, 0o600);
    address = `unix://${where.path}`;
  } else {
    const a = server.address() as AddressInfo;
    address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/**
 * Key names → keepers for the bridge: an alias from config (a recipient list such as
 * `alice,team:acme`, or a full `keybase://…` URL with parameters), else the key name itself as
 * a recipient list. One keeper per name, so its key cache is shared by every request.
 *
 * @throws ProviderError `InvalidArgument` (from the opener) for a name that is neither.
 */
export function vaultKeeperResolver(options: {
  opener: KeeperOpener;
  aliases?: Readonly<Record<string, string>>;
}): (keyName: string) => Promise<Keeper> {
  const keepers = new Map<string, Promise<Keeper>>();
  return (keyName) => {
    let k = keepers.get(keyName);
    if (!k) {
      const alias =
        options.aliases && Object.hasOwn(options.aliases, keyName)
          ? options.aliases[keyName]
          : undefined;
      const url = alias?.includes('://') ? alias : `keybase://${alias ?? keyName}`;
      k = (async () => options.opener(parseKeeperUrl(url)))();
      k.catch(() => keepers.delete(keyName));
      keepers.set(keyName, k);
    }
    return k;
  };
}

/**
 * The bridge's decrypter for an account: one `keybase://<username>` keeper, opened once. Its
 * recipient list is never used to decrypt — the keystore opens whatever message names one of
 * its keys (a team's, an old device's) — so every key name decrypts the same.
 *
 * @throws ProviderError from the opener (`PROVIDER_BAD_RECIPIENT` for a malformed username).
 */
export function vaultDecrypter(options: {
  opener: KeeperOpener;
  username: string;
}): () => Promise<Keeper> {
  let keeper: Promise<Keeper> | undefined;
  return () => {
    if (!keeper) {
      const k = (async () => options.opener(parseKeeperUrl(`keybase://${options.username}`)))();
      k.catch(() => {
        keeper = undefined;
      });
      keeper = k;
    }
    return keeper;
  };
}
