/**
 * `npm run bench:kv`: the encrypted KV store end to end — client sealing through a real
 * keystore, signed HTTP over real sockets, storage, and the reader's full verification — on
 * SQLite and PostgreSQL (embedded).
 *
 * 1. Throughput: verified gets/s and puts/s (explicit revisions, no read-before-write) with 1,
 *    10 and 50 concurrent clients, with p50/p99 latency.
 * 2. Scale: single-client get and put latency with 10k, 100k and 1M entries in the namespace
 *    (filler entries seeded straight into the database; the measured keys are real sealed
 *    values written through the API).
 *
 * The server runs in its own process (`startServer`, rate limits lifted, logs off); clients run
 * in this process, so client CPU (sealing, verification) competes with nothing but the server.
 * Each row prints the server's CPU per operation (from /proc, summed over server processes)
 * beside the clients', so the server's own capacity shows even when the clients saturate the
 * machine. `postgres2` is two server processes on one PostgreSQL database (one log key), the
 * clients split between them.
 *
 * Options (environment): BENCH_SECONDS (per phase, default 5), BENCH_BACKENDS
 * (sqlite,postgres,postgres2), BENCH_CONCURRENCY (1,10,50), BENCH_ENTRIES
 * (10000,100000,1000000; empty for none).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { KvClient } from '@saltbox/client';
import {
  loadOrCreateLogSeed,
  openPostgresStorage,
  openSqliteStorage,
  SQLITE_FILE,
} from '../src/index.js';
import type { Storage } from '../src/index.js';
import { startTestPostgres } from '../test/pg.js';
import { createTeam, kvUser } from '../../client/test/kv-helpers.js';
import type { KvUser } from '../../client/test/kv-helpers.js';
import { freePort, startServerProcess } from '../../client/test/server-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres,postgres2').split(',');
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,10,50').split(',').map(Number);
const ENTRIES = (process.env.BENCH_ENTRIES ?? '10000,100000,1000000')
  .split(',')
  .filter((x) => x !== '')
  .map(Number);
/** Clock ticks per second of /proc/<pid>/stat (Linux's USER_HZ). */
const TICKS = 100;

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
const GOAL_GETS = 2000;
const GOAL_PUTS = 1000;
const VALUE = 'x'.repeat(100);

function pct(sorted: number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** The server processes of the backend being measured (their CPU is reported). */
let serverPids: number[] = [];

/**
 * Runs `op` in `clients` loops for `seconds`; ops/s, latency percentiles in ms, and CPU µs per
 * operation of the servers and of this (client) process.
 */
async function measure(
  clients: number,
  seconds: number,
  op: (client: number, n: number) => Promise<void>,
): Promise<{
  ops: number;
  perSec: number;
  p50: number;
  p99: number;
  serverUs: number;
  clientUs: number;
}> {
  const serverCpu = () => serverPids.reduce((a, pid) => a + processCpu(pid), 0);
  const s0 = serverCpu();
  const c0 = process.cpuUsage();
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; performance.now() < end; n++) {
        const s = performance.now();
        await op(c, n);
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const serverSeconds = serverCpu() - s0;
  lat.sort((a, b) => a - b);
  return {
    ops: lat.length,
    perSec: lat.length / elapsed,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    serverUs: (serverSeconds * 1e6) / Math.max(1, lat.length),
    clientUs: (c.user + c.system) / Math.max(1, lat.length),
  };
}

/** Bulk-inserts filler entries (dummy ciphertexts: they are never read) up to `total`. */
async function seed(
  dialect: 'sqlite' | 'postgres',
  where: string,
  teamId: string,
  namespace: string,
  from: number,
  to: number,
): Promise<void> {
  const ct = 'A'.repeat(264); // the size of a sealed 14-byte value
  const row = (i: number) => [
    teamId,
    namespace,
    `filler-${String(i).padStart(8, '0')}`,
    1,
    ct,
    1,
    1,
    '0'.repeat(32),
    1,
    '0'.repeat(32),
    -1,
  ];
  const cols =
    'team_id, namespace, entry_key, revision, ciphertext, format_version, team_key_gen, writer_uid, writer_eldest_seqno, writer_device_id, change_seq';
  if (dialect === 'sqlite') {
    const db = new BetterSqlite3(join(where, SQLITE_FILE));
    db.pragma('busy_timeout = 10000');
    const ins = db.prepare(
      `insert into kv_entries (${cols}) values (${Array(11).fill('?').join(',')})`,
    );
    const batch = db.transaction((a: number, b: number) => {
      for (let i = a; i < b; i++) ins.run(...row(i));
    });
    for (let i = from; i < to; i += 50_000) batch(i, Math.min(to, i + 50_000));
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: where });
  await client.connect();
  for (let i = from; i < to; i += 5000) {
    const n = Math.min(to, i + 5000) - i;
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (let j = 0; j < n; j++) {
      const r = row(i + j);
      tuples.push(`(${r.map((_, k) => `$${params.length + k + 1}`).join(',')})`);
      params.push(...r);
    }
    await client.query(`insert into kv_entries (${cols}) values ${tuples.join(',')}`, params);
  }
  await client.query('analyze kv_entries');
  await client.end();
}

interface Row {
  backend: string;
  what: string;
  clients: number;
  perSec: number;
  p50: number;
  p99: number;
  serverUs: number;
  clientUs: number;
}

const results: Row[] = [];
const scale: {
  backend: string;
  entries: number;
  getP50: number;
  getP99: number;
  putP50: number;
  putP99: number;
}[] = [];
let pgCluster: Awaited<ReturnType<typeof startTestPostgres>> | undefined;

for (const name of BACKENDS) {
  const dialect = name.startsWith('postgres') ? 'postgres' : 'sqlite';
  const serverCount = name === 'postgres2' ? 2 : 1;
  let where: string;
  let storage: Storage;
  // The servers and this process's storage handle (which makes the team, publishing a log
  // root) sign with one log root key, as every process of a deployment does.
  const keyDir = mkdtempSync(join(tmpdir(), 'saltbox-kv-bench-key-'));
  let dir: string | undefined;
  if (dialect === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'saltbox-kv-bench-'));
    where = join(dir, 'data');
    storage = await openSqliteStorage({
      dataDir: where,
      logSeed: () => loadOrCreateLogSeed(where),
    });
  } else {
    pgCluster ??= await startTestPostgres();
    where = await pgCluster.freshDatabase();
    storage = await openPostgresStorage({
      databaseUrl: where,
      logSeed: loadOrCreateLogSeed(keyDir),
    });
  }
  const procs: Awaited<ReturnType<typeof startServerProcess>>[] = [];
  for (let i = 0; i < serverCount; i++)
    procs.push(
      await startServerProcess(await freePort(), where, {
        inheritStderr: true,
        ...(dialect === 'postgres' ? { keyDir } : {}),
      }),
    );
  serverPids = procs.map((p) => p.child.pid!);
  const proc = procs[0]!;
  const users: KvUser[] = [];
  for (let i = 0; i < 5; i++) users.push(await kvUser(proc.url, `bench${i}`));
  const teamId = await createTeam(
    storage,
    users[0]!,
    users.map((u, i) => [u, i === 0 ? 'owner' : 'writer']),
  );
  const maxClients = Math.max(...CONCURRENCY);
  // With several servers, the clients are spread over them round-robin.
  const clients: KvClient[] = Array.from({ length: maxClients }, (_, i) =>
    users[i % users.length]!.kv({ baseUrl: procs[i % procs.length]!.url }),
  );

  // Keys to read: 1000 real sealed values.
  const KEYS = 1000;
  const writer = clients[0]!;
  for (let i = 0; i < KEYS; i += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        writer.put(teamId, 'bench', `k${i + j}`, VALUE, { revision: 1 }),
      ),
    );

  for (const c of CONCURRENCY) {
    const g = await measure(c, SECONDS, async (client, n) => {
      const v = await clients[client]!.get(teamId, 'bench', `k${(client * 7919 + n) % KEYS}`);
      if (v.value !== VALUE) throw new Error('wrong value');
    });
    results.push({ backend: name, what: 'get (verified)', clients: c, ...g });
    console.error(
      `${name} get  c=${c}: ${g.perSec.toFixed(0)}/s p50 ${g.p50.toFixed(1)} ms p99 ${g.p99.toFixed(1)} ms server ${g.serverUs.toFixed(0)} µs/op`,
    );
    // Each client writes its own keys with explicit revisions (no read-before-write).
    const revs = new Map<string, number>();
    const p = await measure(c, SECONDS, async (client, n) => {
      const key = `w${c}-${client}-${n % 20}`;
      const revision = (revs.get(key) ?? 0) + 1;
      await clients[client]!.put(teamId, 'bench', key, VALUE, { revision });
      revs.set(key, revision);
    });
    results.push({ backend: name, what: 'put', clients: c, ...p });
    console.error(
      `${name} put  c=${c}: ${p.perSec.toFixed(0)}/s p50 ${p.p50.toFixed(1)} ms p99 ${p.p99.toFixed(1)} ms server ${p.serverUs.toFixed(0)} µs/op`,
    );
  }

  // Latency against the namespace size.
  let seeded = 0;
  const one = clients[0]!;
  const scaleRevs = new Map<string, number>();
  for (const total of ENTRIES) {
    const t0 = performance.now();
    await seed(dialect, where, teamId, 'bench', seeded, total - KEYS);
    seeded = total - KEYS;
    console.error(
      `${name}: seeded to ${total} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const g = await measure(1, SECONDS, async (_, n) => {
      await one.get(teamId, 'bench', `k${(n * 7919) % KEYS}`);
    });
    const p = await measure(1, SECONDS, async (_, n) => {
      const key = `k${n % KEYS}`;
      const revision = (scaleRevs.get(key) ?? 1) + 1;
      await one.put(teamId, 'bench', key, VALUE, { revision });
      scaleRevs.set(key, revision);
    });
    scale.push({
      backend: name,
      entries: total,
      getP50: g.p50,
      getP99: g.p99,
      putP50: p.p50,
      putP99: p.p99,
    });
    console.error(
      `${name} ${total}: get p50 ${g.p50.toFixed(2)} p99 ${g.p99.toFixed(2)}; put p50 ${p.p50.toFixed(2)} p99 ${p.p99.toFixed(2)}`,
    );
  }

  for (const p of procs) {
    p.child.kill('SIGTERM');
    await new Promise((r) => p.child.once('exit', r));
  }
  await storage.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
}
await pgCluster?.stop();

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
console.log(
  '\n| backend | operation | clients | ops/s | p50 ms | p99 ms | server CPU µs/op | client CPU µs/op |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results)
  console.log(
    `| ${r.backend} | ${r.what} | ${r.clients} | ${f(r.perSec, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.serverUs, 0)} | ${f(r.clientUs, 0)} |`,
  );
console.log(
  '\n| backend | entries in namespace | get p50 ms | get p99 ms | put p50 ms | put p99 ms |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const s of scale)
  console.log(
    `| ${s.backend} | ${s.entries} | ${f(s.getP50, 2)} | ${f(s.getP99, 2)} | ${f(s.putP50, 2)} | ${f(s.putP99, 2)} |`,
  );
for (const name of BACKENDS) {
  const rows = scale.filter((s) => s.backend === name);
  if (rows.length >= 2) {
    const a = rows[0]!;
    const b = rows[rows.length - 1]!;
    console.log(
      `${name}: p50 ratio ${b.entries}/${a.entries} entries — get ${f(b.getP50 / a.getP50, 2)}×, put ${f(b.putP50 / a.putP50, 2)}× (goal ≤ 1.5×)`,
    );
  }
}
const top = (what: string) =>
  results.find(
    (r) =>
      r.backend === 'sqlite' && r.what.startsWith(what) && r.clients === Math.max(...CONCURRENCY),
  );
const g = top('get');
const p = top('put');
if (g)
  console.log(
    `sqlite verified gets/s with ${g.clients} clients: ${f(g.perSec, 0)} (goal ≥ ${GOAL_GETS})`,
  );
if (p)
  console.log(`sqlite puts/s with ${p.clients} clients: ${f(p.perSec, 0)} (goal ≥ ${GOAL_PUTS})`);
// Issue #17's targets: PostgreSQL with one server at ≥ 0.8× SQLite; two servers beside one.
for (const what of ['get', 'put']) {
  const at = (b: string) =>
    results.find(
      (r) => r.backend === b && r.what.startsWith(what) && r.clients === Math.max(...CONCURRENCY),
    );
  const base = at('sqlite');
  for (const b of ['postgres', 'postgres2']) {
    const r = at(b);
    if (base && r)
      console.log(
        `${b} ${what}s/s with ${r.clients} clients: ${f(r.perSec, 0)} = ${f(r.perSec / base.perSec, 2)}× sqlite (goal for one server ≥ 0.8×); server CPU ${f(r.serverUs, 0)} µs/op vs sqlite ${f(base.serverUs, 0)}`,
      );
  }
}
