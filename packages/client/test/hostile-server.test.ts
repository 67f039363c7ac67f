/**
 * The hostile-server suite: a real server on SQLite over a real socket, and in front of it a
 * *rewriting fetch* (`lyingFetch`) that passes each request to the server and then rewrites
 * the answer the way a compromised server would: it injects a device key into a chain, forks a
 * chain, rolls a chain back, replays an old or another user's chain, swaps the eldest key, and
 * answers a lookup for alice with bob's keys, hides a revocation the signed log holds, serves a
 * stale tail to a client without a pin. The client must refuse each with a coded error, return
 * nothing, and keep its pin (an honest answer afterwards still loads).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { buildEldestLink, buildSibkeyLink, buildSubkeyLink } from '@saltbox/identity';
import type { ChainLink } from '@saltbox/protocol';
import {
  isClientError,
  LogClient,
  MemoryChainCache,
  MemoryPinStore,
  UserLoader,
} from '../src/index.js';
import type { ClientErrorCode, VerifiedUser } from '../src/index.js';
import {
  addDeviceLinks,
  clientFor,
  ctx,
  newDevice,
  pukLink,
  revokeLinks,
  signupUser,
  startTestServer,
} from './helpers.js';
import type { User } from './helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();

const isChain = (path: string, name: string) => path === `/api/v1/users/${name}/chain`;
const links = (u: User): ChainLink[] => u.links.map((l) => l.link as ChainLink);

describe('hostile server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: User;
  let bob: User;
  let liar: ReturnType<typeof lyingFetch>;
  let honestAlice: VerifiedUser;
  let oldAliceChain: unknown;
  let pins: MemoryPinStore;
  let loader: UserLoader;

  beforeAll(async () => {
    srv = await startTestServer();
    alice = await signupUser(backend, srv.server.url, 'alice');
    bob = await signupUser(backend, srv.server.url, 'bob');
    liar = lyingFetch();
    // Captured while alice had 3 links, to be replayed later.
    oldAliceChain = await clientFor(backend, srv.server.url, bob.devices[0]!).fetchChain('alice');
    await clientFor(backend, srv.server.url, alice.devices[0]!).appendLinks('alice', {
      links: addDeviceLinks(backend, alice, alice.devices[0]!),
    });
  });
  afterAll(() => srv.close());

  /** A loader (as bob) that has already verified and pinned alice's honest 5-link chain. */
  beforeEach(async () => {
    liar.state.rewrite = null;
    pins = new MemoryPinStore();
    loader = newLoader(pins);
    honestAlice = await loader.load('alice');
    expect(honestAlice.tail.seqno).toBe(5);
  });

  function newLoader(p = new MemoryPinStore(), ttlMs = 0) {
    const api = clientFor(backend, srv.server.url, bob.devices[0]!, { fetch: liar.f });
    return new UserLoader({
      api,
      backend,
      pins: p,
      cache: new MemoryChainCache(),
      ttlMs, // 0: every load refetches, so every load meets the liar
      // Every load asks for the latest log root: a change made a moment ago is in it.
      log: new LogClient({ api, backend, freshMs: 0 }),
    });
  }

  /** The attack must fail with `code`, leave the pin alone, and an honest answer must still load. */
  async function refused(load: Promise<unknown>, code: ClientErrorCode, p = pins, l = loader) {
    const pinBefore = await p.get('alice');
    await expect(load).rejects.toMatchObject({ name: 'ClientError', code });
    expect(await p.get('alice')).toEqual(pinBefore);
    liar.state.rewrite = null;
    if (pinBefore) expect(await l.load('alice')).toMatchObject({ tail: honestAlice.tail });
  }

  it('injects a device key signed by a key alice never delegated', async () => {
    const attacker = newDevice(backend);
    const phone = newDevice(backend);
    const forged = buildSibkeyLink(
      backend,
      ctx(alice),
      { secretKey: attacker.signing.secretKey },
      { secretKey: phone.signing.secretKey },
      { id: phone.id, kid: phone.kid, name: 'evil', type: 'desktop' },
    );
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice')
        ? { ...(body as object), links: [...links(alice), forged.link] }
        : body;
    // Incrementally (pinned, cached) and on first contact alike.
    await refused(loader.load('alice'), 'CLIENT_CHAIN_INVALID');
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice')
        ? { ...(body as object), links: [...links(alice), forged.link] }
        : body;
    const fresh = newLoader();
    await refused(fresh.load('alice'), 'CLIENT_CHAIN_INVALID', new MemoryPinStore(), fresh);
  });

  it('injects a device key by rewriting an earlier link', async () => {
    const attacker = newDevice(backend);
    const copy = { ...alice, links: alice.links.slice(0, 1) };
    const evil = buildSubkeyLink(
      backend,
      ctx(copy),
      { secretKey: attacker.signing.secretKey },
      attacker.encKid,
      { id: alice.devices[0]!.id, kid: attacker.encKid, name: 'laptop', type: 'desktop' },
    );
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice')
        ? { ...(body as object), links: [links(alice)[0], evil.link, ...links(alice).slice(2)] }
        : body;
    await refused(loader.load('alice'), 'CLIENT_CHAIN_FORK');
  });

  it('forks the chain with links alice really signed', async () => {
    // From seqno 3 on, other PUK links signed by alice's own device: a valid chain by itself,
    // and longer than the verified one, so only the changed link IDs give it away.
    const alt: User = { ...alice, links: alice.links.slice(0, 2) };
    for (let g = 1; g <= 4; g++) alt.links.push(pukLink(backend, alt, alice.devices[0]!, g).link);
    const forked = links(alt);
    const fork = alt.links.at(-1)!;
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice') ? { ...(body as object), links: forked } : body;
    await refused(loader.load('alice'), 'CLIENT_CHAIN_FORK');
    // The forked chain alone verifies (its links are alice's own), so the prefix rule is what
    // caught it; a client without a pin is stopped by the signed log instead, after verifying.
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice') ? { ...(body as object), links: forked } : body;
    const p2 = new MemoryPinStore();
    const fresh = newLoader(p2);
    await refused(fresh.load('alice'), 'CLIENT_LOG_TAIL_MISMATCH', p2, fresh);
    expect(fork.linkId).not.toBe(alice.links.at(-1)!.linkId);
  });

  it('rolls the chain back (hides the added device)', async () => {
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice') ? { ...(body as object), links: links(alice).slice(0, 3) } : body;
    await refused(loader.load('alice'), 'CLIENT_CHAIN_ROLLBACK');
  });

  it('replays an old chain answer', async () => {
    liar.state.rewrite = (path, body) => (isChain(path, 'alice') ? oldAliceChain : body);
    await refused(loader.load('alice'), 'CLIENT_CHAIN_ROLLBACK');
  });

  it('serves a stale tail to a client without a pin: the signed log holds more links (#14.7)', async () => {
    liar.state.rewrite = (path, body) => (isChain(path, 'alice') ? oldAliceChain : body);
    const p2 = new MemoryPinStore();
    const fresh = newLoader(p2);
    const e = await fresh.load('alice').catch((x: unknown) => x);
    expect(isClientError(e, 'CLIENT_LOG_TAIL_MISMATCH')).toBe(true);
    expect((e as { details: unknown }).details).toMatchObject({ servedSeqno: 3, loggedSeqno: 5 });
    expect(await p2.get('alice')).toBeUndefined();
    liar.state.rewrite = null;
    expect((await fresh.load('alice')).tail).toEqual(honestAlice.tail);
  });

  it('hides a revocation the signed log holds: pinned, cached or fresh, the client refuses (#14.4, #14.7)', async () => {
    const dana = await signupUser(backend, srv.server.url, 'dana');
    const danaApi = clientFor(backend, srv.server.url, dana.devices[0]!);
    await danaApi.appendLinks('dana', { links: addDeviceLinks(backend, dana, dana.devices[0]!) });
    const pinned = new MemoryPinStore();
    const refetching = newLoader(pinned);
    const caching = newLoader(new MemoryPinStore(), 3_600_000);
    for (const l of [refetching, caching]) expect((await l.load('dana')).sibkeys).toHaveLength(2);
    // Dana revokes her phone; the server keeps serving the chain without the revoke link (and
    // the PUK rotation after it), so the phone would stay a live key and a recipient.
    await danaApi.appendLinks('dana', {
      links: revokeLinks(backend, dana, dana.devices[0]!, dana.devices[1]!, 2),
    });
    const hide = (path: string, body: unknown) =>
      isChain(path, 'dana') ? { ...(body as object), links: links(dana).slice(0, 5) } : body;
    const pinBefore = await pinned.get('dana');
    for (const l of [refetching, caching, newLoader()]) {
      liar.state.rewrite = hide;
      const e = await l.load('dana').catch((x: unknown) => x);
      expect(isClientError(e, 'CLIENT_LOG_TAIL_MISMATCH'), String(e)).toBe(true);
      expect((e as { details: unknown }).details).toMatchObject({
        chain: 'user dana',
        servedSeqno: 5,
        loggedSeqno: 7,
      });
    }
    expect(await pinned.get('dana')).toEqual(pinBefore);
    liar.state.rewrite = null;
    for (const l of [refetching, caching]) {
      const u = await l.load('dana');
      expect(u.tail.seqno).toBe(7);
      expect(u.sibkeys).toEqual([dana.devices[0]!.kid]);
    }
  });

  it("replays bob's chain as alice's, as is and relabelled", async () => {
    const bobChain = await clientFor(backend, srv.server.url, alice.devices[0]!).fetchChain('bob');
    liar.state.rewrite = (path, body) => (isChain(path, 'alice') ? bobChain : body);
    await refused(loader.load('alice'), 'CLIENT_WRONG_USER');
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice') ? { ...bobChain, uid: alice.uid, username: 'alice' } : body;
    const fresh = newLoader();
    await refused(fresh.load('alice'), 'CLIENT_CHAIN_INVALID', new MemoryPinStore(), fresh);
  });

  it('replaces the whole chain with a new eldest key', async () => {
    const attacker = newDevice(backend);
    const fake: User = { ...alice, eldestKid: attacker.kid, devices: [attacker], links: [] };
    const s = { secretKey: attacker.signing.secretKey };
    const device = { id: attacker.id, kid: attacker.kid, name: 'x', type: 'desktop' as const };
    fake.links.push(buildEldestLink(backend, ctx(fake), s, device));
    fake.links.push(
      buildSubkeyLink(backend, ctx(fake), s, attacker.encKid, { ...device, kid: attacker.encKid }),
    );
    for (let g = 1; g <= 4; g++) fake.links.push(pukLink(backend, fake, attacker, g).link);
    liar.state.rewrite = (path, body) =>
      isChain(path, 'alice') ? { ...(body as object), links: links(fake) } : body;
    await refused(loader.load('alice'), 'CLIENT_ELDEST_CHANGED');
  });

  it("answers a lookup for alice with bob's keys", async () => {
    const rewriteLookup =
      (f: (a: Record<string, unknown>, b: Record<string, unknown>) => unknown) =>
      (path: string, body: unknown) => {
        if (path !== '/api/v1/users/lookup') return body;
        const users = (body as { users: Record<string, unknown>[] }).users;
        return { users: [f(users[0]!, users[1]!), users[1]] };
      };
    // Bob's whole summary under alice's name.
    liar.state.rewrite = rewriteLookup((_a, b) => ({ ...b, username: 'alice' }));
    await refused(loader.lookup(['alice', 'bob']), 'CLIENT_LOOKUP_MISMATCH');
    // Alice's summary with bob's keys (and his eldest).
    liar.state.rewrite = rewriteLookup((a, b) => ({ ...a, keys: b.keys }));
    await refused(loader.lookup(['alice', 'bob']), 'CLIENT_LOOKUP_MISMATCH');
    // Alice's keys plus one of bob's.
    liar.state.rewrite = rewriteLookup((a, b) => ({
      ...a,
      keys: [...(a.keys as unknown[]), ...(b.keys as unknown[]).slice(0, 1)],
    }));
    await refused(loader.lookup(['alice', 'bob']), 'CLIENT_LOOKUP_MISMATCH');
    // Another PUK generation's keys.
    liar.state.rewrite = rewriteLookup((a, b) => ({ ...a, perUserKeys: b.perUserKeys }));
    await refused(loader.lookup(['alice', 'bob']), 'CLIENT_LOOKUP_MISMATCH');
    // Honest again: the verified keys come back.
    const [a] = await loader.lookup(['alice']);
    expect(a?.sibkeys).toEqual(honestAlice.sibkeys);
  });
});
