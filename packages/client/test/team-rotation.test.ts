/**
 * Team keys rotate after a device revocation (spec keybase-identity §6.4 "Rotation triggers
 * (CLKR)"; DESIGN.md, Teams), on SQLite and on PostgreSQL: a real server over a real socket,
 * real keystores, the client stack the CLI builds.
 *
 * Alice signs up on a1 and owns `acme` (bob a writer), its subteam `acme.infra`, her self-team
 * and the implicit team `alice,bob`; in bob's `bteam` she is a writer, in bob's `rteam` a
 * reader. A copy of a1's keystore is kept: the stolen device. Alice adds a2, revokes a1 from it
 * and rotates what she may: every team but `rteam`, which waits for bob's next write. Values
 * written afterwards carry a newer generation than a1 knew, and the stolen keystore cannot open
 * them, nor the key boxes of that generation, even with the server's help; a2, bob and a
 * paper-key login read everything, old and new.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import type { ByteStore } from '@saltbox/keystore';
import {
  Account,
  isClientError,
  KvClient,
  KvRollbackCache,
  loginWithPaperKey,
  signup,
  TeamLoader,
  TeamManager,
  verifiedWriterKeys,
} from '../src/index.js';
import type { AccountConfig, AccountEnv, VerifiedTeam } from '../src/index.js';
import { startTestPostgres } from '../../server/test/pg.js';
import type { TestPostgres } from '../../server/test/pg.js';
import { startTestServer } from './helpers.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

async function keystoreOn(store: ByteStore) {
  const ks = inProcessClient(await openKeystore({ store, kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  return ks;
}
type Keystore = Awaited<ReturnType<typeof keystoreOn>>;

/** A byte-for-byte copy of a keystore's store: a device's disk, taken before its revocation. */
async function copyStore(from: ByteStore): Promise<ByteStore> {
  const to = memoryStore();
  for (const name of await from.list()) await to.set(name, (await from.get(name))!);
  return to;
}

let pgCluster: TestPostgres | undefined;
afterAll(async () => {
  await pgCluster?.stop();
}, 60_000);

const backends: { name: string; databaseUrl: () => Promise<string | undefined> }[] = [
  { name: 'sqlite', databaseUrl: () => Promise.resolve(undefined) },
  {
    name: 'postgresql',
    databaseUrl: async () => {
      pgCluster ??= await startTestPostgres();
      return pgCluster.freshDatabase();
    },
  },
];

type Env = AccountEnv & { keystore: Keystore };

/** One home's client graph; `kvKeystore` lets a stolen keystore read through another's API. */
function session(env: Env, config: AccountConfig, kvKeystore: Keystore = env.keystore) {
  const account = new Account(env, config);
  const teams = new TeamLoader({
    api: account.api,
    backend,
    users: account.users,
    log: account.log,
  });
  const manager = new TeamManager({
    api: account.api,
    backend,
    keystore: env.keystore,
    users: account.users,
    teams,
    me: {
      username: config.username,
      deviceSigningKid: config.device.signingKid,
      deviceEncryptionKid: config.device.encryptionKid,
    },
  });
  const usernames = new Map<string, string>();
  const loaded = new Map<string, VerifiedTeam>();
  const kv = new KvClient({
    api: account.api,
    keystore: kvKeystore,
    me: { uid: config.uid, deviceId: config.device.id, signingKid: config.device.signingKid },
    writerKey: verifiedWriterKeys(account.users, (uid) => usernames.get(uid) ?? null),
    cache: new KvRollbackCache(backend),
    refreshTeamKeys: async (teamId) => {
      const t = loaded.get(teamId);
      if (t && kvKeystore === env.keystore) await manager.openTeamKeys(t);
    },
  });
  const team = async (name: string): Promise<VerifiedTeam> => {
    const t = name.includes(',')
      ? await manager.loadOrCreateImplicitTeam(name)
      : await teams.load(name, { refresh: true });
    for (const m of t.members) usernames.set(m.uid, m.username);
    loaded.set(t.id, t);
    if (kvKeystore === env.keystore) await manager.openTeamKeys(t);
    return t;
  };
  /** A write the way the CLI's `kv put` makes it: lazy rotation first. */
  const put = async (name: string, entryKey: string, value: string) => {
    let t = await team(name);
    const check = await manager.rotateIfDue(t.id);
    if (check.rotated) {
      t = check.team;
      loaded.set(t.id, t);
    }
    await kv.put(t.id, 'ns', entryKey, value);
    // The generation the server stores the value under, as the reader checks it.
    return (await kv.get(t.id, 'ns', entryKey)).teamKeyGen;
  };
  return { account, teams, manager, kv, team, put };
}

const generationOf = (t: VerifiedTeam): number =>
  t.perTeamKeys[t.perTeamKeys.length - 1]!.generation;

describe.each(backends)('team keys after a device revocation on $name', (backendCase) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let aliceEnv: Env;
  let bobEnv: Env;
  let aliceStore: ByteStore;
  let a1config: AccountConfig;
  let bobConfig: AccountConfig;
  let phrase: string;
  /** Alice's teams by the name she uses (the self-team as `alice,alice`, canonically `alice`). */
  const ALICE_TEAMS = ['acme', 'acme.infra', 'alice,alice', 'alice,bob', 'bteam', 'rteam'];
  const BOB_TEAMS = ['acme', 'alice,bob', 'bteam', 'rteam'];
  /** The generation each team had when a1 was revoked. */
  const known = new Map<string, number>();
  const values = new Map<string, { old: string; new?: string }>();

  beforeAll(async () => {
    srv = await startTestServer(
      { rateLimit: { burst: 100_000, perSecond: 100_000 } },
      await backendCase.databaseUrl(),
    );
    // Bob's client reuses a verified log root for a minute: the due check must not trust it.
    bobEnv = {
      backend,
      keystore: await keystoreOn(memoryStore()),
      server: srv.server.url,
      logFreshMs: 60_000,
    };
    bobConfig = (await signup(bobEnv, { username: 'bob', deviceName: 'b1' })).config;
    aliceStore = memoryStore();
    aliceEnv = { backend, keystore: await keystoreOn(aliceStore), server: srv.server.url };
    const r = await signup(aliceEnv, { username: 'alice', deviceName: 'a1' });
    a1config = r.config;
    phrase = r.paperKey.phrase;
  }, 120_000);
  afterAll(() => srv.close());

  it("rotates every team alice may rotate when she revokes a1; rteam (a reader's) waits for its owner's next write; the stolen a1 keystore opens nothing new", async () => {
    const bob = session(bobEnv, bobConfig);
    await bob.manager.createTeam('bteam');
    await bob.manager.addMember('bteam', 'alice', 'writer');
    await bob.manager.createTeam('rteam');
    await bob.manager.addMember('rteam', 'alice', 'reader');
    const a1 = session(aliceEnv, a1config);
    await a1.manager.createTeam('acme');
    await a1.manager.addMember('acme', 'bob', 'writer');
    await a1.manager.createSubteam('acme', 'infra');
    for (const name of ALICE_TEAMS) {
      const writer = name === 'rteam' ? bob : a1;
      const old = `${name} before`;
      await writer.put(name, 'old', old);
      values.set(name, { old });
      known.set(name, generationOf(await a1.team(name)));
    }
    // The stolen device: a1's keystore as it was (it holds every team key a1 opened).
    const stolen = await keystoreOn(await copyStore(aliceStore));

    const a2device = await a1.account.addDevice({ name: 'a2' });
    const a2config = { ...a1config, device: a2device };
    const a2 = session(aliceEnv, a2config);
    await a2.account.revokeDevice('a1');
    const report = await a2.manager.rotateAfterRevocation();
    expect(report).toEqual({
      rotated: ['acme', 'acme.infra', 'alice', 'alice,bob', 'bteam'],
      current: [],
      cannotRotate: [{ team: 'rteam', role: 'reader' }],
      failed: [],
    });
    // Run again: nothing is due any more, nothing rotates twice.
    const again = await a2.manager.rotateAfterRevocation();
    expect(again.rotated).toEqual([]);
    expect(again.current).toEqual(['acme', 'acme.infra', 'alice', 'alice,bob', 'bteam']);

    // Alice, a reader of rteam, may encrypt to it but is told it awaits rotation.
    const r = await a2.manager.recipient('rteam');
    expect([r.rotated, r.generation, r.awaitingRotation.map((m) => m.username)]).toEqual([
      false,
      known.get('rteam'),
      ['alice'],
    ]);
    // Bob's next write rotates rteam first; the writes after the revocation.
    for (const name of ALICE_TEAMS) {
      const writer = name === 'rteam' ? bob : a2;
      const value = `${name} after`;
      const generation = await writer.put(name, 'new', value);
      values.get(name)!.new = value;
      expect([name, generation]).toEqual([name, known.get(name)! + 1]);
    }
    expect(generationOf(await bob.teams.load('rteam', { refresh: true }))).toBe(
      known.get('rteam')! + 1,
    );
    // Encrypting to acme now is to a key no revoked device holds: nothing to rotate or warn.
    const acme = await a2.manager.recipient('acme');
    expect([acme.rotated, acme.awaitingRotation]).toEqual([false, []]);

    // The stolen keystore, with the server's help (a2's requests fetch the boxes): old values
    // open, new ones do not, nor do the new generation's key boxes.
    const thief = session(aliceEnv, a2config, stolen);
    const thiefTeams = new TeamManager({
      api: thief.account.api,
      backend,
      keystore: stolen,
      users: thief.account.users,
      teams: thief.teams,
      me: {
        username: 'alice',
        deviceSigningKid: a1config.device.signingKid,
        deviceEncryptionKid: a1config.device.encryptionKid,
      },
    });
    for (const name of ALICE_TEAMS) {
      const t = await thief.team(name);
      expect((await thief.kv.get(t.id, 'ns', 'old')).value).toBe(values.get(name)!.old);
      const e: unknown = await thief.kv.get(t.id, 'ns', 'new').catch((x: unknown) => x);
      expect([name, isClientError(e, 'CLIENT_KV_NO_TEAM_KEY')]).toEqual([name, true]);
      const boxes: unknown = await thiefTeams.openTeamKeys(t).catch((x: unknown) => x);
      expect([name, isClientError(boxes, 'CLIENT_KEY_BOX_INVALID')]).toEqual([name, true]);
    }
    // a1 itself, as it was configured, is refused by the server.
    const a1again = session({ ...aliceEnv, keystore: stolen }, a1config);
    const refused: unknown = await a1again.team('acme').catch((x: unknown) => x);
    expect(isClientError(refused, 'CLIENT_DEVICE_REVOKED')).toBe(true);

    // a2, bob and a paper-key login read everything, old and new.
    const readsAll = async (s: ReturnType<typeof session>, names: string[]) => {
      for (const name of names) {
        const t = await s.team(name);
        const got = [
          (await s.kv.get(t.id, 'ns', 'old')).value,
          (await s.kv.get(t.id, 'ns', 'new')).value,
        ];
        expect([name, ...got]).toEqual([name, values.get(name)!.old, values.get(name)!.new]);
      }
    };
    await readsAll(session(aliceEnv, a2config), ALICE_TEAMS);
    await readsAll(session(bobEnv, bobConfig), BOB_TEAMS);
    const paperEnv: Env = {
      backend,
      keystore: await keystoreOn(memoryStore()),
      server: srv.server.url,
    };
    const login = await loginWithPaperKey(paperEnv, { username: 'alice', phrase, persist: false });
    await readsAll(session(paperEnv, login.config), ALICE_TEAMS);
  }, 300_000);
});
