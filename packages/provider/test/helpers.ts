/**
 * Provider test world: a real server (SQLite, real socket), users signed up with devices that
 * live in real in-process keystores (their PUK opened into the keystore), and the
 * client-backed directory. Sign-up links come from the client's test helpers.
 */
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import type { KeystoreClient } from '@saltbox/keystore';
import { curve25519Kid, ed25519Kid } from '@saltbox/identity';
import {
  ApiClient,
  MemoryChainCache,
  MemoryPinStore,
  MemoryTeamPinStore,
  TeamLoader,
  TeamManager,
  UserLoader,
  keystoreRequestSigner,
  openMyPukBoxes,
} from '@saltbox/client';
import { signupUser, startTestServer } from '../../client/test/helpers.js';
import type { Device, User } from '../../client/test/helpers.js';
import { openMyTeamKeys, teamResolver, userDirectory } from '../src/index.js';
import type { ProviderError, RecipientDirectory } from '../src/index.js';

export const backend = await defaultBackend();
export const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;
export const PASS = 'correct horse battery staple';

/** The error a keeper call rejects with; a call that succeeds fails the test. */
export const failure = (p: Promise<unknown>): Promise<ProviderError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as ProviderError,
  );

/** A signed-up user whose device keys live in `ks`. */
export interface KeystoreUser {
  user: User;
  device: Device;
  ks: KeystoreClient;
  api: ApiClient;
  loader: UserLoader;
  pins: MemoryPinStore;
  /** The team pins of this "machine": shared by its team loaders and its directory. */
  teamPins: MemoryTeamPinStore;
  directory: RecipientDirectory;
  teams: TeamManager;
  /** Opens PUK boxes the keystore lacks (after a rotation). */
  refreshKeys: () => Promise<void>;
}

export async function newKeystore(): Promise<KeystoreClient> {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }), {
    allowPrivileged: true,
  });
  await ks.unlock({ passphrase: PASS, create: true });
  return ks;
}

/** A device created inside `ks`; its secrets exported (privileged) only to build test links. */
export async function keystoreDevice(ks: KeystoreClient): Promise<Device> {
  const info = await ks.createDevice({ name: 'laptop', type: 'desktop' });
  const secrets = await ks.exportSecrets({ passphrase: PASS });
  const s = secrets.devices.find((d) => d.deviceId === info.deviceId)!;
  const signing = backend.ed25519KeyPairFromSeed(s.signingSeed);
  return {
    id: info.deviceId,
    signing,
    kid: ed25519Kid(signing.publicKey),
    encSecret: s.encryptionSecret,
    encKid: curve25519Kid(backend.x25519PublicKey(s.encryptionSecret)),
  };
}

export async function startWorld(): Promise<{
  url: string;
  close: () => Promise<void>;
  signup: (username: string) => Promise<KeystoreUser>;
}> {
  const srv = await startTestServer();
  const url = srv.server.url;
  return {
    url,
    close: srv.close,
    async signup(username) {
      const ks = await newKeystore();
      const device = await keystoreDevice(ks);
      const user = await signupUser(backend, url, username, device);
      const api = new ApiClient({
        baseUrl: url,
        backend,
        signer: keystoreRequestSigner(ks, device.kid),
      });
      const pins = new MemoryPinStore();
      const loader = new UserLoader({ api, backend, pins, cache: new MemoryChainCache() });
      const teamPins = new MemoryTeamPinStore();
      const teamLoader = new TeamLoader({ api, backend, users: loader, pins: teamPins });
      const teams = new TeamManager({
        api,
        backend,
        keystore: ks,
        users: loader,
        teams: teamLoader,
        me: { username, deviceSigningKid: device.kid, deviceEncryptionKid: device.encKid },
      });
      const refreshKeys = async () => {
        const me = await loader.load(username, { refresh: true });
        await openMyPukBoxes(backend, api, ks, me);
        await openMyTeamKeys({
          api,
          backend,
          ks,
          loader,
          teamLoader,
          me: { username, deviceSigningKid: device.kid },
        });
      };
      await refreshKeys();
      return {
        user,
        device,
        ks,
        api,
        loader,
        pins,
        teamPins,
        directory: userDirectory({ loader, pins, teams: teamResolver(teamLoader), teamPins }),
        teams,
        refreshKeys,
      };
    },
  };
}
