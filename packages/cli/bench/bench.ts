/**
 * `npm run bench:cli`: start-up and per-call latency of the `saltbox` commands a person or a bot
 * runs, each as a fresh process (as a shell or keybase-bot runs them), against a real
 * `saltbox server` process on SQLite in a temporary directory (issue #15, "Targets").
 *
 * Every row is the median of `BENCH_CLI_RUNS` (default 20) runs, timed from spawn to exit, and
 * its ratio to `node -e 0` measured in the same run. Rows run twice: cold (no agent: the keystore
 * is opened in the process with the passphrase from `SALTBOX_PASSPHRASE`) and warm (an agent
 * runs, unlocked). The keybase-bot session (`Bot.init`, 16 kvstore calls, `deinit`) is slower
 * and runs `BENCH_CLI_BOT_RUNS` times (default 3). `age --version` is printed as a reference
 * for a native command's start-up, and `age -r` to one user through `age-plugin-saltbox` when
 * `age` is installed.
 *
 * `BENCH_CLI_ROWS=version,kv-get` runs only those rows (names in the table's first column).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Bot from 'keybase-bot';
import { agentSocketPath, connectAgent } from '@saltbox/keystore/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'packages/cli/bin/saltbox.js');
const SHIM = join(ROOT, 'packages/cli/dist/keybase-shim.js');
const PLUGIN = join(ROOT, 'packages/cli/dist/age-plugin-main.js');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? '20');
const BOT_RUNS = Number(process.env.BENCH_CLI_BOT_RUNS ?? '3');
const ONLY = process.env.BENCH_CLI_ROWS?.split(',');
const PASSPHRASE = 'bench passphrase, not a secret';

const work = mkdtempSync(join(tmpdir(), 'saltbox-bench-cli-'));
const home = join(work, 'home');
mkdirSync(home, { mode: 0o700 });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  SALTBOX_HOME: home,
  SALTBOX_PASSPHRASE: PASSPHRASE,
  SALTBOX_DEBUG: '',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs a command to completion; throws with its stderr when it fails. */
function exec(
  cmd: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    env: options.env ?? env,
    input: options.input ?? '',
    encoding: 'utf8',
    cwd: work,
  });
  if (r.status !== 0 && options.allowFail !== true) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  }
  return r;
}

const saltbox = (args: readonly string[], input?: string): SpawnSyncReturns<string> =>
  exec(BIN, args, input === undefined ? {} : { input });

/** The median wall time of `runs` executions of `fn` (one untimed warm-up first). */
function timeMs(fn: () => unknown, runs = RUNS): number {
  fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

/** Starts `saltbox server` on SQLite under `work` and resolves with its URL. */
async function startServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(
    BIN,
    ['server', '--listen', '127.0.0.1:0', '--data', join(work, 'db'), '--signup-rate', '100000'],
    { env: { ...env, SALTBOX_HOME: join(work, 'server-home') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.resume();
  let stderr = '';
  const url = await new Promise<string>((ok, fail) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) ok(m[1]!);
    });
    child.on('exit', () => {
      fail(new Error(`server exited: ${stderr}`));
    });
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

interface Row {
  name: string;
  label: string;
  target?: string;
  cold?: number;
  warm?: number;
  note?: string;
}

const rows: Row[] = [];
const want = (name: string): boolean => ONLY === undefined || ONLY.includes(name);

const server = await startServer();
env.SALTBOX_SERVER = server.url;
try {
  saltbox(['signup', 'benchuser', '--json']);
  saltbox(['kv', 'put', 'bench', 'k', 'a value']);
  const input = join(work, 'small.txt');
  writeFileSync(input, 'a few bytes\n');
  const kvApiGet = JSON.stringify({
    method: 'get',
    params: { options: { namespace: 'bench', entryKey: 'k' } },
  });
  let putCounter = 0;

  // Rows: [name, label, target, command, runs only with an agent].
  type Run = () => unknown;
  const commandRows: [string, string, string, Run][] = [
    ['version', 'saltbox --version', '≤ 1.3×', () => saltbox(['--version'])],
    ['status', 'saltbox status', '', () => saltbox(['status'])],
    ['kv-get', 'saltbox kv get', '≤ 2× (warm)', () => saltbox(['kv', 'get', 'bench', 'k'])],
    [
      'kv-put',
      'saltbox kv put',
      '≤ 2.5× (warm)',
      () => saltbox(['kv', 'put', 'bench', `p${putCounter++ % 4}`, 'v']),
    ],
    [
      'kvstore-api-get',
      'echo JSON | saltbox kvstore api (get)',
      '≤ 2× (warm)',
      () => saltbox(['kvstore', 'api'], kvApiGet),
    ],
    [
      'encrypt',
      'saltbox encrypt -r benchuser (12 bytes)',
      '',
      () => saltbox(['encrypt', '-r', 'benchuser', '-i', input, '-o', join(work, 'out.sp')]),
    ],
  ];

  const nodeMs = timeMs(() => exec(process.execPath, ['-e', '0']));
  rows.push({ name: 'node', label: 'node -e 0', cold: nodeMs, warm: nodeMs });
  const ageBin = spawnSync('age', ['--version']).status === 0;
  if (ageBin) {
    const a = timeMs(() => exec('age', ['--version']));
    rows.push({ name: 'age-version', label: 'age --version (reference)', cold: a, warm: a });
  }

  // The plugin on PATH for age: a wrapper running this checkout's build.
  const binDir = join(work, 'bin');
  mkdirSync(binDir);
  const wrapper = join(binDir, 'age-plugin-saltbox');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${PLUGIN}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const recipient = saltbox(['age', 'recipient', 'benchuser']).stdout.trim();
  const ageEnv = { ...env, PATH: `${binDir}:${process.env.PATH ?? ''}` };
  const ageEncrypt = (): unknown =>
    exec('age', ['-r', recipient, '-o', join(work, 'out.age'), input], { env: ageEnv });

  const measure = (mode: 'cold' | 'warm'): void => {
    for (const [name, label, target, fn] of commandRows) {
      if (!want(name)) continue;
      let row = rows.find((r) => r.name === name);
      if (!row) {
        row = { name, label, target };
        rows.push(row);
      }
      row[mode] = timeMs(fn);
      process.stderr.write(`${mode} ${label}: ${row[mode].toFixed(0)} ms\n`);
    }
    if (ageBin && want('age-plugin')) {
      let row = rows.find((r) => r.name === 'age-plugin');
      if (!row) {
        row = { name: 'age-plugin', label: 'age -r <benchuser> (plugin)', target: '≤ 2× (warm)' };
        rows.push(row);
      }
      // The plugin reaches keys only through an agent; without one it may fail, and says so.
      const probe = exec('age', ['-r', recipient, '-o', join(work, 'out.age'), input], {
        env: ageEnv,
        allowFail: true,
      });
      if (probe.status === 0) row[mode] = timeMs(ageEncrypt);
      else row.note = `cold: ${probe.stderr.trim().split('\n').pop() ?? 'fails'}`;
      process.stderr.write(`${mode} age plugin: ${String(row[mode]?.toFixed(0))} ms\n`);
    }
  };

  measure('cold');
  saltbox(['agent', 'start']);
  try {
    saltbox(['unlock']);
    measure('warm');
    // The agent's own time per warm `kvstore api` get: the request over its socket, timed here
    // (the socket round trip included), median of RUNS after a warm-up.
    if (want('agent-time')) {
      const agent = await connectAgent(agentSocketPath(home, { env }));
      try {
        const call = () => agent.callExtra('client.kvstoreApi', { text: kvApiGet });
        await call();
        const xs: number[] = [];
        for (let i = 0; i < Math.max(RUNS, 50); i++) {
          const t = performance.now();
          await call();
          xs.push(performance.now() - t);
        }
        rows.push({
          name: 'agent-time',
          label: 'agent time: kvstore api get (socket round trip)',
          target: '≤ 5 ms',
          warm: median(xs),
        });
      } finally {
        await agent.close();
      }
    }
  } finally {
    saltbox(['agent', 'stop']);
  }

  // keybase-bot: Bot.init (spawns `keybase service`, logs in with the paper key), 16 kvstore
  // calls, deinit, each kvstore call a fresh `saltbox-keybase kvstore api` process.
  if (want('keybase-bot')) {
    const botBin = join(work, 'keybase');
    writeFileSync(botBin, `#!/bin/sh\nexec '${process.execPath}' '${SHIM}' "$@"\n`);
    chmodSync(botBin, 0o755);
    const botPaper = JSON.parse(
      exec(BIN, ['signup', 'kbbench', '--json'], {
        env: { ...env, SALTBOX_HOME: join(work, 'maker') },
      }).stdout,
    ) as { paperKey: { phrase: string } };
    const session = async (): Promise<number> => {
      const t = performance.now();
      const bot = new Bot();
      // keybase-bot inherits this process's environment: the shim finds the server there.
      process.env.SALTBOX_SERVER = server.url;
      await bot.init('kbbench', botPaper.paperKey.phrase, {
        keybaseBinaryLocation: botBin,
        verbose: false,
      });
      try {
        const team = 'kbbench,kbbench';
        for (let i = 0; i < 4; i++) {
          const got = await bot.kvstore.get(team, 'bench', `k${i}`);
          await bot.kvstore.put(team, 'bench', `k${i}`, `v${i}`, got.revision + 1);
          await bot.kvstore.get(team, 'bench', `k${i}`);
          await bot.kvstore.listEntryKeys(team, 'bench');
        }
      } finally {
        await bot.deinit();
      }
      return performance.now() - t;
    };
    const xs: number[] = [];
    for (let i = 0; i < BOT_RUNS; i++) xs.push(await session());
    // Both modes are the same: keybase-bot always starts its own service (an agent).
    rows.push({
      name: 'keybase-bot',
      label: `keybase-bot Bot.init + 16 kvstore calls (median of ${BOT_RUNS})`,
      target: '≤ 5000 ms',
      warm: median(xs),
    });
  }
} finally {
  server.stop();
  rmSync(work, { recursive: true, force: true });
}

const node = rows[0]!.cold!;
const fmt = (ms: number | undefined): string =>
  ms === undefined
    ? '—'
    : `${ms < 20 ? ms.toFixed(1) : ms.toFixed(0)} ms (${(ms / node).toFixed(2)}×)`;
const w = [44, 20, 20, 14];
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ');
process.stdout.write(
  `saltbox CLI, median of ${RUNS} runs; ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n\n`,
);
process.stdout.write(`${line(['command', 'cold (no agent)', 'warm (agent)', 'target'])}\n`);
process.stdout.write(`${w.map((n) => '-'.repeat(n)).join('-|-')}\n`);
for (const r of rows) {
  process.stdout.write(`${line([r.label, fmt(r.cold), fmt(r.warm), r.target ?? ''])}\n`);
  if (r.note !== undefined) process.stdout.write(`  ${r.note}\n`);
}
