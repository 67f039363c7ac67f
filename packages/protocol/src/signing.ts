/**
 * Request authentication: every API request is signed by a device's Ed25519 key.
 *
 * The signed message is a canonical string of six lines —
 *
 * ```
 * METHOD
 * /path?query          (the request target exactly as a WHATWG URL serialises it)
 * sha256(body), hex    (of the raw body bytes; the empty body hashes too)
 * timestamp            (Unix milliseconds, decimal)
 * nonce                (16–64 characters of [A-Za-z0-9_-], fresh per request)
 * kid                  (the signing key's KID)
 * ```
 *
 * — and the Ed25519 signature covers `"Saltbox-HTTP-Request-1" ‖ 0x00 ‖ canonical`. The prefix is
 * the keystore's `http_request` purpose (keystore `SIGNATURE_PREFIXES`), so a keystore signing
 * with that purpose produces exactly these signatures, and no request signature can pass for a
 * sigchain link, a Saltpack signature or a KV chunk (those sign other prefixes or unprefixed
 * JSON/msgpack). Binding the KID into the message stops a signature being replayed under
 * another key header; binding the body hash stops a captured header being reused with another
 * body. The header is `Authorization: Saltbox-Ed25519 kid=…, ts=…, nonce=…, sig=…` (sig in
 * base64url).
 *
 * Pure functions over a {@link CryptoBackend}: the client and the server both use them.
 *
 * @packageDocumentation
 */
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  ed25519Kid,
  fromBase64Url,
  isKid,
  KID_TYPE,
  naclPublicKey,
  toBase64Url,
  toHex,
} from '@saltbox/identity';
import type { KidHex } from '@saltbox/identity';
import { ApiError } from './errors.js';

/** The domain-separation prefix (followed by one 0x00 byte) of request signatures. */
export const REQUEST_SIGNATURE_PREFIX = 'Saltbox-HTTP-Request-1';

/** The `Authorization` scheme name. */
export const AUTH_SCHEME = 'Saltbox-Ed25519';

/** Default allowed distance between a request's timestamp and the server clock (±5 min). */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** SHA-256 of the empty body, hex: every GET signs it, so it is not hashed anew each time. */
const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const NONCE_RE = /^[A-Za-z0-9_-]{16,64}$/;
const TS_RE = /^[0-9]{1,16}$/;

/** What a request signature covers. */
export interface RequestParts {
  /** HTTP method (upper-cased before signing). */
  method: string;
  /** Path and query, e.g. `/api/v1/users/lookup?usernames=alice`; see {@link requestTarget}. */
  target: string;
  /** The raw body bytes (empty for GET). */
  body: Uint8Array;
  /** Unix milliseconds. */
  timestamp: number;
  nonce: string;
  /** The signing device key (Ed25519 KID). */
  kid: KidHex;
}

/** The parsed `Authorization` header. */
export interface RequestAuth {
  kid: KidHex;
  timestamp: number;
  nonce: string;
  signature: Uint8Array;
}

/** The signed target of a URL: its pathname plus search, as a WHATWG URL serialises them. */
export function requestTarget(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  return u.pathname + u.search;
}

function checkParts(p: Omit<RequestParts, 'body'>): void {
  if (!/^[A-Za-z]{1,16}$/.test(p.method))
    throw new ApiError('VALIDATION_FAILED', 'request method is malformed');
  if (!p.target.startsWith('/') || /[\s]/.test(p.target))
    throw new ApiError('VALIDATION_FAILED', 'request target is malformed');
  if (!Number.isSafeInteger(p.timestamp) || p.timestamp < 0)
    throw new ApiError('VALIDATION_FAILED', 'request timestamp is malformed');
  if (!NONCE_RE.test(p.nonce))
    throw new ApiError('VALIDATION_FAILED', 'request nonce is malformed');
  if (!isKid(p.kid, KID_TYPE.ed25519))
    throw new ApiError('VALIDATION_FAILED', 'request kid is not an ed25519 kid');
}

/**
 * The canonical string of a request (the six lines above, joined by `\n`).
 *
 * @throws ApiError `VALIDATION_FAILED` for a malformed method, target, timestamp, nonce or KID.
 */
export function canonicalRequest(backend: CryptoBackend, parts: RequestParts): string {
  checkParts(parts);
  return [
    parts.method.toUpperCase(),
    parts.target,
    parts.body.length === 0 ? EMPTY_BODY_SHA256 : toHex(backend.sha256(parts.body)),
    String(parts.timestamp),
    parts.nonce,
    parts.kid,
  ].join('\n');
}

/** The exact bytes an Ed25519 request signature covers: prefix ‖ 0x00 ‖ canonical string. */
export function requestSigningInput(canonical: string): Uint8Array {
  return concatBytes(utf8(REQUEST_SIGNATURE_PREFIX), new Uint8Array([0]), utf8(canonical));
}

/** A fresh 22-character base64url nonce (16 random bytes). */
export function generateNonce(backend: CryptoBackend): string {
  return toBase64Url(backend.randomBytes(16));
}

/** Formats the `Authorization` header value. */
export function formatAuthorization(auth: RequestAuth): string {
  return `${AUTH_SCHEME} kid=${auth.kid}, ts=${auth.timestamp}, nonce=${auth.nonce}, sig=${toBase64Url(auth.signature)}`;
}

/**
 * Parses an `Authorization` header value.
 *
 * @throws ApiError `UNAUTHENTICATED` when the header is missing, of another scheme, or
 *   malformed (unknown, missing or repeated fields; bad KID, timestamp, nonce or signature).
 */
export function parseAuthorization(header: string | null | undefined): RequestAuth {
  if (header === null || header === undefined || header === '')
    throw new ApiError('UNAUTHENTICATED', 'request is not signed');
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space) !== AUTH_SCHEME)
    throw new ApiError('UNAUTHENTICATED', `authorization scheme must be ${AUTH_SCHEME}`);
  const fields = new Map<string, string>();
  for (const item of header.slice(space + 1).split(',')) {
    const t = item.trim();
    const eq = t.indexOf('=');
    if (eq <= 0) throw new ApiError('UNAUTHENTICATED', 'authorization header is malformed');
    const k = t.slice(0, eq);
    if (!['kid', 'ts', 'nonce', 'sig'].includes(k) || fields.has(k))
      throw new ApiError('UNAUTHENTICATED', 'authorization header is malformed');
    fields.set(k, t.slice(eq + 1));
  }
  const kid = fields.get('kid');
  const ts = fields.get('ts');
  const nonce = fields.get('nonce');
  const sig = fields.get('sig');
  if (kid === undefined || ts === undefined || nonce === undefined || sig === undefined)
    throw new ApiError('UNAUTHENTICATED', 'authorization header is missing a field');
  if (!isKid(kid, KID_TYPE.ed25519))
    throw new ApiError('UNAUTHENTICATED', 'authorization kid is not an ed25519 kid');
  if (!TS_RE.test(ts))
    throw new ApiError('UNAUTHENTICATED', 'authorization timestamp is malformed');
  if (!NONCE_RE.test(nonce))
    throw new ApiError('UNAUTHENTICATED', 'authorization nonce is malformed');
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(sig);
  } catch {
    throw new ApiError('UNAUTHENTICATED', 'authorization signature is not base64url');
  }
  if (signature.length !== 64)
    throw new ApiError('UNAUTHENTICATED', 'authorization signature must be 64 bytes');
  return { kid, timestamp: Number(ts), nonce, signature };
}

/**
 * Signs a request with a 64-byte NaCl Ed25519 secret key and returns the `Authorization` value.
 * (A client backed by a keystore signs `utf8(canonicalRequest(…))` with purpose `http_request`
 * instead, and passes the signature to {@link formatAuthorization}.)
 *
 * @throws ApiError `VALIDATION_FAILED` for malformed parts.
 */
export function signRequest(
  backend: CryptoBackend,
  secretKey: Uint8Array,
  parts: Omit<RequestParts, 'kid'> & { kid?: KidHex },
): string {
  const kid = parts.kid ?? ed25519KidOf(secretKey);
  const canonical = canonicalRequest(backend, { ...parts, kid });
  const signature = backend.ed25519Sign(requestSigningInput(canonical), secretKey);
  return formatAuthorization({ kid, timestamp: parts.timestamp, nonce: parts.nonce, signature });
}

function ed25519KidOf(secretKey: Uint8Array): KidHex {
  if (secretKey.length !== 64)
    throw new ApiError('VALIDATION_FAILED', 'secret key must be 64 bytes');
  return ed25519Kid(secretKey.subarray(32));
}

/**
 * Verifies a parsed request signature against the request (signature only: freshness, replay
 * and key status are the server's checks).
 *
 * @throws ApiError `BAD_SIGNATURE` when the signature does not verify.
 */
export function verifyRequestSignature(
  backend: CryptoBackend,
  auth: RequestAuth,
  request: Omit<RequestParts, 'kid' | 'timestamp' | 'nonce'>,
): void {
  const canonical = canonicalRequest(backend, {
    ...request,
    kid: auth.kid,
    timestamp: auth.timestamp,
    nonce: auth.nonce,
  });
  const pub = naclPublicKey(auth.kid, KID_TYPE.ed25519);
  if (!backend.ed25519Verify(auth.signature, requestSigningInput(canonical), pub))
    throw new ApiError('BAD_SIGNATURE', 'request signature does not verify');
}

/**
 * Whether a timestamp lies within `skewMs` of `nowMs`.
 */
export function isFresh(timestamp: number, nowMs: number, skewMs = DEFAULT_CLOCK_SKEW_MS): boolean {
  return Math.abs(nowMs - timestamp) <= skewMs;
}
