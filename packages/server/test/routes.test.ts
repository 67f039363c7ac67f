import { beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { buildSubkeyLink, lookupResponseSchema } from '@saltbox/identity';
import {
  chainPath,
  chainResponseSchema,
  keyOwnerPath,
  keyOwnerResponseSchema,
  pukBoxesPath,
  pukBoxesResponseSchema,
  usersLookupResponseSchema,
  whoamiResponseSchema,
} from '@saltbox/protocol';
import type { ChainLink } from '@saltbox/protocol';
import { createApp } from '../src/http/app.js';
import type { App, Limits } from '../src/http/app.js';
import type { LogEntry } from '../src/log.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import type { Storage } from '../src/storage/types.js';
import {
  addDeviceLinks,
  errorCode,
  newDevice,
  newUser,
  pukBox,
  revokeDeviceLinks,
  signed,
} from './helpers.js';
import type { TestUser } from './helpers.js';

const backend = await defaultBackend();

let storage: Storage;
let app: App;
let logs: LogEntry[];
let clock: { t: number; now(): number };

async function setup(limits: Partial<Limits> = {}): Promise<void> {
  storage = await openSqliteStorage({ dataDir: ':memory:' });
  logs = [];
  clock = {
    t: 1_750_000_000_000,
    now() {
      return this.t;
    },
  };
  app = createApp({
    storage,
    backend,
    clock,
    // Many sign-ups from one address here; the sign-up rate has its own suite (signup-suite.ts).
    limits: { signupRate: { burst: 1000, perSecond: 1000 }, ...limits },
    logger: (e) => logs.push(e),
  });
}

const opts = () => ({ timestamp: clock.t });

async function signup(name: string): Promise<TestUser> {
  const { user, request } = newUser(backend, name);
  const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', {
    body: request,
    ...opts(),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return user;
}

beforeEach(async () => {
  await setup();
});

describe('health, metrics, errors', () => {
  it('answers /healthz', async () => {
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers an unknown route with a coded 404', async () => {
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });

  it('counts requests by route pattern and status, with a latency histogram', async () => {
    await app.request('/healthz');
    await app.request('/healthz');
    await app.request('/api/v1/users/alice/chain');
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain(
      'saltbox_http_requests_total{method="GET",route="/healthz",status="200"} 2',
    );
    expect(text).toContain(
      'saltbox_http_requests_total{method="GET",route="/api/v1/users/:username/chain",status="401"} 1',
    );
    expect(text).toContain(
      'saltbox_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 2',
    );
    expect(text).toContain('# TYPE saltbox_http_request_duration_seconds histogram');
    expect(text).not.toContain('alice');
  });

  it('hides internal errors behind INTERNAL and logs only the error class', async () => {
    const users = storage.users;
    const broken: Storage = {
      ...storage,
      users: new Proxy(users, {
        get(target, prop, receiver) {
          if (prop === 'getUsers')
            return () => Promise.reject(new Error('select * from users where secret=hunter2'));
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    };
    const a = createApp({ storage: broken, backend, clock, logger: (e) => logs.push(e) });
    const u = newUser(backend, 'carol');
    await signed(backend, app, u.user.devices[0]!, '/api/v1/users', { body: u.request, ...opts() });
    const res = await signed(
      backend,
      a,
      u.user.devices[0]!,
      '/api/v1/users/lookup?usernames=carol',
      opts(),
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: { code: 'INTERNAL', message: 'internal server error' },
    });
    expect(JSON.stringify(logs)).not.toContain('hunter2');
    expect(logs.some((l) => l.msg === 'internal error' && l.error === 'Error')).toBe(true);
  });
});

describe('sign-up', () => {
  it('registers eldest + subkey + PUK 1 and serves the chain whole or since a seqno', async () => {
    const alice = await signup('alice');
    const d = alice.devices[0]!;
    const res = await signed(backend, app, d, chainPath('alice'), opts());
    expect(res.status).toBe(200);
    const chain = chainResponseSchema.parse(await res.json());
    expect(chain.uid).toBe(alice.uid);
    expect(chain.links.map((l) => l.seqno)).toEqual([1, 2, 3]);
    expect(chain.links.map((l) => l.payload_hash)).toEqual(alice.links.map((l) => l.linkId));
    expect(chain.links.map((l) => l.sig_id)).toEqual(alice.links.map((l) => l.sigId));
    const since = chainResponseSchema.parse(
      await (await signed(backend, app, d, `${chainPath('alice')}?since=2`, opts())).json(),
    );
    expect(since.links.map((l) => l.seqno)).toEqual([3]);
    const me = whoamiResponseSchema.parse(
      await (await signed(backend, app, d, '/api/v1/me', opts())).json(),
    );
    expect(me).toEqual({ uid: alice.uid, username: 'alice', deviceId: d.id, kid: d.kid });
  });

  it('refuses a taken username, a malformed one, and links for another user', async () => {
    await signup('alice');
    const again = newUser(backend, 'alice');
    let res = await signed(backend, app, again.user.devices[0]!, '/api/v1/users', {
      body: again.request,
      ...opts(),
    });
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe('USERNAME_TAKEN');

    for (const bad of ['a', 'UPPER__x', '_lead', 'way_too_long_username_x', 'dash-y']) {
      const u = newUser(backend, 'bobby');
      res = await signed(backend, app, u.user.devices[0]!, '/api/v1/users', {
        body: { ...u.request, username: bad },
        ...opts(),
      });
      expect(await errorCode(res), bad).toBe('INVALID_USERNAME');
    }

    // Links built for "bobby" posted as "robby": the uid and username inside do not match.
    const b = newUser(backend, 'bobby');
    res = await signed(backend, app, b.user.devices[0]!, '/api/v1/users', {
      body: { ...b.request, username: 'robby' },
      ...opts(),
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('CHAIN_INVALID');
  });

  it('refuses a tampered link, a wrong link set, and a request not signed by the eldest key', async () => {
    const u = newUser(backend, 'dave');
    const tampered = structuredClone(u.request);
    tampered.links[1]!.payload_json = tampered.links[1]!.payload_json.replace('laptop', 'laptoq');
    let res = await signed(backend, app, u.user.devices[0]!, '/api/v1/users', {
      body: tampered,
      ...opts(),
    });
    expect(await errorCode(res)).toBe('CHAIN_INVALID');

    const swapped = {
      ...u.request,
      links: [u.request.links[0]!, u.request.links[2]!, u.request.links[1]!],
    };
    res = await signed(backend, app, u.user.devices[0]!, '/api/v1/users', {
      body: swapped,
      ...opts(),
    });
    expect(await errorCode(res)).toBe('CHAIN_INVALID');

    res = await signed(backend, app, newDevice(backend), '/api/v1/users', {
      body: u.request,
      ...opts(),
    });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('FORBIDDEN');

    res = await signed(backend, app, u.user.devices[0]!, '/api/v1/users', {
      body: { ...u.request, extra: 1 },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('VALIDATION_FAILED');
    expect(await storage.users.getUser('dave')).toBeNull();
  });

  it('refuses a PUK box for a key that is not the user’s', async () => {
    const u = newUser(backend, 'erin');
    const stranger = newDevice(backend);
    const body = {
      ...u.request,
      pukBoxes: [pukBox(backend, u.user.devices[0]!, stranger, u.user.pukSeeds[0]!, 1)],
    };
    const res = await signed(backend, app, u.user.devices[0]!, '/api/v1/users', {
      body,
      ...opts(),
    });
    expect(await errorCode(res)).toBe('VALIDATION_FAILED');
  });
});

describe('lookups', () => {
  it('answers /api/v1/users/lookup with a summary per name and null for unknown names', async () => {
    const alice = await signup('alice');
    await signup('bob');
    const res = await signed(
      backend,
      app,
      alice.devices[0]!,
      '/api/v1/users/lookup?usernames=bob,nobody,Alice',
      opts(),
    );
    const body = usersLookupResponseSchema.parse(await res.json());
    expect(body.users.map((u) => u?.username ?? null)).toEqual(['bob', null, 'alice']);
    const a = body.users[2]!;
    expect(a.eldestKid).toBe(alice.eldestKid);
    expect(a.tail.seqno).toBe(3);
    expect(a.keys.map((k) => [k.kid, k.role, k.status])).toEqual([
      [alice.devices[0]!.kid, 'sibkey', 'live'],
      [alice.devices[0]!.encKid, 'subkey', 'live'],
    ]);
    expect(a.perUserKeys.map((p) => p.generation)).toEqual([1]);
    expect(a.devices).toEqual([
      { id: alice.devices[0]!.id, name: 'laptop', type: 'desktop', status: 'active' },
    ]);
  });

  it('requires a signature on /api/v1 lookups and refuses malformed names', async () => {
    const alice = await signup('alice');
    let res = await app.request('/api/v1/users/lookup?usernames=alice');
    expect(await errorCode(res)).toBe('UNAUTHENTICATED');
    res = await signed(
      backend,
      app,
      alice.devices[0]!,
      '/api/v1/users/lookup?usernames=al-ice',
      opts(),
    );
    expect(await errorCode(res)).toBe('INVALID_USERNAME');
    res = await signed(backend, app, alice.devices[0]!, '/api/v1/users/lookup', opts());
    expect(await errorCode(res)).toBe('VALIDATION_FAILED');
  });

  it('answers Keybase’s user/lookup.json shape, publicly, with CORS', async () => {
    const alice = await signup('alice');
    const res = await app.request('/_/api/1.0/user/lookup.json?usernames=alice,nobody');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = lookupResponseSchema.parse(await res.json());
    expect(body.status).toEqual({ code: 0, name: 'OK' });
    const them = body.them as unknown[];
    expect(them).toHaveLength(2);
    expect(them[1]).toBeNull();
    const u = them[0] as {
      id: string;
      basics: { username: string; status: number };
      public_keys: { all_bundles: string[]; subkeys: string[]; eldest_kid: string };
      per_user_keys: { generation: number }[];
    };
    expect(u.id).toBe(alice.uid);
    expect(u.basics).toMatchObject({ username: 'alice', status: 0 });
    expect(u.public_keys.all_bundles).toEqual([alice.devices[0]!.kid, alice.devices[0]!.encKid]);
    expect(u.public_keys.subkeys).toEqual([alice.devices[0]!.encKid]);
    expect(u.public_keys.eldest_kid).toBe(alice.eldestKid);
    expect(u.per_user_keys.map((p) => p.generation)).toEqual([1]);

    const byUid = lookupResponseSchema.parse(
      await (await app.request(`/_/api/1.0/user/lookup.json?uid=${alice.uid}`)).json(),
    );
    expect((byUid.them as { id: string }).id).toBe(alice.uid);
    const missing = await (
      await app.request(`/_/api/1.0/user/lookup.json?uid=${'0'.repeat(30)}19`)
    ).json();
    expect(missing).toEqual({ status: { code: 205, name: 'NOT_FOUND' } });
    const bad = await (await app.request('/_/api/1.0/user/lookup.json?usernames=a-b')).json();
    expect(bad).toMatchObject({ status: { code: 100, name: 'INPUT_ERROR' } });
  });
});

describe('key owners (#12.9)', () => {
  it('names the user whose chain delegated a key, live or revoked, and 404s any other', async () => {
    const alice = await signup('alice');
    const bob = await signup('bob');
    const d1 = alice.devices[0]!;
    const asBob = (path: string) => signed(backend, app, bob.devices[0]!, path, opts());
    for (const kid of [d1.kid, d1.encKid]) {
      const res = await asBob(keyOwnerPath(kid));
      expect(res.status).toBe(200);
      expect(keyOwnerResponseSchema.parse(await res.json())).toEqual({
        kid,
        uid: alice.uid,
        username: 'alice',
      });
    }
    // A revoked device's keys still name their owner: old messages stay attributable.
    const added = addDeviceLinks(backend, alice, d1);
    const d2 = added.device;
    await signed(backend, app, d1, chainPath('alice'), { body: { links: added.links }, ...opts() });
    const rev = revokeDeviceLinks(backend, alice, d1, d2);
    expect(
      (await signed(backend, app, d1, chainPath('alice'), { body: rev, ...opts() })).status,
    ).toBe(200);
    const revoked = await asBob(keyOwnerPath(d2.kid.toUpperCase()));
    expect(keyOwnerResponseSchema.parse(await revoked.json())).toMatchObject({
      kid: d2.kid,
      username: 'alice',
    });
    const unknown = await asBob(keyOwnerPath(newDevice(backend).kid));
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('KEY_NOT_FOUND');
    expect(await errorCode(await asBob(keyOwnerPath('0120abc')))).toBe('VALIDATION_FAILED');
    expect(await errorCode(await app.request(keyOwnerPath(d1.kid)))).toBe('UNAUTHENTICATED');
  });
});

describe('appending links', () => {
  it('adds a device, which can then authenticate and fetch its PUK boxes', async () => {
    const alice = await signup('alice');
    const d1 = alice.devices[0]!;
    const { device: d2, links } = addDeviceLinks(backend, alice, d1);
    const res = await signed(backend, app, d1, chainPath('alice'), {
      body: { links, pukBoxes: [pukBox(backend, d1, d2, alice.pukSeeds[0]!, 1)] },
      ...opts(),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ seqno: 5, linkId: alice.links[4]!.linkId });
    const me = await (await signed(backend, app, d2, '/api/v1/me', opts())).json();
    expect(me).toMatchObject({ username: 'alice', deviceId: d2.id });
    const boxes = pukBoxesResponseSchema.parse(
      await (await signed(backend, app, d2, '/api/v1/me/puk-boxes', opts())).json(),
    );
    // Only the box addressed to d2's own encryption key.
    expect(boxes.boxes.map((b) => b.receiverKid)).toEqual([d2.encKid]);
  });

  it('refuses a second active device of the same name and names with control characters (#12.9, #12.16)', async () => {
    const alice = await signup('alice');
    const d1 = alice.devices[0]!;
    const post = (links: ChainLink[]) =>
      signed(backend, app, d1, chainPath('alice'), { body: { links }, ...opts() });
    // The first device is "laptop"; names compare case-insensitively, trimmed.
    for (const [name, code] of [
      ['laptop', 'DEVICE_NAME_TAKEN'],
      ['LAPTOP', 'DEVICE_NAME_TAKEN'],
      ['evil\u001b]0;pwned\u0007', 'VALIDATION_FAILED'],
      ['cs\u009b31m', 'VALIDATION_FAILED'],
      ['abc\u202edcba', 'VALIDATION_FAILED'],
    ] as const) {
      const before = alice.links.length;
      const { links } = addDeviceLinks(backend, alice, d1, 1_700_000_100, name);
      const res = await post(links);
      expect(await errorCode(res), name).toBe(code);
      expect(res.status).toBe(code === 'DEVICE_NAME_TAKEN' ? 409 : 400);
      alice.links.length = before;
      alice.devices.pop();
    }
    const { links } = addDeviceLinks(backend, alice, d1, 1_700_000_100, 'phone');
    expect((await post(links)).status).toBe(200);
  });

  it('refuses a stale seqno (CHAIN_CONFLICT), a wrong prev, a forged signer and another user', async () => {
    const alice = await signup('alice');
    const bob = await signup('bob');
    const d1 = alice.devices[0]!;
    const { links } = addDeviceLinks(backend, alice, d1);

    let res = await signed(backend, app, d1, chainPath('alice'), {
      body: { links: links.slice(1) },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('CHAIN_CONFLICT');

    const wrongPrev = structuredClone(links);
    // The outer prev disagrees with the signed payload's.
    wrongPrev[0]!.prev = 'ab'.repeat(32);
    res = await signed(backend, app, d1, chainPath('alice'), {
      body: { links: wrongPrev },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('CHAIN_INVALID');

    // Bob's device cannot append to alice's chain, even with valid links.
    res = await signed(backend, app, bob.devices[0]!, chainPath('alice'), {
      body: { links },
      ...opts(),
    });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('FORBIDDEN');

    // A well-placed link (right seqno and prev) signed by a key alice never delegated.
    const stranger = newDevice(backend);
    const forged = buildSubkeyLink(
      backend,
      {
        uid: alice.uid,
        username: 'alice',
        seqno: 4,
        prev: alice.links[2]!.linkId,
        eldestKid: alice.eldestKid,
        ctime: 1_700_000_100,
      },
      { secretKey: stranger.signing.secretKey },
      stranger.encKid,
    );
    res = await signed(backend, app, d1, chainPath('alice'), {
      body: { links: [forged.link] },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('CHAIN_INVALID');

    res = await signed(backend, app, d1, chainPath('alice'), { body: { links }, ...opts() });
    expect(res.status).toBe(200);
    res = await signed(backend, app, d1, chainPath('nobody'), { body: { links }, ...opts() });
    expect(await errorCode(res)).toBe('USER_NOT_FOUND');
  });

  it('revokes a device with a PUK rotation; the revoked device is refused at once', async () => {
    const alice = await signup('alice');
    const d1 = alice.devices[0]!;
    const added = addDeviceLinks(backend, alice, d1);
    const d2 = added.device;
    expect(
      (
        await signed(backend, app, d1, chainPath('alice'), {
          body: { links: added.links },
          ...opts(),
        })
      ).status,
    ).toBe(200);
    expect((await signed(backend, app, d2, '/api/v1/me', opts())).status).toBe(200);

    const rev = revokeDeviceLinks(backend, alice, d1, d2);
    const res = await signed(backend, app, d1, chainPath('alice'), { body: rev, ...opts() });
    expect(res.status, await res.clone().text()).toBe(200);

    const after = await signed(backend, app, d2, '/api/v1/me', opts());
    expect(after.status).toBe(403);
    expect(await errorCode(after)).toBe('DEVICE_REVOKED');

    const look = usersLookupResponseSchema.parse(
      await (await signed(backend, app, d1, '/api/v1/users/lookup?usernames=alice', opts())).json(),
    );
    const a = look.users[0]!;
    expect(a.perUserKeys.map((p) => p.generation)).toEqual([1, 2]);
    expect(a.keys.filter((k) => k.status === 'live').map((k) => k.kid)).toEqual([
      d1.kid,
      d1.encKid,
    ]);
    expect(a.devices.find((d) => d.id === d2.id)?.status).toBe('revoked');
    // A generation-2 box for the revoked device's key is refused.
    const put = await signed(backend, app, d1, pukBoxesPath('alice'), {
      method: 'PUT',
      body: { boxes: [pukBox(backend, d1, d2, alice.pukSeeds[1]!, 2)] },
      ...opts(),
    });
    expect(await errorCode(put)).toBe('VALIDATION_FAILED');
  });

  it('stores PUK boxes only for the device’s own user', async () => {
    const alice = await signup('alice');
    const bob = await signup('bob');
    const d1 = alice.devices[0]!;
    const box = pukBox(backend, d1, d1, alice.pukSeeds[0]!, 1);
    let res = await signed(backend, app, bob.devices[0]!, pukBoxesPath('alice'), {
      method: 'PUT',
      body: { boxes: [box] },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('FORBIDDEN');
    res = await signed(backend, app, d1, pukBoxesPath('alice'), {
      method: 'PUT',
      body: { boxes: [box] },
      ...opts(),
    });
    expect(res.status).toBe(204);
    res = await signed(backend, app, d1, pukBoxesPath('alice'), {
      method: 'PUT',
      body: { boxes: [{ ...box, generation: 7 }] },
      ...opts(),
    });
    expect(await errorCode(res)).toBe('VALIDATION_FAILED');
    const mine = pukBoxesResponseSchema.parse(
      await (await signed(backend, app, d1, '/api/v1/me/puk-boxes?generation=1', opts())).json(),
    );
    expect(mine.boxes).toEqual([box]);
  });
});

describe('request authentication', () => {
  it('refuses missing, malformed, unknown-key and bad-signature requests', async () => {
    const alice = await signup('alice');
    const d = alice.devices[0]!;
    let res = await app.request('/api/v1/me');
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('UNAUTHENTICATED');
    res = await app.request('/api/v1/me', { headers: { authorization: 'Bearer abc' } });
    expect(await errorCode(res)).toBe('UNAUTHENTICATED');

    res = await signed(backend, app, newDevice(backend), '/api/v1/me', opts());
    expect(await errorCode(res)).toBe('UNKNOWN_KEY');

    // The signature covers another body than the one sent.
    const { links } = addDeviceLinks(backend, alice, d);
    res = await signed(backend, app, d, chainPath('alice'), {
      body: { links },
      signedBody: new TextEncoder().encode('{}'),
      ...opts(),
    });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('BAD_SIGNATURE');

    // A signature for one path does not authorise another.
    const good = await signed(backend, app, d, '/api/v1/me', opts());
    expect(good.status).toBe(200);
  });

  it('refuses requests outside ±5 minutes (STALE_REQUEST) and accepts them inside', async () => {
    const alice = await signup('alice');
    const d = alice.devices[0]!;
    for (const skew of [-301_000, 301_000]) {
      const res = await signed(backend, app, d, '/api/v1/me', { timestamp: clock.t + skew });
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('STALE_REQUEST');
    }
    for (const skew of [-299_000, 299_000]) {
      const res = await signed(backend, app, d, '/api/v1/me', { timestamp: clock.t + skew });
      expect(res.status).toBe(200);
    }
  });

  it('refuses a replayed nonce (REPLAYED_REQUEST), even for a different path', async () => {
    const alice = await signup('alice');
    const d = alice.devices[0]!;
    const nonce = 'replay-nonce-0123456789';
    expect((await signed(backend, app, d, '/api/v1/me', { nonce, ...opts() })).status).toBe(200);
    let res = await signed(backend, app, d, '/api/v1/me', { nonce, ...opts() });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('REPLAYED_REQUEST');
    res = await signed(backend, app, d, chainPath('alice'), { nonce, ...opts() });
    expect(await errorCode(res)).toBe('REPLAYED_REQUEST');
  });

  it('logs one line per request without keys, bodies, nonces or signatures', async () => {
    const alice = await signup('alice');
    const d = alice.devices[0]!;
    await signed(backend, app, d, '/api/v1/me', { nonce: 'nonce-visible-in-no-log-1', ...opts() });
    const line = logs[logs.length - 1]!;
    expect(line).toMatchObject({ msg: 'request', method: 'GET', route: '/api/v1/me', status: 200 });
    expect(line.device).toBe(d.id.slice(0, 8));
    expect(typeof line.ms).toBe('number');
    const all = JSON.stringify(logs);
    for (const secret of [
      d.kid,
      d.encKid,
      'nonce-visible-in-no-log-1',
      alice.links[0]!.link.sig!,
      'laptop',
    ])
      expect(all).not.toContain(secret);
  });
});

describe('limits', () => {
  it('answers 413 for a body over the limit, declared or streamed', async () => {
    await setup({ maxBodyBytes: 1024 });
    const d = newDevice(backend);
    const big = new Uint8Array(2048).fill(0x20);
    let res = await signed(backend, app, d, '/api/v1/users', { raw: big, ...opts() });
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    // No Content-Length: the stream is counted and cut off.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(512));
        c.close();
      },
    });
    res = await app.request('/api/v1/users', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('answers 429 with Retry-After once a device exhausts its bucket, then recovers', async () => {
    await setup({ rateLimit: { burst: 3, perSecond: 0.5 } });
    const alice = await signup('alice'); // sign-up counts against the address and the key
    const d = alice.devices[0]!;
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push((await signed(backend, app, d, '/api/v1/me', opts())).status);
    expect(codes).toEqual([200, 200, 429, 429]);
    const res = await signed(backend, app, d, '/api/v1/me', opts());
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await errorCode(res)).toBe('RATE_LIMITED');
    clock.t += 2000;
    expect((await signed(backend, app, d, '/api/v1/me', opts())).status).toBe(200);
  });
});
