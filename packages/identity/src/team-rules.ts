/**
 * Team rules saltbox adds on top of the chain verifier, shared by the server (which refuses a
 * post that breaks them) and the client (which checks first, so no key seed is made for a post
 * the server would refuse). The verifier replays what Keybase's chains allow; these rules keep a
 * team manageable: a root team always keeps an owner, a team is never left without members
 * (delete it instead), and after a member leaves (`team.leave`, spec keybase-identity §6.4,
 * "rotation triggers") the next membership change rotates the key.
 *
 * @packageDocumentation
 */
import { parseUserVersion } from './ids.js';
import type { TeamChainState } from './team-chain.js';

/** Why a membership change would leave a team unmanageable, or undefined when it would not. */
export type TeamOrphanRule = 'last_owner' | 'last_member';

/**
 * Checks the members a change would leave: a root team that had an owner must keep one, and no
 * team may lose its last member. Subteams have no owners (their admins, and the parent's
 * admins, manage them), so only the second rule applies to them.
 *
 * @param before - the verified state before the change.
 * @param after - the members (by UID) and roles the change would leave.
 */
export function teamOrphanRule(
  before: TeamChainState,
  after: ReadonlyMap<string, string>,
): TeamOrphanRule | undefined {
  if (after.size === 0 && before.members.size > 0) return 'last_member';
  const hadOwner = [...before.members.values()].includes('owner');
  const keepsOwner = [...after.values()].includes('owner');
  if (before.parentId === undefined && hadOwner && !keepsOwner) return 'last_owner';
  return undefined;
}

/** The members of a verified state by UID, with their roles. */
export function teamMembersByUid(state: TeamChainState): Map<string, string> {
  return new Map([...state.members].map(([uv, role]) => [parseUserVersion(uv).uid, role]));
}

/**
 * True when a member left or was removed after the newest per-team key was introduced: the
 * key they held is still current, so the next membership change must rotate it (Keybase rotates
 * lazily after a `team.leave`; a removal rotates in the same link).
 */
export function teamRotationPending(state: TeamChainState): boolean {
  let keySeqno = 0;
  for (const k of state.perTeamKeys.values()) keySeqno = Math.max(keySeqno, k.seqno);
  for (const history of state.roleHistory.values())
    if (history.some((h) => h.role === 'none' && h.seqno > keySeqno)) return true;
  return false;
}
