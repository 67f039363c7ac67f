/**
 * Who may sign up (issue #12.15): the operator's switch (`open`, `invite`, `closed`), invite
 * codes, and the reserved names no one may take. The per-address sign-up rate is a token bucket
 * of its own in the app (`Limits.signupRate`), far below the request rate.
 *
 * Invite codes are 144 random bits; only their SHA-256 is stored, so a copy of the database
 * does not hold usable codes. A fast hash is enough for codes of that entropy (nothing to
 * brute-force as with a password); the sign-up rate limit bounds online guessing anyway.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import { fail } from '../errors.js';
import type { Storage } from '../storage/types.js';

/** Sign-up modes: anyone, holders of an invite code, nobody. */
export type SignupMode = 'open' | 'invite' | 'closed';

/** Every sign-up mode. */
export const SIGNUP_MODES: readonly SignupMode[] = ['open', 'invite', 'closed'];

/** What the sign-up route enforces. */
export interface SignupPolicy {
  mode: SignupMode;
  /** Lowercase usernames nobody may register. */
  reserved: readonly string[];
}

/**
 * Names that would let a newcomer pass for the operator, the project or a role account
 * (`admin`, `root`, `support`, `security`, …). Usernames are 2–16 of `a-z0-9_`.
 */
export const RESERVED_USERNAMES: readonly string[] = [
  'abuse',
  'admin',
  'administrator',
  'billing',
  'help',
  'helpdesk',
  'hostmaster',
  'info',
  'keybase',
  'moderator',
  'noc',
  'official',
  'operator',
  'postmaster',
  'privacy',
  'root',
  'saltbox',
  'security',
  'staff',
  'superuser',
  'support',
  'sysadmin',
  'system',
  'webmaster',
];

/** The default policy: open, with the reserved names. */
export const DEFAULT_SIGNUP_POLICY: SignupPolicy = { mode: 'open', reserved: RESERVED_USERNAMES };

/** The stored form of an invite code: hex SHA-256 of its UTF-8 bytes. */
export function inviteHash(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/**
 * Makes an invite code and records its hash. The code is returned once, to be handed over;
 * the server cannot show it again.
 *
 * @throws StorageError / driver errors from storage.
 */
export async function createInvite(storage: Storage, nowMs: number = Date.now()): Promise<string> {
  const code = randomBytes(18).toString('base64url');
  await storage.invites.createInvite(inviteHash(code), nowMs);
  return code;
}

/**
 * Checks a sign-up against the policy before any key is verified or stored; the invite itself
 * is used up in the sign-up's own transaction (`createUser`).
 *
 * @returns the invite's hash to redeem, or undefined when the mode is `open`.
 * @throws ServerError `SIGNUP_CLOSED`, `USERNAME_RESERVED`, `INVITE_REQUIRED`.
 */
export function checkSignup(
  policy: SignupPolicy,
  request: { username: string; invite?: string | undefined },
): string | undefined {
  if (policy.mode === 'closed')
    throw fail('SIGNUP_CLOSED', 'this server does not take new sign-ups');
  if (policy.reserved.includes(request.username.toLowerCase()))
    throw fail('USERNAME_RESERVED', 'this username is reserved on this server');
  if (policy.mode === 'open') return undefined;
  if (request.invite === undefined)
    throw fail('INVITE_REQUIRED', 'this server signs up by invitation: an invite code is needed');
  return inviteHash(request.invite);
}
