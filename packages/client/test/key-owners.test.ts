/**
 * Key owners (#12.9): `verifiedKeyOwner` names the user whose verified chain delegated a key,
 * against a real server on SQLite over a real socket. In front of it, the hostile suites'
 * rewriting fetch answers `GET /api/v1/keys/:kid` with another user's name: the client must
 * then name nobody, never the server's claim.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { keyOwnerPath } from '@saltbox/protocol';
import { MemoryChainCache, MemoryPinStore, UserLoader, verifiedKeyOwner } from '../src/index.js';
import type { ApiClient } from '../src/index.js';
import {
  addDeviceLinks,
  clientFor,
  newDevice,
  revokeLinks,
  signupUser,
  startTestServer,
} from './helpers.js';
import type { User } from './helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();

describe('verified key owners', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: User;
  let bob: User;
  let liar: ReturnType<typeof lyingFetch>;
  let api: ApiClient;
  let loader: UserLoader;

  beforeAll(async () => {
    srv = await startTestServer();
    alice = await signupUser(backend, srv.server.url, 'alice');
    bob = await signupUser(backend, srv.server.url, 'bob');
    // Alice adds a phone, then revokes it from her laptop.
    const asAlice = clientFor(backend, srv.server.url, alice.devices[0]!);
    await asAlice.appendLinks('alice', {
      links: addDeviceLinks(backend, alice, alice.devices[0]!),
    });
    await asAlice.appendLinks('alice', {
      links: revokeLinks(backend, alice, alice.devices[0]!, alice.devices[1]!, 2),
    });
    liar = lyingFetch();
  });
  afterAll(() => srv.close());

  beforeEach(() => {
    liar.state.rewrite = null;
    api = clientFor(backend, srv.server.url, bob.devices[0]!, { fetch: liar.f });
    loader = new UserLoader({
      api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
    });
  });

  it('names the owner of a live signing or encryption key, with its device', async () => {
    const laptop = alice.devices[0]!;
    expect(await verifiedKeyOwner(api, loader, laptop.kid)).toEqual({
      kid: laptop.kid,
      uid: alice.uid,
      username: 'alice',
      role: 'sibkey',
      status: 'live',
      device: { id: laptop.id, name: 'laptop' },
    });
    expect(await verifiedKeyOwner(api, loader, laptop.encKid)).toMatchObject({
      username: 'alice',
      role: 'subkey',
      status: 'live',
    });
  });

  it('marks a revoked device’s keys as revoked', async () => {
    const phone = alice.devices[1]!;
    for (const kid of [phone.kid, phone.encKid])
      expect(await verifiedKeyOwner(api, loader, kid)).toMatchObject({
        username: 'alice',
        status: 'revoked',
        device: { id: phone.id, name: 'phone' },
      });
  });

  it('answers null for a key no user has', async () => {
    expect(await verifiedKeyOwner(api, loader, newDevice(backend).kid)).toBeNull();
  });

  it('never believes a server that names another user, a missing user or a bad name', async () => {
    const kid = alice.devices[0]!.kid;
    for (const claim of [
      { uid: bob.uid, username: 'bob' },
      { uid: alice.uid, username: 'nobody_here' },
      { uid: alice.uid, username: 'not a name!' },
    ]) {
      liar.state.rewrite = (path, body) =>
        path === keyOwnerPath(kid) ? { ...(body as object), ...claim } : body;
      expect(await verifiedKeyOwner(api, loader, kid), claim.username).toBeNull();
    }
    // The server's word alone is not enough even for a key the named user's chain delegated
    // in another role: bob's chain holds his own keys only.
    liar.state.rewrite = (path, body) =>
      path === keyOwnerPath(bob.devices[0]!.kid)
        ? { ...(body as object), username: 'alice' }
        : body;
    expect(await verifiedKeyOwner(api, loader, bob.devices[0]!.kid)).toBeNull();
    // Honest again: the owner shows.
    liar.state.rewrite = null;
    expect(await verifiedKeyOwner(api, loader, kid)).toMatchObject({ username: 'alice' });
  });
});
