/**
 * `saltbox log root|audit|compare` end to end: real `saltbox server` processes on SQLite, chains
 * appended over HTTP with the server's test builders, the built CLI in its own process.
 *
 * - `log root --json` prints the root the server serves; `log audit` replays ≥ 200 appends and
 *   agrees with it.
 * - A root payload edited in the SQLite file, and a chain tail edited in the published changes,
 *   make `log audit` fail with CLI_LOG_AUDIT_FAILED naming the first bad root.
 * - `log compare` accepts the same root, and reports a split view for an edited FILE and for a
 *   genuinely forked server (a copy of the data directory, root key included, that then took
 *   other appends).
 * - `log verify` pins on first contact (0600), walks a home's pin forward with a consistency
 *   proof, and at one URL refuses a restored backup (CLIENT_LOG_ROLLBACK), a fork of it seen by
 *   two homes (CLIENT_LOG_INCONSISTENT at each one's next check; CLI_LOG_SPLIT_VIEW from
 *   `log compare`) and another root key (CLIENT_LOG_KEY_MISMATCH), pinning nothing from them.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { utf8 } from '@saltbox/saltpack/encoding';
import { buildSubkeyLink, curve25519Kid, toHex } from '@saltbox/identity';
import { chainPath } from '@saltbox/protocol';
import { newUser, signed } from '../../server/test/helpers.js';
import { tamperLogChange, tamperLogRootPayload } from '../../server/test/log-tamper.js';
import type { TestUser } from '../../server/test/helpers.js';
import { ensureBuilt, errorCode, json, run, startServerProcess, tempHome } from './helpers.js';

const backend = await defaultBackend();
const scratch = tempHome();
const stops: (() => Promise<void>)[] = [];

async function server(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const s = await startServerProcess(dir, scratch.env);
  stops.push(s.stop);
  return s;
}

/** `saltbox args…` with no account (a home of its own, no SALTBOX_SERVER). */
function sb(args: string[]) {
  return run(args, { env: { ...scratch.env, SALTBOX_SERVER: '' }, cwd: scratch.dir });
}

async function signup(url: string, name: string): Promise<TestUser> {
  const { user, request } = newUser(backend, name);
  const res = await signed(backend, { url }, user.devices[0]!, '/api/v1/users', { body: request });
  expect(res.status, await res.text()).toBe(201);
  return user;
}

/** One real `subkey` link appended to `user`'s chain: one log root. */
async function appendSubkey(url: string, user: TestUser): Promise<void> {
  const last = user.links[user.links.length - 1]!;
  const built = buildSubkeyLink(
    backend,
    {
      uid: user.uid,
      username: user.username,
      seqno: user.links.length + 1,
      prev: last.linkId,
      eldestKid: user.eldestKid,
      ctime: Math.floor(Date.now() / 1000),
    },
    { secretKey: user.devices[0]!.signing.secretKey },
    curve25519Kid(backend.x25519PublicKey(backend.randomBytes(32))),
  );
  const res = await signed(backend, { url }, user.devices[0]!, chainPath(user.username), {
    body: { links: [built.link] },
  });
  expect(res.status, await res.text()).toBe(200);
  user.links.push(built);
}

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  scratch.cleanup();
});

describe('saltbox log against a server process', { timeout: 300_000 }, () => {
  const data = join(scratch.dir, 'a');
  let url = '';
  const APPENDS = 210;
  const USERS = 10;

  beforeAll(async () => {
    ({ url } = await server(data));
    const users: TestUser[] = [];
    for (let i = 0; i < USERS; i++) users.push(await signup(url, `audit${i}`));
    // The rest as single-link appends, one at a time (concurrent ones would share roots: group
    // commit), so that root n is append n.
    for (let i = 0; i < APPENDS - USERS; i++) await appendSubkey(url, users[i % USERS]!);
  }, 300_000);

  it('log root --json prints the signed root the server serves', async () => {
    const root = json(await sb(['log', 'root', '--json', '--server', url]));
    const served = (await (await fetch(`${url}/api/v1/log/root`)).json()) as {
      seqno: number;
      kid: string;
      payloadJson: string;
    };
    expect(root.seqno).toBe(APPENDS);
    expect(served.seqno).toBe(APPENDS);
    expect(root.kid).toBe(served.kid);
    expect(root.hash_meta).toBe(toHex(backend.sha256(utf8(served.payloadJson))));
    expect((JSON.parse(served.payloadJson) as { map: string }).map).toBe(root.map);
    // The human form names the same root.
    const text = await sb(['log', 'root', '--server', url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.out).toContain(`hash_meta: ${String(root.hash_meta)}`);
    expect(text.out).toContain(`root key:  ${served.kid}`);
  });

  it(`log audit replays all ${APPENDS} appends and agrees with the server`, async () => {
    const root = json(await sb(['log', 'root', '--json', '--server', url]));
    const r = json(await sb(['log', 'audit', '--json', '--server', url]));
    expect(r).toMatchObject({
      from: 1,
      to: APPENDS,
      roots: APPENDS,
      changes: APPENDS,
      chains: USERS,
      recomputed: true,
      kid: root.kid,
      hashMeta: root.hash_meta,
    });
    expect(r.consistencyProofs).toBeGreaterThanOrEqual(8);
    const text = await sb(['log', 'audit', '--server', url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.out).toContain(`audited roots 1–${APPENDS}`);
    // A wrong --key: root 1 already fails.
    const other = `0120${'ab'.repeat(32)}0a`;
    const wrong = await sb(['log', 'audit', '--json', '--server', url, '--key', other]);
    expect(wrong.code).toBe(1);
    expect(errorCode(wrong)).toBe('CLI_LOG_AUDIT_FAILED');
    expect(wrong.stderr).toContain('at root 1:');
    // --from checks the rest of the log without replaying the map.
    const tail = json(await sb(['log', 'audit', '--json', '--server', url, '--from', '200']));
    expect(tail).toMatchObject({ from: 200, to: APPENDS, roots: APPENDS - 199, recomputed: false });
  });

  it('log compare accepts the same root and reports an edited one as a split view', async () => {
    const saved = join(scratch.dir, 'root.json');
    writeFileSync(saved, (await sb(['log', 'root', '--json', '--server', url])).out);
    const same = await sb(['log', 'compare', saved, '--json', '--server', url]);
    expect(json(same)).toMatchObject({ seqno: APPENDS, match: true });

    const edited = JSON.parse(readFileSync(saved, 'utf8')) as Record<string, unknown>;
    const h = String(edited.hash_meta);
    edited.hash_meta = (h.startsWith('0') ? '1' : '0') + h.slice(1);
    const crafted = join(scratch.dir, 'edited.json');
    writeFileSync(crafted, JSON.stringify(edited));
    const r = await sb(['log', 'compare', crafted, '--json', '--server', url]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('CLI_LOG_SPLIT_VIEW');
    expect(r.stderr).toContain('no valid signature');

    // A root the server never published is a split view too.
    writeFileSync(crafted, JSON.stringify({ ...edited, seqno: APPENDS + 50 }));
    const beyond = await sb(['log', 'compare', crafted, '--json', '--server', url]);
    expect(errorCode(beyond)).toBe('CLI_LOG_SPLIT_VIEW');

    writeFileSync(crafted, '{"seqno": 3}');
    const bad = await sb(['log', 'compare', crafted, '--json', '--server', url]);
    expect(bad.code).toBe(2);
    expect(errorCode(bad)).toBe('CLI_LOG_BAD_ROOT_FILE');
  });

  it('log audit names the first root whose stored payload or changes were edited', async () => {
    tamperLogRootPayload(data, 180);
    let r = await sb(['log', 'audit', '--json', '--server', url]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('CLI_LOG_AUDIT_FAILED');
    expect(r.stderr).toContain('at root 180: log root signature does not verify');
    tamperLogRootPayload(data, 150);
    r = await sb(['log', 'audit', '--json', '--server', url]);
    expect(r.stderr).toContain('at root 150:');
    // A chain tail changed in what root 120 published: its map root no longer follows.
    tamperLogChange(data, 120);
    r = await sb(['log', 'audit', '--server', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'saltbox: the log fails its audit at root 120: its map root is not the one its changes produce',
    );
    expect(r.stderr).toContain('saltbox: hint:');
  });
});

describe('saltbox log compare against a forked server', { timeout: 300_000 }, () => {
  it('two data directories with one root key and different appends: split view, proven', async () => {
    const a = join(scratch.dir, 'fork-a');
    const b = join(scratch.dir, 'fork-b');
    const first = await server(a);
    // Before the first sign-up the log is empty: nothing to print, nothing to audit.
    const empty = await sb(['log', 'root', '--json', '--server', first.url]);
    expect(empty.code).toBe(1);
    expect(errorCode(empty)).toBe('CLI_LOG_EMPTY');
    const none = await sb(['log', 'audit', '--server', first.url]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.out).toContain('nothing to audit');
    for (const n of ['fa', 'fb', 'fc']) await signup(first.url, n);
    const beyond = await sb(['log', 'root', '--seqno', '9', '--server', first.url]);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toContain('has no root 9');
    await first.stop();
    // The fork: the same history and the same root key file, then different appends.
    mkdirSync(b, { recursive: true, mode: 0o700 });
    cpSync(a, b, { recursive: true });
    expect(readFileSync(join(b, 'log-root-key'), 'utf8')).toBe(
      readFileSync(join(a, 'log-root-key'), 'utf8'),
    );
    const serverA = await server(a);
    const serverB = await server(b);
    await signup(serverA.url, 'only_a');
    await signup(serverB.url, 'only_b');

    const saved = join(scratch.dir, 'fork-root.json');
    writeFileSync(saved, (await sb(['log', 'root', '--json', '--server', serverA.url])).out);
    // Root 3 is shared; root 4 is where the histories part.
    const root3 = join(scratch.dir, 'fork-root3.json');
    writeFileSync(
      root3,
      (await sb(['log', 'root', '--json', '--seqno', '3', '--server', serverA.url])).out,
    );
    expect(
      json(await sb(['log', 'compare', root3, '--json', '--server', serverB.url])),
    ).toMatchObject({ seqno: 3, match: true });
    const r = await sb(['log', 'compare', saved, '--server', serverB.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('saltbox: split view at log root 4:');
    expect(r.stderr).toContain('proof that it forked the log');
    const j = await sb(['log', 'compare', saved, '--json', '--server', serverB.url]);
    expect(errorCode(j)).toBe('CLI_LOG_SPLIT_VIEW');
    // Each server on its own audits clean: only comparing views exposes the fork.
    for (const s of [serverA, serverB])
      expect(json(await sb(['log', 'audit', '--json', '--server', s.url]))).toMatchObject({
        roots: 4,
      });
  });
});

/** A free TCP port on 127.0.0.1 (to serve another data directory at the same URL). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) =>
    s.close(() => {
      r();
    }),
  );
  return port;
}

describe(
  'saltbox log verify: walking a home pin forward, against hostile servers at one URL',
  {
    timeout: 300_000,
  },
  () => {
    /**
     * One URL, served in turn by: the real server (a), a restored backup of it (an older log,
     * same root key) that then takes other appends (a fork), and a server with another key.
     * Homes H and G pin through `log verify`; each hostile turn is the client's own error code.
     */
    it('pins on first contact, moves the pin forward with a consistency proof, and refuses a rollback, a fork and another key', async () => {
      const port = await freePort();
      const listen = `127.0.0.1:${port}`;
      const url = `http://${listen}`;
      const h = tempHome();
      const g = tempHome();
      const k = tempHome();
      const as = (home: { env: NodeJS.ProcessEnv }, args: string[]) =>
        run(['log', 'verify', '--server', url, ...args], {
          env: { ...home.env, SALTBOX_SERVER: '' },
          cwd: scratch.dir,
        });
      const pins = (home: { dir: string }) => join(home.dir, 'log-pins.json');
      let pinned = '';
      const refused = async (home: { dir: string; env: NodeJS.ProcessEnv }, code: string) => {
        const before = readFileSync(pins(home), 'utf8');
        const r = await as(home, ['--json']);
        expect(r.code, r.stderr).toBe(1);
        expect(errorCode(r)).toBe(code);
        const text = await as(home, []);
        expect(text.code).toBe(1);
        expect(text.stderr).toContain('saltbox: hint:');
        // Nothing is pinned from a server that fails the check.
        expect(readFileSync(pins(home), 'utf8')).toBe(before);
        return text.stderr;
      };
      try {
        const a = join(scratch.dir, 'verify-a');
        const backup = join(scratch.dir, 'verify-backup');
        let s = await startServerProcess(a, scratch.env, [], listen);
        stops.push(() => s.stop());
        const empty = await as(h, ['--json']);
        expect(errorCode(empty)).toBe('CLI_LOG_EMPTY');
        expect(existsSync(pins(h))).toBe(false);
        for (const n of ['va', 'vb']) await signup(url, n);

        // First contact: the key and root 2 are pinned, 0600.
        const first = json(await as(h, ['--json']));
        const { kid } = (await (await fetch(`${url}/api/v1/log/root`)).json()) as { kid: string };
        expect(first).toMatchObject({ server: url, from: null, to: 2, kid, firstContact: true });
        expect(statSync(pins(h)).mode & 0o777).toBe(0o600);
        expect(Object.values(JSON.parse(readFileSync(pins(h), 'utf8')) as object)).toMatchObject([
          { kid, root: { seqno: 2 } },
        ]);
        const told = await as(g, []);
        expect(told.code, told.stderr).toBe(0);
        expect(told.out).toContain('pinned root 2 and its root key on first contact');
        expect(told.out).toContain(`root key:  ${kid}`);

        // A backup of the log at root 2 (key included), then three more appends.
        await s.stop();
        cpSync(a, backup, { recursive: true });
        s = await startServerProcess(a, scratch.env, [], listen);
        for (const n of ['vc', 'vd', 've']) await signup(url, n);
        const moved = await as(h, []);
        expect(moved.code, moved.stderr).toBe(0);
        expect(moved.out).toContain(`log of ${url} verified: root 2 → 5`);
        expect(moved.out).toContain(`root key:  ${kid}`);
        expect(json(await as(h, ['--json']))).toMatchObject({
          from: 5,
          to: 5,
          firstContact: false,
        });
        expect(json(await as(g, ['--json']))).toMatchObject({ from: 2, to: 5 });
        const root5 = join(scratch.dir, 'verify-root5.json');
        writeFileSync(root5, (await sb(['log', 'root', '--json', '--server', url])).out);
        pinned = readFileSync(pins(h), 'utf8');

        // Rolled back: the backup, served at the same URL.
        await s.stop();
        s = await startServerProcess(backup, scratch.env, [], listen);
        expect(await refused(h, 'CLIENT_LOG_ROLLBACK')).toContain('older log than this home');
        // Forked: the backup takes other appends and reaches root 6 under the same key. H and G
        // (pinned at the real root 5) catch it at their next consistency check; a home meeting
        // the server for the first time (K) cannot, but `log compare` with a root G saved can.
        for (const n of ['xa', 'xb', 'xc', 'xd']) await signup(url, n);
        expect(await refused(h, 'CLIENT_LOG_INCONSISTENT')).toContain('compare log roots');
        await refused(g, 'CLIENT_LOG_INCONSISTENT');
        expect(json(await as(k, ['--json']))).toMatchObject({ to: 6, kid, firstContact: true });
        const split = await sb(['log', 'compare', root5, '--json', '--server', url]);
        expect(errorCode(split)).toBe('CLI_LOG_SPLIT_VIEW');

        // Another root key at the same URL.
        await s.stop();
        s = await startServerProcess(join(scratch.dir, 'verify-other'), scratch.env, [], listen);
        await signup(url, 'other');
        expect(await refused(h, 'CLIENT_LOG_KEY_MISMATCH')).toContain('log-pins.json');
        expect(readFileSync(pins(h), 'utf8')).toBe(pinned);
      } finally {
        for (const home of [h, g, k]) home.cleanup();
      }
    });
  },
);
