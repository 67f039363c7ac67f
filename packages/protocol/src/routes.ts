/**
 * Path patterns and builders by resource name, every one read from {@link CONTRACT} (no path
 * is written twice). New code names endpoints instead (`CONTRACT`, `endpointPath`); these stay
 * for tests, benches and tools that address a path directly.
 *
 * @packageDocumentation
 */
import { CONTRACT, endpointPath } from './contract.js';

/** Every route, as Hono-style patterns, by resource (one path may serve several methods). */
export const ROUTES = {
  health: CONTRACT.health.path,
  metrics: CONTRACT.metrics.path,
  signup: CONTRACT.signup.path,
  usersLookup: CONTRACT.usersLookup.path,
  chain: CONTRACT.chain.path,
  pukBoxes: CONTRACT.putPukBoxes.path,
  keyOwner: CONTRACT.keyOwner.path,
  me: CONTRACT.whoami.path,
  myPukBoxes: CONTRACT.myPukBoxes.path,
  keybaseLookup: CONTRACT.keybaseLookup.path,
  teams: CONTRACT.listTeams.path,
  team: CONTRACT.deleteTeam.path,
  teamChain: CONTRACT.teamChain.path,
  teamKeyBoxes: CONTRACT.teamKeyBoxes.path,
  kvEntry: CONTRACT.kvGet.path,
  kvBatchGet: CONTRACT.kvBatchGet.path,
  kvNamespaces: CONTRACT.kvNamespaces.path,
  kvKeys: CONTRACT.kvKeys.path,
  kvChanges: CONTRACT.kvChanges.path,
  logRoot: CONTRACT.logRoot.path,
  logConsistency: CONTRACT.logConsistency.path,
  logProof: CONTRACT.logProof.path,
  logProofs: CONTRACT.logProofs.path,
  logChanges: CONTRACT.logChanges.path,
} as const;

/** The path of a user's chain. */
export const chainPath = (username: string): string => endpointPath('chain', { username });

/** The path of a user's PUK boxes. */
export const pukBoxesPath = (username: string): string => endpointPath('putPukBoxes', { username });

/** The path of a key's owner (`GET` names the user whose chain delegated the KID). */
export const keyOwnerPath = (kid: string): string => endpointPath('keyOwner', { kid });

/** The path of a team itself (`DELETE` deletes it); `team` is a team ID or a canonical name. */
export const teamPath = (team: string): string => endpointPath('deleteTeam', { team });

/** The path of a team's chain; `team` is a team ID or a canonical team name. */
export const teamChainPath = (team: string): string => endpointPath('teamChain', { team });

/** The path of the caller's key boxes of a team (ID or name). */
export const teamKeyBoxesPath = (team: string): string => endpointPath('teamKeyBoxes', { team });

const KV_ENDPOINTS = {
  kvEntry: 'kvGet',
  kvBatchGet: 'kvBatchGet',
  kvNamespaces: 'kvNamespaces',
  kvKeys: 'kvKeys',
  kvChanges: 'kvChanges',
} as const;

/** The path of a KV route for one team (`route` is one of the `kv*` patterns). */
export const kvPath = (route: keyof typeof KV_ENDPOINTS, teamId: string): string =>
  endpointPath(KV_ENDPOINTS[route], { teamId });
