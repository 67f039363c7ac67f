import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import { parseAuthorization, verifyRequestSignature } from '@saltbox/protocol';
import { ApiClient, keystoreRequestSigner } from '../src/index.js';
import { startTestServer } from './helpers.js';

const backend = await defaultBackend();
// Cheap scrypt so the test does not spend seconds deriving the keystore key.
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

describe('keystoreRequestSigner', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(() => srv.close());

  it('signs with purpose http_request: the protocol verifier and the real server accept it', async () => {
    const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
    await ks.unlock({ passphrase: 'correct horse battery staple', create: true });
    const dev = await ks.createDevice({ name: 'laptop', type: 'desktop' });
    const signer = keystoreRequestSigner(ks, dev.signingKid);
    const seen: { auth: string; url: string; method: string }[] = [];
    const api = new ApiClient({
      baseUrl: srv.server.url,
      backend,
      signer,
      fetch: (input, init) => {
        seen.push({
          auth: new Headers(init?.headers).get('authorization') ?? '',
          url: (input as URL).href,
          method: init?.method ?? 'GET',
        });
        return fetch(input, init);
      },
    });
    // The server checks the signature before it looks the key up, so UNKNOWN_KEY (not
    // BAD_SIGNATURE) from a key it never saw means the keystore's signature verified.
    await expect(api.whoami()).rejects.toMatchObject({
      code: 'CLIENT_HTTP',
      details: { serverCode: 'UNKNOWN_KEY' },
    });
    const auth = parseAuthorization(seen[0]!.auth);
    expect(auth.kid).toBe(dev.signingKid);
    const url = new URL(seen[0]!.url);
    expect(() => {
      verifyRequestSignature(backend, auth, {
        method: seen[0]!.method,
        target: url.pathname + url.search,
        body: new Uint8Array(0),
      });
    }).not.toThrow();
  });

  it('a locked keystore is CLIENT_SIGNER, and nothing is sent', async () => {
    const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
    await ks.unlock({ passphrase: 'correct horse battery staple', create: true });
    const dev = await ks.createDevice({ name: 'laptop', type: 'desktop' });
    await ks.lock();
    let sent = 0;
    const api = new ApiClient({
      baseUrl: srv.server.url,
      backend,
      signer: keystoreRequestSigner(ks, dev.signingKid),
      fetch: (input, init) => {
        sent++;
        return fetch(input, init);
      },
    });
    await expect(api.whoami()).rejects.toMatchObject({ code: 'CLIENT_SIGNER' });
    expect(sent).toBe(0);
  });
});
