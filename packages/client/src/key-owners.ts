/**
 * Who owns a key, as far as this client can verify: the server names a user for a KID
 * (`GET /api/v1/keys/:kid`), and the name is believed only when that user's chain, verified
 * here, delegated the key. A server that names someone else gets nothing shown for it: the
 * owner is then unknown, never the claimed name (#12.9; DESIGN.md Identity: the server is
 * trusted for nothing it could lie about).
 *
 * @packageDocumentation
 */
import type { KidHex } from '@saltbox/identity';
import { isClientError } from './errors.js';
import type { ApiClient } from './http.js';
import type { UserLoader, VerifiedUser } from './users.js';

/** A key whose owner this client verified. */
export interface VerifiedKeyOwner {
  kid: KidHex;
  uid: string;
  username: string;
  role: 'sibkey' | 'subkey';
  /** `revoked` when the chain revoked the key or its device since delegating it. */
  status: 'live' | 'revoked';
  /** The device of the key, by the verified chain (its name is the user's choice: escape it). */
  device: { id: string; name: string | null } | null;
}

/** The key of `user`'s verified chain with this KID, as an owner, or null. */
export function ownerInChain(user: VerifiedUser, kid: KidHex): VerifiedKeyOwner | null {
  const key = user.keys.find((k) => k.kid === kid);
  if (key === undefined) return null;
  const device = user.devices.find((d) => d.id === key.deviceId);
  return {
    kid,
    uid: user.uid,
    username: user.username,
    role: key.role,
    status: key.status,
    device: device === undefined ? null : { id: device.id, name: device.name },
  };
}

/**
 * The verified owner of a device or paper key (a Saltpack sender's X25519 key or signer's
 * Ed25519 key, as a KID), or null when no user's verified chain is known to hold it: the server
 * knows no owner, names a user that does not exist, or names one whose chain does not contain
 * the key. The named user's chain is refetched (a revocation since the last load shows).
 *
 * @throws ClientError the codes of {@link UserLoader.load} for the named user (a forked or
 *   rolled-back chain stays an error, not an unknown owner) and the transport codes of
 *   {@link ApiClient}.
 */
export async function verifiedKeyOwner(
  api: ApiClient,
  users: UserLoader,
  kid: KidHex,
): Promise<VerifiedKeyOwner | null> {
  let claimed: string;
  try {
    claimed = (await api.keyOwner(kid)).username;
  } catch (e) {
    if (isClientError(e) && e.code === 'CLIENT_HTTP' && e.details.serverCode === 'KEY_NOT_FOUND')
      return null;
    throw e;
  }
  let user: VerifiedUser;
  try {
    user = await users.load(claimed, { refresh: true });
  } catch (e) {
    // A name that is no valid username or no user: the claim is false, the owner unknown.
    if (
      isClientError(e) &&
      (e.code === 'CLIENT_INVALID_ARGUMENT' || e.code === 'CLIENT_USER_NOT_FOUND')
    )
      return null;
    throw e;
  }
  return ownerInChain(user, kid);
}
