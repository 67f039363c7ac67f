/**
 * Over a real socket: `startServer` on SQLite and on PostgreSQL, and two server processes (two
 * `startServer` instances) sharing one database — a nonce used on one is refused by the other,
 * and both (and a restarted one) sign the log with the one root key of the data directory. On
 * PostgreSQL a data directory for that key is required.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { lookupResponseSchema } from '@saltbox/identity';
import { usersLookupResponseSchema } from '@saltbox/protocol';
import { parseListen, startServer } from '../src/node.js';
import type { RunningServer, ServerOptions } from '../src/node.js';
import { silentLogger } from '../src/log.js';
import { errorCode, newUser, signed } from './helpers.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';

const backend = await defaultBackend();

describe('parseListen', () => {
  it('parses host:port and [v6]:port and refuses the rest', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ hostname: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ hostname: '::1', port: 0 });
    expect(parseListen('localhost:9')).toEqual({ hostname: 'localhost', port: 9 });
    for (const bad of ['8080', ':80', 'host:99999', 'a:b', '::1:80'])
      expect(() => parseListen(bad), bad).toThrow(/host:port/);
  });

  it('requires a data directory or a database url', async () => {
    await expect(startServer({ listen: '127.0.0.1:0' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});

function socketSuite(name: string, options: () => Promise<ServerOptions>): void {
  describe(`over a socket: ${name}`, () => {
    let a: RunningServer;
    let b: RunningServer;
    /** What a restart reuses: the same database and data directory. */
    let reuse: ServerOptions = {};
    beforeAll(async () => {
      const o = await options();
      reuse = o;
      a = await startServer({ ...o, listen: '127.0.0.1:0', logger: silentLogger });
      b = await startServer({ ...o, listen: '127.0.0.1:0', logger: silentLogger });
    }, 60_000);
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('serves health, sign-up, lookups and the Keybase shape', async () => {
      expect(await (await fetch(`${a.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const { user, request } = newUser(backend, 'sockuser');
      const res = await signed(backend, a, user.devices[0]!, '/api/v1/users', { body: request });
      expect(res.status, await res.clone().text()).toBe(201);
      // Registered through one process, visible through the other.
      const look = usersLookupResponseSchema.parse(
        await (
          await signed(backend, b, user.devices[0]!, '/api/v1/users/lookup?usernames=sockuser')
        ).json(),
      );
      expect(look.users[0]?.uid).toBe(user.uid);
      const kb = lookupResponseSchema.parse(
        await (await fetch(`${b.url}/_/api/1.0/user/lookup.json?usernames=sockuser`)).json(),
      );
      expect((kb.them as { id: string }[])[0]?.id).toBe(user.uid);
    });

    it('signs the log with one root key in both processes and after a restart', async () => {
      const { user, request } = newUser(backend, 'keyuser');
      await signed(backend, a, user.devices[0]!, '/api/v1/users', { body: request });
      const kid = async (s: RunningServer) =>
        ((await (await fetch(`${s.url}/api/v1/log/root`)).json()) as { kid: string }).kid;
      const first = await kid(a);
      expect(first).toMatch(/^0120[0-9a-f]{64}0a$/);
      expect(await kid(b)).toBe(first);
      const again = await startServer({
        ...reuse,
        listen: '127.0.0.1:0',
        logger: silentLogger,
      });
      try {
        expect(await kid(again)).toBe(first);
      } finally {
        await again.close();
      }
    });

    it('refuses on one process a nonce already used on the other', async () => {
      const { user, request } = newUser(backend, 'replayer');
      await signed(backend, a, user.devices[0]!, '/api/v1/users', { body: request });
      const nonce = `cross-process-${Date.now()}`;
      expect((await signed(backend, a, user.devices[0]!, '/api/v1/me', { nonce })).status).toBe(
        200,
      );
      const res = await signed(backend, b, user.devices[0]!, '/api/v1/me', { nonce });
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('REPLAYED_REQUEST');
    });

    it('answers 413 before reading an oversized body', async () => {
      const res = await fetch(`${a.url}/api/v1/users`, {
        method: 'POST',
        body: new Uint8Array(300 * 1024),
      });
      expect(res.status).toBe(413);
      expect(await errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    });
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'saltbox-server-'));
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});
socketSuite('sqlite', () => Promise.resolve({ dataDir }));

let cluster: TestPostgres | undefined;
beforeAll(async () => {
  cluster = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);
// On PostgreSQL the data directory holds only the log's root key.
socketSuite('postgresql', async () => ({
  databaseUrl: await cluster!.freshDatabase(),
  dataDir: join(dataDir, 'pg-key'),
}));

describe('startServer on postgresql', () => {
  it('requires a data directory for the log root key instead of signing with a new key on every start', async () => {
    const e: unknown = await startServer({
      listen: '127.0.0.1:0',
      databaseUrl: await cluster!.freshDatabase(),
      logger: silentLogger,
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((e as Error).message).toBe(
      'a postgresql server needs a data directory for its log root key (dataDir; saltbox server --data)',
    );
  });
});
