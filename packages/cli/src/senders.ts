/**
 * Who sent or signed a message, in words a person checks: the verified username of the sender's
 * or signer's key instead of 64 hex characters (#12.9), and `--signer` by username. A name is
 * shown only when the user's chain, verified by this home, holds the key
 * (`@saltbox/client`'s `verifiedKeyOwner`); the server's word alone never names anyone.
 *
 * @packageDocumentation
 */
import { isClientError, verifiedKeyOwner } from '@saltbox/client';
import type { KidHex } from '@saltbox/identity';
import { createSignerAllowList } from '@saltbox/saltpack';
import { fromHex, toHex } from '@saltbox/saltpack/encoding';
import type { SigningKeyring } from '@saltbox/saltpack';
import { CliError } from './errors.js';
import { parseSigningPublicKey } from './recipients.js';
import type { Session } from './session.js';

/**
 * What is known of a key's owner: `live` / `revoked` — a verified user's key (revoked since by
 * the user's chain); `unknown` — no verified user holds it (the server knows no owner, or named
 * one whose chain does not hold the key); `unchecked` — not asked (no account in this home) or
 * the check failed (`reason`: offline, keystore locked, a chain that does not verify).
 */
export interface KeyIdentity {
  /** The Keybase KID of the key (`0120…0a` signing, `0121…0a` encryption). */
  kid: KidHex;
  /** The 64-hex public key, as earlier versions printed it. */
  hex: string;
  username: string | null;
  status: 'live' | 'revoked' | 'unknown' | 'unchecked';
  /** Why an account home could not check the owner (a coded error's message). */
  reason?: string;
}

/** How {@link identifyKey} reaches this home's account, when it has one. */
export interface IdentifyContext {
  /** True when this home has an account (a `config.json` naming a device). */
  readonly hasAccount: boolean;
  /** The account session (opened once per command). */
  session(): Promise<Session>;
}

/** The KID of an Ed25519 (`signing`) or X25519 (`encryption`) public key. */
export function kidOf(publicKey: Uint8Array, kind: 'signing' | 'encryption'): KidHex {
  return `01${kind === 'signing' ? '20' : '21'}${toHex(publicKey)}0a`;
}

/**
 * Names the owner of a sender's or signer's key through this home's account; never fails (the
 * message is already verified; only its sender's name is at stake).
 */
export async function identifyKey(
  ctx: IdentifyContext,
  publicKey: Uint8Array,
  kind: 'signing' | 'encryption',
): Promise<KeyIdentity> {
  const kid = kidOf(publicKey, kind);
  const base = { kid, hex: toHex(publicKey), username: null };
  if (!ctx.hasAccount) return { ...base, status: 'unchecked' };
  try {
    const { account } = await ctx.session();
    const owner = await verifiedKeyOwner(account.api, account.users, kid);
    if (owner === null) return { ...base, status: 'unknown' };
    return { ...base, username: owner.username, status: owner.status };
  } catch (e) {
    return { ...base, ...ownerCheckFailure(e) };
  }
}

/** Client codes that mean the named owner's chain did not verify: the server's claim failed. */
const CLAIM_REFUTED = new Set([
  'CLIENT_WRONG_USER',
  'CLIENT_CHAIN_INVALID',
  'CLIENT_CHAIN_FORK',
  'CLIENT_CHAIN_ROLLBACK',
  'CLIENT_ELDEST_CHANGED',
]);

/**
 * What a failed owner check shows: a chain that does not verify makes the key `unknown` (its
 * message would name the server's candidate, which must not be shown); anything else (offline,
 * keystore locked) leaves it `unchecked`, with the error's message as the reason.
 */
export function ownerCheckFailure(e: unknown): Pick<KeyIdentity, 'status' | 'reason'> {
  if (isClientError(e) && CLAIM_REFUTED.has(e.code)) return { status: 'unknown' };
  return { status: 'unchecked', reason: e instanceof Error ? e.message : 'the check failed' };
}

/**
 * The text after `sender:` or `signer:`: `alice`, `alice (revoked key)`, `<hex> (unknown key)`;
 * the hex alone without an account; `<hex> (owner not checked: …)` when the check failed. Names
 * are escaped where printed (`info`).
 */
export function describeKey(id: KeyIdentity): string {
  switch (id.status) {
    case 'live':
      return id.username!;
    case 'revoked':
      return `${id.username!} (revoked key)`;
    case 'unknown':
      return `${id.hex} (unknown key)`;
    case 'unchecked':
      return id.reason === undefined ? id.hex : `${id.hex} (owner not checked: ${id.reason})`;
  }
}

/** The `--json` fields of a sender or signer, prefixed (`sender`, `signer`). */
export function identityJson(
  prefix: 'sender' | 'signer',
  id: KeyIdentity | null,
): Record<string, string | null> {
  return {
    [prefix]: id?.hex ?? null,
    [`${prefix}Kid`]: id?.kid ?? null,
    [`${prefix}Username`]: id?.username ?? null,
    [`${prefix}KeyStatus`]: id?.status ?? null,
  };
}

// Keybase usernames (as `-r` takes them): 2–16 of letters, digits and underscores.
const USERNAME = /^[a-z0-9][a-z0-9_]{1,15}$/i;
// Keybase KIDs of NaCl Ed25519 keys, the only Saltpack signing keys.
const ED25519_KID = /^0120[0-9a-f]{64}0a$/;

/**
 * The keyring `--signer` allows: a 64-hex Ed25519 key or `0120…0a` KID allows that key; a
 * username allows every live signing key of the user's verified chain (its devices and paper
 * keys; revoked ones are refused), loaded afresh so a revocation counts at once.
 *
 * @throws CliError `CLI_BAD_RECIPIENT` (neither a key nor a username),
 *   `CLI_RECIPIENT_UNAVAILABLE` (the user has no live signing key); the session's errors
 *   (`CLI_NOT_LOGGED_IN`, …) and the user loader's (`CLIENT_USER_NOT_FOUND`, chain errors).
 */
export async function signerKeyring(
  signer: string,
  session: () => Promise<Session>,
): Promise<SigningKeyring> {
  const s = signer.trim();
  if (!USERNAME.test(s)) return createSignerAllowList([parseSigningPublicKey(s)]);
  const { account } = await session();
  const user = await account.users.load(s.toLowerCase(), { refresh: true });
  const keys = user.sibkeys.filter((k) => ED25519_KID.test(k));
  if (keys.length === 0)
    throw new CliError(
      'CLI_RECIPIENT_UNAVAILABLE',
      `user "${user.username}" has no live signing key`,
    );
  return createSignerAllowList(keys.map((k) => fromHex(k.slice(4, 68))));
}
