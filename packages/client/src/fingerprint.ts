/**
 * A user's fingerprint, for people to compare (`saltbox id`, `saltbox follow`; DESIGN.md
 * Identity). It binds the UID and the eldest key — what every later link of the chain descends
 * from — so adding or revoking devices does not change it, while an account reset (a new
 * eldest key) does. `verify_proofs` itself compares eldest KIDs (`@saltbox/provider`'s follow
 * store); the fingerprint is their human-sized digest.
 *
 * @packageDocumentation
 */
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { toHex } from '@saltbox/identity';
import type { VerifiedUser } from './users.js';

/** Domain separation of the fingerprint hash. */
const FINGERPRINT_CONTEXT = 'saltbox-user-fingerprint-1';

/**
 * A user's fingerprint: SHA-256 of `"saltbox-user-fingerprint-1" ‖ 0 ‖ uid ‖ 0 ‖ eldest KID`,
 * as 64 lowercase hex (see {@link formatFingerprint} for display).
 */
export function userFingerprint(
  backend: CryptoBackend,
  user: Pick<VerifiedUser, 'uid' | 'eldestKid'>,
): string {
  return toHex(backend.sha256(utf8(`${FINGERPRINT_CONTEXT}\0${user.uid}\0${user.eldestKid}`)));
}

/** The first 160 bits of a fingerprint in groups of four, for people to compare aloud. */
export function formatFingerprint(fingerprint: string): string {
  return (fingerprint.slice(0, 40).match(/.{4}/g) ?? []).join(' ');
}
