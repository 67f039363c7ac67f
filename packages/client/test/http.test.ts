import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { parseAuthorization } from '@saltbox/protocol';
import { ApiClient, ClientError, isClientError, parseRetryAfter } from '../src/index.js';
import {
  addDeviceLinks,
  clientFor,
  newDevice,
  signer,
  signupUser,
  startTestServer,
} from './helpers.js';
import type { User } from './helpers.js';

const backend = await defaultBackend();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isClientError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('ApiClient against a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: User;
  beforeAll(async () => {
    srv = await startTestServer();
    alice = await signupUser(backend, srv.server.url, 'alice');
  });
  afterAll(() => srv.close());

  it('health, whoami, chain fetch, puk boxes, lookups', async () => {
    const api = clientFor(backend, srv.server.url, alice.devices[0]!);
    expect(await api.health()).toEqual({ status: 'ok' });
    const me = await api.whoami();
    expect(me).toMatchObject({ uid: alice.uid, username: 'alice', kid: alice.eldestKid });
    const chain = await api.fetchChain('alice');
    expect(chain.links.map((l) => l.seqno)).toEqual([1, 2, 3]);
    expect((await api.fetchChain('alice', 2)).links.map((l) => l.seqno)).toEqual([3]);
    const boxes = await api.myPukBoxes();
    expect(boxes.boxes.map((b) => b.generation)).toEqual([1]);
    const look = await api.lookupUsers(['alice', 'nobody']);
    expect(look.users[0]?.eldestKid).toBe(alice.eldestKid);
    expect(look.users[1]).toBeNull();
    const kb = await api.keybaseLookup(['alice']);
    expect(JSON.stringify(kb)).toContain(alice.eldestKid);
  });

  it('appends links (a second device) and the new device can sign requests', async () => {
    const api = clientFor(backend, srv.server.url, alice.devices[0]!);
    const links = addDeviceLinks(backend, alice, alice.devices[0]!);
    const tail = await api.appendLinks('alice', { links });
    expect(tail.seqno).toBe(5);
    const phone = clientFor(backend, srv.server.url, alice.devices[1]!);
    expect((await phone.whoami()).kid).toBe(alice.devices[1]!.kid);
  });

  it('maps server errors to coded client errors', async () => {
    const api = clientFor(backend, srv.server.url, alice.devices[0]!);
    expect(await codeOf(api.fetchChain('nobody'))).toBe('CLIENT_USER_NOT_FOUND');
    // A stale append: the server answers CHAIN_CONFLICT, which a POST must not retry.
    const err = await api
      .appendLinks('alice', { links: [alice.links[3]!.link as never] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).toJSON()).toMatchObject({
      code: 'CLIENT_HTTP',
      details: { status: 409, serverCode: 'CHAIN_CONFLICT' },
    });
    // An unregistered key.
    const stranger = clientFor(backend, srv.server.url, newDevice(backend));
    const e2 = await stranger.whoami().catch((e: unknown) => e);
    expect((e2 as ClientError).details.serverCode).toBe('UNKNOWN_KEY');
    // No signer at all.
    const anon = new ApiClient({ baseUrl: srv.server.url, backend });
    expect(await codeOf(anon.whoami())).toBe('CLIENT_INVALID_ARGUMENT');
  });

  it('a network failure becomes CLIENT_NETWORK after bounded retries', async () => {
    let calls = 0;
    const api = clientFor(backend, 'http://127.0.0.1:1', alice.devices[0]!, {
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
      retry: { maxAttempts: 3 },
    });
    expect(await codeOf(api.health())).toBe('CLIENT_NETWORK');
    expect(calls).toBe(3);
  });

  it('sign-up signed by a key other than the eldest is refused', async () => {
    const api = new ApiClient({ baseUrl: srv.server.url, backend });
    const e = await api
      .signup(
        { username: 'mallory', links: alice.links.slice(0, 3).map((l) => l.link as never) },
        signer(backend, newDevice(backend)),
      )
      .catch((x: unknown) => x);
    expect(isClientError(e, 'CLIENT_HTTP')).toBe(true);
  });
});

describe('ApiClient against a rate-limited real server', () => {
  it('waits out 429 + Retry-After and succeeds, within the attempt bound', async () => {
    const srv = await startTestServer({ rateLimit: { burst: 1, perSecond: 2 } });
    try {
      const alice = await signupUser(backend, srv.server.url, 'alice');
      const statuses: number[] = [];
      const sleeps: number[] = [];
      const api = new ApiClient({
        baseUrl: srv.server.url,
        backend,
        signer: signer(backend, alice.devices[0]!),
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          statuses.push(res.status);
          return res;
        },
        sleep: (ms) => {
          sleeps.push(ms);
          return new Promise((r) => setTimeout(r, ms));
        },
      });
      for (let i = 0; i < 3; i++) expect((await api.whoami()).username).toBe('alice');
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      // Every wait after a 429 honoured the server's Retry-After (whole seconds).
      expect(sleeps.length).toBe(statuses.filter((s) => s === 429).length);
      for (const ms of sleeps) expect(ms).toBeGreaterThanOrEqual(1000);
    } finally {
      await srv.close();
    }
  });
});

/** A fake fetch that answers from a script; it records what was asked. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
  const seen: { url: string; auth: string | null; method: string }[] = [];
  let i = 0;
  const f: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    seen.push({
      url: input instanceof URL ? input.href : JSON.stringify(input),
      auth: headers.get('authorization'),
      method: init?.method ?? 'GET',
    });
    const a = answers[Math.min(i++, answers.length - 1)]!;
    return Promise.resolve(a());
  };
  return { f, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
const err = (status: number, code: string) => json(status, { error: { code, message: 'x' } });
const WHOAMI = {
  uid: '0'.repeat(30) + '19',
  username: 'alice',
  deviceId: null,
  kid: '0120' + '11'.repeat(32) + '0a',
};

describe('ApiClient retries (scripted fetch)', () => {
  const device = newDevice(backend);
  function client(f: typeof fetch, sleeps: number[], extra: Partial<RetryTest> = {}) {
    let now = 1_000_000;
    return new ApiClient({
      baseUrl: 'http://saltbox.test',
      backend,
      signer: signer(backend, device),
      fetch: f,
      now: () => now,
      sleep: (ms) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
      random: () => 0.5,
      ...extra,
    });
  }
  type RetryTest = ConstructorParameters<typeof ApiClient>[0];

  it('retries 5xx on GET with full-jitter exponential backoff, signing every attempt afresh', async () => {
    const { f, seen } = scripted([
      () => err(503, 'UNAVAILABLE'),
      () => err(500, 'INTERNAL'),
      () => json(200, WHOAMI),
    ]);
    const sleeps: number[] = [];
    expect(await client(f, sleeps).whoami()).toEqual(WHOAMI);
    expect(seen).toHaveLength(3);
    // random() = 0.5 → half of base·2ⁿ⁻¹ (base 200 ms).
    expect(sleeps).toEqual([100, 200]);
    const nonces = seen.map((s) => parseAuthorization(s.auth).nonce);
    expect(new Set(nonces).size).toBe(3);
  });

  it('honours Retry-After on 429 (seconds and HTTP date)', async () => {
    const { f } = scripted([
      () =>
        new Response(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'x' } }), {
          status: 429,
          headers: { 'retry-after': '3' },
        }),
      () => json(200, WHOAMI),
    ]);
    const sleeps: number[] = [];
    await client(f, sleeps).whoami();
    expect(sleeps).toEqual([3000]);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });

  it('gives up when Retry-After exceeds the time budget, with the server code', async () => {
    const { f, seen } = scripted([
      () =>
        new Response(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'x' } }), {
          status: 429,
          headers: { 'retry-after': '120' },
        }),
    ]);
    const sleeps: number[] = [];
    const e = await client(f, sleeps)
      .whoami()
      .catch((x: unknown) => x);
    expect((e as ClientError).details.serverCode).toBe('RATE_LIMITED');
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('stops after maxAttempts and caps each wait at maxDelayMs', async () => {
    const { f, seen } = scripted([() => err(502, 'INTERNAL')]);
    const sleeps: number[] = [];
    const c = client(f, sleeps, { retry: { maxAttempts: 6, maxDelayMs: 500, baseDelayMs: 200 } });
    expect(await codeOf(c.whoami())).toBe('CLIENT_HTTP');
    expect(seen).toHaveLength(6);
    expect(sleeps).toEqual([100, 200, 250, 250, 250]);
  });

  it('does not retry a POST after a 5xx or a network error, but does after 429', async () => {
    const a = scripted([() => err(500, 'INTERNAL')]);
    // A malformed request fails before anything is sent.
    expect(await codeOf(client(a.f, []).appendLinks('alice', { links: [] }))).toBe(
      'CLIENT_INVALID_ARGUMENT',
    );
    expect(a.seen).toHaveLength(0);
    const b = scripted([() => err(500, 'INTERNAL'), () => json(200, {})]);
    const link = {
      seqno: 4,
      prev: 'a'.repeat(64),
      sig: 'x',
      payload_json: '{}',
      kid: WHOAMI.kid,
      sig_version: 2 as const,
    };
    expect(await codeOf(client(b.f, []).appendLinks('alice', { links: [link] }))).toBe(
      'CLIENT_HTTP',
    );
    expect(b.seen).toHaveLength(1);
    const c = scripted([
      () => {
        throw new TypeError('fetch failed');
      },
    ]);
    expect(await codeOf(client(c.f, []).appendLinks('alice', { links: [link] }))).toBe(
      'CLIENT_NETWORK',
    );
    expect(c.seen).toHaveLength(1);
    const tail = { uid: WHOAMI.uid, username: 'alice', seqno: 4, linkId: 'b'.repeat(64) };
    const d = scripted([() => err(429, 'RATE_LIMITED'), () => json(200, tail)]);
    expect(await client(d.f, []).appendLinks('alice', { links: [link] })).toEqual(tail);
    expect(d.seen).toHaveLength(2);
  });

  it('refuses answers that do not match the schema or are not JSON', async () => {
    const a = scripted([() => json(200, { ...WHOAMI, kid: 'not-a-kid' })]);
    expect(await codeOf(client(a.f, []).whoami())).toBe('CLIENT_BAD_RESPONSE');
    const b = scripted([() => new Response('<html>', { status: 200 })]);
    expect(await codeOf(client(b.f, []).whoami())).toBe('CLIENT_BAD_RESPONSE');
    // An error body naming a code outside the table is not trusted: protocol's
    // ApiError.fromBody turns it into INTERNAL; a body that is not an error body has no code.
    const c = scripted([() => err(400, 'MADE_UP')]);
    const e = await client(c.f, [])
      .whoami()
      .catch((x: unknown) => x);
    expect((e as ClientError).details).toMatchObject({ status: 400, serverCode: 'INTERNAL' });
    const c2 = scripted([() => new Response('bad gateway', { status: 400 })]);
    const e2 = await client(c2.f, [])
      .whoami()
      .catch((x: unknown) => x);
    expect((e2 as ClientError).details).toMatchObject({ status: 400, serverCode: null });
    // The lookup must answer one entry per name asked.
    const d = scripted([() => json(200, { users: [] })]);
    expect(await codeOf(client(d.f, []).lookupUsers(['alice']))).toBe('CLIENT_BAD_RESPONSE');
  });

  it('never puts the secret key or the signature into errors', async () => {
    const { f } = scripted([() => err(401, 'BAD_SIGNATURE')]);
    const e = (await client(f, [])
      .whoami()
      .catch((x: unknown) => x)) as ClientError;
    const text = JSON.stringify(e.toJSON()) + e.message + String(e.stack);
    expect(text).not.toContain(Buffer.from(device.signing.secretKey).toString('hex'));
    expect(text).not.toContain('sig=');
  });
});
