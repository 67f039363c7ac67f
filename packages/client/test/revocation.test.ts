/**
 * Revoking a device never strands data (#14.6), on SQLite and on PostgreSQL: a real server over
 * a real socket, real keystores, the client stack the CLI and the web build (account, user and
 * team loaders sharing one log client, team manager, KV client).
 *
 * Frank signs up on device f1, writes KV on his self-team, creates a root team, a subteam and
 * the implicit team `bob,frank`, writing KV in each; adds f2 and revokes f1 from it. Every team
 * was made by the revoked key, so every team load needs the log to show its links came before
 * the revocation (the revoking link's `merkle_root`). From f2 and from a fresh paper-key login
 * every team loads and every value reads. Then {@link REVOCATIONS} more rounds (twenty; fifty with
 * `SALTBOX_TEST_REVOCATIONS=50`) of "add a device, revoke the previous one", each one signing
 * team links and writing KV first, lose nothing either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import { buildTeamLinkWith } from '@saltbox/identity';
import type { TeamChainResponse } from '@saltbox/protocol';
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
import type { AccountConfig, AccountEnv, ClientError, VerifiedTeam } from '../src/index.js';
import { startTestPostgres } from '../../server/test/pg.js';
import type { TestPostgres } from '../../server/test/pg.js';
import { startTestServer } from './helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();
/**
 * Revocations in a row: `SALTBOX_TEST_REVOCATIONS`, default 20. Issue 14 item 6 asks for fifty,
 * and fifty pass on both backends (`SALTBOX_TEST_REVOCATIONS=50`), but on a shared 2-core
 * machine at load 15 they took 56 s on SQLite and 241 s on PostgreSQL (the file 5.3 min), too
 * long for every run of the suite; twenty keep the file near two minutes.
 */
const REVOCATIONS = ((v: string | undefined): number => {
  if (v === undefined || v === '') return 20;
  if (!/^[1-9][0-9]{0,2}$/.test(v))
    throw new Error('SALTBOX_TEST_REVOCATIONS must be a whole number from 1 to 999');
  return Number(v);
})(process.env.SALTBOX_TEST_REVOCATIONS);
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

async function newKeystore() {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  return ks;
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

/** An account environment whose keystore does everything (KV sealing included). */
type Env = AccountEnv & { keystore: Awaited<ReturnType<typeof newKeystore>> };

/** What one home holds: the account and the client graph around it, all fresh. */
function session(env: Env, config: AccountConfig) {
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
  const loaded = new Map<string, VerifiedTeam>();
  const usernames = new Map<string, string>();
  const kv = new KvClient({
    api: account.api,
    keystore: env.keystore,
    me: { uid: config.uid, deviceId: config.device.id, signingKid: config.device.signingKid },
    writerKey: verifiedWriterKeys(account.users, (uid) => usernames.get(uid) ?? null),
    cache: new KvRollbackCache(backend),
    refreshTeamKeys: async (teamId) => {
      const t = loaded.get(teamId);
      if (t) await manager.openTeamKeys(t);
    },
  });
  /** Loads a team verified, opens its keys, and remembers its members' names. */
  const team = async (name: string): Promise<VerifiedTeam> => {
    const t = name.includes(',')
      ? await manager.loadOrCreateImplicitTeam(name)
      : await teams.load(name, { refresh: true });
    for (const m of t.members) usernames.set(m.uid, m.username);
    loaded.set(t.id, t);
    await manager.openTeamKeys(t);
    return t;
  };
  return { account, teams, manager, kv, team };
}

describe.each(backends)('revoking devices on $name', (backendCase) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let env: Env;
  let phrase: string;
  let current: AccountConfig;
  /** Frank's first device, revoked by the first test. */
  let f1config: AccountConfig;
  /** Every team by name and what was last written in it. */
  const written = new Map<string, { revision: number; value: string }>();
  /** The self-team (`frank,frank`, canonically `frank`), a root team, its subteam, an implicit team. */
  const TEAMS = ['frank,frank', 'fteam', 'fteam.sub', 'bob,frank'];

  /** Every team loads and every value reads, from this session. */
  async function everythingReads(s: ReturnType<typeof session>): Promise<void> {
    for (const name of TEAMS) {
      const t = await s.team(name);
      expect(t.name).toBe(name === 'frank,frank' ? 'frank' : name);
      const v = await s.kv.get(t.id, 'ns', 'k');
      expect([name, v.value, v.revision]).toEqual([
        name,
        written.get(name)!.value,
        written.get(name)!.revision,
      ]);
    }
  }

  beforeAll(async () => {
    srv = await startTestServer(
      { rateLimit: { burst: 100_000, perSecond: 100_000 } },
      await backendCase.databaseUrl(),
    );
    const bobEnv: Env = { backend, keystore: await newKeystore(), server: srv.server.url };
    await signup(bobEnv, { username: 'bob', deviceName: 'b1' });
    env = { backend, keystore: await newKeystore(), server: srv.server.url };
    const r = await signup(env, { username: 'frank', deviceName: 'f1' });
    phrase = r.paperKey.phrase;
    current = r.config;
  }, 120_000);
  afterAll(() => srv.close());

  it('after revoking the device that made every team, every team loads and every value reads, from the other device and a paper-key login', async () => {
    f1config = current;
    const f1 = session(env, current);
    const self = await f1.team('frank,frank');
    await f1.manager.createTeam('fteam');
    await f1.manager.createSubteam('fteam', 'sub');
    for (const name of TEAMS) {
      const t = name === 'frank,frank' ? self : await f1.team(name);
      const value = `${name} by f1`;
      const { revision } = await f1.kv.put(t.id, 'ns', 'k', value, { revision: 1 });
      written.set(name, { revision, value });
    }
    const f2device = await f1.account.addDevice({ name: 'f2' });
    current = { ...current, device: f2device };
    const f2 = session(env, current);
    await f2.account.revokeDevice('f1');
    // The revoking link named the log root; the loaders carry it on the revoked key.
    const me = await f2.account.me();
    const f1key = me.keys.find((k) => k.kid === f1.account.config.device.signingKid)!;
    expect(f1key.status).toBe('revoked');
    expect(f1key.revokedAt?.hashMeta).toMatch(/^[0-9a-f]{64}$/);

    await everythingReads(session(env, current));
    const paperEnv: Env = { backend, keystore: await newKeystore(), server: srv.server.url };
    const login = await loginWithPaperKey(paperEnv, { username: 'frank', phrase, persist: false });
    await everythingReads(session(paperEnv, login.config));
  }, 120_000);

  it('refuses a team link the revoked key signed after its revocation: which link, which rule', async () => {
    // Whoever holds f1's key signs one more fteam link; the server serves it to frank's paper
    // session. The log has fteam's tail below it at the revocation's root, so it is refused.
    const liar = lyingFetch();
    const paperEnv: Env = {
      backend,
      keystore: await newKeystore(),
      server: srv.server.url,
      fetch: liar.f,
    };
    const login = await loginWithPaperKey(paperEnv, { username: 'frank', phrase, persist: false });
    const s = session(paperEnv, login.config);
    const fteam = await s.team('fteam');
    const kid = f1config.device.signingKid;
    const forged = await buildTeamLinkWith(
      backend,
      {
        uid: f1config.uid,
        username: 'frank',
        seqno: fteam.tail.seqno + 1,
        prev: fteam.tail.linkId,
        eldestKid: (await s.account.me()).eldestKid,
        ctime: Math.floor(Date.now() / 1000),
      },
      {
        kid,
        sign: async (message) => {
          const r = await env.keystore.sign({
            items: [{ kid, purpose: 'sigchain_link', message }],
          });
          const item = r.items[0]!;
          if ('error' in item) throw new Error(item.error.message);
          return item.result.signature;
        },
      },
      'team.change_membership',
      { id: fteam.id, members: { owner: [`${f1config.uid}%1`] } },
    );
    liar.state.rewrite = (path, body) =>
      path === `/api/v1/teams/${fteam.id}/chain`
        ? {
            ...(body as TeamChainResponse),
            links: [...(body as TeamChainResponse).links, forged.link],
          }
        : body;
    const e: unknown = await s.teams.load('fteam', { refresh: true }).catch((x: unknown) => x);
    expect(isClientError(e, 'CLIENT_CHAIN_INVALID')).toBe(true);
    const err = e as ClientError;
    expect(err.details).toMatchObject({
      identityCode: 'IDENTITY_INVALID_SIBKEY',
      seqno: fteam.tail.seqno + 1,
    });
    expect(err.message).toContain(
      `the chain of team fteam does not verify at link ${fteam.tail.seqno + 1}`,
    );
    expect(err.message).toContain('since-revoked key');
    liar.state.rewrite = null;
    expect((await s.teams.load('fteam', { refresh: true })).tail).toEqual(fteam.tail);
  });

  it(`${REVOCATIONS} revocations in a row, each device signing team links and writing first, lose nothing`, async () => {
    for (let i = 3; i < 3 + REVOCATIONS; i++) {
      const s = session(env, current);
      // Team links and KV by the device about to be revoked.
      await s.manager.rotate('fteam');
      for (const name of TEAMS) {
        const t = await s.team(name);
        const before = written.get(name)!;
        const value = `${name} by f${i - 1}`;
        const { revision } = await s.kv.put(t.id, 'ns', 'k', value, {
          revision: before.revision + 1,
        });
        written.set(name, { revision, value });
      }
      const next = await s.account.addDevice({ name: `f${i}` });
      const previous = current.device.name;
      current = { ...current, device: next };
      await session(env, current).account.revokeDevice(previous);
    }
    await everythingReads(session(env, current));
    const paperEnv: Env = { backend, keystore: await newKeystore(), server: srv.server.url };
    const login = await loginWithPaperKey(paperEnv, { username: 'frank', phrase, persist: false });
    const paper = session(paperEnv, login.config);
    await everythingReads(paper);
    // Every revoked device (f1 and each one after it) signed fteam's links; the log placed each
    // before its revocation.
    const fteam = await paper.teams.load('fteam');
    expect(fteam.perTeamKeys).toHaveLength(REVOCATIONS + 1);
  }, 600_000);
});
