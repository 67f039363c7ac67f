/**
 * Usernames, team names and implicit-team display names.
 *
 * Implicit teams (`alice,bob`) are named by their members. The canonical form is what both ends
 * must agree on before looking a team up or creating it: lower-cased, de-duplicated, sorted,
 * readers after `#` (DESIGN.md, Teams). saltbox resolves only plain usernames; Keybase's social
 * assertions (`bob@twitter`) and conflict suffixes are rejected with a coded error.
 *
 * @packageDocumentation
 */
import { fail } from './errors.js';
import { asciiLower } from './ids.js';

// Keybase's username and team-name part rule (`CheckUsername`): 2–16 characters from
// [a-z0-9_], starting with a letter or digit, never two underscores in a row.
const NAME_PART = /^(?:[a-z0-9]_?)+$/;

/** True for a well-formed Keybase username (case-insensitive). */
export function isValidUsername(name: string): boolean {
  const n = asciiLower(name);
  return n.length >= 2 && n.length <= 16 && NAME_PART.test(n);
}

/**
 * Normalises a username to Keybase's lowercase form.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a malformed username.
 */
export function normalizeUsername(name: string): string {
  if (!isValidUsername(name)) throw fail('IDENTITY_INVALID_ARGUMENT', 'malformed username');
  return asciiLower(name);
}

/** A parsed team name: the root and any subteam parts. */
export interface TeamName {
  /** Lowercase parts, root first: `acme.infra` → `['acme', 'infra']`. */
  parts: readonly string[];
  /** The dotted lowercase name. */
  name: string;
  /** Whether this is a root team. */
  isRoot: boolean;
}

/**
 * Parses a dotted team name such as `acme` or `acme.infra` (each part follows the username
 * rule).
 *
 * @throws IdentityError `IDENTITY_BAD_TEAM_NAME` for an empty part or a malformed part.
 */
export function parseTeamName(name: string): TeamName {
  const parts = asciiLower(name).split('.');
  for (const p of parts)
    if (p.length < 2 || p.length > 16 || !NAME_PART.test(p))
      throw fail('IDENTITY_BAD_TEAM_NAME', 'malformed team name');
  return { parts, name: parts.join('.'), isRoot: parts.length === 1 };
}

/** A canonical implicit-team name. */
export interface ImplicitTeamName {
  /** Sorted, de-duplicated writers (at least one). */
  writers: readonly string[];
  /** Sorted, de-duplicated readers, none of whom is also a writer. */
  readers: readonly string[];
  /** The canonical display name, `w1,w2` or `w1,w2#r1,r2`. */
  name: string;
}

function canonicalList(list: string): string[] {
  const out = new Set<string>();
  for (const raw of list.split(',')) {
    const n = raw.trim();
    if (n === '') throw fail('IDENTITY_BAD_TEAM_NAME', 'implicit team name has an empty member');
    if (!isValidUsername(n))
      throw fail('IDENTITY_BAD_TEAM_NAME', 'implicit team members must be plain usernames');
    out.add(asciiLower(n));
  }
  return [...out].sort();
}

/**
 * Canonicalises an implicit-team display name: members lower-cased, de-duplicated and sorted;
 * readers (after `#`) likewise, minus anyone who is already a writer. `you,you` becomes `you`,
 * the self-team.
 *
 * @throws IdentityError `IDENTITY_BAD_TEAM_NAME` for an empty name or member, more than one `#`,
 *   or a member that is not a plain username.
 */
export function canonicalizeImplicitTeamName(displayName: string): ImplicitTeamName {
  const sections = displayName.trim().split('#');
  if (sections.length > 2)
    throw fail('IDENTITY_BAD_TEAM_NAME', 'implicit team name has more than one #');
  const writers = canonicalList(sections[0]!);
  const writerSet = new Set(writers);
  const readers =
    sections.length === 2 ? canonicalList(sections[1]!).filter((r) => !writerSet.has(r)) : [];
  const name = writers.join(',') + (readers.length > 0 ? `#${readers.join(',')}` : '');
  return { writers, readers, name };
}
