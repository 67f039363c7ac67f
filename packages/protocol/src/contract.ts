/**
 * The HTTP contract: the single declaration of saltbox's HTTP API.
 *
 * Each entry names one endpoint and gives its method, its path pattern (Hono style, `:name`
 * parameters), the zod schemas of its path parameters, query, body and response, and who may
 * call it. The client derives every call from it (`ApiClient.call(name, args)` in
 * `@saltbox/client`), the server registers every handler from it with the parameters, query
 * and body validated in one middleware (`@saltbox/server`'s `src/http/route.ts`), and the path
 * builders below fill its patterns. A drift test (`packages/client/test/contract.test.ts`)
 * fails when the table, the server's routes and the client's calls disagree.
 *
 * Changing the table (the rule the protocol README repeats): adding an endpoint, an optional
 * query field or an optional body field is non-breaking; changing a path, a method, a response
 * shape or making a field required is breaking, so add a new endpoint instead and keep the old
 * one until every client has moved. Wire bytes are the schemas' JSON: a schema change is a
 * protocol change.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { lookupResponseSchema } from '@saltbox/identity';
import {
  kvBatchGetRequestSchema,
  kvBatchGetResponseSchema,
  kvChangesQuerySchema,
  kvChangesResponseSchema,
  kvDeleteQuerySchema,
  kvEntrySchema,
  kvGetQuerySchema,
  kvKeysResponseSchema,
  kvListKeysQuerySchema,
  kvListNamespacesQuerySchema,
  kvNamespacesResponseSchema,
  kvPutRequestSchema,
  kvTeamIdSchema,
  kvWriteResponseSchema,
} from './kv.js';
import {
  logChangesQuerySchema,
  logChangesResponseSchema,
  logConsistencyQuerySchema,
  logConsistencyResponseSchema,
  logProofQuerySchema,
  logProofResponseSchema,
  logProofsQuerySchema,
  logProofsResponseSchema,
  signedLogRootSchema,
} from './log.js';
import {
  appendLinksRequestSchema,
  chainQuerySchema,
  chainResponseSchema,
  chainTailSchema,
  healthResponseSchema,
  kidSchema,
  keyOwnerResponseSchema,
  pukBoxesQuerySchema,
  pukBoxesResponseSchema,
  putPukBoxesRequestSchema,
  signupRequestSchema,
  usersLookupQuerySchema,
  usersLookupResponseSchema,
  whoamiResponseSchema,
} from './schemas.js';
import {
  appendTeamLinksRequestSchema,
  createTeamRequestSchema,
  teamChainQuerySchema,
  teamChainResponseSchema,
  teamDeletedSchema,
  teamKeyBoxesQuerySchema,
  teamKeyBoxesResponseSchema,
  teamListQuerySchema,
  teamListResponseSchema,
  teamTailSchema,
} from './teams.js';

/** Path prefix of saltbox's own API. */
export const API_PREFIX = '/api/v1';

/** An HTTP method the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Who may call an endpoint: `none` is public and unsigned; `device` is signed by a registered,
 * live device key; `signup` is signed by the new user's eldest key, not yet registered.
 */
export type EndpointAuth = 'none' | 'device' | 'signup';

/**
 * One entry of {@link CONTRACT}. A schema is `null` where the endpoint has no such part;
 * `response: null` means no JSON answer (a 204, or the text of `/metrics`).
 */
export interface Endpoint {
  readonly method: HttpMethod;
  readonly path: string;
  readonly params: z.ZodType | null;
  readonly query: z.ZodType | null;
  readonly body: z.ZodType | null;
  readonly response: z.ZodType | null;
  readonly auth: EndpointAuth;
}

/** `:username` as the server reads it; the handler checks the name (`INVALID_USERNAME`). */
const usernameParams = z.object({ username: z.string() });
/** `:team`, a team ID or canonical name; the team service resolves it (`TEAM_NOT_FOUND`). */
const teamParams = z.object({ team: z.string() });
/** `:teamId` of the KV routes: a team ID only. */
const kvParams = z.object({ teamId: kvTeamIdSchema });
/** `:kid`, case-insensitive on input. */
const kidParams = z.object({
  kid: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(kidSchema),
});

/**
 * `GET /_/api/1.0/user/lookup.json` query: Keybase's, whose errors are answers (`status.code`
 * 100 with HTTP 200), so the handler checks the values and this schema only types them.
 */
export const keybaseLookupQuerySchema = z.object({
  usernames: z.string().optional(),
  username: z.string().optional(),
  uid: z.string().optional(),
});

/**
 * `GET /api/v1/log/root[?seqno=n]` query. The handler checks the value (`VALIDATION_FAILED`,
 * "seqno must be a positive integer"); other fields are ignored.
 */
export const logRootQuerySchema = z.object({ seqno: z.string().optional() });

/** Every endpoint of the HTTP API (the static web app's files are not endpoints). */
export const CONTRACT = {
  health: {
    method: 'GET',
    path: '/healthz',
    params: null,
    query: null,
    body: null,
    response: healthResponseSchema,
    auth: 'none',
  },
  /** Prometheus text, for a scraper; not called by the client. */
  metrics: {
    method: 'GET',
    path: '/metrics',
    params: null,
    query: null,
    body: null,
    response: null,
    auth: 'none',
  },
  signup: {
    method: 'POST',
    path: `${API_PREFIX}/users`,
    params: null,
    query: null,
    body: signupRequestSchema,
    response: chainTailSchema,
    auth: 'signup',
  },
  usersLookup: {
    method: 'GET',
    path: `${API_PREFIX}/users/lookup`,
    params: null,
    query: usersLookupQuerySchema,
    body: null,
    response: usersLookupResponseSchema,
    auth: 'device',
  },
  chain: {
    method: 'GET',
    path: `${API_PREFIX}/users/:username/chain`,
    params: usernameParams,
    query: chainQuerySchema,
    body: null,
    response: chainResponseSchema,
    auth: 'device',
  },
  appendLinks: {
    method: 'POST',
    path: `${API_PREFIX}/users/:username/chain`,
    params: usernameParams,
    query: null,
    body: appendLinksRequestSchema,
    response: chainTailSchema,
    auth: 'device',
  },
  putPukBoxes: {
    method: 'PUT',
    path: `${API_PREFIX}/users/:username/puk-boxes`,
    params: usernameParams,
    query: null,
    body: putPukBoxesRequestSchema,
    response: null,
    auth: 'device',
  },
  keyOwner: {
    method: 'GET',
    path: `${API_PREFIX}/keys/:kid`,
    params: kidParams,
    query: null,
    body: null,
    response: keyOwnerResponseSchema,
    auth: 'device',
  },
  whoami: {
    method: 'GET',
    path: `${API_PREFIX}/me`,
    params: null,
    query: null,
    body: null,
    response: whoamiResponseSchema,
    auth: 'device',
  },
  myPukBoxes: {
    method: 'GET',
    path: `${API_PREFIX}/me/puk-boxes`,
    params: null,
    query: pukBoxesQuerySchema,
    body: null,
    response: pukBoxesResponseSchema,
    auth: 'device',
  },
  keybaseLookup: {
    method: 'GET',
    path: '/_/api/1.0/user/lookup.json',
    params: null,
    query: keybaseLookupQuerySchema,
    body: null,
    response: lookupResponseSchema,
    auth: 'none',
  },
  createTeam: {
    method: 'POST',
    path: `${API_PREFIX}/teams`,
    params: null,
    query: null,
    body: createTeamRequestSchema,
    response: teamTailSchema,
    auth: 'device',
  },
  listTeams: {
    method: 'GET',
    path: `${API_PREFIX}/teams`,
    params: null,
    query: teamListQuerySchema,
    body: null,
    response: teamListResponseSchema,
    auth: 'device',
  },
  deleteTeam: {
    method: 'DELETE',
    path: `${API_PREFIX}/teams/:team`,
    params: teamParams,
    query: null,
    body: null,
    response: teamDeletedSchema,
    auth: 'device',
  },
  teamChain: {
    method: 'GET',
    path: `${API_PREFIX}/teams/:team/chain`,
    params: teamParams,
    query: teamChainQuerySchema,
    body: null,
    response: teamChainResponseSchema,
    auth: 'device',
  },
  appendTeamLinks: {
    method: 'POST',
    path: `${API_PREFIX}/teams/:team/chain`,
    params: teamParams,
    query: null,
    body: appendTeamLinksRequestSchema,
    response: teamTailSchema,
    auth: 'device',
  },
  teamKeyBoxes: {
    method: 'GET',
    path: `${API_PREFIX}/teams/:team/key-boxes`,
    params: teamParams,
    query: teamKeyBoxesQuerySchema,
    body: null,
    response: teamKeyBoxesResponseSchema,
    auth: 'device',
  },
  kvGet: {
    method: 'GET',
    path: `${API_PREFIX}/kv/teams/:teamId/entry`,
    params: kvParams,
    query: kvGetQuerySchema,
    body: null,
    response: kvEntrySchema,
    auth: 'device',
  },
  kvPut: {
    method: 'POST',
    path: `${API_PREFIX}/kv/teams/:teamId/entry`,
    params: kvParams,
    query: null,
    body: kvPutRequestSchema,
    response: kvWriteResponseSchema,
    auth: 'device',
  },
  kvDelete: {
    method: 'DELETE',
    path: `${API_PREFIX}/kv/teams/:teamId/entry`,
    params: kvParams,
    query: kvDeleteQuerySchema,
    body: null,
    response: kvWriteResponseSchema,
    auth: 'device',
  },
  kvBatchGet: {
    method: 'POST',
    path: `${API_PREFIX}/kv/teams/:teamId/entries/batch`,
    params: kvParams,
    query: null,
    body: kvBatchGetRequestSchema,
    response: kvBatchGetResponseSchema,
    auth: 'device',
  },
  kvNamespaces: {
    method: 'GET',
    path: `${API_PREFIX}/kv/teams/:teamId/namespaces`,
    params: kvParams,
    query: kvListNamespacesQuerySchema,
    body: null,
    response: kvNamespacesResponseSchema,
    auth: 'device',
  },
  kvKeys: {
    method: 'GET',
    path: `${API_PREFIX}/kv/teams/:teamId/keys`,
    params: kvParams,
    query: kvListKeysQuerySchema,
    body: null,
    response: kvKeysResponseSchema,
    auth: 'device',
  },
  /** A long poll: waits up to `waitMs` for a change after `since`. */
  kvChanges: {
    method: 'GET',
    path: `${API_PREFIX}/kv/teams/:teamId/changes`,
    params: kvParams,
    query: kvChangesQuerySchema,
    body: null,
    response: kvChangesResponseSchema,
    auth: 'device',
  },
  logRoot: {
    method: 'GET',
    path: `${API_PREFIX}/log/root`,
    params: null,
    query: logRootQuerySchema,
    body: null,
    response: signedLogRootSchema,
    auth: 'none',
  },
  logConsistency: {
    method: 'GET',
    path: `${API_PREFIX}/log/consistency`,
    params: null,
    query: logConsistencyQuerySchema,
    body: null,
    response: logConsistencyResponseSchema,
    auth: 'none',
  },
  logProof: {
    method: 'GET',
    path: `${API_PREFIX}/log/proof`,
    params: null,
    query: logProofQuerySchema,
    body: null,
    response: logProofResponseSchema,
    auth: 'none',
  },
  logProofs: {
    method: 'GET',
    path: `${API_PREFIX}/log/proofs`,
    params: null,
    query: logProofsQuerySchema,
    body: null,
    response: logProofsResponseSchema,
    auth: 'none',
  },
  logChanges: {
    method: 'GET',
    path: `${API_PREFIX}/log/changes`,
    params: null,
    query: logChangesQuerySchema,
    body: null,
    response: logChangesResponseSchema,
    auth: 'none',
  },
} as const satisfies Record<string, Endpoint>;

/** The contract's type. */
export type Contract = typeof CONTRACT;
/** The name of an endpoint. */
export type EndpointName = keyof Contract;
/** Every endpoint name, in table order. */
export const ENDPOINT_NAMES = Object.keys(CONTRACT) as EndpointName[];

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** The path parameters of an endpoint, as the caller gives them (raw, not yet encoded). */
export type EndpointParams<N extends EndpointName> = Record<
  ParamNames<Contract[N]['path']>,
  string
>;
/** The query of an endpoint as it travels: text values, absent ones left out. */
export type EndpointQuery<N extends EndpointName> = Contract[N]['query'] extends z.ZodType
  ? Partial<Record<keyof z.output<Contract[N]['query']> & string, string>>
  : never;
/** The body an endpoint takes, as the caller builds it (schema input). */
export type EndpointBody<N extends EndpointName> = Contract[N]['body'] extends z.ZodType
  ? z.input<Contract[N]['body']>
  : never;
/** What an endpoint answers, after its response schema (`undefined` for no JSON answer). */
export type EndpointResponse<N extends EndpointName> = Output<Contract[N]['response']>;

/** The validated request parts a server handler receives. */
export interface EndpointInput<N extends EndpointName> {
  params: Output<Contract[N]['params']>;
  query: Output<Contract[N]['query']>;
  body: Output<Contract[N]['body']>;
}

/** The concrete path of an endpoint: its pattern with each `:name` percent-encoded in. */
export function endpointPath<N extends EndpointName>(name: N, params: EndpointParams<N>): string {
  const values = params as Record<string, string>;
  return CONTRACT[name].path.replace(/:([A-Za-z]+)/g, (_, p: string) => {
    const v = values[p];
    if (v === undefined) throw new TypeError(`missing path parameter ${p}`);
    return encodeURIComponent(v);
  });
}
