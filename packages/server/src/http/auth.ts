/**
 * Request authentication (DESIGN.md, Server): an Ed25519 device signature over the method, the
 * path and query, the body hash, a timestamp and a nonce (`@saltbox/protocol`'s signing format),
 * checked in this order — cheapest refusals first, the database write last:
 *
 * 1. the header parses (`UNAUTHENTICATED`);
 * 2. the timestamp is within the allowed skew (`STALE_REQUEST`);
 * 3. the signature verifies under the KID's own public key (`BAD_SIGNATURE`);
 * 4. the KID is a registered key (`UNKNOWN_KEY`) that is not revoked, nor its device
 *    (`DEVICE_REVOKED`) — read from storage on every request, so a revocation takes effect at
 *    once in every process;
 * 5. the device is within its rate limit (`RATE_LIMITED`);
 * 6. the nonce is claimed in storage (`REPLAYED_REQUEST`), shared by all processes.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { isFresh, parseAuthorization, verifyRequestSignature } from '@saltbox/protocol';
import { fail } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import type { KeyRecord, Storage } from '../storage/types.js';

/** Who signed a request. */
export interface AuthContext {
  kid: string;
  /** The registered key (absent for a sign-up, whose key is not registered yet). */
  key: KeyRecord | null;
}

/** What {@link authenticateRequest} needs. */
export interface AuthDeps {
  backend: CryptoBackend;
  storage: Storage;
  limiter: RateLimiter;
  now: () => number;
  clockSkewMs: number;
}

/**
 * Authenticates a request.
 *
 * @param allowUnregistered - accept a key the server does not know (sign-up, where the eldest
 *   key signs its own registration).
 * @throws ServerError `UNAUTHENTICATED`, `STALE_REQUEST`, `BAD_SIGNATURE`, `UNKNOWN_KEY`,
 *   `DEVICE_REVOKED`, `RATE_LIMITED`, `REPLAYED_REQUEST`.
 */
export async function authenticateRequest(
  deps: AuthDeps,
  request: { method: string; target: string; body: Uint8Array; authorization: string | undefined },
  allowUnregistered = false,
): Promise<AuthContext> {
  let auth;
  try {
    auth = parseAuthorization(request.authorization);
  } catch (e) {
    throw fail('UNAUTHENTICATED', e instanceof Error ? e.message : 'request is not signed');
  }
  const now = deps.now();
  if (!isFresh(auth.timestamp, now, deps.clockSkewMs))
    throw fail('STALE_REQUEST', 'request timestamp is outside the allowed clock skew');
  try {
    verifyRequestSignature(deps.backend, auth, request);
  } catch {
    throw fail('BAD_SIGNATURE', 'request signature does not verify');
  }
  const key = await deps.storage.users.getKey(auth.kid);
  if (key === null) {
    if (!allowUnregistered) throw fail('UNKNOWN_KEY', 'the signing key is not registered');
  } else {
    if (key.status !== 'live') throw fail('DEVICE_REVOKED', 'the signing key has been revoked');
    if (key.role !== 'sibkey') throw fail('FORBIDDEN', 'only device signing keys sign requests');
  }
  const wait = deps.limiter.take(`kid:${auth.kid}`);
  if (wait > 0)
    throw fail('RATE_LIMITED', 'too many requests from this device', {
      headers: { 'Retry-After': String(wait) },
    });
  // Kept until the timestamp itself goes stale: after that the skew check refuses a replay.
  const claimed = await deps.storage.nonces.claimNonce(
    auth.kid,
    auth.nonce,
    auth.timestamp + deps.clockSkewMs + 1000,
  );
  if (!claimed) throw fail('REPLAYED_REQUEST', 'this request nonce was already used');
  return { kid: auth.kid, key };
}
