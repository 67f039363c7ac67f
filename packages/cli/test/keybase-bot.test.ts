/**
 * The npm `keybase-bot` library (3.6.1, unchanged) driving saltbox through the
 * `saltbox-keybase` shim as its `keybaseBinaryLocation` (specs/keybase-kvstore.md §4), against
 * a real `saltbox server` process: `Bot.init` (the library spawns the service, logs in with the
 * paper key, checks status, and at the end logs out and stops the service) and
 * `Bot.initFromRunningService` (a service we started, logged in through the shim's `oneshot`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Bot from 'keybase-bot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, run, tempHome } from './helpers.js';
import { socketPathOf } from './keystore-helpers.js';

const SHIM = join(ROOT, 'packages/cli/dist/keybase-shim.js');
const work = tempHome();
let server: ChildProcess | undefined;
let url = '';
let wrapper = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signs a user up in a home of its own and returns the paper key's words. */
async function signup(username: string): Promise<string> {
  const r = await run(['signup', username, '--json'], {
    env: {
      SALTBOX_HOME: join(work.dir, `maker-${username}`),
      SALTBOX_PASSPHRASE: 'maker passphrase',
      SALTBOX_SERVER: url,
    },
  });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.out) as { paperKey: { phrase: string } }).paperKey.phrase;
}

function shim(args: string[], input?: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [SHIM, ...args], { env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, out, err });
    });
    child.stdin.end(input ?? '');
  });
}

/** The kvstore calls of keybase-bot's own test suite, run on one bot. */
async function exerciseKvstore(bot: Bot, username: string): Promise<void> {
  const team = `${username},${username}`;
  const ns = 'pw-manager';
  const unset = await bot.kvstore.get(team, ns, 'geocities');
  expect(unset).toEqual({
    teamName: team,
    namespace: ns,
    entryKey: 'geocities',
    entryValue: null,
    revision: 0,
  });

  const put = await bot.kvstore.put(team, ns, 'geocities', 'all my secrets');
  expect(put).toEqual({ teamName: team, namespace: ns, entryKey: 'geocities', revision: 1 });
  // A stale explicit revision is Keybase's WrongRevision (2760): each `kvstore api` process has
  // the rollback cache (persisted in the home), which refuses it before the server, as Keybase.
  await expect(bot.kvstore.put(team, ns, 'geocities', 'again', 1)).rejects.toMatchObject({
    code: 2760,
    message: 'revision out of date (error 2760)',
  });
  // The team is optional: the bot's own self-team.
  const got = await bot.kvstore.get(undefined, ns, 'geocities');
  expect(got.entryValue).toBe('all my secrets');
  expect(got.revision).toBe(1);

  await bot.kvstore.put(team, '__hidden', 'k', 'not listed');
  expect((await bot.kvstore.listNamespaces(team)).namespaces).toEqual(['pw-manager']);
  expect((await bot.kvstore.listEntryKeys(team, ns)).entryKeys).toEqual([
    { entryKey: 'geocities', revision: 1 },
  ]);

  await expect(bot.kvstore.delete(team, ns, 'geocities', 5)).rejects.toMatchObject({
    code: 2760,
    message: 'expected revision 2 but got 5 (error 2760)',
  });
  const del = await bot.kvstore.delete(team, ns, 'geocities', 2);
  expect(del.revision).toBe(2);
  await expect(bot.kvstore.delete(team, ns, 'geocities')).rejects.toMatchObject({
    code: 2762,
    message: 'team storage entry not found (error 2762)',
  });
  const deleted = await bot.kvstore.get(team, ns, 'geocities');
  expect(deleted.entryValue).toBeNull();
  expect(deleted.revision).toBe(2);
  expect((await bot.kvstore.listNamespaces(team)).namespaces).toEqual([]);
}

beforeAll(async () => {
  await ensureBuilt();
  server = spawn(
    process.execPath,
    [join(ROOT, 'packages/cli/dist/main.js'), 'server', '--listen', '127.0.0.1:0', '--json'],
    { env: { ...process.env, SALTBOX_HOME: join(work.dir, 'server') } },
  );
  url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    server?.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      const line = buf.split('\n').find((l) => l.includes('"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    server?.on('exit', () => {
      reject(new Error('saltbox server exited'));
    });
  });
  // keybase-bot inherits our environment: this is how the shim finds the server.
  process.env.SALTBOX_SERVER = url;
  wrapper = join(work.dir, 'bin', 'keybase');
  mkdirSync(join(work.dir, 'bin'));
  const w = await shim(['install-wrapper', wrapper]);
  expect(w.code, w.err).toBe(0);
}, 180_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await sleep(200);
  work.cleanup();
});

describe('keybase-bot 3.6.1 against saltbox', () => {
  it('Bot.init: the library runs the service lifecycle and the kvstore calls', async () => {
    const paperkey = await signup('kbbot1');
    const bot = new Bot();
    await bot.init('kbbot1', paperkey, { keybaseBinaryLocation: wrapper, verbose: false });
    expect(bot.myInfo()?.username).toBe('kbbot1');
    const home = bot.myInfo()?.homeDir ?? '';
    await exerciseKvstore(bot, 'kbbot1');
    // deinit logs out, stops the service (waiting for it to exit) and removes its home.
    await bot.deinit();
    expect(existsSync(home)).toBe(false);
  }, 240_000);

  it('Bot.initFromRunningService: a service we run, logged in with oneshot', async () => {
    const paperkey = await signup('kbbot2');
    const home = join(work.dir, 'kbbot2-home');
    mkdirSync(home);
    const service = spawn(process.execPath, [SHIM, '--home', home, 'service'], {
      env: process.env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    try {
      for (let i = 0; i < 100; i++) {
        if (
          (await shim(['--home', home, 'status', '--json'])).code === 0 &&
          existsSync(socketPathOf(home))
        )
          break;
        await sleep(100);
      }
      const login = await shim(['--home', home, 'oneshot', '--username', 'kbbot2'], paperkey);
      expect(login.code, login.err).toBe(0);
      const status = JSON.parse((await shim(['--home', home, 'status', '--json'])).out) as {
        Username: string;
        LoggedIn: boolean;
        Device: { name: string };
      };
      expect(status.Username).toBe('kbbot2');
      expect(status.LoggedIn).toBe(true);

      const bot = new Bot();
      await bot.initFromRunningService(home, { keybaseBinaryLocation: wrapper });
      expect(bot.myInfo()?.username).toBe('kbbot2');
      await exerciseKvstore(bot, 'kbbot2');
      await bot.deinit();
      // deinit of a running service leaves it (and its home) alone.
      expect(readFileSync(join(home, 'config.json'), 'utf8')).toContain('kbbot2');
    } finally {
      const stop = await shim(['--home', home, 'ctl', 'stop', '--shutdown']);
      expect(stop.code, stop.err).toBe(0);
      await new Promise((r) => {
        if (service.exitCode !== null) r(undefined);
        else service.on('exit', r);
      });
    }
  }, 240_000);
});
