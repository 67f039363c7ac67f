/**
 * `saltbox server` end to end: the real CLI starts the real server on SQLite over a real
 * socket, answers health and lookup requests, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, run, tempHome } from './helpers.js';

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
});
