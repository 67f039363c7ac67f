import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dearmor, decrypt } from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { keystoreKeyring } from '@saltbox/keystore';
import { curve25519Kid } from '@saltbox/identity';
import { ClientError } from '@saltbox/client';
import {
  CachedDirectory,
  Keeper,
  URLMux,
  memoryFollowStore,
  parseKeeperUrl,
  parseSaltboxUrl,
  saltboxKeeper,
  saltboxOpener,
} from '../src/index.js';
import type { KeeperDriver, ProviderError } from '../src/index.js';
import { runKeeperConformance } from './conformance.js';
import { failure, startWorld } from './helpers.js';
import type { KeystoreUser } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

let world: Awaited<ReturnType<typeof startWorld>>;
let alice: KeystoreUser;
let bob: KeystoreUser;
let carol: KeystoreUser;

beforeAll(async () => {
  world = await startWorld();
  alice = await world.signup('alice');
  bob = await world.signup('bob');
  carol = await world.signup('carol');
});
afterAll(() => world.close());

function mux(me: KeystoreUser): URLMux {
  const m = new URLMux();
  const opener = saltboxOpener({
    directory: me.directory,
    keystore: () => Promise.resolve(me.ks),
    refreshKeys: me.refreshKeys,
  });
  m.registerKeeper('keybase', opener);
  m.registerKeeper('saltbox', opener);
  return m;
}

runKeeperConformance('keybase:// saltpack, in-process keystore, real server', async () => ({
  keeper: await mux(alice).openKeeper('keybase://alice,bob'),
}));
runKeeperConformance('saltbox:// armored', async () => ({
  keeper: await mux(alice).openKeeper('saltbox://alice?armor=true'),
}));

describe('URLMux', () => {
  it('rejects a duplicate scheme, lists schemes, is case-insensitive and takes secrets+ prefixes', async () => {
    const m = mux(alice);
    const e = (() => {
      try {
        m.registerKeeper('KEYBASE', () => Promise.reject(new Error('unused')));
      } catch (err) {
        return err as ProviderError;
      }
      return null;
    })();
    expect(e?.code).toBe('InvalidArgument');
    expect(e?.reason).toBe('PROVIDER_SCHEME_TAKEN');
    expect(m.keeperSchemes()).toEqual(['keybase', 'saltbox']);
    expect(m.validKeeperScheme('secrets+keeper+KeyBase')).toBe(true);
    const k = await m.openKeeper('secrets+KEYBASE://alice');
    expect(bytesEqual(await k.decrypt(await k.encrypt(enc('x'))), enc('x'))).toBe(true);
    const unknown = await failure(m.openKeeper('awskms://alias/x'));
    expect(unknown.reason).toBe('PROVIDER_BAD_URL');
    expect((await failure(m.openKeeper('alice,bob'))).code).toBe('InvalidArgument');
  });

  it('keeps team:NAME in the key id (no port parsing)', () => {
    const u = parseKeeperUrl('keybase://alice,team:acme.infra?format=saltpack');
    expect(u.id).toBe('alice,team:acme.infra');
    expect(parseSaltboxUrl(u).recipients).toEqual([
      { kind: 'user', name: 'alice' },
      { kind: 'team', name: 'acme.infra' },
    ]);
  });
});

describe('keybase:// URL rules', () => {
  it('refuses invalid usernames and team names, unknown and repeated parameters, bad values', async () => {
    const m = mux(alice);
    const cases: [string, string][] = [
      ['keybase://alice,bo$b', 'PROVIDER_BAD_RECIPIENT'],
      ['keybase://', 'PROVIDER_BAD_RECIPIENT'],
      ['keybase://alice,,bob', 'PROVIDER_BAD_RECIPIENT'],
      ['keybase://a', 'PROVIDER_BAD_RECIPIENT'],
      ['keybase://team:x', 'PROVIDER_BAD_RECIPIENT'],
      ['keybase://alice?region=eu', 'PROVIDER_BAD_URL'],
      ['keybase://alice?format=age', 'PROVIDER_BAD_URL'],
      ['keybase://alice?cache_ttl=-1', 'PROVIDER_BAD_URL'],
      ['keybase://alice?cache_ttl=1&cache_ttl=2', 'PROVIDER_BAD_URL'],
      ['keybase://alice?verify_proofs=yes', 'PROVIDER_BAD_URL'],
      ['keybase://alice?format=pgp&armor=true', 'PROVIDER_BAD_URL'],
      ['keybase://alice?device_keys=no', 'PROVIDER_BAD_URL'],
      ['keybase://alice?device_keys=', 'PROVIDER_BAD_URL'],
      ['keybase://alice?device_keys=false&device_keys=false', 'PROVIDER_BAD_URL'],
      ['keybase://alice?format=pgp&device_keys=false', 'PROVIDER_BAD_URL'],
      ['keybase://alice/keys', 'PROVIDER_BAD_URL'],
    ];
    for (const [url, reason] of cases) {
      const e = await failure(m.openKeeper(url));
      expect([url, e.code, e.reason]).toEqual([url, 'InvalidArgument', reason]);
    }
  });

  it('normalises and de-duplicates recipients', () => {
    const o = parseSaltboxUrl(parseKeeperUrl('keybase://Alice,alice,BOB?cache_ttl=0'));
    expect(o.recipients.map((r) => r.name)).toEqual(['alice', 'bob']);
    expect(o.cacheTtlSeconds).toBe(0);
    expect(o.format).toBe('saltpack');
    expect(o.deviceKeys).toBe(true);
    for (const [v, want] of [
      ['false', false],
      ['0', false],
      ['true', true],
      ['1', true],
    ] as const)
      expect(parseSaltboxUrl(parseKeeperUrl(`keybase://alice?device_keys=${v}`)).deviceKeys).toBe(
        want,
      );
  });
});

describe('keybase:// with real users', () => {
  it('every recipient decrypts with their own keystore; a non-recipient cannot', async () => {
    const ct = await (await mux(alice).openKeeper('keybase://alice,bob')).encrypt(enc('data key'));
    // Decryption needs no URL: bob opens it with a keeper for an unrelated recipient set.
    const bobKeeper = await mux(bob).openKeeper('keybase://carol');
    expect(new TextDecoder().decode(await bobKeeper.decrypt(ct))).toBe('data key');
    const carolKeeper = await mux(carol).openKeeper('keybase://carol');
    const e = await failure(carolKeeper.decrypt(ct));
    expect([e.code, e.reason]).toEqual(['PermissionDenied', 'PROVIDER_DECRYPT_FAILED']);
  });

  it('encrypts to the current PUK key and every live device key of each recipient', async () => {
    const ct = await (await mux(alice).openKeeper('keybase://alice,bob')).encrypt(enc('k'));
    const { info } = await decrypt(ct, { keyring: await keystoreKeyring(alice.ks) });
    const named = info.namedReceivers.map((pk) => curve25519Kid(pk)).sort();
    const a = await alice.loader.load('alice');
    const b = await alice.loader.load('bob');
    const kids = [a, b].flatMap((u) => [u.perUserKeys.at(-1)!.encryptionKid, ...u.subkeys]);
    expect(named).toEqual(kids.sort());
    expect(info.senderIsAnonymous).toBe(true);
  });

  it('device_keys=false encrypts to each user’s current PUK key only; every recipient still decrypts', async () => {
    const keeper = await mux(alice).openKeeper('keybase://alice,bob?device_keys=false');
    const ct = await keeper.encrypt(enc('puk only'));
    const { info } = await decrypt(ct, { keyring: await keystoreKeyring(alice.ks) });
    const a = await alice.loader.load('alice');
    const b = await alice.loader.load('bob');
    expect(info.namedReceivers.map((pk) => curve25519Kid(pk)).sort()).toEqual(
      [a, b].map((u) => u.perUserKeys.at(-1)!.encryptionKid).sort(),
    );
    // Bob's keystore opens it through the PUK seed his device holds, with no device-key entry.
    const bobKeeper = await mux(bob).openKeeper('keybase://bob');
    expect(new TextDecoder().decode(await bobKeeper.decrypt(ct))).toBe('puk only');
    // The same keeper through a warm cache (entries now carry the PUK KID) gives the same set.
    const again = await decrypt(await keeper.encrypt(enc('again')), {
      keyring: await keystoreKeyring(alice.ks),
    });
    expect(again.info.namedReceivers).toHaveLength(2);
  });

  it('armor=true writes a SALTBOX-branded armored message', async () => {
    const ct = await (await mux(alice).openKeeper('keybase://alice?armor=true')).encrypt(enc('v'));
    const text = new TextDecoder().decode(ct);
    expect(text.startsWith('BEGIN SALTBOX SALTPACK ENCRYPTED MESSAGE.')).toBe(true);
    expect((await dearmor(text)).frame.type).toBe('ENCRYPTED MESSAGE');
  });

  it('an unknown user is NotFound; nothing is encrypted', async () => {
    const k = await mux(alice).openKeeper('keybase://alice,nosuchuser');
    const e = await failure(k.encrypt(enc('x')));
    expect([e.code, e.reason]).toEqual(['NotFound', 'PROVIDER_RECIPIENT_NOT_FOUND']);
    expect(k.errorAs(e, ClientError)?.code).toBe('CLIENT_USER_NOT_FOUND');
  });

  it('verify_proofs=true accepts only followed identities with the same eldest key', async () => {
    const follows = memoryFollowStore();
    const k = saltboxKeeper({
      recipients: [{ kind: 'user', name: 'bob' }],
      verifyProofs: true,
      directory: alice.directory,
      follows,
    });
    const e = await failure(k.encrypt(enc('x')));
    expect([e.code, e.reason]).toEqual(['PermissionDenied', 'PROVIDER_NOT_FOLLOWED']);
    expect(e.message).toContain('saltbox follow bob');
    await follows.set('bob', { identity: 'not-bobs-eldest-key', followedAt: 1 });
    expect((await failure(k.encrypt(enc('x')))).reason).toBe('PROVIDER_NOT_FOLLOWED');
    await follows.set('bob', { identity: bob.device.kid, followedAt: 1 });
    const ct = await k.encrypt(enc('x'));
    expect(
      bytesEqual(await (await mux(bob).openKeeper('keybase://bob')).decrypt(ct), enc('x')),
    ).toBe(true);
  });

  it('a locked keystore fails decryption with FailedPrecondition naming saltbox unlock', async () => {
    const dave = await world.signup('dave');
    const k = await mux(dave).openKeeper('keybase://dave');
    const ct = await k.encrypt(enc('x'));
    await dave.ks.lock();
    const e = await failure(k.decrypt(ct));
    expect([e.code, e.reason]).toEqual(['FailedPrecondition', 'PROVIDER_KEYSTORE_LOCKED']);
    expect(e.message).toContain("'saltbox unlock'");
    // Encryption needs no keystore.
    expect((await k.encrypt(enc('still works'))).length).toBeGreaterThan(0);
  });

  it('no keystore at all fails with FailedPrecondition naming saltbox agent start', async () => {
    const k = saltboxKeeper({
      recipients: [{ kind: 'user', name: 'alice' }],
      directory: alice.directory,
    });
    const ct = await k.encrypt(enc('x'));
    const e = await failure(k.decrypt(ct));
    expect([e.code, e.reason]).toEqual(['FailedPrecondition', 'PROVIDER_NO_AGENT']);
    expect(e.message).toContain("'saltbox agent start'");
  });

  it('team:NAME encrypts to the verified per-team key; a member decrypts after opening the team key boxes', async () => {
    await alice.teams.createTeam('acme');
    await alice.teams.addMember('acme', 'bob', 'reader');
    const ct = await (
      await mux(alice).openKeeper('keybase://team:acme')
    ).encrypt(enc('team secret'));
    const { info } = await decrypt(ct, { keyring: await keystoreKeyring(alice.ks) });
    expect(info.namedReceivers.map((pk) => curve25519Kid(pk))).toEqual([
      (await alice.teams.recipient('acme')).encryptionKid,
    ]);
    // bob's keystore holds no key of acme yet: the keeper refreshes once and decrypts.
    expect((await bob.ks.getPublicKeyBundle()).teams).toEqual([]);
    const got = await (await mux(bob).openKeeper('keybase://bob')).decrypt(ct);
    expect(new TextDecoder().decode(got)).toBe('team secret');
    const e = await failure((await mux(carol).openKeeper('keybase://carol')).decrypt(ct));
    expect(e.reason).toBe('PROVIDER_DECRYPT_FAILED');
    const unknown = await failure(
      (await mux(alice).openKeeper('keybase://team:nosuchteam')).encrypt(enc('x')),
    );
    expect([unknown.code, unknown.reason]).toEqual(['NotFound', 'PROVIDER_RECIPIENT_NOT_FOUND']);
  });
});

describe('the cache in front of the directory', () => {
  it('counts hits and misses and expires entries after cache_ttl', async () => {
    let now = 1_000_000;
    const d = new CachedDirectory(alice.directory, { ttlSeconds: 60, now: () => now });
    const k = saltboxKeeper({
      recipients: [
        { kind: 'user', name: 'alice' },
        { kind: 'user', name: 'bob' },
      ],
      directory: d,
    });
    for (let i = 0; i < 10; i++) await k.encrypt(enc('x'));
    expect(d.stats).toMatchObject({ hits: 18, misses: 2, invalidations: 0 });
    now += 61_000;
    await k.encrypt(enc('x'));
    expect(d.stats.misses).toBe(4);
  });
});

describe('Keeper wrapper', () => {
  it('classifies driver errors with the driver’s errorCode and keeps them reachable by errorAs', async () => {
    class DriverFailure extends Error {}
    const driver: KeeperDriver = {
      encrypt: () => Promise.reject(new DriverFailure('quota')),
      decrypt: () => Promise.reject(new DriverFailure('nope')),
      close: () => Promise.resolve(),
      errorCode: () => 'ResourceExhausted',
      errorAs: () => undefined,
    };
    const k = new Keeper(driver);
    const e = await failure(k.encrypt(enc('x')));
    expect(k.errorCode(e)).toBe('ResourceExhausted');
    expect(k.errorAs(e, DriverFailure)).toBeInstanceOf(DriverFailure);
    expect(JSON.stringify(e)).not.toContain('quota');
  });
});
