import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import { createEncryptionPacket, curve25519Kid, ed25519Kid } from '@saltbox/identity';
import type { ChainLink, PukBox } from '@saltbox/protocol';
import {
  ApiClient,
  MemoryChainCache,
  MemoryPinStore,
  UserLoader,
  keystoreRequestSigner,
  openMyPukBoxes,
} from '../src/index.js';
import type { VerifiedUser } from '../src/index.js';
import { newDevice, pukLink, signupUser, startTestServer } from './helpers.js';
import type { Device, User } from './helpers.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;
const PASS = 'correct horse battery staple';

describe('openMyPukBoxes through a real keystore and a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let ks: ReturnType<typeof inProcessClient>;
  let dev: Device;
  let carol: User;
  let api: ApiClient;
  let loader: UserLoader;
  let rewrite: ((boxes: PukBox[]) => PukBox[]) | null = null;

  beforeAll(async () => {
    srv = await startTestServer();
    ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
    await ks.unlock({ passphrase: PASS, create: true });
    const info = await ks.createDevice({ name: 'laptop', type: 'desktop' });
    // The link builders take raw secret keys, so the test exports the device's secrets
    // (privileged; the in-process client allows it) to build carol's sign-up links.
    const secrets = await ks.exportSecrets({ passphrase: PASS });
    const s = secrets.devices[0]!;
    const signing = backend.ed25519KeyPairFromSeed(s.signingSeed);
    dev = {
      id: info.deviceId,
      signing,
      kid: ed25519Kid(signing.publicKey),
      encSecret: s.encryptionSecret,
      encKid: curve25519Kid(backend.x25519PublicKey(s.encryptionSecret)),
    };
    expect(dev.kid).toBe(info.signingKid);
    carol = await signupUser(backend, srv.server.url, 'carol', dev);
    api = new ApiClient({
      baseUrl: srv.server.url,
      backend,
      signer: keystoreRequestSigner(ks, info.signingKid),
      // A rewriting fetch: the real server's PUK-box answer, optionally rewritten.
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (rewrite === null || !(input as URL).pathname.endsWith('/me/puk-boxes')) return res;
        const body = (await res.json()) as { boxes: PukBox[] };
        return Response.json({ boxes: rewrite(body.boxes) });
      },
    });
    loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
  });
  afterAll(() => srv.close());

  async function me(): Promise<VerifiedUser> {
    return loader.load('carol', { refresh: true });
  }

  it('opens generation 1 with the KIDs the chain announces', async () => {
    const u = await me();
    expect(await openMyPukBoxes(backend, api, ks, u)).toEqual([1]);
    const bundle = await ks.getPublicKeyBundle();
    expect(bundle.puks.find((p) => p.generation === 1)?.encryptionKid).toBe(
      u.perUserKeys[0]!.encryptionKid,
    );
  });

  it('refuses boxes the verified chain does not support', async () => {
    // Generation 2 announced by the chain, with its real box on the server.
    const { link, seed } = pukLink(backend, carol, dev, 2);
    carol.links.push(link);
    await api.appendLinks('carol', {
      links: [link.link as ChainLink],
      pukBoxes: [
        {
          generation: 2,
          receiverKid: dev.encKid,
          box: createEncryptionPacket(backend, seed, dev.encSecret, dev.encKid),
        },
      ],
    });
    const u = await me();
    const cases: [string, (b: PukBox[]) => PukBox[], string][] = [
      [
        'a generation the chain never announced',
        (b) => b.map((x) => ({ ...x, generation: 9 })),
        'CLIENT_KEY_BOX_INVALID',
      ],
      [
        'the generation-1 box served as generation 2',
        (b) => b.filter((x) => x.generation === 1).map((x) => ({ ...x, generation: 2 })),
        'CLIENT_KEY_BOX_INVALID',
      ],
      [
        'a box from a stranger',
        (b) => {
          const stranger = newDevice(backend);
          return [
            {
              ...b[0]!,
              box: createEncryptionPacket(
                backend,
                backend.randomBytes(32),
                stranger.encSecret,
                dev.encKid,
              ),
            },
          ];
        },
        'CLIENT_KEY_BOX_INVALID',
      ],
      [
        'a receiver that is not a live key of carol',
        (b) => [{ ...b[0]!, receiverKid: newDevice(backend).encKid }],
        'CLIENT_KEY_BOX_INVALID',
      ],
    ];
    for (const [what, f, code] of cases) {
      rewrite = f;
      await expect(openMyPukBoxes(backend, api, ks, u), what).rejects.toMatchObject({ code });
    }
    // The relabelled box passes the client's checks and is refused by the keystore's KID check.
    rewrite = (b) => b.filter((x) => x.generation === 1).map((x) => ({ ...x, generation: 2 }));
    await expect(openMyPukBoxes(backend, api, ks, u)).rejects.toMatchObject({
      details: { generation: 2, keystoreCode: 'KEYSTORE_KEY_MISMATCH' },
    });
    rewrite = null;
    // The keystore holds only what verified; the honest answer then opens generation 2.
    expect((await ks.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([1]);
    expect(await openMyPukBoxes(backend, api, ks, u)).toEqual([1, 2]);
  });

  it('a locked keystore is CLIENT_SIGNER', async () => {
    const u = await me();
    await ks.lock();
    try {
      await expect(openMyPukBoxes(backend, api, ks, u)).rejects.toMatchObject({
        code: 'CLIENT_SIGNER',
      });
    } finally {
      await ks.unlock({ passphrase: PASS });
    }
  });
});
