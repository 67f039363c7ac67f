/**
 * Publishing a PGP key through the chain against a real server (SQLite) with in-process
 * keystores: `publishPgpKey` appends a verified PGP sibkey, another user's loader then lists the
 * key from the verified chain (`pgpKeys`), a second publish is refused, and a server that swaps
 * the served bundle for another key is caught by verification rather than trusted.
 */
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import {
  Account,
  MemoryChainCache,
  MemoryPinStore,
  UserLoader,
  ApiClient,
  keystoreRequestSigner,
  signup,
} from '../src/index.js';
import type { AccountEnv } from '../src/index.js';
import { startTestServer } from './helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

async function newKeystore() {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  return ks;
}

describe('pgp keys published through the chain', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: Account;
  let bob: Account;
  let aliceKeystore: Awaited<ReturnType<typeof newKeystore>>;

  beforeAll(async () => {
    srv = await startTestServer();
    aliceKeystore = await newKeystore();
    const aliceEnv: AccountEnv = { backend, keystore: aliceKeystore, server: srv.server.url };
    const bobEnv = { backend, keystore: await newKeystore(), server: srv.server.url };
    alice = new Account(
      aliceEnv,
      (await signup(aliceEnv, { username: 'pgpc_alice', deviceName: 'laptop' })).config,
    );
    bob = new Account(
      bobEnv,
      (await signup(bobEnv, { username: 'pgpc_bob', deviceName: 'laptop' })).config,
    );
  });
  afterAll(() => srv.close());

  it('publishes a keystore pgp key; others see it only through the verified chain', async () => {
    await expect(alice.publishPgpKey()).rejects.toMatchObject({ code: 'CLIENT_INVALID_ARGUMENT' });
    const info = await aliceKeystore.pgpGenerate({ userId: 'Alice <alice@example.com>' });
    const before = await bob.users.load('pgpc_alice');
    expect(before.pgpKeys).toEqual([]);
    const published = await alice.publishPgpKey();
    expect(published).toMatchObject({ kid: info.kid, fingerprint: info.fingerprint, seqno: 6 });
    const seen = await bob.users.load('pgpc_alice', { refresh: true });
    expect(seen.pgpKeys).toEqual([
      {
        kid: info.kid,
        fingerprint: info.fingerprint,
        keyId: info.keyId,
        fullHash: info.fullHash,
        armoredPublicKey: info.armoredPublicKey,
      },
    ]);
    expect(seen.sibkeys).toContain(info.kid);
    // The lookup agrees with the verified chain (the PGP key is one more sibkey).
    const [looked] = await bob.users.lookup(['pgpc_alice']);
    expect(looked?.pgpKeys.map((k) => k.kid)).toEqual([info.kid]);
    // From the cache, the same answer.
    expect((await bob.users.load('pgpc_alice')).pgpKeys).toEqual(seen.pgpKeys);
    await expect(alice.publishPgpKey({ fingerprint: info.fingerprint })).rejects.toMatchObject({
      code: 'CLIENT_ACCOUNT_CONFLICT',
    });
  });

  it('refuses a served bundle that is not the key the chain delegates', async () => {
    const other = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ email: 'mallory@example.com' }],
      format: 'armored',
    });
    const { f, state } = lyingFetch();
    state.rewrite = (path, body) =>
      path.endsWith('/pgpc_alice/chain')
        ? { ...(body as object), pgpBundles: [other.publicKey] }
        : body;
    const loader = new UserLoader({
      api: new ApiClient({
        baseUrl: srv.server.url,
        backend,
        signer: keystoreRequestSigner(bob.keystore, bob.config.device.signingKid),
        fetch: f,
      }),
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
    await expect(loader.load('pgpc_alice')).rejects.toMatchObject({
      code: 'CLIENT_CHAIN_INVALID',
      details: { identityCode: 'IDENTITY_NONEXISTENT_KID' },
    });
  });
});
