/**
 * Accounts end to end against a real server (SQLite) with real in-process keystores: sign-up
 * (device + paper key), paper-key login into a second keystore, adding a device, listing, and
 * revoking with a PUK rotation that leaves the revoked device without the new generation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { logRootHashMeta } from '@saltbox/identity';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import {
  Account,
  loginWithPaperKey,
  readAccountConfig,
  signup,
  writeAccountConfig,
} from '../src/index.js';
import type { AccountConfig, AccountEnv } from '../src/index.js';
import { chainPath } from '@saltbox/protocol';
import { startTestServer, tempHome } from './helpers.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

async function newKeystore() {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  return ks;
}

describe('accounts through the keystore and a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let envA: AccountEnv;
  let envB: AccountEnv;
  let phrase: string;
  let laptop: Account;

  beforeAll(async () => {
    srv = await startTestServer();
    envA = { backend, keystore: await newKeystore(), server: srv.server.url };
    envB = { backend, keystore: await newKeystore(), server: srv.server.url };
  });
  afterAll(() => srv.close());

  it('signs up with a device and a paper key, both on the verified chain', async () => {
    const r = await signup(envA, { username: 'Acct_Alice', deviceName: 'laptop' });
    expect(r.config.username).toBe('acct_alice');
    expect(r.paperKey.phrase.split(' ')).toHaveLength(13);
    expect(r.paperKey.name).toBe(r.paperKey.phrase.split(' ').slice(0, 2).join(' '));
    // eldest, subkey, per_user_key, then the paper sibkey and subkey.
    expect(r.seqno).toBe(5);
    laptop = new Account(envA, r.config);
    const devices = await laptop.devices();
    expect(devices.map((d) => [d.name, d.type, d.status, d.current])).toEqual([
      ['laptop', 'desktop', 'active', true],
      [r.paperKey.name, 'backup', 'active', false],
    ]);
    const me = await laptop.me();
    expect(me.perUserKeys.map((p) => p.generation)).toEqual([1]);
    expect(me.subkeys).toHaveLength(2);
    phrase = r.paperKey.phrase;
    // The taken name is refused before any key is made.
    const before = (await envB.keystore.getPublicKeyBundle()).devices.length;
    await expect(signup(envB, { username: 'acct_alice', deviceName: 'x' })).rejects.toMatchObject({
      code: 'CLIENT_HTTP',
      details: { serverCode: 'USERNAME_TAKEN' },
    });
    expect((await envB.keystore.getPublicKeyBundle()).devices).toHaveLength(before);
  });

  it('logs in with the paper key in another keystore and opens its PUK box', async () => {
    const r = await loginWithPaperKey(envB, { username: 'acct_alice', phrase, persist: false });
    expect(r.generations).toEqual([1]);
    expect(r.config.device.type).toBe('backup');
    expect(r.config.oneshot).toBe(true);
    const bundle = await envB.keystore.getPublicKeyBundle();
    expect(bundle.devices.map((d) => d.persistent)).toEqual([false]);
    const laptopPuk = (await envA.keystore.getPublicKeyBundle()).puks[0]!;
    expect(bundle.puks[0]!.encryptionKid).toBe(laptopPuk.encryptionKid);
  });

  it('refuses a paper key that is not a device of the user', async () => {
    // A real paper key, but of another account.
    const bob = await signup(
      { backend, keystore: await newKeystore(), server: srv.server.url },
      { username: 'acct_bob', deviceName: 'desk' },
    );
    const ks = await newKeystore();
    await expect(
      loginWithPaperKey(
        { backend, keystore: ks, server: srv.server.url },
        { username: 'acct_alice', phrase: bob.paperKey.phrase, persist: true },
      ),
    ).rejects.toMatchObject({ code: 'CLIENT_PAPER_KEY_UNKNOWN' });
    // The refused paper key was never stored: gone after a lock.
    await ks.lock();
    await ks.unlock({ passphrase: 'pass phrase' });
    expect((await ks.getPublicKeyBundle()).devices).toEqual([]);
  });

  it('adds a device from the paper key, then revokes the first device with a PUK rotation', async () => {
    const login = await loginWithPaperKey(envB, { username: 'acct_alice', phrase, persist: false });
    const paperSession = new Account(envB, login.config);
    const desk = await paperSession.addDevice({ name: 'desk' });
    const deskAccount = new Account(envB, { ...login.config, device: desk, oneshot: false });
    const names = (await deskAccount.devices()).map((d) => [d.name, d.current]);
    expect(names).toContainEqual(['desk', true]);

    const rootBefore = await deskAccount.api.logRoot();
    const { generation, device } = await deskAccount.revokeDevice('laptop');
    expect(generation).toBe(2);
    // Both new links name the log root the revoker saw last (#14.2): the one before the revocation.
    const chain = await deskAccount.api.fetchChain('acct_alice');
    const bodies = chain.links
      .slice(-2)
      .map((l) => (JSON.parse(l.payload_json) as { body: Record<string, unknown> }).body);
    expect(bodies.map((x) => x.type)).toEqual(['revoke', 'per_user_key']);
    for (const x of bodies)
      expect(x.merkle_root).toEqual({
        seqno: rootBefore.seqno,
        ctime: (JSON.parse(rootBefore.payloadJson) as { ctime: number }).ctime,
        hash: (JSON.parse(rootBefore.payloadJson) as { map: string }).map,
        hash_meta: logRootHashMeta(backend, rootBefore.payloadJson),
      });
    expect(device.name).toBe('laptop');
    const me = await deskAccount.me();
    expect(me.perUserKeys.map((p) => p.generation)).toEqual([1, 2]);
    expect(me.devices.find((d) => d.name === 'laptop')?.status).toBe('revoked');
    // The desk device holds generation 2; the revoked laptop cannot fetch anything any more.
    expect((await envB.keystore.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([
      1, 2,
    ]);
    await expect(laptop.syncPerUserKeys()).rejects.toMatchObject({
      code: 'CLIENT_DEVICE_REVOKED',
    });
    expect((await envA.keystore.getPublicKeyBundle()).puks.map((p) => p.generation)).toEqual([1]);
    // The paper key (still live) was boxed generation 2 as well.
    const boxes = await paperSession.api.myPukBoxes();
    expect(boxes.boxes.map((b) => b.generation).sort()).toEqual([1, 2]);
  });

  it('refuses to revoke the current device or an unknown one', async () => {
    const login = await loginWithPaperKey(envB, { username: 'acct_alice', phrase, persist: false });
    const s = new Account(envB, login.config);
    await expect(s.revokeDevice(login.config.device.id)).rejects.toMatchObject({
      code: 'CLIENT_INVALID_ARGUMENT',
    });
    await expect(s.revokeDevice('nope')).rejects.toMatchObject({
      code: 'CLIENT_DEVICE_NOT_FOUND',
    });
  });

  it('a sign-up cut off after the server took it has handed out its config first (walkthrough)', async () => {
    // The connection dies right after the account is created: the paper key's links never
    // arrive. Before, the config was only returned at the very end, so such a sign-up left a
    // taken name whose device nobody could use (a CLI killed there, the same).
    const env: AccountEnv = {
      backend,
      keystore: await newKeystore(),
      server: srv.server.url,
      retry: { maxAttempts: 1 },
      fetch: async (input, init) => {
        const url = input instanceof URL ? input : new URL(input as string);
        if (init?.method === 'POST' && url.pathname === chainPath('acct_cut'))
          throw new TypeError('fetch failed');
        return fetch(input, init);
      },
    };
    const saved: AccountConfig[] = [];
    await expect(
      signup(env, {
        username: 'acct_cut',
        deviceName: 'laptop',
        onCreated: async (config) => {
          saved.push(config);
          await Promise.resolve();
        },
      }),
    ).rejects.toMatchObject({ code: 'CLIENT_NETWORK' });
    expect(saved).toHaveLength(1);
    // The saved config is a working account: its paper key can be made now.
    const honest: AccountEnv = { backend, keystore: env.keystore, server: srv.server.url };
    const account = new Account(honest, saved[0]!);
    const paper = await account.addPaperKey();
    expect((await account.devices()).map((d) => [d.name, d.current])).toEqual([
      ['laptop', true],
      [paper.name, false],
    ]);
  });

  it('keeps the config in a 0600 file, written atomically', async () => {
    const home = await tempHome();
    try {
      const login = await loginWithPaperKey(envB, {
        username: 'acct_alice',
        phrase,
        persist: false,
      });
      await writeAccountConfig(login.config, home.dir);
      expect(await readAccountConfig(home.dir)).toEqual(login.config);
      const { stat, readdir } = await import('node:fs/promises');
      expect((await stat(`${home.dir}/config.json`)).mode & 0o777).toBe(0o600);
      expect(await readdir(home.dir)).toEqual(['config.json']);
    } finally {
      await home.cleanup();
    }
  });
});
