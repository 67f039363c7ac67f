/**
 * Test users built with `@saltbox/identity`'s link builders (real keys, real signatures), and a
 * signing client for the app.
 */
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
import { generateNonce, signRequest } from '@saltbox/protocol';
import type { ChainLink, PukBox } from '@saltbox/protocol';

export interface TestDevice {
  id: string;
  signing: Ed25519KeyPair;
  kid: string;
  encSecret: Uint8Array;
  encKid: string;
}

export interface TestUser {
  username: string;
  uid: string;
  eldestKid: string;
  devices: TestDevice[];
  /** Links built so far (posted or not). */
  links: BuiltLink[];
  pukSeeds: Uint8Array[];
  /** The `merkle_root` the next links name (none when unset). */
  merkleRoot?: LinkContext['merkleRoot'];
}

export function newDevice(backend: CryptoBackend): TestDevice {
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

function ctx(u: TestUser, ctime: number): LinkContext {
  const last = u.links[u.links.length - 1];
  return {
    uid: u.uid,
    username: u.username,
    seqno: u.links.length + 1,
    prev: last ? last.linkId : null,
    ...(u.links.length > 0 ? { eldestKid: u.eldestKid } : {}),
    ...(u.merkleRoot === undefined ? {} : { merkleRoot: u.merkleRoot }),
    ctime,
  };
}

export function pukBox(
  backend: CryptoBackend,
  from: TestDevice,
  to: TestDevice,
  seed: Uint8Array,
  generation: number,
): PukBox {
  return {
    generation,
    receiverKid: to.encKid,
    box: createEncryptionPacket(backend, seed, from.encSecret, to.encKid),
  };
}

/** Builds the three sign-up links and the PUK box for the first device. */
export function newUser(
  backend: CryptoBackend,
  username: string,
  ctime = 1_700_000_000,
): { user: TestUser; request: { username: string; links: ChainLink[]; pukBoxes: PukBox[] } } {
  const d = newDevice(backend);
  const user: TestUser = {
    username,
    uid: uidFromUsername(backend, username),
    eldestKid: d.kid,
    devices: [d],
    links: [],
    pukSeeds: [],
  };
  const signer = { secretKey: d.signing.secretKey };
  const device = { id: d.id, kid: d.kid, name: 'laptop', type: 'desktop' as const };
  user.links.push(buildEldestLink(backend, ctx(user, ctime), signer, device));
  user.links.push(
    buildSubkeyLink(backend, ctx(user, ctime), signer, d.encKid, { ...device, kid: d.encKid }),
  );
  const seed = backend.randomBytes(32);
  user.pukSeeds.push(seed);
  const puk = derivePerUserKeys(backend, seed);
  user.links.push(
    buildPerUserKeyLink(backend, ctx(user, ctime), signer, {
      generation: 1,
      signing: { secretKey: puk.signing.secretKey },
      encryptionKid: puk.encryptionKid,
    }),
  );
  return {
    user,
    request: {
      username,
      links: user.links.map((l) => l.link as ChainLink),
      pukBoxes: [pukBox(backend, d, d, seed, 1)],
    },
  };
}

/** Builds the links adding a second device (sibkey with reverse sig, then its subkey). */
export function addDeviceLinks(
  backend: CryptoBackend,
  user: TestUser,
  by: TestDevice,
  ctime = 1_700_000_100,
  name = 'phone',
): { device: TestDevice; links: ChainLink[] } {
  const d = newDevice(backend);
  const start = user.links.length;
  const signer = { secretKey: by.signing.secretKey };
  const section = { id: d.id, kid: d.kid, name, type: 'mobile' as const };
  user.links.push(
    buildSibkeyLink(backend, ctx(user, ctime), signer, { secretKey: d.signing.secretKey }, section),
  );
  user.links.push(
    buildSubkeyLink(backend, ctx(user, ctime), { secretKey: d.signing.secretKey }, d.encKid, {
      ...section,
      kid: d.encKid,
    }),
  );
  user.devices.push(d);
  return { device: d, links: user.links.slice(start).map((l) => l.link as ChainLink) };
}

/** Builds a revocation of `victim` by `by`, plus PUK generation g+1 boxed to `by`. */
export function revokeDeviceLinks(
  backend: CryptoBackend,
  user: TestUser,
  by: TestDevice,
  victim: TestDevice,
  ctime = 1_700_000_200,
): { links: ChainLink[]; pukBoxes: PukBox[] } {
  const start = user.links.length;
  const signer = { secretKey: by.signing.secretKey };
  user.links.push(
    buildRevokeLink(
      backend,
      ctx(user, ctime),
      signer,
      { kids: [victim.kid, victim.encKid] },
      { id: victim.id, kid: victim.kid, status: 2 },
    ),
  );
  const seed = backend.randomBytes(32);
  user.pukSeeds.push(seed);
  const generation = user.pukSeeds.length;
  const puk = derivePerUserKeys(backend, seed);
  user.links.push(
    buildPerUserKeyLink(backend, ctx(user, ctime), signer, {
      generation,
      signing: { secretKey: puk.signing.secretKey },
      encryptionKid: puk.encryptionKid,
    }),
  );
  return {
    links: user.links.slice(start).map((l) => l.link as ChainLink),
    pukBoxes: [pukBox(backend, by, by, seed, generation)],
  };
}

/** Something with Hono's `request(path, init)` or a base URL to `fetch`. */
export type Target =
  { request: (path: string, init?: RequestInit) => Response | Promise<Response> } | { url: string };

export interface SignOptions {
  method?: string;
  body?: unknown;
  /** Raw body bytes (wins over `body`). */
  raw?: Uint8Array;
  timestamp?: number;
  nonce?: string;
  /** Sign this body but send `raw` / `body` (tampering tests). */
  signedBody?: Uint8Array;
  headers?: Record<string, string>;
}

/** Sends a request signed by `device`. */
export async function signed(
  backend: CryptoBackend,
  target: Target,
  device: TestDevice,
  path: string,
  opts: SignOptions = {},
): Promise<Response> {
  const method = opts.method ?? (opts.body === undefined && !opts.raw ? 'GET' : 'POST');
  const body =
    opts.raw ??
    (opts.body === undefined
      ? new Uint8Array(0)
      : new TextEncoder().encode(JSON.stringify(opts.body)));
  const url = new URL(path, 'http://localhost');
  const authorization = signRequest(backend, device.signing.secretKey, {
    method,
    target: url.pathname + url.search,
    body: opts.signedBody ?? body,
    timestamp: opts.timestamp ?? Date.now(),
    nonce: opts.nonce ?? generateNonce(backend),
  });
  const init: RequestInit = {
    method,
    headers: {
      authorization,
      ...(body.length > 0 ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: body as BodyInit }),
  };
  if ('url' in target) return fetch(target.url + path, init);
  return target.request(path, init);
}

/** Reads an error response's code. */
export async function errorCode(res: Response): Promise<string> {
  const j = (await res.json()) as { error?: { code?: string } };
  return j.error?.code ?? `<no error: ${res.status}>`;
}
