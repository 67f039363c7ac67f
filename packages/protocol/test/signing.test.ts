import { describe, expect, it } from 'vitest';
import { defaultBackend, loadBackend } from '@saltbox/saltpack';
import { ed25519Kid, toHex } from '@saltbox/identity';
// Test-only: proves the keystore's `http_request` purpose signs exactly these bytes.
import { SIGNATURE_PREFIXES, signPayload } from '@saltbox/keystore';
import {
  ApiError,
  canonicalRequest,
  formatAuthorization,
  generateNonce,
  isFresh,
  parseAuthorization,
  REQUEST_SIGNATURE_PREFIX,
  requestSigningInput,
  requestTarget,
  signRequest,
  verifyRequestSignature,
} from '../src/index.js';
import type { RequestParts } from '../src/index.js';

const backend = await defaultBackend();
const key = backend.ed25519KeyPairFromSeed(new Uint8Array(32).fill(7));
const kid = ed25519Kid(key.publicKey);
const body = new TextEncoder().encode('{"a":1}');
const parts: RequestParts = {
  method: 'post',
  target: '/api/v1/users/alice/chain?since=2',
  body,
  timestamp: 1_750_000_000_000,
  nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  kid,
};

describe('request signing', () => {
  it('builds the canonical string of six lines', () => {
    expect(canonicalRequest(backend, parts)).toBe(
      [
        'POST',
        '/api/v1/users/alice/chain?since=2',
        toHex(backend.sha256(body)),
        '1750000000000',
        'AAAAAAAAAAAAAAAAAAAAAA',
        kid,
      ].join('\n'),
    );
  });

  it('hashes the empty body like any other (GET requests sign it)', () => {
    const empty = new Uint8Array(0);
    expect(canonicalRequest(backend, { ...parts, body: empty }).split('\n')[2]).toBe(
      toHex(backend.sha256(empty)),
    );
  });

  it('uses the keystore’s http_request prefix, so keystore signatures are request signatures', () => {
    expect(REQUEST_SIGNATURE_PREFIX).toBe(SIGNATURE_PREFIXES.http_request);
    const canonical = canonicalRequest(backend, parts);
    expect(signPayload('http_request', 'device', new TextEncoder().encode(canonical))).toEqual(
      requestSigningInput(canonical),
    );
    const input = requestSigningInput('x');
    expect(new TextDecoder().decode(input)).toBe(`${REQUEST_SIGNATURE_PREFIX}\0x`);
  });

  it('round-trips through the header on both backends', async () => {
    for (const b of [await loadBackend('native'), await loadBackend('portable')]) {
      const header = signRequest(b, key.secretKey, { ...parts, kid: undefined });
      const auth = parseAuthorization(header);
      expect(auth.kid).toBe(kid);
      expect(formatAuthorization(auth)).toBe(header);
      expect(() => {
        verifyRequestSignature(b, auth, parts);
      }).not.toThrow();
    }
  });

  it('fails on any change to method, target, body, timestamp, nonce or key', () => {
    const auth = parseAuthorization(signRequest(backend, key.secretKey, parts));
    const other = backend.ed25519KeyPairFromSeed(new Uint8Array(32).fill(8));
    const variants: [string, () => void][] = [
      [
        'method',
        () => {
          verifyRequestSignature(backend, auth, { ...parts, method: 'PUT' });
        },
      ],
      [
        'target',
        () => {
          verifyRequestSignature(backend, auth, { ...parts, target: '/api/v1/me' });
        },
      ],
      [
        'query',
        () => {
          verifyRequestSignature(backend, auth, { ...parts, target: `${parts.target}0` });
        },
      ],
      [
        'body',
        () => {
          verifyRequestSignature(backend, auth, { ...parts, body: new Uint8Array(1) });
        },
      ],
      [
        'timestamp',
        () => {
          verifyRequestSignature(backend, { ...auth, timestamp: auth.timestamp + 1 }, parts);
        },
      ],
      [
        'nonce',
        () => {
          verifyRequestSignature(backend, { ...auth, nonce: 'BAAAAAAAAAAAAAAAAAAAAA' }, parts);
        },
      ],
      [
        'kid',
        () => {
          verifyRequestSignature(backend, { ...auth, kid: ed25519Kid(other.publicKey) }, parts);
        },
      ],
    ];
    for (const [name, f] of variants)
      expect(f, name).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
  });

  it('refuses malformed headers with UNAUTHENTICATED', () => {
    const good = signRequest(backend, key.secretKey, parts);
    const bad = [
      undefined,
      '',
      'Bearer x',
      good.replace('Saltbox-Ed25519', 'Saltbox-Ed448'),
      good.replace(/, sig=[^,]+/, ''),
      `${good}, sig=AAAA`,
      good.replace(/ts=\d+/, 'ts=-1'),
      good.replace(/nonce=[^,]+/, 'nonce=short'),
      good.replace(/kid=0120/, 'kid=0121'),
      good.replace(/sig=[^,]+$/, 'sig=AAAA'),
      `${good}, extra=1`,
    ];
    for (const h of bad)
      expect(() => parseAuthorization(h), String(h)).toThrow(
        expect.objectContaining({ code: 'UNAUTHENTICATED' }),
      );
  });

  it('checks freshness symmetrically and makes distinct nonces', () => {
    expect(isFresh(1000, 1000 + 300_000)).toBe(true);
    expect(isFresh(1000, 1000 + 300_001)).toBe(false);
    expect(isFresh(1000 + 300_001, 1000)).toBe(false);
    const n = new Set(Array.from({ length: 100 }, () => generateNonce(backend)));
    expect(n.size).toBe(100);
    for (const x of n) expect(x).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('signs the target exactly as a WHATWG URL serialises it', () => {
    expect(requestTarget('http://h/api/v1/users/lookup?usernames=a,b')).toBe(
      '/api/v1/users/lookup?usernames=a,b',
    );
    expect(requestTarget(new URL('http://h/a b?x=1 2'))).toBe('/a%20b?x=1%202');
    expect(() => canonicalRequest(backend, { ...parts, target: 'no-slash' })).toThrow(ApiError);
  });
});
