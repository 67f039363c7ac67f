/**
 * `npm run bench:server`: authenticated lookups/s and appends/s with 50 concurrent clients, and
 * lookup latency with 10,000 registered users, on SQLite and on PostgreSQL (embedded).
 *
 * The server runs in its own process (bench/serve.ts); this process is the 50 clients, which
 * sign every request (Ed25519) like real clients. Both share the machine's cores, so the
 * numbers are end to end on one box, not the server alone.
 *
 * Users for the lookup phase are seeded straight into storage (10,000 verified sign-ups would
 * take minutes); the append phase uses real sign-ups and real links through the API.
 *
 * Options (environment): BENCH_SECONDS (default 10), BENCH_USERS (10000), BENCH_CLIENTS (50),
 * BENCH_BACKENDS (sqlite,postgres).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { defaultBackend } from '@saltbox/saltpack';
import { buildSubkeyLink, curve25519Kid } from '@saltbox/identity';
import type { ChainLink } from '@saltbox/protocol';
import { chainPath } from '@saltbox/protocol';
import { openPostgresStorage, openSqliteStorage } from '../src/index.js';
import type { Storage } from '../src/index.js';
import { newUser, signed } from '../test/helpers.js';
import type { TestUser } from '../test/helpers.js';
import { startTestPostgres } from '../test/pg.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',');
const backend = await defaultBackend();
const here = dirname(fileURLToPath(import.meta.url));

/** Seeds `n` users directly (links built with the identity builders; projection by hand). */
async function seed(storage: Storage, n: number): Promise<TestUser[]> {
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) {
    const { user, request } = newUser(backend, `bench_${i}`);
    const d = user.devices[0]!;
    await storage.users.createUser({
      user: {
        uid: user.uid,
        username: user.username,
        eldestKid: user.eldestKid,
        tailSeqno: 3,
        tailLinkId: user.links[2]!.linkId,
        ctime: Date.now(),
      },
      links: user.links.map((l, j) => ({
        seqno: j + 1,
        linkId: l.linkId,
        sigId: l.sigId,
        type: ['eldest', 'subkey', 'per_user_key'][j]!,
        link: l.link as ChainLink,
      })),
      projection: {
        keys: [
          { kid: d.kid, uid: user.uid, role: 'sibkey', status: 'live', deviceId: d.id, seqno: 1 },
          {
            kid: d.encKid,
            uid: user.uid,
            role: 'subkey',
            status: 'live',
            deviceId: d.id,
            seqno: 2,
          },
        ],
        devices: [{ id: d.id, name: 'laptop', type: 'desktop', status: 'active' }],
        perUserKeys: [],
      },
      pukBoxes: request.pukBoxes.map((b) => ({ ...b })),
    });
    out.push(user);
  }
  return out;
}

async function spawnServer(
  env: Record<string, string>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'serve.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`server exited with ${code}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

interface Result {
  ops: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function run(clients: number, op: (client: number) => Promise<boolean>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await op(c);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    ops: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    errors,
  };
}

async function benchBackend(name: string): Promise<string[]> {
  let storage: Storage;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'saltbox-bench-'));
    storage = await openSqliteStorage({ dataDir: dir });
    env = { BENCH_DATA_DIR: dir };
    cleanup = () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    };
  } else {
    const pg = await startTestPostgres();
    const url = await pg.freshDatabase();
    storage = await openPostgresStorage({ databaseUrl: url });
    env = { BENCH_DATABASE_URL: url };
    cleanup = () => pg.stop();
  }
  const t0 = performance.now();
  const users = await seed(storage, USERS);
  await storage.close();
  process.stderr.write(
    `${name}: seeded ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  const server = await spawnServer(env);
  const target = { url: server.url };
  const rows: string[] = [];
  try {
    // Lookups: each client signs as one seeded user and looks up random users.
    const lookups = await run(CLIENTS, async (c) => {
      const who = users[c % users.length]!;
      const name = `bench_${Math.floor(Math.random() * USERS)}`;
      const res = await signed(
        backend,
        target,
        who.devices[0]!,
        `/api/v1/users/lookup?usernames=${name}`,
      );
      await res.arrayBuffer();
      return res.status === 200;
    });
    rows.push(row(name, `authenticated lookups (${CLIENTS} clients, ${USERS} users)`, lookups));

    // Appends: each client signs up its own user, then appends one subkey link at a time.
    const appenders: TestUser[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const { user, request } = newUser(backend, `append_${c}`);
      const res = await signed(backend, target, user.devices[0]!, '/api/v1/users', {
        body: request,
      });
      if (res.status !== 201) throw new Error(`sign-up failed: ${await res.text()}`);
      appenders.push(user);
    }
    const appends = await run(CLIENTS, async (c) => {
      const user = appenders[c]!;
      const d = user.devices[0]!;
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
        { secretKey: d.signing.secretKey },
        curve25519Kid(backend.x25519PublicKey(backend.randomBytes(32))),
      );
      const res = await signed(backend, target, d, chainPath(user.username), {
        body: { links: [built.link] },
      });
      await res.arrayBuffer();
      if (res.status === 200) user.links.push(built);
      return res.status === 200;
    });
    rows.push(row(name, `sigchain appends (${CLIENTS} clients)`, appends));
  } finally {
    await server.stop();
    await cleanup();
  }
  return rows;
}

function row(backendName: string, what: string, r: Result): string {
  return `| ${backendName} | ${what} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.ops} | ${r.errors} |`;
}

const lines = [
  '| backend | operation | ops/s | p50 ms | p99 ms | ops | errors |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
for (const b of BACKENDS) lines.push(...(await benchBackend(b)));
process.stdout.write(lines.join('\n') + '\n');
