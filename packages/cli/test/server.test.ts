/**
 * `saltbox server` end to end: the real CLI starts the real server on SQLite over a real
 * socket, answers health and lookup requests, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountHomes,
  ensureBuilt,
  errorCode,
  json,
  MAIN,
  run,
  runAs,
  startServerProcess,
  tempHome,
} from './helpers.js';
import type { RunResult } from './helpers.js';
import { defaultBackend } from '@saltbox/saltpack';

const home = tempHome();
const backend = await defaultBackend();
beforeAll(ensureBuilt);
afterAll(() => {
  home.cleanup();
});

describe('saltbox server', () => {
  it('serves /healthz and the Keybase lookup shape on SQLite, then stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, 'server', '--listen', '127.0.0.1:0'], {
      env: { ...process.env, ...home.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`server did not start: ${stderr}`));
      }, 30_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', () => {
        reject(new Error(`server exited: ${stderr}`));
      });
    });
    try {
      expect(stderr).toContain('sqlite in');
      // The log root key's KID, printed at start, is the key of the seed in the data directory.
      const seed = readFileSync(join(home.dir, 'server', 'log-root-key'), 'utf8').trim();
      const pub = backend.ed25519KeyPairFromSeed(Buffer.from(seed, 'hex')).publicKey;
      expect(stderr).toContain(
        `saltbox: log root key 0120${Buffer.from(pub).toString('hex')}0a (${join(home.dir, 'server', 'log-root-key')})\n`,
      );
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      const lookup = await fetch(`${url}/_/api/1.0/user/lookup.json?usernames=nobody_here`);
      const body = (await lookup.json()) as { status?: { code?: number } };
      expect(body.status).toBeDefined();
      // The SQLite database lives under $SALTBOX_HOME/server by default.
      expect(existsSync(join(home.dir, 'server'))).toBe(true);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses a bad listen address with a coded error and a hint', async () => {
    const r = await run(['server', '--listen', 'not-an-address', '--json'], { env: home.env });
    expect(r.code).not.toBe(0);
    const err = JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string } };
    expect(err.error.code).toBe('CLI_SERVER_FAILED');
  });

  describe('says what is wrong with which database file (#12.12)', () => {
    const start = (data: string, extra: { uid?: number } = {}): Promise<RunResult> =>
      run(['server', '--listen', '127.0.0.1:0', '--data', data], { env: home.env, ...extra });
    const lines = (r: RunResult) => r.stderr.trim().split('\n');

    it('a file that is not a database', async () => {
      const data = join(home.dir, 'notdb');
      mkdirSync(data);
      writeFileSync(join(data, 'saltbox.sqlite'), 'my shopping list\n'.repeat(300));
      const r = await start(data);
      expect(r.code).toBe(1);
      expect(lines(r)).toEqual([
        `saltbox: cannot start the server: ${join(data, 'saltbox.sqlite')} is not a sqlite database`,
        'saltbox: hint: --data must be a directory whose saltbox.sqlite was made by saltbox server; move that file away or choose another --data',
      ]);
    });

    it('an existing empty file, which is left as it was', async () => {
      const data = join(home.dir, 'empty');
      mkdirSync(data);
      writeFileSync(join(data, 'saltbox.sqlite'), '');
      const r = await start(data);
      expect(r.code).toBe(1);
      expect(lines(r)[0]).toBe(
        `saltbox: cannot start the server: ${join(data, 'saltbox.sqlite')} is an empty file, not a saltbox database`,
      );
      expect(r.stderr).not.toContain('--listen');
      expect(statSync(join(data, 'saltbox.sqlite')).size).toBe(0);
    });

    it('a database the server may not read', async () => {
      const data = join(home.dir, 'locked');
      const file = join(data, 'saltbox.sqlite');
      // Made by a first start, then taken away from the user the server runs as.
      const made = spawn(
        process.execPath,
        [MAIN, 'server', '--listen', '127.0.0.1:0', '--data', data],
        {
          env: { ...process.env, ...home.env },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      await new Promise<void>((resolve) => {
        made.stderr.on('data', (d: Buffer) => {
          if (d.toString().includes('listening on')) resolve();
        });
      });
      const exited = new Promise((r) => made.once('exit', r));
      made.kill('SIGTERM');
      await exited;
      // Root reads any file: run the server as nobody then, on a file only root may read.
      const asRoot = process.getuid?.() === 0;
      if (asRoot) {
        chmodSync(home.dir, 0o755);
        chmodSync(data, 0o777);
      }
      chmodSync(file, 0o600);
      if (!asRoot) chmodSync(file, 0o000);
      const r = await start(data, asRoot ? { uid: 65534 } : {});
      expect(r.code).toBe(1);
      expect(lines(r)).toEqual([
        `saltbox: cannot start the server: cannot open ${file}: permission denied`,
        'saltbox: hint: the server must be able to read and write --data and every file in it; check the path, owner and permissions',
      ]);
    });
  });

  describe('sign-up policy (#12.15)', () => {
    const homes = accountHomes();
    afterAll(() => {
      homes.cleanup();
    });

    it('by invitation: signup needs --invite with a code from server invite, used once', async () => {
      const data = join(home.dir, 'invite-db');
      const server = await startServerProcess(data, home.env, ['--signup', 'invite']);
      try {
        const a = homes.newHome();
        const none = await runAs(a, ['signup', 'alice', '--server', server.url]);
        expect(none.code).toBe(1);
        expect(none.stderr).toContain(
          "saltbox: hint: this server signs up by invitation: ask its operator for a code ('saltbox server invite') and pass --invite CODE",
        );
        const made = json(
          await run(['server', 'invite', '--data', data, '--json'], { env: home.env }),
        );
        const code = made.invite as string;
        expect(code).toMatch(/^[A-Za-z0-9_-]{24}$/);
        // Only the hash is in the database.
        const db = join(data, 'saltbox.sqlite');
        for (const f of [db, `${db}-wal`])
          if (existsSync(f)) expect(readFileSync(f).includes(code), f).toBe(false);
        const ok = await runAs(a, [
          'signup',
          'alice',
          '--server',
          server.url,
          '--invite',
          code,
          '--json',
        ]);
        expect(json(ok).username).toBe('alice');
        const b = homes.newHome();
        const again = await runAs(b, [
          'signup',
          'bob',
          '--server',
          server.url,
          '--invite',
          code,
          '--json',
        ]);
        expect(errorCode(again)).toBe('CLIENT_HTTP');
        const plain = await runAs(b, ['signup', 'bob', '--server', server.url, '--invite', code]);
        expect(plain.stderr).toContain(
          'saltbox: hint: the invite code is unknown or already used; check it, or ask the operator for a new one',
        );
      } finally {
        await server.stop();
      }
    });

    it('refuses reserved names and a second sign-up past --signup-rate, with hints', async () => {
      const server = await startServerProcess(join(home.dir, 'rate-db'), home.env, [
        '--signup-rate',
        '1',
      ]);
      try {
        const r = await runAs(homes.newHome(), ['signup', 'admin', '--server', server.url]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('USERNAME_RESERVED');
        expect(r.stderr).toContain(
          'saltbox: hint: names such as admin, root, support and security are reserved; choose another username',
        );
        const second = await runAs(homes.newHome(), ['signup', 'carol', '--server', server.url]);
        expect(second.code).toBe(1);
        expect(second.stderr).toContain('RATE_LIMITED');
        // Not "wait a little": the bucket refills over an hour (walkthrough).
        expect(second.stderr).toContain(
          'saltbox: hint: the server takes only a few sign-ups per hour from one address (default 5): try again later; on your own server, start it with a higher --signup-rate N',
        );
      } finally {
        await server.stop();
      }
    });

    it('server invite refuses a --data without a database instead of creating one (walkthrough)', async () => {
      // Before: the code went into a new, empty database that no server ran on.
      const empty = join(home.dir, 'no-server-here');
      const r = await run(['server', 'invite', '--data', empty], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.stderr).toBe(
        `saltbox: cannot make an invite: no saltbox database in ${empty}\n` +
          "saltbox: hint: pass the --data DIR (or --database-url) that 'saltbox server' runs with\n",
      );
      expect(existsSync(empty)).toBe(false);
    });

    it('refuses an unknown --signup mode', async () => {
      const r = await run(['server', '--signup', 'maybe', '--data', join(home.dir, 'x')], {
        env: home.env,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--signup must be one of open, invite, closed');
    });
  });
});
