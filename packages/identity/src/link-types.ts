/**
 * Link type names and their sigchain-v2 codes (spec §3.7), and which types may be stubbed
 * (spec §3.5).
 *
 * @packageDocumentation
 */

/** User link types and their v2 codes. */
export const USER_LINK_TYPES = {
  eldest: 1,
  web_service_binding: 2,
  track: 3,
  untrack: 4,
  revoke: 5,
  cryptocurrency: 6,
  announcement: 7,
  device: 8,
  sibkey: 11,
  subkey: 12,
  pgp_update: 13,
  per_user_key: 14,
  'wallet.stellar': 15,
  'wot.vouch': 16,
  'wot.react': 18,
} as const;

/** v2 codes of the user link types that change when the link also revokes. */
const WITH_REVOKES: Readonly<Record<string, number>> = {
  web_service_binding: 9,
  cryptocurrency: 10,
  'wot.vouch': 17,
};

/** Team link types and their v2 codes. */
export const TEAM_LINK_TYPES = {
  'team.root': 33,
  'team.new_subteam': 34,
  'team.change_membership': 35,
  'team.rotate_key': 36,
  'team.leave': 37,
  'team.subteam_head': 38,
  'team.rename_subteam': 39,
  'team.invite': 40,
  'team.rename_up_pointer': 41,
  'team.delete_root': 42,
  'team.delete_subteam': 43,
  'team.delete_up_pointer': 44,
  'team.legacy_tlf_upgrade': 45,
  'team.settings': 46,
  'team.kbfs': 47,
  'team.bot_settings': 48,
} as const;

/** A user link type name. */
export type UserLinkType = keyof typeof USER_LINK_TYPES;
/** A team link type name. */
export type TeamLinkType = keyof typeof TEAM_LINK_TYPES;

const ALL: Readonly<Record<string, number>> = { ...USER_LINK_TYPES, ...TEAM_LINK_TYPES };
const CODE_TO_NAME = new Map<number, string>(Object.entries(ALL).map(([k, v]) => [v, k]));
for (const [k, v] of Object.entries(WITH_REVOKES)) CODE_TO_NAME.set(v, k);

/**
 * The v2 code of a link type, given whether the link carries a `revoke` section; undefined for
 * a type saltbox does not know (including v1-only types such as `update_passphrase_hash`).
 */
export function linkTypeCode(type: string, hasRevocations: boolean): number | undefined {
  if (hasRevocations && Object.hasOwn(WITH_REVOKES, type)) return WITH_REVOKES[type];
  return Object.hasOwn(ALL, type) ? ALL[type] : undefined;
}

/** The type name of a v2 code, or undefined when unknown. */
export function linkTypeName(code: number): string | undefined {
  return CODE_TO_NAME.get(code);
}

/** v2 codes of user links whose stubs a verifier accepts (spec §3.5): track, untrack, announcement. */
const USER_STUBBABLE = new Set<number>([
  USER_LINK_TYPES.track,
  USER_LINK_TYPES.untrack,
  USER_LINK_TYPES.announcement,
]);

/** v2 codes of team links that may be stubbed for non-admins (spec §3.5). */
const TEAM_STUBBABLE = new Set<number>([
  TEAM_LINK_TYPES['team.new_subteam'],
  TEAM_LINK_TYPES['team.rename_subteam'],
  TEAM_LINK_TYPES['team.delete_subteam'],
  TEAM_LINK_TYPES['team.invite'],
  TEAM_LINK_TYPES['team.settings'],
  TEAM_LINK_TYPES['team.kbfs'],
  TEAM_LINK_TYPES['team.bot_settings'],
]);

/** Whether a user-chain stub of this code is acceptable. */
export function isStubbableUserLink(code: number, ignoreIfUnsupported: boolean): boolean {
  return USER_STUBBABLE.has(code) || (ignoreIfUnsupported && linkTypeName(code) === undefined);
}

/** Whether a team-chain stub of this code is acceptable. */
export function isStubbableTeamLink(code: number): boolean {
  return TEAM_STUBBABLE.has(code);
}
