/**
 * `saltbox server` end to end: the real CLI starts the real server on SQLite over a real
 * socket, answers health and lookup requests, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, run, tempHome } from './helpers.js';
import type { RunResult } from './helpers.js';

const home = tempHome();
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
});
