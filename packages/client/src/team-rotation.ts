/**
 * When a team key must be replaced because a member revoked a device (spec keybase-identity
 * §6.4, "Rotation triggers (CLKR)": "a member revokes a device (the member's PUK rolls, then the
 * team rotates lazily)"; DESIGN.md, Teams: per-team keys rotate on every removal). A revoked
 * device held its user's old per-user keys, so it can open every team key generation boxed to
 * them; the next generation must be boxed to the rolled PUK only.
 *
 * The rule, decided only from verified chains and the pinned signed log: the team's current
 * key was introduced by a team link naming log root R (`merkle_root`). The team awaits rotation
 * when a current member's newest per-user key is a roll (generation 2 or later) whose
 * `per_user_key` link is not in that member's chain as the log held it at R (a proof against
 * the pinned log, checked like the roots revocations name). Why this is enough: the server
 * boxes a new generation, and an added member's copy, only to each member's then-current PUK
 * (`TEAM_KEY_BOXES_INVALID` otherwise), and a revocation rolls the PUK in the same append
 * (spec §4.4); so when every member's newest PUK was logged by R, no box of the current key was
 * made to a PUK a revoked device holds. The rule errs only towards rotating: a member who
 * rolled between R and the key link's acceptance, or who rolled before being added, makes one
 * extra rotation, after which the new link names a root that holds the roll. A key link that
 * names no root (older than the log) counts as older than every roll. Members are checked as
 * the log holds them at a root fetched for the check, so a revocation that returned before it
 * is never missed behind a cached chain.
 *
 * @packageDocumentation
 */
import { ClientError } from './errors.js';
import type { LogClient } from './log.js';
import type { VerifiedTeam } from './teams.js';
import type { UserLoader, VerifiedUser } from './users.js';

/** A member whose per-user key rolled after the team's current key. */
export interface RolledMember {
  uid: string;
  username: string;
  /** The member's newest per-user key generation. */
  perUserKeyGeneration: number;
}

/**
 * The members whose newest per-user key the team's current key predates (see the module
 * comment): empty when the key is current.
 *
 * @param known - verdicts already proven (`teamId:generation:uid:pukSeqno` of members whose
 *   roll the key's root held); roots never change, so they are kept and skipped.
 * @throws ClientError `CLIENT_LOG_INCONSISTENT` (the server shows another root at the seqno the
 *   key link names), and the codes of `UserLoader.load` and `LogClient.tailsAt`.
 */
export async function membersRolledSinceKey(
  team: VerifiedTeam,
  users: UserLoader,
  log: LogClient,
  known = new Set<string>(),
): Promise<RolledMember[]> {
  const key = team.perTeamKeys[team.perTeamKeys.length - 1];
  if (key === undefined) return [];
  // Every member as the log holds them now, not as cached (a cache is trusted for seconds
  // against a reused root): one fresh root and one batched proof; a member whose logged chain
  // grew is refetched. A roll whose post returned before this call is therefore seen.
  const now = await log.latest({ fresh: true });
  const logged = (
    await log.tailsAt(
      team.members.map((m) => m.uid),
      now.seqno,
    )
  ).tails;
  const loaded: VerifiedUser[] = await Promise.all(
    team.members.map(async (m) => {
      const cached = await users.load(m.username);
      const tail = logged.get(m.uid);
      return tail && tail.seqno > cached.tail.seqno
        ? users.load(m.username, { refresh: true })
        : cached;
    }),
  );
  const memo = (u: VerifiedUser) =>
    `${team.id}:${key.generation}:${u.uid}:${u.perUserKeys[u.perUserKeys.length - 1]!.seqno}`;
  const rolled = loaded.filter((u) => u.perUserKeys.length > 1 && !known.has(memo(u)));
  if (rolled.length === 0) return [];
  const view = (u: VerifiedUser): RolledMember => ({
    uid: u.uid,
    username: u.username,
    perUserKeyGeneration: u.perUserKeys[u.perUserKeys.length - 1]!.generation,
  });
  if (key.merkleRoot === null) return rolled.map(view);
  const { root, tails } = await log.tailsAt(
    rolled.map((u) => u.uid),
    key.merkleRoot.seqno,
  );
  if (root.hashMeta !== key.merkleRoot.hashMeta)
    throw new ClientError(
      'CLIENT_LOG_INCONSISTENT',
      `the log root team ${team.name}'s key names is not the one the server shows`,
      { team: team.name, seqno: key.merkleRoot.seqno },
    );
  const out: RolledMember[] = [];
  for (const u of rolled) {
    const newest = u.perUserKeys[u.perUserKeys.length - 1]!;
    if ((tails.get(u.uid)?.seqno ?? 0) >= newest.seqno) known.add(memo(u));
    else out.push(view(u));
  }
  return out.sort((a, b) => a.username.localeCompare(b.username));
}
