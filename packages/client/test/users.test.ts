import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultBackend } from '@saltbox/saltpack';
import {
  FileChainCache,
  FilePinStore,
  LogClient,
  MemoryChainCache,
  MemoryPinStore,
  UserLoader,
  isClientError,
  saltboxHome,
} from '../src/index.js';
import type { ApiClient } from '../src/index.js';
import {
  addDeviceLinks,
  clientFor,
  revokeLinks,
  signupUser,
  startTestServer,
  tempHome,
} from './helpers.js';
import type { User } from './helpers.js';

const backend = await defaultBackend();

describe('UserLoader against a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: User;
  let bob: User;
  let chainFetches = 0;
  let api: ApiClient;
  beforeAll(async () => {
    srv = await startTestServer();
    alice = await signupUser(backend, srv.server.url, 'alice');
    bob = await signupUser(backend, srv.server.url, 'bob');
    api = clientFor(backend, srv.server.url, bob.devices[0]!, {
      fetch: (input, init) => {
        if (input instanceof URL && input.pathname.endsWith('/chain')) chainFetches++;
        return fetch(input, init);
      },
    });
  });
  afterAll(() => srv.close());

  it('verifies, pins on first contact, serves from the cache within the TTL, extends after it', async () => {
    let now = 1_000_000;
    const pins = new MemoryPinStore();
    const loader = new UserLoader({
      api,
      backend,
      pins,
      cache: new MemoryChainCache(),
      ttlMs: 60_000,
      now: () => now,
      // The log root is reused for freshMs of the same clock: "within the TTL" below is also
      // within the root's freshness (the log check is its own test).
      log: new LogClient({ api, backend, now: () => now, freshMs: 60_000 }),
    });
    const before = chainFetches;
    const u = await loader.load('alice');
    expect(u.uid).toBe(alice.uid);
    expect(u.eldestKid).toBe(alice.eldestKid);
    expect(u.sibkeys).toEqual([alice.devices[0]!.kid]);
    expect(u.subkeys).toEqual([alice.devices[0]!.encKid]);
    expect(u.perUserKeys.map((p) => p.generation)).toEqual([1]);
    expect(u.tail.seqno).toBe(3);
    expect(await pins.get('alice')).toMatchObject({
      eldestKid: alice.eldestKid,
      tail: { seqno: 3, linkId: alice.links[2]!.linkId },
    });
    await loader.load('alice');
    expect(chainFetches - before).toBe(1);

    // Alice adds a phone, then revokes it (PUK rotation); after the TTL the loader refetches
    // and verifies only the new links on the cached state.
    const aliceApi = clientFor(backend, srv.server.url, alice.devices[0]!);
    await aliceApi.appendLinks('alice', {
      links: addDeviceLinks(backend, alice, alice.devices[0]!),
    });
    expect((await loader.load('alice')).tail.seqno).toBe(3); // still fresh
    now += 60_001;
    const u2 = await loader.load('alice');
    expect(chainFetches - before).toBe(2);
    expect(u2.sibkeys).toEqual([alice.devices[0]!.kid, alice.devices[1]!.kid]);
    await aliceApi.appendLinks('alice', {
      links: revokeLinks(backend, alice, alice.devices[0]!, alice.devices[1]!, 2),
    });
    const u3 = await loader.load('alice', { refresh: true });
    expect(u3.tail.seqno).toBe(7);
    expect(u3.sibkeys).toEqual([alice.devices[0]!.kid]);
    expect(u3.keys.find((k) => k.kid === alice.devices[1]!.kid)?.status).toBe('revoked');
    expect(u3.perUserKeys.map((p) => p.generation)).toEqual([1, 2]);
    expect(u3.devices.find((d) => d.id === alice.devices[1]!.id)?.status).toBe('revoked');
  });

  it('follows the signed log: a cached chain that moved is refetched at once, offline the TTL answers (#14.9)', async () => {
    const carl = await signupUser(backend, srv.server.url, 'carl');
    let now = 5_000_000;
    let offline = false;
    let fetches = 0;
    const flaky = clientFor(backend, srv.server.url, bob.devices[0]!, {
      fetch: (input, init) => {
        if (offline) return Promise.reject(new TypeError('fetch failed'));
        if (input instanceof URL && input.pathname.endsWith('/chain')) fetches++;
        return fetch(input, init);
      },
    });
    const log = new LogClient({ api: flaky, backend, now: () => now, freshMs: 3000 });
    const loader = new UserLoader({
      api: flaky,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
      ttlMs: 3_600_000,
      now: () => now,
      log,
    });
    expect((await loader.load('carl')).tail.seqno).toBe(3);
    // Another client revokes nothing yet: it adds a device. Within freshMs the root is reused.
    await clientFor(backend, srv.server.url, carl.devices[0]!).appendLinks('carl', {
      links: addDeviceLinks(backend, carl, carl.devices[0]!),
    });
    expect((await loader.load('carl')).tail.seqno).toBe(3);
    expect(fetches).toBe(1);
    // Once the root is older than freshMs the next load sees the new tail: long before the TTL.
    now += 3001;
    const u = await loader.load('carl');
    expect(u.tail.seqno).toBe(5);
    expect(u.sibkeys).toHaveLength(2);
    expect(fetches).toBe(2);
    // The root moved for nothing carl did: the cached chain is kept (one proof, no fetch);
    // at the same root again, nothing is asked at all.
    await signupUser(backend, srv.server.url, 'carlsneighbour');
    now += 3001;
    const proofs = log.stats.proofRequests;
    expect((await loader.load('carl')).tail.seqno).toBe(5);
    expect(log.stats.proofRequests - proofs).toBe(1);
    now += 3001;
    expect((await loader.load('carl')).tail.seqno).toBe(5);
    expect(log.stats.proofRequests - proofs).toBe(1);
    expect(fetches).toBe(2);
    // The server cannot be reached: the cache answers within the TTL, and not after it.
    offline = true;
    now += 3001;
    expect((await loader.load('carl')).tail.seqno).toBe(5);
    now += 3_600_000;
    await expect(loader.load('carl')).rejects.toMatchObject({ code: 'CLIENT_NETWORK' });
  });

  it('loads many users with one batch proof request', async () => {
    const names = ['dora', 'eve', 'finn', 'gail', 'hugo'];
    for (const n of names) await signupUser(backend, srv.server.url, n);
    const log = new LogClient({ api, backend });
    const loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
      log,
    });
    const users = await Promise.all(names.map((n) => loader.load(n)));
    expect(users.map((u) => u.username)).toEqual(names);
    expect(log.stats.proofRequests).toBe(1);
  });

  it('lookup returns the verified keys and agrees with the honest directory', async () => {
    const loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
    const [a, b, none] = await loader.lookup(['alice', 'Bob', 'nobody']);
    expect(a?.eldestKid).toBe(alice.eldestKid);
    expect(b?.username).toBe('bob');
    expect(b?.sibkeys).toEqual([bob.devices[0]!.kid]);
    expect(none).toBeNull();
  });

  it('a lookup behind a fresh cache refetches once instead of failing', async () => {
    const loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
    await loader.load('bob');
    const bobApi = clientFor(backend, srv.server.url, bob.devices[0]!);
    await bobApi.appendLinks('bob', { links: addDeviceLinks(backend, bob, bob.devices[0]!) });
    const [b] = await loader.lookup(['bob']);
    expect(b?.tail.seqno).toBe(5);
  });

  it('refuses invalid usernames and unknown users with codes', async () => {
    const loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
    await expect(loader.load('__nope')).rejects.toMatchObject({ code: 'CLIENT_INVALID_ARGUMENT' });
    await expect(loader.load('nobody')).rejects.toMatchObject({ code: 'CLIENT_USER_NOT_FOUND' });
  });

  it('file stores: 0600 files under SALTBOX_HOME, atomic replace, survive a new process', async () => {
    const home = await tempHome();
    try {
      expect(saltboxHome({ env: { SALTBOX_HOME: home.dir } })).toBe(home.dir);
      const mk = () =>
        new UserLoader({
          api,
          backend,
          pins: new FilePinStore(home.dir),
          cache: new FileChainCache(home.dir),
        });
      const first = await mk().load('alice');
      const pinFile = join(home.dir, 'pins.json');
      expect((await stat(pinFile)).mode & 0o777).toBe(0o600);
      const chainFile = join(home.dir, 'chains', `${alice.uid}.json`);
      expect((await stat(chainFile)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(pinFile, 'utf8'))).toMatchObject({
        alice: { eldestKid: alice.eldestKid },
      });
      // No temp files are left behind.
      expect((await readdir(home.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // A second loader (a new process) answers from the file cache without fetching.
      const before = chainFetches;
      const again = await mk().load('alice');
      expect(chainFetches).toBe(before);
      expect(again).toEqual(first);
      // The cached state (Maps and Sets through JSON) is a valid base for extendUserChain.
      const aliceApi = clientFor(backend, srv.server.url, alice.devices[0]!);
      await aliceApi.appendLinks('alice', {
        links: addDeviceLinks(backend, alice, alice.devices[0]!),
      });
      const ext = await mk().load('alice', { refresh: true });
      expect(ext.sibkeys).toContain(alice.devices.at(-1)!.kid);
      // Concurrent pin writes in one process do not lose each other.
      const pins = new FilePinStore(home.dir);
      await Promise.all(
        ['carol', 'dave', 'erin'].map((n) =>
          pins.set({
            username: n,
            uid: '0'.repeat(32),
            eldestKid: alice.eldestKid,
            tail: { seqno: 1, linkId: 'a'.repeat(64) },
            pinnedAt: 1,
          }),
        ),
      );
      expect(Object.keys(JSON.parse(await readFile(pinFile, 'utf8'))).sort()).toEqual([
        'alice',
        'carol',
        'dave',
        'erin',
      ]);
      // Separate store instances share no queue (as separate processes would not): the lock
      // file is what keeps their read-modify-write cycles from losing pins.
      const names = Array.from({ length: 12 }, (_, i) => `user${i}`);
      await Promise.all(
        names.map((n) =>
          new FilePinStore(home.dir).set({
            username: n,
            uid: '0'.repeat(32),
            eldestKid: alice.eldestKid,
            tail: { seqno: 1, linkId: 'a'.repeat(64) },
            pinnedAt: 1,
          }),
        ),
      );
      const all = Object.keys(JSON.parse(await readFile(pinFile, 'utf8')));
      for (const n of names) expect(all).toContain(n);
      expect((await readdir(home.dir)).filter((f) => f.endsWith('.lock'))).toEqual([]);
    } finally {
      await home.cleanup();
    }
  });

  it('a corrupt pin file is a CLIENT_STORE error, a corrupt cache is only a miss', async () => {
    const home = await tempHome();
    try {
      const { writeFile, mkdir } = await import('node:fs/promises');
      await mkdir(join(home.dir, 'chains'), { recursive: true });
      await writeFile(join(home.dir, 'chains', `${alice.uid}.json`), '{not json');
      expect(await new FileChainCache(home.dir).get(alice.uid)).toBeUndefined();
      await writeFile(join(home.dir, 'pins.json'), '{not json');
      const e = await new FilePinStore(home.dir).get('alice').catch((x: unknown) => x);
      expect(isClientError(e, 'CLIENT_STORE')).toBe(true);
    } finally {
      await home.cleanup();
    }
  });
});
