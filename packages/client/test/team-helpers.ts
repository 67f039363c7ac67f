/**
 * Users whose device lives in a real in-process keystore, signed up on a real server, with
 * their PUK opened into the keystore — the setting team operations run in. The device secrets
 * are exported (privileged; the in-process client allows it) only to build sign-up links and,
 * in the hostile suite, links an attacker holding those keys could sign.
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
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
} from '../src/index.js';
import type { TeamPinStore } from '../src/index.js';
import { signupUser } from './helpers.js';
import type { Device, User } from './helpers.js';

const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;
const PASS = 'correct horse battery staple';

export interface KeystoreUser {
  username: string;
  user: User;
  device: Device;
  ks: ReturnType<typeof inProcessClient>;
  api: ApiClient;
  users: UserLoader;
  teams: TeamLoader;
  manager: TeamManager;
}

/** Loaders and a manager for a keystore user (a fresh pin store unless one is given). */
export function clientsFor(
  backend: CryptoBackend,
  baseUrl: string,
  k: Pick<KeystoreUser, 'username' | 'device' | 'ks'>,
  fetchImpl?: typeof fetch,
  teamPins: TeamPinStore = new MemoryTeamPinStore(),
): Pick<KeystoreUser, 'api' | 'users' | 'teams' | 'manager'> {
  const api = new ApiClient({
    baseUrl,
    backend,
    signer: keystoreRequestSigner(k.ks, k.device.kid),
    sleep: () => Promise.resolve(),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  const users = new UserLoader({
    api,
    backend,
    pins: new MemoryPinStore(),
    cache: new MemoryChainCache(),
  });
  const teams = new TeamLoader({ api, backend, users, pins: teamPins });
  const manager = new TeamManager({
    api,
    backend,
    keystore: k.ks,
    users,
    teams,
    me: {
      username: k.username,
      deviceSigningKid: k.device.kid,
      deviceEncryptionKid: k.device.encKid,
    },
  });
  return { api, users, teams, manager };
}

/** Signs `username` up with a keystore-held device and opens their PUK into the keystore. */
export async function keystoreUser(
  backend: CryptoBackend,
  baseUrl: string,
  username: string,
  fetchImpl?: typeof fetch,
): Promise<KeystoreUser> {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: PASS, create: true });
  const info = await ks.createDevice({ name: 'laptop', type: 'desktop' });
  const s = (await ks.exportSecrets({ passphrase: PASS })).devices[0]!;
  const signing = backend.ed25519KeyPairFromSeed(s.signingSeed);
  const device: Device = {
    id: info.deviceId,
    signing,
    kid: ed25519Kid(signing.publicKey),
    encSecret: s.encryptionSecret,
    encKid: curve25519Kid(backend.x25519PublicKey(s.encryptionSecret)),
  };
  const user = await signupUser(backend, baseUrl, username, device);
  const c = clientsFor(backend, baseUrl, { username, device, ks }, fetchImpl);
  await openMyPukBoxes(backend, c.api, ks, await c.users.load(username));
  return { username, user, device, ks, ...c };
}
