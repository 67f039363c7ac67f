/**
 * Key rotation (issue 7 item 4): ciphertexts made before a device revoke and the PUK rotation
 * that comes with it still decrypt; new ones go to the new PUK and not to the revoked device;
 * a cached key entry is dropped as soon as the verified chain moved — a user's chain, and a
 * team's chain after a member was removed (which rotates the team key) — on this machine, or
 * anywhere: the signed log's latest root shows it (#14.9).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt } from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { keystoreKeyring, kidPublicKey } from '@saltbox/keystore';
import { buildRevokeLink, createEncryptionPacket, curve25519Kid } from '@saltbox/identity';
import type { ChainLink } from '@saltbox/protocol';
import {
  LogClient,
  MemoryChainCache,
  MemoryPinStore,
  TeamLoader,
  TeamManager,
  UserLoader,
} from '@saltbox/client';
import { CachedDirectory, saltboxKeeper, teamResolver, userDirectory } from '../src/index.js';
import type { RecipientDirectory } from '../src/index.js';
import { addDeviceLinks, ctx, pukLink } from '../../client/test/helpers.js';
import { backend, startWorld } from './helpers.js';
import type { KeystoreUser } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

let world: Awaited<ReturnType<typeof startWorld>>;
let erin: KeystoreUser;
let frank: KeystoreUser;

beforeAll(async () => {
  world = await startWorld();
  erin = await world.signup('erin');
  frank = await world.signup('frank');
});
afterAll(() => world.close());

describe('rotation', () => {
  it('old ciphertexts decrypt after a device revoke + PUK rotation; new ones skip the revoked device', async () => {
    // erin adds a phone, then revokes it and rotates her PUK to generation 2.
    await erin.api.appendLinks('erin', {
      links: addDeviceLinks(backend, erin.user, erin.device),
      pukBoxes: [],
    });
    const phone = erin.user.devices[1]!;
    const cache = new CachedDirectory(frank.directory, { ttlSeconds: 3600 });
    const toErin = saltboxKeeper({
      recipients: [{ kind: 'user', name: 'erin' }],
      directory: cache,
    });
    await frank.loader.load('erin', { refresh: true });
    const before = await toErin.encrypt(enc('made before the revoke'));
    expect(cache.stats.misses).toBe(1);

    const start = erin.user.links.length;
    erin.user.links.push(
      buildRevokeLink(
        backend,
        ctx(erin.user),
        { secretKey: erin.device.signing.secretKey },
        { kids: [phone.kid, phone.encKid] },
        { id: phone.id, kid: phone.kid, status: 2 },
      ),
    );
    const { link, seed } = pukLink(backend, erin.user, erin.device, 2);
    erin.user.links.push(link);
    await erin.api.appendLinks('erin', {
      links: erin.user.links.slice(start).map((l) => l.link as ChainLink),
      pukBoxes: [
        {
          generation: 2,
          receiverKid: erin.device.encKid,
          box: createEncryptionPacket(backend, seed, erin.device.encSecret, erin.device.encKid),
        },
      ],
    });

    // Another command verifies erin's new chain: the cached keys are stale from now on.
    const verified = await frank.loader.load('erin', { refresh: true });
    const after = await toErin.encrypt(enc('made after the revoke'));
    expect(cache.stats.invalidations).toBe(1);
    expect(cache.stats.misses).toBe(2);

    // erin's keystore opens the new PUK box on demand (refreshKeys) and reads both.
    const erinKeeper = saltboxKeeper({
      recipients: [{ kind: 'user', name: 'erin' }],
      directory: erin.directory,
      keystore: () => Promise.resolve(erin.ks),
      refreshKeys: erin.refreshKeys,
    });
    expect(bytesEqual(await erinKeeper.decrypt(before), enc('made before the revoke'))).toBe(true);
    expect((await erin.ks.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([1]);
    expect(bytesEqual(await erinKeeper.decrypt(after), enc('made after the revoke'))).toBe(true);
    // A message to the new PUK alone (the live device key is not named) needs the generation-2
    // box: the keeper fetches and opens it through the keystore once, then decrypts.
    const pukOnly = await encrypt(enc('to the puk only'), {
      recipients: [
        kidPublicKey(verified.perUserKeys.find((p) => p.generation === 2)!.encryptionKid),
      ],
      backend,
    });
    expect((await erin.ks.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([1]);
    expect(bytesEqual(await erinKeeper.decrypt(pukOnly), enc('to the puk only'))).toBe(true);
    expect((await erin.ks.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([1, 2]);

    // The new ciphertext names PUK generation 2 and the live laptop only.
    const { info } = await decrypt(after, { keyring: await keystoreKeyring(erin.ks) });
    const named = info.namedReceivers.map((pk) => curve25519Kid(pk)).sort();
    expect(named).toEqual(
      [
        verified.perUserKeys.find((p) => p.generation === 2)!.encryptionKid,
        erin.device.encKid,
      ].sort(),
    );
    expect(named).not.toContain(phone.encKid);
  });

  it('a team rotation (a member removed) reaches the next encryption within cache_ttl; old ciphertexts still open', async () => {
    const tina = await world.signup('tina');
    const uma = await world.signup('uma');
    const carol = await world.signup('carol');
    await tina.teams.createTeam('acme');
    await tina.teams.addMember('acme', 'uma', 'writer');
    await tina.teams.addMember('acme', 'carol', 'writer');

    // tina's keeper as the agent's bridge holds it: one cache for its life, a day's TTL.
    let directoryCalls = 0;
    const counting: RecipientDirectory = {
      resolve: (r) => {
        directoryCalls++;
        return tina.directory.resolve(r);
      },
      verifiedTail: (r, identity) => tina.directory.verifiedTail!(r, identity),
    };
    const cache = new CachedDirectory(counting, { ttlSeconds: 86_400 });
    const toAcme = saltboxKeeper({
      recipients: [{ kind: 'team', name: 'acme' }],
      directory: cache,
    });
    const before = await toAcme.encrypt(enc('made before the removal'));
    await toAcme.encrypt(enc('nothing changed'));
    // Nothing changed: the second encryption is a hit, no directory call.
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, invalidations: 0 });
    expect(directoryCalls).toBe(1);

    const keeperOf = (u: KeystoreUser) =>
      saltboxKeeper({
        recipients: [{ kind: 'team', name: 'acme' }],
        directory: u.directory,
        keystore: () => Promise.resolve(u.ks),
        refreshKeys: u.refreshKeys,
      });
    const opens = async (u: KeystoreUser, ct: Uint8Array, text: string) =>
      bytesEqual(await keeperOf(u).decrypt(ct), enc(text));
    expect(await opens(carol, before, 'made before the removal')).toBe(true);

    // tina removes carol in another process on the same machine (as 'saltbox team remove'
    // does): its own team loader, the same team pins. The removal rotates to generation 2.
    const otherLoader = new TeamLoader({
      api: tina.api,
      backend,
      users: tina.loader,
      pins: tina.teamPins,
    });
    const other = new TeamManager({
      api: tina.api,
      backend,
      keystore: tina.ks,
      users: tina.loader,
      teams: otherLoader,
      me: {
        username: 'tina',
        deviceSigningKid: tina.device.kid,
        deviceEncryptionKid: tina.device.encKid,
      },
    });
    const rotated = await other.removeMember('acme', 'carol');
    expect(rotated.perTeamKeys.map((k) => k.generation)).toEqual([1, 2]);

    const after = await toAcme.encrypt(enc('made after the removal'));
    expect(cache.stats).toMatchObject({ hits: 1, misses: 2, invalidations: 1 });
    expect(directoryCalls).toBe(2);
    // The new ciphertext names generation 2 only.
    const { info } = await decrypt(after, { keyring: await keystoreKeyring(tina.ks) });
    expect(info.namedReceivers.map((pk) => curve25519Kid(pk))).toEqual([
      rotated.perTeamKeys[1]!.encryptionKid,
    ]);
    // The removed member cannot read it, even after refreshing her keys; the others can, and
    // still read what was made before.
    await expect(keeperOf(carol).decrypt(after)).rejects.toMatchObject({
      code: 'PermissionDenied',
      reason: 'PROVIDER_DECRYPT_FAILED',
    });
    expect(await opens(uma, after, 'made after the removal')).toBe(true);
    expect(await opens(uma, before, 'made before the removal')).toBe(true);
    expect(await opens(tina, before, 'made before the removal')).toBe(true);

    // The cache still does its job once the new tail is cached.
    await toAcme.encrypt(enc('nothing changed again'));
    expect(cache.stats).toMatchObject({ hits: 2, misses: 2, invalidations: 1 });
    expect(directoryCalls).toBe(2);
  });
  it('a member removed by another client (no shared pins) is out of the very next encryption: the signed log shows the move (#14.9)', async () => {
    const vera = await world.signup('vera');
    const walt = await world.signup('walt');
    const xena = await world.signup('xena');
    await walt.teams.createTeam('wacme');
    await walt.teams.addMember('wacme', 'vera', 'writer');
    await walt.teams.addMember('wacme', 'xena', 'writer');

    // vera's long-lived keeper (as the agent's bridge): a day's cache, her own pins and
    // loaders, and a log client that asks for the latest root before each use.
    const log = new LogClient({ api: vera.api, backend, freshMs: 0 });
    const users = new UserLoader({
      api: vera.api,
      backend,
      pins: new MemoryPinStore(),
      cache: new MemoryChainCache(),
      log,
    });
    const teams = new TeamLoader({ api: vera.api, backend, users, log });
    const inner = userDirectory({ loader: users, teams: teamResolver(teams), log });
    let directoryCalls = 0;
    const counting: RecipientDirectory = {
      resolve: (r) => {
        directoryCalls++;
        return inner.resolve(r);
      },
      loggedTail: (id, label) => inner.loggedTail!(id, label),
    };
    const cache = new CachedDirectory(counting, { ttlSeconds: 86_400 });
    const toAcme = saltboxKeeper({
      recipients: [{ kind: 'team', name: 'wacme' }],
      directory: cache,
    });
    await toAcme.encrypt(enc('warm'));
    const proofs = log.stats.proofRequests;
    await toAcme.encrypt(enc('nothing changed'));
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, invalidations: 0 });
    // The root did not move: the check cost no proof request.
    expect(log.stats.proofRequests).toBe(proofs);

    // walt removes xena on his machine: nothing of vera's moves but the server's log.
    const rotated = await walt.teams.removeMember('wacme', 'xena');
    const after = await toAcme.encrypt(enc('made after the removal'));
    expect(cache.stats).toMatchObject({ hits: 1, misses: 2, invalidations: 1 });
    expect(directoryCalls).toBe(2);
    const { info } = await decrypt(after, { keyring: await keystoreKeyring(walt.ks) });
    expect(info.namedReceivers.map((pk) => curve25519Kid(pk))).toEqual([
      rotated.perTeamKeys.at(-1)!.encryptionKid,
    ]);
    const keeperOf = (u: KeystoreUser) =>
      saltboxKeeper({
        recipients: [{ kind: 'team', name: 'wacme' }],
        directory: u.directory,
        keystore: () => Promise.resolve(u.ks),
        refreshKeys: u.refreshKeys,
      });
    await expect(keeperOf(xena).decrypt(after)).rejects.toMatchObject({
      code: 'PermissionDenied',
      reason: 'PROVIDER_DECRYPT_FAILED',
    });
    expect(bytesEqual(await keeperOf(walt).decrypt(after), enc('made after the removal'))).toBe(
      true,
    );
  });
});
