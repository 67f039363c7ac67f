/**
 * Test users built with `@saltbox/identity`'s link builders (real keys, real signatures), and a
 * real server over a real socket on SQLite in a temp directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoBackend, Ed25519KeyPair } from '@saltbox/saltpack';
import {
  buildEldestLink,
  buildPerUserKeyLink,
  buildRevokeLink,
  buildSibkeyLink,
  buildSubkeyLink,
  createEncryptionPacket,
  curve25519Kid,
  derivePerUserKeys,
  ed25519Kid,
  generateDeviceId,
  uidFromUsername,
} from '@saltbox/identity';
import type { BuiltLink, LinkContext } from '@saltbox/identity';
import type { ChainLink, PukBox } from '@saltbox/protocol';
import { startServer, silentLogger } from '@saltbox/server';
import type { RunningServer } from '@saltbox/server';
import { ApiClient, secretKeyRequestSigner } from '../src/index.js';
import type { ApiClientOptions, RequestSigner } from '../src/index.js';

export interface Device {
  id: string;
  signing: Ed25519KeyPair;
  kid: string;
  encSecret: Uint8Array;
  encKid: string;
}

export interface User {
  username: string;
  uid: string;
  eldestKid: string;
  devices: Device[];
  links: BuiltLink[];
}

export function newDevice(backend: CryptoBackend): Device {
  const signing = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
  const encSecret = backend.randomBytes(32);
  return {
    id: generateDeviceId(backend),
    signing,
    kid: ed25519Kid(signing.publicKey),
    encSecret,
    encKid: curve25519Kid(backend.x25519PublicKey(encSecret)),
  };
}

/** The context of the next link of `u` (or of the link at `seqno`, to build a fork). */
export function ctx(u: User, seqno = u.links.length + 1, ctime = 1_700_000_000): LinkContext {
  const prev = u.links[seqno - 2];
  return {
    uid: u.uid,
    username: u.username,
    seqno,
    prev: prev ? prev.linkId : null,
    ...(seqno > 1 ? { eldestKid: u.eldestKid } : {}),
    ctime,
  };
}

export function signer(backend: CryptoBackend, d: Device): RequestSigner {
  return secretKeyRequestSigner(backend, d.signing.secretKey, d.kid);
}

export function pukLink(
  backend: CryptoBackend,
  u: User,
  by: Device,
  generation: number,
  seqno = u.links.length + 1,
): { link: BuiltLink; seed: Uint8Array } {
  const seed = backend.randomBytes(32);
  const puk = derivePerUserKeys(backend, seed);
  const link = buildPerUserKeyLink(
    backend,
    ctx(u, seqno),
    { secretKey: by.signing.secretKey },
    {
      generation,
      signing: { secretKey: puk.signing.secretKey },
      encryptionKid: puk.encryptionKid,
    },
  );
  return { link, seed };
}

/** Builds a user's sign-up (eldest, subkey, PUK 1) and registers it. */
export async function signupUser(
  backend: CryptoBackend,
  baseUrl: string,
  username: string,
  d: Device = newDevice(backend),
): Promise<User> {
  const u: User = {
    username,
    uid: uidFromUsername(backend, username),
    eldestKid: d.kid,
    devices: [d],
    links: [],
  };
  const s = { secretKey: d.signing.secretKey };
  const device = { id: d.id, kid: d.kid, name: 'laptop', type: 'desktop' as const };
  u.links.push(buildEldestLink(backend, ctx(u), s, device));
  u.links.push(buildSubkeyLink(backend, ctx(u), s, d.encKid, { ...device, kid: d.encKid }));
  const { link, seed } = pukLink(backend, u, d, 1);
  u.links.push(link);
  const box: PukBox = {
    generation: 1,
    receiverKid: d.encKid,
    box: createEncryptionPacket(backend, seed, d.encSecret, d.encKid),
  };
  const api = new ApiClient({ baseUrl, backend });
  await api.signup(
    { username, links: u.links.map((l) => l.link as ChainLink), pukBoxes: [box] },
    signer(backend, d),
  );
  return u;
}

/** Builds a second device's sibkey + subkey links (not posted). */
export function addDeviceLinks(backend: CryptoBackend, u: User, by: Device): ChainLink[] {
  const d = newDevice(backend);
  const start = u.links.length;
  const section = { id: d.id, kid: d.kid, name: 'phone', type: 'mobile' as const };
  u.links.push(
    buildSibkeyLink(
      backend,
      ctx(u),
      { secretKey: by.signing.secretKey },
      { secretKey: d.signing.secretKey },
      section,
    ),
  );
  u.links.push(
    buildSubkeyLink(backend, ctx(u), { secretKey: d.signing.secretKey }, d.encKid, {
      ...section,
      kid: d.encKid,
    }),
  );
  u.devices.push(d);
  return u.links.slice(start).map((l) => l.link as ChainLink);
}

/** Builds a revocation of `victim` plus the next PUK generation (not posted). */
export function revokeLinks(
  backend: CryptoBackend,
  u: User,
  by: Device,
  victim: Device,
  generation: number,
): ChainLink[] {
  const start = u.links.length;
  u.links.push(
    buildRevokeLink(
      backend,
      ctx(u),
      { secretKey: by.signing.secretKey },
      { kids: [victim.kid, victim.encKid] },
      { id: victim.id, kid: victim.kid, status: 2 },
    ),
  );
  u.links.push(pukLink(backend, u, by, generation).link);
  return u.links.slice(start).map((l) => l.link as ChainLink);
}

/** A real server on a free port, SQLite in a fresh temp directory. */
export async function startTestServer(
  limits: Parameters<typeof startServer>[0]['limits'] = {},
  /** A PostgreSQL database to serve from instead of a fresh SQLite directory. */
  databaseUrl?: string,
): Promise<{
  server: RunningServer;
  /** The SQLite data directory; undefined on PostgreSQL (where `data` holds only the key). */
  dataDir: string | undefined;
  close: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'saltbox-client-'));
  const server = await startServer({
    listen: '127.0.0.1:0',
    // On PostgreSQL the data directory holds only the log's root key.
    dataDir: join(dir, 'data'),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    logger: silentLogger,
    // Every test account signs up from 127.0.0.1: lift the per-address sign-up rate.
    limits: { signupRate: { burst: 1e6, perSecond: 1e6 }, ...limits },
  });
  return {
    server,
    dataDir: databaseUrl === undefined ? join(dir, 'data') : undefined,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function tempHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'saltbox-home-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A client for `device` with no retry waits (tests must not sleep). */
export function clientFor(
  backend: CryptoBackend,
  baseUrl: string,
  device: Device,
  extra: Partial<ApiClientOptions> = {},
): ApiClient {
  return new ApiClient({
    baseUrl,
    backend,
    signer: signer(backend, device),
    sleep: () => Promise.resolve(),
    ...extra,
  });
}
