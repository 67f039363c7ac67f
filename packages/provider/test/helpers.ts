/**
 * Provider test world: a real server (SQLite, real socket), users signed up with devices that
 * live in real in-process keystores (their PUK opened into the keystore), and the
 * client-backed directory. Sign-up links come from the client's test helpers.
 */
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import type { KeystoreClient } from '@saltbox/keystore';
import { curve25519Kid, ed25519Kid } from '@saltbox/identity';
import { MemoryPinStore, MemoryTeamPinStore, openSaltbox } from '@saltbox/client';
import type { ApiClient, TeamManager, UserLoader } from '@saltbox/client';
import { signupUser, startTestServer } from '../../client/test/helpers.js';
import type { Device, User } from '../../client/test/helpers.js';
import { teamResolver, userDirectory } from '../src/index.js';
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
      const pins = new MemoryPinStore();
      const teamPins = new MemoryTeamPinStore();
      // The client's one factory, as every program builds it (in-memory stores).
      const saltbox = await openSaltbox({
        backend,
        keystore: ks,
        stores: { pins, teamPins },
        config: {
          version: 1,
          server: url,
          username,
          uid: user.uid,
          device: {
            id: device.id,
            name: 'test',
            type: 'desktop',
            signingKid: device.kid,
            encryptionKid: device.encKid,
          },
          oneshot: false,
        },
      });
      const { api, users: loader, teams: teamLoader, manager: teams } = saltbox;
      const refreshKeys = async () => {
        await saltbox.syncKeys({ refreshTeams: true });
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
