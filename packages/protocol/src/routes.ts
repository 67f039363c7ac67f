/**
 * The route table: one place that names every path, so client and server agree on them.
 *
 * @packageDocumentation
 */

/** Path prefix of saltbox's own API. */
export const API_PREFIX = '/api/v1';

/** Every route, as Hono-style patterns. */
export const ROUTES = {
  health: '/healthz',
  metrics: '/metrics',
  signup: `${API_PREFIX}/users`,
  usersLookup: `${API_PREFIX}/users/lookup`,
  chain: `${API_PREFIX}/users/:username/chain`,
  pukBoxes: `${API_PREFIX}/users/:username/puk-boxes`,
  keyOwner: `${API_PREFIX}/keys/:kid`,
  me: `${API_PREFIX}/me`,
  myPukBoxes: `${API_PREFIX}/me/puk-boxes`,
  keybaseLookup: '/_/api/1.0/user/lookup.json',
  teams: `${API_PREFIX}/teams`,
  team: `${API_PREFIX}/teams/:team`,
  teamChain: `${API_PREFIX}/teams/:team/chain`,
  teamKeyBoxes: `${API_PREFIX}/teams/:team/key-boxes`,
  kvEntry: `${API_PREFIX}/kv/teams/:teamId/entry`,
  kvBatchGet: `${API_PREFIX}/kv/teams/:teamId/entries/batch`,
  kvNamespaces: `${API_PREFIX}/kv/teams/:teamId/namespaces`,
  kvKeys: `${API_PREFIX}/kv/teams/:teamId/keys`,
  kvChanges: `${API_PREFIX}/kv/teams/:teamId/changes`,
  logRoot: `${API_PREFIX}/log/root`,
  logConsistency: `${API_PREFIX}/log/consistency`,
  logProof: `${API_PREFIX}/log/proof`,
  logProofs: `${API_PREFIX}/log/proofs`,
  logChanges: `${API_PREFIX}/log/changes`,
} as const;

/** The path of a user's chain. */
export function chainPath(username: string): string {
  return `${API_PREFIX}/users/${encodeURIComponent(username)}/chain`;
}

/** The path of a user's PUK boxes. */
export function pukBoxesPath(username: string): string {
  return `${API_PREFIX}/users/${encodeURIComponent(username)}/puk-boxes`;
}

/** The path of a key's owner (`GET` names the user whose chain delegated the KID). */
export function keyOwnerPath(kid: string): string {
  return `${API_PREFIX}/keys/${encodeURIComponent(kid)}`;
}

/** The path of a team itself (`DELETE` deletes it); `team` is a team ID or a canonical name. */
export function teamPath(team: string): string {
  return `${API_PREFIX}/teams/${encodeURIComponent(team)}`;
}

/** The path of a team's chain; `team` is a team ID or a canonical team name. */
export function teamChainPath(team: string): string {
  return `${API_PREFIX}/teams/${encodeURIComponent(team)}/chain`;
}

/** The path of the caller's key boxes of a team (ID or name). */
export function teamKeyBoxesPath(team: string): string {
  return `${API_PREFIX}/teams/${encodeURIComponent(team)}/key-boxes`;
}

/** The path of a KV route for one team (`route` is one of the `kv*` patterns). */
export function kvPath(
  route: 'kvEntry' | 'kvBatchGet' | 'kvNamespaces' | 'kvKeys' | 'kvChanges',
  teamId: string,
): string {
  return ROUTES[route].replace(':teamId', encodeURIComponent(teamId));
}
