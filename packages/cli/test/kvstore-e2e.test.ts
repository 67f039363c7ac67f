/**
 * `saltbox kv` and `saltbox kvstore api` logged in, end to end: real CLI processes against a
 * real `saltbox server` process (SQLite). Values up to the 1 MiB limit round-trip and the
 * limit + 1 gets the coded size error, through both commands (issue #12.1); the rollback cache
 * a command persists holds what that command wrote, so a server restored from an older copy of
 * its database is caught (issue #12.3).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountHomes,
  ensureBuilt,
  ok,
  runAs as sb,
  startServerProcess,
  tempHome,
} from './helpers.js';

const LIMIT = 1 << 20;
const { newHome, cleanup } = accountHomes();
const data = tempHome();
const db = join(data.dir, 'db');
let listen = '';
let url = '';
let stopServer = (): Promise<void> => Promise.resolve();

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** (Re)starts the server on the same address, so the accounts' configs still reach it. */
async function startServer(): Promise<void> {
  const s = await startServerProcess(db, data.env, [], listen);
  url = s.url;
  stopServer = s.stop;
}

beforeAll(async () => {
  await ensureBuilt();
  listen = `127.0.0.1:${await freePort()}`;
  await startServer();
}, 120_000);

afterAll(async () => {
  await stopServer();
  cleanup();
  data.cleanup();
});

/** The revision `kv-rollback-cache.json` of `home` holds for the self-team's `ns/key`. */
function cachedRevision(home: { dir: string }, ns: string, key: string): number | undefined {
  const file = JSON.parse(readFileSync(join(home.dir, 'kv-rollback-cache.json'), 'utf8')) as {
    entries: unknown[][];
  };
  return file.entries.find((r) => r[1] === ns && r[2] === key)?.[3] as number | undefined;
}

describe('saltbox kv end to end', { timeout: 600_000 }, () => {
  const alice = newHome();

  it('signs up', async () => {
    ok(await sb(alice, ['signup', 'alice', '--server', url, '--device-name', 'alice-pc']));
  });

  it('kv keeps its team pins in $SALTBOX_HOME for the next process (#15.1)', async () => {
    ok(await sb(alice, ['team', 'create', 'kvpins']));
    // Only the kv command below may write the team pins now.
    rmSync(join(alice.dir, 'team-pins.json'), { force: true });
    ok(await sb(alice, ['kv', 'put', '--team', 'kvpins', 'pinned', 'k', 'v']));
    const pins = JSON.parse(readFileSync(join(alice.dir, 'team-pins.json'), 'utf8')) as Record<
      string,
      { name: string; tail: { seqno: number } }
    >;
    const pin = Object.values(pins).find((p) => p.name === 'kvpins');
    expect(pin?.tail.seqno).toBeGreaterThanOrEqual(1);
    // The next process (kvstore api, as the keybase shim runs it) starts from that pin.
    const r = await sb(alice, [
      'kvstore',
      'api',
      '-m',
      JSON.stringify({
        method: 'get',
        params: { version: 1, options: { team: 'kvpins', namespace: 'pinned', entryKey: 'k' } },
      }),
    ]);
    ok(r);
    expect(JSON.parse(r.out)).toMatchObject({ result: { entryValue: 'v' } });
  });

  it('kvstore api -i: the exact limit round-trips, limit + 1 is the size error (#12.1)', async () => {
    const request = (method: string, options: Record<string, unknown>) =>
      JSON.stringify({ method, params: { version: 1, options } });
    const file = join(alice.dir, 'req.json');
    const exact = 'x'.repeat(LIMIT);
    writeFileSync(
      file,
      request('put', { namespace: 'big', entryKey: 'exact', entryValue: exact }) +
        request('get', { namespace: 'big', entryKey: 'exact' }),
    );
    let r = await sb(alice, ['kvstore', 'api', '-i', file]);
    expect(r.code).toBe(0);
    const [put, get, end] = r.out.split('\n');
    expect(JSON.parse(put!)).toEqual({
      result: { teamName: 'alice,alice', namespace: 'big', entryKey: 'exact', revision: 1 },
    });
    expect((JSON.parse(get!) as { result: { entryValue: string } }).result.entryValue).toBe(exact);
    expect(end).toBe('');

    for (const size of [LIMIT + 1, 3_000_000]) {
      writeFileSync(
        file,
        request('put', { namespace: 'big', entryKey: 'over', entryValue: 'y'.repeat(size) }),
      );
      r = await sb(alice, ['kvstore', 'api', '-i', file]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(
        '{"error":{"code":0,"message":"kv value is larger than 1048576 bytes"}}\n',
      );
    }
    // A directory as the input is one JSON line too (exit 0).
    r = await sb(alice, ['kvstore', 'api', '-i', alice.dir]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      '{"error":{"code":0,"message":"cannot read the requests: is a directory"}}\n',
    );
  });

  it('kvstore api answers every request in JSON, exit 0, when the keystore cannot be opened', async () => {
    // No passphrase and no agent: the session cannot open. Keybase's bots still need one
    // JSON reply per request (before, this was exit 1 and no JSON at all).
    const locked = { ...alice, env: { ...alice.env, SALTBOX_PASSPHRASE: '' } };
    const request = JSON.stringify({
      method: 'get',
      params: { version: 1, options: { namespace: 'ns', entryKey: 'k' } },
    });
    const r = await sb(locked, ['kvstore', 'api', '-m', request + request]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(0, 2)) {
      const reply = JSON.parse(line) as { error: { code: number; message: string } };
      expect(reply.error.code).toBe(0);
      expect(reply.error.message).toMatch(/passphrase/);
      expect(reply.error.message).toMatch(/saltbox unlock|SALTBOX_PASSPHRASE/);
    }
    expect(lines[2]).toBe('');
  });

  it('kv put -i / kv get: the exact limit round-trips, limit + 1 fails with the size error (#12.1)', async () => {
    const file = join(alice.dir, 'value.txt');
    const exact = `${'z'.repeat(LIMIT - 3)}é\n`; // multi-byte and a newline, LIMIT bytes
    expect(Buffer.byteLength(exact)).toBe(LIMIT);
    writeFileSync(file, exact);
    ok(await sb(alice, ['kv', 'put', 'big', 'file', '-i', file]));
    const got = ok(await sb(alice, ['kv', 'get', 'big', 'file']));
    // Byte for byte (walkthrough: a newline was added, so 'kv get > FILE' then 'kv put -i FILE'
    // grew the value and failed at the limit).
    expect(got.out).toBe(exact);
    const back = join(alice.dir, 'back.txt');
    writeFileSync(back, got.out);
    ok(await sb(alice, ['kv', 'put', 'big', 'copy', '-i', back]));
    const noNewline = 'no newline at the end';
    ok(await sb(alice, ['kv', 'put', 'big', 'short', noNewline]));
    expect(ok(await sb(alice, ['kv', 'get', 'big', 'short'])).out).toBe(noNewline);

    writeFileSync(file, `${exact}!`);
    const r = await sb(alice, ['kv', 'put', 'big', 'file', '-i', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('saltbox: kv value is larger than 1048576 bytes\n');
  });

  it('put, del: the cache holds what was written; a restored older database is a rollback (#12.3)', async () => {
    ok(await sb(alice, ['kv', 'put', 'ns', 'k', 'v1']));
    // The put read revision 0 first; the file must hold the revision it wrote.
    expect(cachedRevision(alice, 'ns', 'k')).toBe(1);

    // Snapshot the database at revision 1 (server stopped: a consistent copy).
    await stopServer();
    const snapshot = join(data.dir, 'db-at-rev1');
    cpSync(db, snapshot, { recursive: true });
    await startServer();

    ok(await sb(alice, ['kv', 'put', 'ns', 'k', 'v2']));
    expect(cachedRevision(alice, 'ns', 'k')).toBe(2);
    ok(await sb(alice, ['kv', 'del', 'ns', 'k']));
    expect(cachedRevision(alice, 'ns', 'k')).toBe(3);

    // The operator (or an attacker) restores the old copy under the server.
    await stopServer();
    rmSync(db, { recursive: true, force: true });
    cpSync(snapshot, db, { recursive: true });
    await startServer();

    const r = await sb(alice, ['kv', 'get', 'ns', 'k']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.stderr).toContain('revision decreased from 3 to 1');
    const api = await sb(alice, [
      'kvstore',
      'api',
      '-m',
      '{"method":"get","params":{"options":{"namespace":"ns","entryKey":"k"}}}',
    ]);
    expect(api.code).toBe(0);
    expect(api.out).toBe('{"error":{"code":0,"message":"revision decreased from 3 to 1"}}\n');
  });
});
