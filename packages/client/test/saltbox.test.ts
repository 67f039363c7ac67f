/**
 * The factory (#15.1) against a real server (SQLite) with real in-process keystores: one
 * `openSaltboxHome` call gives a client whose every store is a file of the home (a second
 * process — here a second Saltbox on the same home — finds the user, team and log pins and the
 * rollback cache); key sync opens team key boxes; a lazy keystore connects on first use and is
 * closed once.
 */
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import {
  HOME_FILES,
  homeLayout,
  homeStores,
  isClientError,
  openSaltbox,
  openSaltboxHome,
  signup,
} from '../src/index.js';
import type { AccountConfig } from '../src/index.js';
import { startTestServer, tempHome } from './helpers.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

async function newKeystore() {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  return ks;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('openSaltbox / openSaltboxHome', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let home: Awaited<ReturnType<typeof tempHome>>;
  let alice: { ks: KeystoreApi; config: AccountConfig };
  let bob: { ks: KeystoreApi; config: AccountConfig };

  beforeAll(async () => {
    srv = await startTestServer();
    home = await tempHome();
    const server = srv.server.url;
    const aks = await newKeystore();
    const bks = await newKeystore();
    alice = {
      ks: aks,
      config: (
        await signup({ backend, keystore: aks, server }, { username: 'fa', deviceName: 'l' })
      ).config,
    };
    bob = {
      ks: bks,
      config: (
        await signup({ backend, keystore: bks, server }, { username: 'fb', deviceName: 'l' })
      ).config,
    };
  });
  afterAll(async () => {
    await home.cleanup();
    await srv.close();
  });

  it('keeps every pin and the rollback cache in the files of the home', async () => {
    const a = await openSaltboxHome({ home: home.dir, config: alice.config, keystore: alice.ks });
    const team = await a.manager.createTeam('factoryteam');
    await a.manager.addMember('factoryteam', 'fb', 'writer');
    const loaded = await a.teams.load('factoryteam', { refresh: true });
    await a.useKvTeam(loaded);
    await a.kv.put(team.id, 'ns', 'k', 'v1');
    expect((await a.kv.get(team.id, 'ns', 'k')).value).toBe('v1');
    await a.close();

    const layout = homeLayout(home.dir);
    for (const f of [layout.pins, layout.teamPins, layout.logPins, layout.kvCache])
      expect(await mode(f)).toBe(0o600);
    const teamPins = JSON.parse(await readFile(layout.teamPins, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(teamPins)).toContain(team.id);
    const kvCache = await readFile(layout.kvCache, 'utf8');
    expect(kvCache.length).toBeGreaterThan(2);

    // A second client of the same home starts from those files: the team pin is there
    // before it loads anything, and the rollback cache refuses nothing it already saw.
    const stores = homeStores(home.dir);
    expect((await stores.teamPins.get(team.id))?.name).toBe('factoryteam');
    expect((await stores.pins.get('fa'))?.uid).toBe(alice.config.uid);
    const logPins = JSON.parse(await readFile(layout.logPins, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(logPins)).toHaveLength(1);
    expect(await stores.logPins.get(Object.keys(logPins)[0]!)).toBeDefined();
    const again = await openSaltboxHome({
      home: home.dir,
      config: alice.config,
      keystore: alice.ks,
    });
    await again.useKvTeam(await again.teams.load('factoryteam'));
    expect((await again.kv.get(team.id, 'ns', 'k')).value).toBe('v1');
    await again.close();
  });

  it('opens every team key box of the user in one call', async () => {
    const b = await openSaltbox({ config: bob.config, keystore: bob.ks });
    expect((await bob.ks.getPublicKeyBundle()).teams).toHaveLength(0);
    const r = await b.syncKeys({ refreshTeams: true });
    expect(r.generations).toEqual([1]);
    expect(r.failed).toEqual([]);
    expect(r.teams).toHaveLength(1);
    expect((await bob.ks.getPublicKeyBundle()).teams.map((t) => t.teamId)).toEqual(r.teams);
    const noPuk = await b.syncKeys({ perUserKeys: false });
    expect(noPuk.generations).toBeNull();
    await b.close();
  });

  it('connects a lazy keystore on first use, retries a failed connection, closes it once', async () => {
    let connects = 0;
    let closes = 0;
    let fail = true;
    const s = await openSaltbox({
      config: alice.config,
      keystore: {
        connect: () => {
          connects++;
          if (fail) return Promise.reject(new Error('no agent'));
          return Promise.resolve(
            Object.assign(Object.create(alice.ks) as KeystoreApi, {
              close: () => {
                closes++;
                return Promise.resolve();
              },
            }),
          );
        },
      },
      release: () => Promise.resolve(),
    });
    expect(connects).toBe(0);
    await expect(s.keystore.status({})).rejects.toThrow('no agent');
    fail = false;
    expect((await s.account.me()).username).toBe('fa');
    expect((await s.keystore.status({})).state).toBe('unlocked');
    expect(connects).toBe(2);
    await Promise.all([s.close(), s.close()]);
    expect(closes).toBe(1);
  });

  it('names the home files in one layout and reads the rollback cache only for KV', async () => {
    const layout = homeLayout('/h', { platform: 'linux', env: {} });
    expect(layout.config).toBe('/h/config.json');
    expect(layout.kvCache).toBe(`/h/${HOME_FILES.kvCache}`);
    expect(layout.keystore).toBe('/h/keystore');
    // An empty XDG_CONFIG_HOME is unset (XDG spec): the home is ~/.config/saltbox.
    expect(
      homeLayout(undefined, { platform: 'linux', env: { XDG_CONFIG_HOME: '' }, homedir: '/u' })
        .config,
    ).toBe('/u/.config/saltbox/config.json');
    const { writeFile } = await import('node:fs/promises');
    const other = await tempHome();
    try {
      await writeFile(homeLayout(other.dir).kvCache, '{');
      // Opening reads no store: a process that never uses KV is not stopped by its cache.
      const s = await openSaltboxHome({
        home: other.dir,
        config: alice.config,
        keystore: alice.ks,
      });
      const e: unknown = await s.kv.ready().catch((x: unknown) => x);
      expect(isClientError(e, 'CLIENT_STORE')).toBe(true);
      await s.close();
    } finally {
      await other.cleanup();
    }
  });
});
