/**
 * KV test fixtures: users whose device keys live in a real keystore, signed up on a real
 * server; teams registered through the server's storage (the team routes are another part's)
 * with per-team-key seeds boxed owner → members' PUKs through the keystores.
 */
import { randomBytes } from 'node:crypto';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, kidPublicKey, memoryStore, openKeystore } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import { curve25519Kid, ed25519Kid } from '@saltbox/identity';
import type { ChainLink } from '@saltbox/protocol';
import type { Storage, TeamRole } from '@saltbox/server';
import {
  ApiClient,
  KvClient,
  KvRollbackCache,
  MemoryChainCache,
  MemoryPinStore,
  UserLoader,
  keystoreRequestSigner,
  openMyPukBoxes,
  verifiedWriterKeys,
} from '../src/index.js';
import type { KvClientOptions } from '../src/index.js';
import { signupUser } from './helpers.js';

export const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;
const PASS = 'correct horse battery staple';

/** Every username a test made, by UID (what a team's verified member list would give). */
export const usernames = new Map<string, string>();

export interface KvUser {
  username: string;
  uid: string;
  deviceId: string;
  signingKid: string;
  encryptionKid: string;
  pukEncryptionKid: string;
  ks: KeystoreApi;
  loader: UserLoader;
  /** A KV client; `fetch` lets a test put a lying proxy in front of the real server. */
  kv(options?: { fetch?: typeof fetch; cache?: KvRollbackCache; baseUrl?: string }): KvClient;
}

export async function kvUser(baseUrl: string, username: string): Promise<KvUser> {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: PASS, create: true });
  const info = await ks.createDevice({ name: 'laptop', type: 'desktop' });
  // The link builders take raw secret keys: export the device's secrets (privileged; the
  // in-process client allows it) to build the sign-up links.
  const s = (await ks.exportSecrets({ passphrase: PASS })).devices[0]!;
  const signing = backend.ed25519KeyPairFromSeed(s.signingSeed);
  const user = await signupUser(backend, baseUrl, username, {
    id: info.deviceId,
    signing,
    kid: ed25519Kid(signing.publicKey),
    encSecret: s.encryptionSecret,
    encKid: curve25519Kid(backend.x25519PublicKey(s.encryptionSecret)),
  });
  usernames.set(user.uid, username);
  const makeApi = (base: string, f?: typeof fetch) =>
    new ApiClient({
      baseUrl: base,
      backend,
      signer: keystoreRequestSigner(ks, info.signingKid),
      retry: { maxAttempts: 2, baseDelayMs: 10 },
      ...(f ? { fetch: f } : {}),
    });
  const api = makeApi(baseUrl);
  const loader = new UserLoader({
    api,
    backend,
    pins: new MemoryPinStore(),
    cache: new MemoryChainCache(),
  });
  const me = await loader.load(username);
  await openMyPukBoxes(backend, api, ks, me);
  return {
    username,
    uid: user.uid,
    deviceId: info.deviceId,
    signingKid: info.signingKid,
    encryptionKid: info.encryptionKid,
    pukEncryptionKid: me.perUserKeys[0]!.encryptionKid,
    ks,
    loader,
    kv(options = {}) {
      const o: KvClientOptions = {
        api: makeApi(options.baseUrl ?? baseUrl, options.fetch),
        keystore: ks,
        me: { uid: user.uid, deviceId: info.deviceId, signingKid: info.signingKid },
        writerKey: verifiedWriterKeys(loader, (uid) => usernames.get(uid) ?? null),
        cache: options.cache ?? new KvRollbackCache(backend),
      };
      return new KvClient(o);
    },
  };
}

const hex = (n: number) => randomBytes(n).toString('hex');

/** A team ID in Keybase's form (15 random bytes and the root-team suffix 0x24). */
export const newTeamId = () => hex(15) + '24';

/**
 * Registers a team with `members` and makes a new per-team-key generation in the owner's
 * keystore, boxed to every member's PUK and opened by them.
 */
export async function createTeam(
  storage: Storage,
  owner: KvUser,
  members: [KvUser, TeamRole][],
): Promise<string> {
  const teamId = newTeamId();
  await storage.teams.createTeam({
    team: {
      teamId,
      name: `t_${hex(4)}`,
      parentId: null,
      implicit: false,
      tailSeqno: 1,
      tailLinkId: hex(32),
      ctime: Date.now(),
    },
    links: [],
    projection: { members: members.map(([u, role]) => ({ uid: u.uid, role })) },
    keyBoxes: [],
  });
  await rotateTeamKey(
    storage,
    teamId,
    owner,
    members.map(([u]) => u).filter((u) => u !== owner),
  );
  return teamId;
}

/**
 * A new team key generation by `owner`, boxed to and opened by `to`, and registered with the
 * server (a box row per member), which accepts KV writes under the current generation only.
 */
export async function rotateTeamKey(
  storage: Storage,
  teamId: string,
  owner: KvUser,
  to: KvUser[],
): Promise<number> {
  const made = await owner.ks.createKeyBoxes({
    key: { kind: 'team', teamId },
    generation: 'new',
    senderKid: owner.encryptionKid,
    recipients: to.map((u) => ({ publicKey: kidPublicKey(u.pukEncryptionKid) })),
  });
  for (const [i, u] of to.entries()) {
    const box = made.boxes[i]!;
    const res = await u.ks.openKeyBoxes({
      items: [
        {
          key: { kind: 'team', teamId },
          generation: made.generation,
          receiverKid: u.pukEncryptionKid,
          senderPublicKey: kidPublicKey(owner.encryptionKid),
          nonce: box.nonce,
          ciphertext: box.ciphertext,
        },
      ],
    });
    if (!('result' in res.items[0]!)) throw new Error('team box did not open');
  }
  await storage.teams.putTeamKeyBoxes(
    teamId,
    [owner, ...to].map((u) => ({
      generation: made.generation,
      uid: u.uid,
      receiverKid: u.pukEncryptionKid,
      box: '{}',
    })),
  );
  return made.generation;
}

/** Replaces the team's member projection (as a verified membership change would). */
export async function setMembers(
  storage: Storage,
  teamId: string,
  members: [KvUser, TeamRole][],
): Promise<void> {
  const team = (await storage.teams.getTeam(teamId))!;
  const seqno = team.tailSeqno + 1;
  const link: ChainLink = {
    seqno,
    prev: team.tailLinkId,
    sig: 'c2ln',
    payload_json: `{"seqno":${seqno}}`,
    kid: `0120${hex(32)}0a`,
    sig_version: 2,
  };
  await storage.teams.appendTeamLinks({
    teamId,
    expectedTailSeqno: team.tailSeqno,
    links: [{ seqno, linkId: hex(32), sigId: hex(33), type: 'team.change_membership', link }],
    projection: { members: members.map(([u, role]) => ({ uid: u.uid, role })) },
    keyBoxes: [],
  });
}
