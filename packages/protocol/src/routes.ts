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
  me: `${API_PREFIX}/me`,
  myPukBoxes: `${API_PREFIX}/me/puk-boxes`,
  keybaseLookup: '/_/api/1.0/user/lookup.json',
} as const;

/** The path of a user's chain. */
export function chainPath(username: string): string {
  return `${API_PREFIX}/users/${encodeURIComponent(username)}/chain`;
}

/** The path of a user's PUK boxes. */
export function pukBoxesPath(username: string): string {
  return `${API_PREFIX}/users/${encodeURIComponent(username)}/puk-boxes`;
}
