/**
 * KvClient on teams made through the real team API (`TeamManager`: signed team links, PTK
 * generations boxed through the keystores): members read each other's values, writers'
 * keys come from the team's verified member list, and after `removeMember` (which rotates the
 * key) the removed member cannot read values written afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvClient, KvRollbackCache, isClientError, verifiedWriterKeys } from '../src/index.js';
import { startTestServer } from './helpers.js';
import { backend } from './kv-helpers.js';
import { keystoreUser } from './team-helpers.js';
import type { KeystoreUser } from './team-helpers.js';

const known = new Map<string, string>();

function kvFor(u: KeystoreUser, teamName: string): KvClient {
  return new KvClient({
    api: u.api,
    keystore: u.ks,
    me: { uid: u.user.uid, deviceId: u.device.id, signingKid: u.device.kid },
    // Usernames of writers come from the team's verified member list; a writer removed since
    // (whose values stay readable) from the names this client knows. The loader checks that the
    // chain it verifies is the UID's either way.
    writerKey: verifiedWriterKeys(u.users, async (uid) => {
      const team = await u.teams.load(teamName);
      const member = team.members.find((m) => m.uid === uid)?.username;
      return member ?? known.get(uid) ?? null;
    }),
    cache: new KvRollbackCache(backend),
    refreshTeamKeys: async () => {
      await u.manager.openTeamKeys(await u.teams.load(teamName, { refresh: true }));
    },
  });
}

describe('KvClient with the team API', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: KeystoreUser;
  let bob: KeystoreUser;

  beforeAll(async () => {
    srv = await startTestServer({ rateLimit: { burst: 100_000, perSecond: 100_000 } });
    alice = await keystoreUser(backend, srv.server.url, 'alice');
    bob = await keystoreUser(backend, srv.server.url, 'bob');
    for (const u of [alice, bob]) known.set(u.user.uid, u.username);
  }, 60_000);
  afterAll(() => srv.close());

  it('members share values; a removed member cannot read what is written after', async () => {
    const team = await alice.manager.createTeam('acme');
    await alice.manager.addMember('acme', 'bob', 'writer');
    const a = kvFor(alice, 'acme');
    const b = kvFor(bob, 'acme');
    expect(await a.put(team.id, 'pw', 'k', 'from alice')).toEqual({ revision: 1 });
    expect(await b.get(team.id, 'pw', 'k')).toMatchObject({
      value: 'from alice',
      writer: { uid: alice.user.uid },
    });
    expect(await b.put(team.id, 'pw', 'k', 'from bob')).toEqual({ revision: 2 });
    expect((await a.get(team.id, 'pw', 'k')).value).toBe('from bob');

    await alice.manager.removeMember('acme', 'bob');
    expect(await a.put(team.id, 'pw', 'k', 'after removal')).toEqual({ revision: 3 });
    const now = await a.get(team.id, 'pw', 'k');
    expect(now.value).toBe('after removal');
    expect(now.teamKeyGen).toBeGreaterThan(1);
    const err = await b.get(team.id, 'pw', 'k').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isClientError(err, 'CLIENT_KV_NOT_A_MEMBER')).toBe(true);
  });
});
