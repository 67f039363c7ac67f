/**
 * `npm run bench:server`: authenticated lookups/s and sigchain appends/s with 50 concurrent
 * clients, and lookup latency with 10,000 registered users, on SQLite and on PostgreSQL
 * (embedded), end to end over real sockets.
 *
 * Three kinds of process, so each one's CPU is measured on its own:
 *
 * - this one seeds the database and reports;
 * - the server (bench/serve.ts), `startServer` as deployed, rate limits lifted, logs off;
 * - the load generators (bench/load.ts, `BENCH_LOADERS` of them): the clients, which sign
 *   every request with their own device key and send it over keep-alive sockets.
 *
 * Users for lookups are generated once with the identity builders (real keys and links) and
 * seeded straight into storage (10,000 verified sign-ups through the API would only time the
 * sign-up path); the clients themselves sign up through the API, and every append is a real
 * `subkey` link that the server verifies.
 *
 * `postgres2` runs two server processes on one PostgreSQL database (one log key), the clients
 * spread over them; its server CPU is the sum of both.
 *
 * Options (environment): BENCH_SECONDS (default 10), BENCH_USERS (10000), BENCH_CLIENTS (50),
 * BENCH_LOADERS (1), BENCH_BACKENDS (sqlite,postgres,postgres2), BENCH_PHASES (lookup,latency,append),
 * BENCH_PROF (a directory: the server writes a `--cpu-prof` profile there).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultBackend } from '@saltbox/saltpack';
import type { ChainLink } from '@saltbox/protocol';
import { loadOrCreateLogSeed, openPostgresStorage, openSqliteStorage } from '../src/index.js';
import type {
  PukBoxRecord,
  Storage,
  StoredLink,
  UserProjection,
  UserRecord,
} from '../src/index.js';
import { newUser } from '../test/helpers.js';
import { startTestPostgres } from '../test/pg.js';
import type { LoadCommand, LoadReply } from './load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const LOADERS = Number(process.env.BENCH_LOADERS ?? 1);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres,postgres2').split(',');
const PROFILE_DIR = process.env.BENCH_PROF;
/** Which phases run (default all): `lookup`, `latency`, `append`. */
const PHASES = (process.env.BENCH_PHASES ?? 'lookup,latency,append').split(',');
/** The goal: authenticated lookups per second on SQLite. */
const GOAL_LOOKUPS = 3000;
const backend = await defaultBackend();
const here = dirname(fileURLToPath(import.meta.url));
// Children run the TypeScript sources, like this process.
const execArgv = ['--conditions=source', '--import', 'tsx'];

interface SeedUser {
  user: UserRecord;
  links: StoredLink[];
  projection: UserProjection;
  pukBoxes: PukBoxRecord[];
}

/** Generates `n` users with the identity builders (once, for every backend). */
function generate(n: number): SeedUser[] {
  const out: SeedUser[] = [];
  for (let i = 0; i < n; i++) {
    const { user, request } = newUser(backend, `bench_${i}`);
    const d = user.devices[0]!;
    out.push({
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
  }
  return out;
}

/** A forked child that answers IPC messages in order. */
class Child {
  readonly proc: ChildProcess;
  readonly #queue: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  readonly exited: Promise<void>;

  constructor(script: string, env: Record<string, string>, extraArgv: string[] = []) {
    this.proc = fork(join(here, script), [], {
      execArgv: [...extraArgv, ...execArgv],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => this.#queue.shift()?.resolve(m));
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code) => {
        for (const w of this.#queue.splice(0)) w.reject(new Error(`${script} exited (${code})`));
        resolve();
      }),
    );
  }

  /** The next message (optionally after sending one). */
  next<T>(send?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        resolve: (m) => {
          resolve(m as T);
        },
        reject,
      });
      if (send !== undefined) this.proc.send(send as object);
    });
  }
}

interface PhaseResult {
  ops: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  serverCores: number;
  loaderCores: number;
}

async function phase(
  servers: Child[],
  loaders: Child[],
  op: 'lookup' | 'append',
  seconds: number,
  clients: number,
): Promise<PhaseResult> {
  const serverCpu = async () =>
    (await Promise.all(servers.map((s) => s.next<{ cpuSeconds: number }>({ type: 'cpu' })))).reduce(
      (a, r) => a + r.cpuSeconds,
      0,
    );
  const cpu0 = await serverCpu();
  const per = Math.ceil(clients / loaders.length);
  const active = loaders.slice(0, Math.ceil(clients / per));
  const replies = await Promise.all(
    active.map((l, i) =>
      l.next<LoadReply>({
        type: 'run',
        op,
        seconds,
        clients: Math.min(per, clients - i * per),
        users: USERS,
      } satisfies LoadCommand),
    ),
  );
  const cpu1 = await serverCpu();
  const latencies: number[] = [];
  let errors = 0;
  let loaderCpu = 0;
  let elapsed = 0;
  for (const r of replies) {
    if (r.type !== 'result') throw new Error(`load generator failed: ${JSON.stringify(r)}`);
    latencies.push(...r.latencies);
    errors += r.errors;
    loaderCpu += r.cpuSeconds;
    elapsed = Math.max(elapsed, r.seconds);
    if (r.samples.length > 0) process.stderr.write(`errors: ${r.samples.join(' | ')}\n`);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    ops: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    errors,
    serverCores: (cpu1 - cpu0) / elapsed,
    loaderCores: loaderCpu / elapsed,
  };
}

async function openBackend(
  name: string,
): Promise<{ storage: Storage; env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'saltbox-bench-'));
    return {
      storage: await openSqliteStorage({ dataDir: dir, logSeed: () => loadOrCreateLogSeed(dir) }),
      env: { BENCH_DATA_DIR: dir },
      cleanup: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const pg = await startTestPostgres();
  const url = await pg.freshDatabase();
  const keyDir = mkdtempSync(join(tmpdir(), 'saltbox-bench-key-'));
  return {
    storage: await openPostgresStorage({ databaseUrl: url, logSeed: loadOrCreateLogSeed(keyDir) }),
    env: { BENCH_DATABASE_URL: url, BENCH_DATA_DIR: keyDir },
    cleanup: async () => {
      await pg.stop();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

async function benchBackend(name: string, seedUsers: SeedUser[]): Promise<string[]> {
  const { storage, env, cleanup } = await openBackend(name);
  const t0 = performance.now();
  for (const u of seedUsers) await storage.users.createUser(u);
  await storage.close();
  process.stderr.write(
    `${name}: seeded ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const servers = Array.from(
    { length: name === 'postgres2' ? 2 : 1 },
    () => new Child('serve.ts', env, profile),
  );
  const loaders = Array.from({ length: LOADERS }, () => new Child('load.ts', {}));
  const rows: string[] = [];
  try {
    const url = (await Promise.all(servers.map((s) => s.next<{ url: string }>())))
      .map((r) => r.url)
      .join(',');
    const per = Math.ceil(CLIENTS / LOADERS);
    await Promise.all(
      loaders.map(async (l, i) => {
        const r = await l.next<LoadReply>({
          type: 'setup',
          url,
          clients: Math.max(0, Math.min(per, CLIENTS - i * per)),
          prefix: `l${i}_`,
        } satisfies LoadCommand);
        if (r.type !== 'ready') throw new Error(`setup failed: ${JSON.stringify(r)}`);
      }),
    );
    // Warm-up (JIT, caches), not reported.
    await phase(servers, loaders, 'lookup', Math.min(2, SECONDS), CLIENTS);
    const label =
      name === 'sqlite' ? 'SQLite' : name === 'postgres' ? 'PostgreSQL' : 'PostgreSQL, 2 servers';
    if (PHASES.includes('lookup')) {
      const r = await phase(servers, loaders, 'lookup', SECONDS, CLIENTS);
      lookupRates.set(name, r);
      rows.push(row(label, `authenticated lookups (${CLIENTS} clients)`, r, name === 'sqlite'));
    }
    if (PHASES.includes('latency')) {
      const r = await phase(servers, loaders, 'lookup', Math.min(5, SECONDS), 1);
      rows.push(row(label, 'authenticated lookups (1 client)', r, false));
    }
    if (PHASES.includes('append')) {
      const r = await phase(servers, loaders, 'append', SECONDS, CLIENTS);
      rows.push(row(label, `sigchain appends (${CLIENTS} clients)`, r, false));
    }
  } finally {
    for (const l of loaders) l.proc.send({ type: 'exit' } satisfies LoadCommand);
    for (const s of servers) s.proc.kill('SIGTERM');
    await Promise.all([...servers.map((s) => s.exited), ...loaders.map((l) => l.exited)]);
    await cleanup();
  }
  return rows;
}

function row(backendName: string, what: string, r: PhaseResult, goal: boolean): string {
  const ratio = goal ? `${(r.perSecond / GOAL_LOOKUPS).toFixed(2)}×` : '';
  return [
    '',
    backendName,
    what,
    r.perSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.serverCores.toFixed(2),
    ((r.serverCores * 1e6) / r.perSecond).toFixed(0),
    r.loaderCores.toFixed(2),
    ((r.loaderCores * 1e6) / r.perSecond).toFixed(0),
    r.ops,
    r.errors,
    ratio,
    '',
  ]
    .join(' | ')
    .trim();
}

/** Lookups with CLIENTS clients per backend, for the PostgreSQL / SQLite ratio of issue #17. */
const lookupRates = new Map<string, PhaseResult>();

const t0 = performance.now();
const seedUsers = generate(USERS);
process.stderr.write(
  `generated ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
);
const lines = [
  `${USERS} users in the database, ${SECONDS} s per row, ${LOADERS} load-generator process(es)`,
  '',
  '| backend | operation | ops/s | p50 ms | p99 ms | server CPU (cores) | server CPU µs/op | load-gen CPU (cores) | load-gen CPU µs/op | ops | errors | vs goal (3,000/s) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const b of BACKENDS) lines.push(...(await benchBackend(b, seedUsers)));
const sqlite = lookupRates.get('sqlite');
for (const b of ['postgres', 'postgres2']) {
  const r = lookupRates.get(b);
  if (sqlite && r)
    lines.push(
      `${b}: ${r.perSecond.toFixed(0)} lookups/s = ${(r.perSecond / sqlite.perSecond).toFixed(2)}× sqlite (goal for one server ≥ 0.8×); server CPU ${((r.serverCores * 1e6) / r.perSecond).toFixed(0)} µs/op vs sqlite ${((sqlite.serverCores * 1e6) / sqlite.perSecond).toFixed(0)}`,
    );
}
process.stdout.write(lines.join('\n') + '\n');
