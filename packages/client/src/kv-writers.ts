/**
 * Who may have written a KV value, by the team's verified chain: the writer of an entry sealed
 * under team key generation `g` must have held a role with write rights (writer, admin, owner)
 * at some link while `g` was the team's newest key — the server only accepts a put under the
 * current generation from a current writer (specs/keybase-kvstore.md §2.5). The rule looks at
 * the whole role history, not the current member list, so a member removed (or gone) since
 * still names what they wrote and their values stay readable: removing someone must not
 * strand their values for everyone (#14.6's rule for devices, applied to members).
 *
 * @packageDocumentation
 */
import type { TeamRole } from '@saltbox/identity';
import type { VerifiedTeam } from './teams.js';

const WRITE_ROLES: ReadonlySet<TeamRole> = new Set(['writer', 'admin', 'owner']);

/**
 * The username of `uid` when the verified team shows it held write rights while key
 * generation `generation` was current (from the link that introduced it to the one before the
 * next generation's), else null: also when the team does not know that generation (a chain
 * loaded before the rotation; reload it and ask again).
 */
export function teamWriterAt(team: VerifiedTeam, uid: string, generation: number): string | null {
  const keys = team.perTeamKeys;
  const i = keys.findIndex((k) => k.generation === generation);
  if (i < 0) return null;
  const from = keys[i]!.seqno;
  const until = keys[i + 1]?.seqno ?? Number.POSITIVE_INFINITY;
  for (const m of team.everMembers) {
    if (m.uid !== uid) continue;
    // The role in force at `from` (the last change at or before it), then every change
    // before the next generation's link (a removal that rotates takes effect with the new key).
    let role: TeamRole = 'none';
    for (const r of m.roles) {
      if (r.seqno >= until) break;
      if (r.seqno > from && WRITE_ROLES.has(role)) return m.username;
      role = r.role;
    }
    if (WRITE_ROLES.has(role)) return m.username;
  }
  return null;
}
