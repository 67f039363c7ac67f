/**
 * The typed HTTP client of saltbox's API: every request signed by a device key, every answer
 * validated with `@saltbox/protocol`'s zod schemas, every failure a coded {@link ClientError},
 * and transient failures retried with exponential backoff and full jitter.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import type { KidHex, LookupResponse } from '@saltbox/identity';
import {
  ApiError,
  CONTRACT,
  canonicalRequest,
  endpointPath,
  errorBodySchema,
  formatAuthorization,
  generateNonce,
  requestSigningInput,
  requestTarget,
} from '@saltbox/protocol';
import type {
  AppendLinksRequest,
  AppendTeamLinksRequest,
  ChainResponse,
  ChainTail,
  CreateTeamRequest,
  EndpointBody,
  EndpointName,
  EndpointParams,
  EndpointQuery,
  EndpointResponse,
  HttpMethod,
  KeyOwnerResponse,
  LogProofResponse,
  LogProofsResponse,
  PukBox,
  PukBoxesResponse,
  SignedLogRootWire,
  SignupRequest,
  TeamChainResponse,
  TeamDeleted,
  TeamKeyBoxesResponse,
  TeamListResponse,
  TeamTail,
  UsersLookupResponse,
  WhoamiResponse,
} from '@saltbox/protocol';
import type { z } from 'zod';
import { ClientError, isClientError } from './errors.js';

/**
 * Signs the canonical request string (protocol's `canonicalRequest`) for one key. The signature
 * must cover `"Saltbox-HTTP-Request-1" ‖ 0x00 ‖ canonical`, which is exactly what the keystore's
 * `http_request` purpose produces, so a keystore signer passes the canonical bytes unprefixed.
 */
export interface RequestSigner {
  /** The Ed25519 KID named in the `Authorization` header. */
  readonly kid: KidHex;
  /** Returns the 64-byte signature over the prefixed canonical string. */
  signCanonical(canonical: string): Promise<Uint8Array>;
}

/**
 * A signer over a 64-byte NaCl Ed25519 secret key held in memory (tests, bootstrapping). Real
 * clients use {@link keystoreRequestSigner} so the key never leaves the keystore.
 */
export function secretKeyRequestSigner(
  backend: CryptoBackend,
  secretKey: Uint8Array,
  kid: KidHex,
): RequestSigner {
  return {
    kid,
    signCanonical: (canonical) =>
      Promise.resolve(backend.ed25519Sign(requestSigningInput(canonical), secretKey)),
  };
}

/** The part of a keystore client {@link keystoreRequestSigner} needs (its batch `sign`). */
export interface KeystoreSignApi {
  sign(request: {
    items: { kid: string; purpose: 'http_request'; message: Uint8Array }[];
  }): Promise<{
    items: ({ result: { signature: Uint8Array } } | { error: { code: string; message: string } })[];
  }>;
}

/**
 * A signer that asks the keystore (in-process or the agent) to sign with purpose
 * `http_request`; the keystore adds the domain-separation prefix itself.
 *
 * @throws ClientError `CLIENT_SIGNER` (from `signCanonical`) when the keystore refuses.
 */
export function keystoreRequestSigner(keystore: KeystoreSignApi, kid: KidHex): RequestSigner {
  const utf8 = new TextEncoder();
  return {
    kid,
    async signCanonical(canonical) {
      const res = await keystore.sign({
        items: [{ kid, purpose: 'http_request', message: utf8.encode(canonical) }],
      });
      const item = res.items[0];
      if (item === undefined || 'error' in item)
        throw new ClientError('CLIENT_SIGNER', 'the keystore did not sign the request', {
          keystoreCode: item && 'error' in item ? item.error.code : null,
        });
      return item.result.signature;
    },
  };
}

/** Retry policy: exponential backoff with full jitter, bounded in attempts and total time. */
export interface RetryPolicy {
  /** Most attempts, the first included (default 5). */
  maxAttempts: number;
  /** Backoff base: attempt n waits a random time in [0, min(max, base·2ⁿ⁻¹)) (default 200 ms). */
  baseDelayMs: number;
  /** Cap of one backoff (default 10 s). */
  maxDelayMs: number;
  /** Budget for all attempts and waits of one call (default 60 s). */
  maxTotalMs: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxTotalMs: 60_000,
};

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  backend: CryptoBackend;
  /** Signs authenticated requests; without it only public routes work. */
  signer?: RequestSigner;
  /** `fetch` to use (default the global one); tests inject a rewriting fetch here. */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /** Injectable for tests: clock, sleep and the jitter source in [0, 1). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Per-attempt timeout (default 30 s). */
  attemptTimeoutMs?: number;
}

/** One request as the transport sends it (built from a `CONTRACT` entry by `call`). */
interface ApiCall<T> {
  method: HttpMethod;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  schema: z.ZodType<T> | null;
  auth: boolean;
  /** Another signer than the client's (sign-up is signed by the new eldest key). */
  signer?: RequestSigner;
}

/**
 * The arguments of `ApiClient.call` for one endpoint: its path parameters, query (text values)
 * and body as its `CONTRACT` entry declares them, and, for sign-up, the signer of the new key.
 */
export type CallArgs<N extends EndpointName> = ([keyof EndpointParams<N>] extends [never]
  ? { params?: undefined }
  : { params: EndpointParams<N> }) &
  ([EndpointQuery<N>] extends [never] ? { query?: undefined } : { query?: EndpointQuery<N> }) &
  ([EndpointBody<N>] extends [never] ? { body?: undefined } : { body: EndpointBody<N> }) & {
    /** Another signer than the client's (sign-up is signed by the new eldest key). */
    signer?: RequestSigner;
  };

/** `[args]`, optional when an endpoint needs none. */
type CallRest<N extends EndpointName> = object extends CallArgs<N> ? [CallArgs<N>?] : [CallArgs<N>];

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const sleepReal = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * The typed HTTP client. Each method validates its answer; none returns unvalidated data.
 *
 * Retries: network errors and 5xx are retried for GET and PUT (idempotent here); 429 is
 * retried for every method, because the server refuses a rate-limited request before acting
 * on it. A POST is not retried after a network error or a 5xx: the server may have applied it
 * (a repeated append would then fail with `CHAIN_CONFLICT`, a repeated sign-up with
 * `USERNAME_TAKEN`), and the caller is better placed to refetch and decide. Every attempt is
 * signed afresh (new timestamp and nonce), since the server refuses a replayed nonce.
 */
export class ApiClient {
  readonly #base: URL;
  readonly #backend: CryptoBackend;
  readonly #signer: RequestSigner | undefined;
  readonly #fetch: typeof fetch;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #attemptTimeoutMs: number;

  /**
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` for a base URL that is not http(s).
   */
  constructor(options: ApiClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'server url is not a url');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'server url must be http or https');
    this.#base = base;
    this.#backend = options.backend;
    this.#signer = options.signer;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? sleepReal;
    this.#random = options.random ?? Math.random;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  }

  /** The server base URL, normalised (what per-server state such as the log pin is keyed by). */
  get baseUrl(): string {
    return this.#base.href;
  }

  /** The signing KID, when the client has a signer. */
  get kid(): KidHex | undefined {
    return this.#signer?.kid;
  }

  /**
   * Calls one endpoint of `@saltbox/protocol`'s `CONTRACT` by name: its method and path, its
   * parameters percent-encoded into the path, its query, its body (checked against the entry's
   * schema before sending), its signing (`device` and `signup` entries are signed; `signup`
   * with `args.signer`), and its answer parsed with the entry's response schema. Retries,
   * signing afresh and coded errors as described on the class.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (a body that does not match the schema, or no
   *   signer for a signed endpoint), `CLIENT_NETWORK`, `CLIENT_HTTP` (and the codes
   *   {@link ClientError} names for some server codes), `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async call<N extends EndpointName>(
    name: N,
    ...[args]: CallRest<N>
  ): Promise<EndpointResponse<N>> {
    const e = CONTRACT[name];
    const a = (args ?? {}) as {
      params?: Record<string, string>;
      query?: Record<string, string | undefined>;
      body?: unknown;
      signer?: RequestSigner;
    };
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(a.query ?? {})) if (v !== undefined) query[k] = v;
    return this.#call({
      method: e.method,
      path: endpointPath(name, (a.params ?? {}) as EndpointParams<N>),
      query,
      ...(e.body === null ? {} : { body: checked(e.body, a.body) }),
      schema: e.response as z.ZodType<EndpointResponse<N>> | null,
      auth: e.auth !== 'none',
      ...(a.signer === undefined ? {} : { signer: a.signer }),
    });
  }

  /**
   * `GET /healthz`.
   *
   * @throws ClientError `CLIENT_NETWORK`, `CLIENT_HTTP`, `CLIENT_BAD_RESPONSE`.
   */
  async health(): Promise<{ status: 'ok' }> {
    return this.call('health');
  }

  /**
   * `POST /api/v1/users`: sign-up, signed by the new eldest key (`eldestSigner`).
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (malformed request), `CLIENT_HTTP` (`USERNAME_TAKEN`, `CHAIN_INVALID`, `KEY_IN_USE`, …),
   *   `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async signup(request: SignupRequest, eldestSigner: RequestSigner): Promise<ChainTail> {
    return this.call('signup', { body: request, signer: eldestSigner });
  }

  /**
   * `GET /api/v1/users/:username/chain?since=N`. The answer is schema-checked only; callers
   * that trust keys from it must verify it (see `UserLoader`).
   *
   * @throws ClientError `CLIENT_HTTP` (`USER_NOT_FOUND`, …), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async fetchChain(username: string, since = 0): Promise<ChainResponse> {
    return this.call('chain', {
      params: { username },
      query: since > 0 ? { since: String(since) } : {},
    });
  }

  /**
   * `POST /api/v1/users/:username/chain`.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (malformed request), `CLIENT_HTTP` (`CHAIN_CONFLICT`, `CHAIN_INVALID`, `FORBIDDEN`, …),
   *   `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async appendLinks(username: string, request: AppendLinksRequest): Promise<ChainTail> {
    return this.call('appendLinks', { params: { username }, body: request });
  }

  /**
   * `PUT /api/v1/users/:username/puk-boxes`.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT`, `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_SIGNER`.
   */
  async putPukBoxes(username: string, boxes: PukBox[]): Promise<void> {
    await this.call('putPukBoxes', { params: { username }, body: { boxes } });
  }

  /**
   * `GET /api/v1/users/lookup?usernames=…` — a convenience answer, not verified; use
   * `UserLoader.lookup` for keys.
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async lookupUsers(usernames: readonly string[]): Promise<UsersLookupResponse> {
    const res = await this.call('usersLookup', { query: { usernames: usernames.join(',') } });
    if (res.users.length !== usernames.length)
      throw new ClientError('CLIENT_BAD_RESPONSE', 'lookup answered a different number of users', {
        asked: usernames.length,
        answered: res.users.length,
      });
    return res;
  }

  /**
   * `GET /_/api/1.0/user/lookup.json?usernames=…` (Keybase's shape, public).
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`.
   */
  async keybaseLookup(usernames: readonly string[]): Promise<LookupResponse> {
    return this.call('keybaseLookup', { query: { usernames: usernames.join(',') } });
  }

  /**
   * `GET /api/v1/keys/:kid`: the server's claim of who owns a key. Schema-checked only; believe
   * it only through {@link verifiedKeyOwner}, which checks the user's verified chain.
   *
   * @throws ClientError `CLIENT_HTTP` (`KEY_NOT_FOUND`, `VALIDATION_FAILED`, …), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async keyOwner(kid: string): Promise<KeyOwnerResponse> {
    return this.call('keyOwner', { params: { kid } });
  }

  /**
   * `GET /api/v1/me`.
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async whoami(): Promise<WhoamiResponse> {
    return this.call('whoami');
  }

  /**
   * `GET /api/v1/me/puk-boxes?generation=g`.
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async myPukBoxes(generation?: number): Promise<PukBoxesResponse> {
    return this.call('myPukBoxes', {
      query: generation === undefined ? {} : { generation: String(generation) },
    });
  }

  /**
   * `POST /api/v1/teams`: create a root, implicit or sub team. Use `TeamManager` to build the
   * request.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT`, `CLIENT_HTTP` (`TEAM_NAME_TAKEN`,
   *   `CHAIN_INVALID`, `FORBIDDEN`, `TEAM_KEY_BOXES_INVALID`, …), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async createTeam(request: CreateTeamRequest): Promise<TeamTail> {
    return this.call('createTeam', { body: request });
  }

  /**
   * `GET /api/v1/teams/:team/chain` (team ID or canonical name). Schema-checked only; use
   * `TeamLoader` for anything trusted.
   *
   * @throws ClientError `CLIENT_HTTP` (`TEAM_NOT_FOUND`, …), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async fetchTeamChain(team: string, since = 0): Promise<TeamChainResponse> {
    return this.call('teamChain', {
      params: { team },
      query: since > 0 ? { since: String(since) } : {},
    });
  }

  /**
   * `POST /api/v1/teams/:team/chain`.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT`, `CLIENT_HTTP` (`CHAIN_CONFLICT`,
   *   `TEAM_ROTATION_REQUIRED`, `TEAM_KEY_BOXES_INVALID`, `FORBIDDEN`, …), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async appendTeamLinks(team: string, request: AppendTeamLinksRequest): Promise<TeamTail> {
    return this.call('appendTeamLinks', { params: { team }, body: request });
  }

  /**
   * `DELETE /api/v1/teams/:team`: deletes a team (owner of a root team, admin of a subteam or
   * of a parent). Not retried after a network error (it may have been applied).
   *
   * @throws ClientError `CLIENT_HTTP` (`FORBIDDEN`, `TEAM_HAS_SUBTEAMS`, `TEAM_NOT_FOUND`,
   *   `CHAIN_CONFLICT`, …), `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async deleteTeam(team: string): Promise<TeamDeleted> {
    return this.call('deleteTeam', { params: { team } });
  }

  /**
   * `GET /api/v1/teams/:team/key-boxes?generation=g`: the caller's boxes and the team's prevs.
   * Unverified; `TeamLoader.openTeamKeys` checks them against the chain.
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async myTeamKeyBoxes(team: string, generation?: number): Promise<TeamKeyBoxesResponse> {
    return this.call('teamKeyBoxes', {
      params: { team },
      query: generation === undefined ? {} : { generation: String(generation) },
    });
  }

  /**
   * `GET /api/v1/teams`: the server's list of the caller's teams (unverified).
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`.
   */
  async listTeams(includeImplicit = false): Promise<TeamListResponse> {
    return this.call('listTeams', { query: includeImplicit ? { implicit: 'true' } : {} });
  }

  /**
   * `GET /api/v1/log/root[?seqno=n]`: the latest signed log root, or root `seqno` (public).
   * Unverified; `LogClient` checks it.
   *
   * @throws ClientError `CLIENT_HTTP` (`LOG_ROOT_NOT_FOUND`), `CLIENT_NETWORK`,
   *   `CLIENT_BAD_RESPONSE`.
   */
  async logRoot(seqno?: number): Promise<SignedLogRootWire> {
    return this.call('logRoot', {
      query: seqno === undefined ? {} : { seqno: String(seqno) },
    });
  }

  /**
   * `GET /api/v1/log/consistency?from=m&to=n`: the RFC 9162 consistency proof (hex hashes).
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`.
   */
  async logConsistency(from: number, to: number): Promise<string[]> {
    const res = await this.call('logConsistency', {
      query: { from: String(from), to: String(to) },
    });
    if (res.from !== from || res.to !== to)
      throw new ClientError('CLIENT_BAD_RESPONSE', 'the server answered for other log roots', {
        path: CONTRACT.logConsistency.path,
      });
    return res.proof;
  }

  /**
   * `GET /api/v1/log/proof?id=…[&seqno=n]`: a root (the latest without `seqno`) and the map
   * proof of one UID or team ID at it. Unverified; `LogClient` checks both.
   *
   * @throws ClientError `CLIENT_HTTP`, `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`.
   */
  async logProof(id: string, seqno?: number): Promise<LogProofResponse> {
    return this.call('logProof', {
      query: { id, ...(seqno === undefined ? {} : { seqno: String(seqno) }) },
    });
  }

  /**
   * Map proofs for several UIDs / team IDs (at most `LOG_MAX_PROOF_IDS`, distinct) at one root:
   * root `seqno`, else the latest. Public, unsigned.
   *
   * @throws ClientError `CLIENT_NETWORK`, `CLIENT_HTTP` (`LOG_ROOT_NOT_FOUND`,
   *   `VALIDATION_FAILED`), `CLIENT_BAD_RESPONSE`.
   */
  async logProofs(ids: readonly string[], seqno?: number): Promise<LogProofsResponse> {
    return this.call('logProofs', {
      query: { ids: ids.join(','), ...(seqno === undefined ? {} : { seqno: String(seqno) }) },
    });
  }

  async #call<T>(call: ApiCall<T>): Promise<T> {
    const url = new URL(call.path, this.#base);
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
    const body: Uint8Array<ArrayBuffer> =
      call.body === undefined
        ? new Uint8Array(0)
        : new TextEncoder().encode(JSON.stringify(call.body));
    const started = this.#now();
    const idempotent = call.method === 'GET' || call.method === 'PUT';
    for (let attempt = 1; ; attempt++) {
      let outcome: { retry: boolean; error: ClientError; retryAfterMs?: number };
      try {
        const res = await this.#attempt(call, url, body);
        if (res.ok) return await this.#parse(call, res);
        const error = await errorFrom(res);
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.#now());
        outcome = {
          retry: res.status === 429 || (res.status >= 500 && idempotent),
          error,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      } catch (e) {
        if (e instanceof ClientError && e.code !== 'CLIENT_NETWORK') throw e;
        const error = isClientError(e)
          ? e
          : new ClientError('CLIENT_NETWORK', 'the server could not be reached', {}, { cause: e });
        outcome = { retry: idempotent, error };
      }
      if (!outcome.retry || attempt >= this.#retry.maxAttempts) throw outcome.error;
      // Full jitter (AWS architecture blog): a uniform wait in [0, cap) spreads retrying
      // clients out instead of having them hit a recovering server together.
      const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
      const wait = Math.max(this.#random() * cap, outcome.retryAfterMs ?? 0);
      const elapsed = this.#now() - started;
      // A wait the budget cannot afford would only postpone the same failure.
      if (elapsed + wait > this.#retry.maxTotalMs) throw outcome.error;
      await this.#sleep(wait);
    }
  }

  async #attempt(
    call: ApiCall<unknown>,
    url: URL,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.auth) {
      const signer = call.signer ?? this.#signer;
      if (signer === undefined)
        throw new ClientError('CLIENT_INVALID_ARGUMENT', 'this request needs a signer');
      const timestamp = this.#now();
      const nonce = generateNonce(this.#backend);
      const canonical = canonicalRequest(this.#backend, {
        method: call.method,
        target: requestTarget(url),
        body,
        timestamp,
        nonce,
        kid: signer.kid,
      });
      let signature: Uint8Array;
      try {
        signature = await signer.signCanonical(canonical);
      } catch (e) {
        if (e instanceof ClientError) throw e;
        throw new ClientError('CLIENT_SIGNER', 'the request could not be signed', {}, { cause: e });
      }
      headers.authorization = formatAuthorization({ kid: signer.kid, timestamp, nonce, signature });
    }
    const signal = AbortSignal.timeout(this.#attemptTimeoutMs);
    const init: RequestInit = { method: call.method, headers, signal };
    if (call.body !== undefined) init.body = body;
    return this.#fetch(url, init);
  }

  async #parse<T>(call: ApiCall<T>, res: Response): Promise<T> {
    if (call.schema === null) {
      await res.body?.cancel();
      return undefined as T;
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      throw new ClientError(
        'CLIENT_BAD_RESPONSE',
        'the server answer is not json',
        {
          path: call.path,
        },
        { cause: e },
      );
    }
    const parsed = call.schema.safeParse(json);
    if (!parsed.success)
      throw new ClientError('CLIENT_BAD_RESPONSE', 'the server answer does not match the schema', {
        path: call.path,
        issue: parsed.error.issues[0]?.message ?? null,
      });
    return parsed.data;
  }
}

/** Validates a request body before sending, so a malformed one fails here with a code. */
function checked(schema: z.ZodType, value: unknown): unknown {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ClientError('CLIENT_INVALID_ARGUMENT', 'the request does not match the schema', {
      issue: r.error.issues[0]?.message ?? null,
    });
  return r.data;
}

/**
 * Maps an error response to a coded error (`USER_NOT_FOUND` → `CLIENT_USER_NOT_FOUND`,
 * `DEVICE_REVOKED` → `CLIENT_DEVICE_REVOKED`, else `CLIENT_HTTP`); a body outside the table
 * becomes `INTERNAL`.
 */
async function errorFrom(res: Response): Promise<ClientError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's HTML page): keep the status, say the code is unknown.
  }
  const api = errorBodySchema.safeParse(body).success ? ApiError.fromBody(body) : null;
  const serverCode = api?.code ?? null;
  // Server answers a caller acts on by themselves get their own codes.
  const code =
    serverCode === 'USER_NOT_FOUND'
      ? 'CLIENT_USER_NOT_FOUND'
      : serverCode === 'DEVICE_REVOKED'
        ? 'CLIENT_DEVICE_REVOKED'
        : serverCode === 'TEAM_NOT_FOUND'
          ? 'CLIENT_TEAM_NOT_FOUND'
          : 'CLIENT_HTTP';
  return new ClientError(
    code,
    api ? `server error ${api.code}: ${api.message}` : `server answered http ${res.status}`,
    { status: res.status, serverCode },
  );
}
