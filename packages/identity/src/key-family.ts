/**
 * The set of public keys a user has ever delegated (`all_bundles`, spec §1.3): NaCl KIDs and
 * armored PGP keys, several versions of one PGP key told apart by their full hash.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { fail } from './errors.js';
import { jstr } from './chain-link.js';
import type { ImportedLink } from './chain-link.js';
import { isKid, isPgpKid } from './ids.js';
import type { KidHex } from './ids.js';
import { isArmoredPgpKey, parsePgpKey } from './pgp.js';
import type { PgpKeyBundle } from './pgp.js';

/** Every key a chain may use, by KID. */
export interface KeyFamily {
  /** NaCl KIDs (Ed25519 and Curve25519). */
  readonly nacl: ReadonlySet<KidHex>;
  /** PGP keys by KID; each entry lists every version (by full hash). */
  readonly pgp: ReadonlyMap<KidHex, readonly PgpKeyBundle[]>;
  /** The KID of each bundle, in input order. */
  readonly kids: readonly KidHex[];
}

/**
 * Builds a key family from `all_bundles` entries: NaCl KID hex strings or armored PGP keys.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for an entry that is neither.
 */
export async function buildKeyFamily(
  backend: CryptoBackend,
  bundles: readonly string[],
): Promise<KeyFamily> {
  const nacl = new Set<KidHex>();
  const pgp = new Map<KidHex, PgpKeyBundle[]>();
  const kids: KidHex[] = [];
  for (const b of bundles) {
    if (isArmoredPgpKey(b)) {
      const k = await parsePgpKey(backend, b);
      const list = pgp.get(k.kid) ?? [];
      if (!list.some((x) => x.fullHash === k.fullHash)) list.push(k);
      pgp.set(k.kid, list);
      kids.push(k.kid);
    } else if (isKid(b.trim())) {
      nacl.add(b.trim());
      kids.push(b.trim());
    } else throw fail('IDENTITY_MALFORMED', 'key bundle is neither a kid nor an armored pgp key');
  }
  return { nacl, pgp, kids };
}

/** Whether the family holds a key with this KID. */
export function hasKey(family: KeyFamily, kid: KidHex): boolean {
  return family.nacl.has(kid) || family.pgp.has(kid);
}

/**
 * The NaCl KIDs a run of links signs with or delegates (`key.kid`, `sibkey.kid`, `subkey.kid`),
 * once each, in order; stubbed links are skipped. NaCl keys enter a key family as their KIDs
 * (spec §1.3), which are the public keys themselves, so a family built from links cannot
 * smuggle a key in: each still has to be delegated by a verified link. PGP KIDs are left out:
 * a PGP KID is a hash, and a PGP key enters the family only as its armored bundle (given to
 * {@link buildKeyFamily} beside these KIDs), bound by a verified link naming its KID and full
 * hash. Used by the client's and the server's chain loading alike.
 */
export function linkNaclKids(links: readonly ImportedLink[]): KidHex[] {
  const out = new Set<KidHex>();
  for (const l of links) {
    if (l.stubbed) continue;
    for (const k of [
      l.signingKid,
      jstr(l.body, 'key', 'kid'),
      jstr(l.body, 'sibkey', 'kid'),
      jstr(l.body, 'subkey', 'kid'),
    ])
      if (k !== undefined && isKid(k) && !isPgpKid(k)) out.add(k);
  }
  return [...out];
}
