#!/usr/bin/env node
/**
 * `npm run bench:saltpack`: in one run, whole-process file-to-file encryption and decryption of
 * one random file to 10 recipients by the `saltbox` CLI (anonymous sender), the `age` CLI, the
 * npm library @samuelthomas2774/saltpack and — when a Go toolchain and the reference sources
 * are found — the reference Go Saltpack library (bench/go-saltpack/main.go over
 * NewEncryptStream/NewDecryptStream); at 256 MiB and at 1 GiB. Next to them, measured in the
 * same run: this machine's per-core limits (SHA-512 and secretbox on 1 MiB blocks, and what they
 * allow Saltpack on one and two cores), Node's bare start-up and memory with and without the
 * crypto addon and the CLI's, the header cost at 100 and 1000 recipients with an anonymous
 * sender, and the load average during each measurement (the machine is shared). Prints
 * markdown tables with ratios and the targets of issue 19.
 *
 * Options:
 *   --size MiB       the smaller input (default 256)
 *   --reps N         repetitions per measurement; the median is reported (default 3)
 *   --recipients N   recipients (default 10)
 *   --quick          a smoke run: 16 MiB, 1 rep, no 1 GiB run
 *   --big / --no-big the 1 GiB run (saltbox, age and Go, one rep); on by default when the temp
 *                    directory has room (about 3.3 GiB)
 *   --go-src DIR     the reference sources (a keybase/saltpack checkout); also $SALTPACK_GO_SRC,
 *                    else the Go module cache is searched
 *   --no-paths       skip the extra saltbox rows that run the stream paths
 *                    (SALTBOX_CRYPTO_ENGINE=workers, the path before the bulk pipelines, and
 *                    =inline, the main thread only) next to the default, under the same load
 *
 * Method: MB = 10^6 bytes. Time is wall-clock from spawn to exit, so it includes process start
 * (that is what a user waits for); CPU is user + system time of the process. Peak RSS is the
 * child's maximum resident set from GNU time (`/usr/bin/time -v`), or VmHWM polled from /proc
 * without it. Repetitions are interleaved across tools so a noisy moment does not land on one
 * tool only. Every decryption output is compared with the input by SHA-256. Files live in a
 * temp directory removed at the end (also on error or Ctrl-C).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const value = (name, fallback) => (option(name) !== undefined ? Number(option(name)) : fallback);
const quick = flag('--quick');
const sizeMiB = value('--size', quick ? 16 : 256);
const reps = Math.max(1, value('--reps', quick ? 1 : 3));
const n = Math.max(1, value('--recipients', 10));

const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const load1 = () => loadavg()[0];

// ---------------------------------------------------------------------------------------------
// Tools on this machine

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** apt-get install, with an `apt-get update` retry (fresh containers have no package lists). */
function aptInstall(pkg) {
  log(`installing ${pkg} with apt-get…`);
  const opts = {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  if (spawnSync('apt-get', ['install', '-y', pkg], opts).status === 0) return true;
  spawnSync('apt-get', ['update'], opts);
  return spawnSync('apt-get', ['install', '-y', pkg], opts).status === 0;
}

if (!have('age') || !have('age-keygen')) aptInstall('age');
const haveAge = have('age') && have('age-keygen');
if (!haveAge) log('warning: age is not available; its rows will be empty');
const gnuTime = '/usr/bin/time';
if (!existsSync(gnuTime)) aptInstall('time');
const haveGnuTime = existsSync(gnuTime);

// ---------------------------------------------------------------------------------------------
// Process measurement

/**
 * Runs a command; resolves to wall seconds, CPU seconds, peak RSS in bytes and the 1-minute
 * load average at its start. Rejects on a non-zero exit.
 */
function measure(cmd, args, { env } = {}) {
  return new Promise((resolvePromise, reject) => {
    const timed = haveGnuTime ? [gnuTime, ['-v', cmd, ...args]] : [cmd, args];
    const load = load1();
    const start = process.hrtime.bigint();
    const child = spawn(timed[0], timed[1], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let hwm = 0;
    let poll;
    if (!haveGnuTime) {
      // VmHWM is the kernel's own high-water mark, so polling only has to catch it before exit.
      poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
        } catch {
          /* exited */
        }
      }, 5);
    }
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (poll) clearInterval(poll);
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`));
        return;
      }
      let rss = hwm;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (m) rss = Number(m[1]) * 1024;
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const cpu = user && sys ? Number(user[1]) + Number(sys[1]) : undefined;
      resolvePromise({ seconds, cpu, rss, load });
    });
  });
}

function sha256(file) {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 4 * MiB })
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

function writeRandomFile(file, bytes) {
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(MiB);
  for (let left = bytes; left > 0; left -= MiB) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, Math.min(MiB, left));
  }
  closeSync(fd);
}

const median = (xs) => {
  const s = [...xs].filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Setup: temp dir, keys

const dir = mkdtempSync(join(tmpdir(), 'saltbox-bench-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const cli = join(root, 'packages/cli/dist/main.js');
// The flags the `saltbox` executable runs Node with (its shebang line).
const CLI_FLAGS = ['--max-semi-space-size=1'];
const npmLib = join(here, 'npm-saltpack.mjs');

log(`generating ${n} recipient keys per tool…`);
const saltboxKeys = [];
for (let i = 0; i < n; i++) {
  const file = join(dir, `r${i}.key`);
  const r = spawnSync('node', [...CLI_FLAGS, cli, 'keygen', '-o', file], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`saltbox keygen failed: ${r.stderr}`);
  saltboxKeys.push({ file, pk: r.stdout.split('\n')[0].trim() });
}

const ageKeys = [];
if (haveAge) {
  for (let i = 0; i < n; i++) {
    const file = join(dir, `age${i}.key`);
    const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
    const m = /age1[0-9a-z]+/.exec(r.stderr + readFileSync(file, 'utf8'));
    ageKeys.push({ file, pk: m[0] });
  }
  writeFileSync(join(dir, 'age-recipients'), ageKeys.map((k) => k.pk).join('\n') + '\n');
}

const npmKeysFile = join(dir, 'npm-keys.json');
writeFileSync(
  npmKeysFile,
  JSON.stringify({
    sender: randomFillSync(Buffer.alloc(32)).toString('hex'),
    recipients: Array.from({ length: n }, () => randomFillSync(Buffer.alloc(32)).toString('hex')),
  }),
);

// ---------------------------------------------------------------------------------------------
// The Go reference, when a toolchain and the sources can be found.

const sodium = createRequire(join(root, 'packages/saltpack/package.json'))('sodium-native');

/** Builds bench/go-saltpack; returns the binary, or why it could not. */
function buildGo() {
  if (!have('go')) return { note: 'no Go toolchain (`go`) on PATH' };
  let src = option('--go-src') ?? process.env.SALTPACK_GO_SRC;
  if (!src) {
    const cache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout?.trim();
    const base = cache && join(cache, 'github.com/keybase');
    const found =
      base && existsSync(base) && readdirSync(base).filter((d) => d.startsWith('saltpack@'));
    if (found && found.length > 0) src = join(base, found.sort().at(-1));
  }
  if (!src || !existsSync(join(src, 'go.mod')))
    return {
      note: 'Go found but not the keybase/saltpack sources (pass --go-src DIR or $SALTPACK_GO_SRC)',
    };
  const mod = join(dir, 'go-saltpack');
  mkdirSync(mod);
  writeFileSync(join(mod, 'main.go'), readFileSync(join(here, 'go-saltpack/main.go')));
  writeFileSync(
    join(mod, 'go.mod'),
    `module saltboxbench\n\ngo 1.20\n\nrequire github.com/keybase/saltpack v0.0.0\n\nreplace github.com/keybase/saltpack => ${src}\n`,
  );
  const env = { ...process.env, GOFLAGS: '-mod=mod' };
  spawnSync('go', ['mod', 'tidy'], { cwd: mod, env, stdio: 'ignore' });
  const bin = join(mod, 'go-saltpack');
  const b = spawnSync('go', ['build', '-o', bin, '.'], { cwd: mod, env, encoding: 'utf8' });
  if (b.status !== 0)
    return { note: `building the Go reference failed: ${b.stderr.trim().slice(0, 300)}` };
  return { bin, src };
}

const go = buildGo();
if (go.note) log(`Go reference skipped: ${go.note}`);
const goKeys = [];
if (go.bin) {
  for (let i = 0; i < n; i++) {
    const sk = randomFillSync(Buffer.alloc(32));
    const pk = Buffer.alloc(32);
    sodium.crypto_scalarmult_base(pk, sk);
    const file = join(dir, `go${i}.key`);
    writeFileSync(file, `${sk.toString('hex')} ${pk.toString('hex')}\n`);
    goKeys.push({ file, pk: pk.toString('hex') });
  }
  writeFileSync(join(dir, 'go-recipients'), goKeys.map((k) => k.pk).join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// The tools. Decryption uses the last recipient's key, as specs/crypto-benchmarks.md §3 did.

const saltbox = {
  name: 'saltbox (CLI)',
  key: 'saltbox',
  encrypt: (i, o) => [
    'node',
    [
      ...CLI_FLAGS,
      cli,
      'encrypt',
      '--anonymous',
      ...saltboxKeys.flatMap((k) => ['-r', k.pk]),
      '-i',
      i,
      '-o',
      o,
    ],
  ],
  decrypt: (i, o) => [
    'node',
    [...CLI_FLAGS, cli, 'decrypt', '-k', saltboxKeys[n - 1].file, '-i', i, '-o', o],
  ],
};
const ageTool = haveAge && {
  name: `age ${spawnSync('age', ['--version'], { encoding: 'utf8' }).stdout.trim()} (Go)`,
  key: 'age',
  encrypt: (i, o) => ['age', ['-R', join(dir, 'age-recipients'), '-o', o, i]],
  decrypt: (i, o) => ['age', ['-d', '-i', ageKeys[n - 1].file, '-o', o, i]],
};
const goTool = go.bin && {
  name: 'keybase/saltpack (Go reference)',
  key: 'go',
  encrypt: (i, o) => [go.bin, ['encrypt', join(dir, 'go-recipients'), i, o]],
  decrypt: (i, o) => [go.bin, ['decrypt', goKeys[n - 1].file, i, o]],
};
const npmTool = {
  name: '@samuelthomas2774/saltpack 0.4.0',
  key: 'npm',
  encrypt: (i, o) => ['node', [npmLib, 'encrypt', npmKeysFile, String(n), i, o]],
  decrypt: (i, o) => ['node', [npmLib, 'decrypt', npmKeysFile, String(n - 1), i, o]],
};
/** saltbox with `SALTBOX_CRYPTO_ENGINE` set: the stream paths, measured under the same load. */
const saltboxWith = (engine, name) => ({
  name,
  key: `saltbox-${engine}`,
  env: { SALTBOX_CRYPTO_ENGINE: engine },
  encrypt: saltbox.encrypt,
  decrypt: saltbox.decrypt,
});
const paths = flag('--no-paths')
  ? []
  : [
      saltboxWith('workers', 'saltbox, streams + worker engine (the path before the pipelines)'),
      saltboxWith('inline', 'saltbox, streams on the main thread only'),
    ];
const tools = [saltbox, ...paths, ageTool, goTool, npmTool].filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Per-core limits, in this process: what one core does on 1 MiB blocks.

function perCore() {
  const block = randomFillSync(Buffer.alloc(MiB));
  const out = Buffer.alloc(MiB + 16);
  const key = randomFillSync(Buffer.alloc(32));
  const nonce = randomFillSync(Buffer.alloc(24));
  const rate = (fn) => {
    for (let i = 0; i < 16; i++) fn();
    const runs = [];
    for (let r = 0; r < 5; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 32; i++) fn();
      runs.push((32 * MiB) / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9));
    }
    return Math.max(...runs); // the least disturbed run: the core's own speed
  };
  const sha = rate(() => createHash('sha512').update(block).digest());
  const box = rate(() => sodium.crypto_secretbox_easy(out, block, nonce, key));
  let openssl;
  if (have('openssl')) {
    const r = spawnSync('openssl', ['speed', '-bytes', String(MiB), '-seconds', '2', 'sha512'], {
      encoding: 'utf8',
    });
    const m = /sha512\s+([\d.]+)k/.exec(r.stdout ?? '');
    if (m) openssl = (Number(m[1]) * 1000) / 1e6;
  }
  // Saltpack's bulk work per byte: one SHA-512 and one secretbox pass.
  const oneCore = 1 / (1 / sha + 1 / box);
  return { sha, box, openssl, oneCore, twoCores: 2 * oneCore, load: load1() };
}

// ---------------------------------------------------------------------------------------------
// Start-up: bare Node, Node with the crypto addon, the CLI doing nothing.

async function startup() {
  const probes = [
    ['Node, bare (`node -e 0`)', 'node', ['-e', '0']],
    [
      'Node + sodium-native + node:crypto',
      'node',
      [
        ...CLI_FLAGS,
        '-e',
        `require(${JSON.stringify(require.resolve('sodium-native'))}); require('node:crypto').createHash('sha512')`,
      ],
    ],
    [
      'Node + @saltbox/saltpack (native backend) + its /node pipelines',
      'node',
      [
        ...CLI_FLAGS,
        '--input-type=module',
        '-e',
        "const s = await import('@saltbox/saltpack'); await s.loadBackend('native'); await import('@saltbox/saltpack/node');",
      ],
    ],
    [
      '`saltbox --version` (the CLI started, nothing done)',
      'node',
      [...CLI_FLAGS, cli, '--version'],
    ],
  ];
  const rows = [];
  for (const [what, cmd, args] of probes) {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await measure(cmd, args));
    rows.push({
      what,
      seconds: median(runs.map((r) => r.seconds)),
      rss: median(runs.map((r) => r.rss)),
      load: median(runs.map((r) => r.load)),
    });
  }
  return rows;
}
const require = createRequire(join(root, 'packages/saltpack/package.json'));

// ---------------------------------------------------------------------------------------------
// Throughput runs

async function runPair(tool, input, bytes, inputHash) {
  const enc = join(dir, `${tool.key}.enc`);
  const out = join(dir, `${tool.key}.out`);
  const e = await measure(...tool.encrypt(input, enc), { env: tool.env });
  const d = await measure(...tool.decrypt(enc, out), { env: tool.env });
  const got = await sha256(out);
  if (got !== inputHash) throw new Error(`${tool.name}: decrypted output differs from the input`);
  rmSync(enc, { force: true });
  rmSync(out, { force: true });
  return { bytes, e, d };
}

async function throughput(label, bytes, list, repetitions) {
  const input = join(dir, `input-${label}.bin`);
  log(`writing ${label} of random data…`);
  writeRandomFile(input, bytes);
  const inputHash = await sha256(input); // also warms the page cache for every tool alike
  const results = new Map();
  for (let rep = 0; rep < repetitions; rep++) {
    for (const tool of list) {
      log(`${label}, rep ${rep + 1}/${repetitions}: ${tool.name} (load ${load1().toFixed(1)})…`);
      const r = await runPair(tool, input, bytes, inputHash);
      results.set(tool.key, [...(results.get(tool.key) ?? []), r]);
    }
  }
  rmSync(input, { force: true });
  const summary = new Map();
  for (const [key, runs] of results) {
    const m = (f) => median(runs.map(f));
    summary.set(key, {
      encMBs: bytes / 1e6 / m((r) => r.e.seconds),
      decMBs: bytes / 1e6 / m((r) => r.d.seconds),
      encS: m((r) => r.e.seconds),
      decS: m((r) => r.d.seconds),
      bothS: m((r) => r.e.seconds + r.d.seconds),
      encCpu: m((r) => r.e.cpu),
      decCpu: m((r) => r.d.cpu),
      encRss: Math.max(...runs.map((r) => r.e.rss)),
      decRss: Math.max(...runs.map((r) => r.d.rss)),
      load: m((r) => (r.e.load + r.d.load) / 2),
    });
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Header cost, in process: encrypting an empty message is the header plus one 16-byte packet.

function headerCost() {
  const script = `
    import { encrypt, generateBoxKey, loadBackend } from '@saltbox/saltpack';
    const b = await loadBackend('native');
    const out = {};
    for (const count of [100, 1000]) {
      const recipients = Array.from({ length: count }, () => generateBoxKey(b).publicKey);
      const empty = new Uint8Array(0);
      await encrypt(empty, { recipients, backend: b }); // warm-up (JIT)
      const times = [];
      for (let i = 0; i < ${quick ? 5 : 9}; i++) {
        const t = performance.now();
        await encrypt(empty, { recipients, sender: null, backend: b }); // anonymous sender
        times.push(performance.now() - t);
      }
      times.sort((x, y) => x - y);
      out[count] = times[times.length >> 1];
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const load = load1();
  const r = spawnSync('node', ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`header benchmark failed: ${r.stderr}`);
  return { ...JSON.parse(r.stdout), load };
}

// ---------------------------------------------------------------------------------------------
// The run

log('per-core limits…');
const limits = perCore();
log('start-up cost…');
const starts = await startup();
const small = await throughput(`${sizeMiB} MiB`, sizeMiB * MiB, tools, reps);
log('header cost…');
const header = headerCost();
const limitsAfter = perCore();

const bigBytes = 1024 * MiB;
const room = (() => {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
})();
const wantBig = flag('--big') || (!flag('--no-big') && !quick && room > bigBytes * 3.3);
let big = null;
if (wantBig) {
  // The npm library is left out at 1 GiB: at ~30 MB/s it would take minutes and says nothing new.
  big = await throughput(
    '1 GiB',
    bigBytes,
    tools.filter((t) => t.key !== 'npm'),
    1,
  );
} else {
  log('skipping the 1 GiB run (--quick, --no-big, or not enough space in the temp directory)');
}

// ---------------------------------------------------------------------------------------------
// Report

const mbs = (x) => (x === undefined ? '–' : x.toFixed(0));
const sec = (x) => (x === undefined ? '–' : x.toFixed(2));
const mib = (x) => (x === undefined ? '–' : `${(x / MiB).toFixed(0)} MiB`);
const ratio = (a, b) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
const lines = [];
const p = (s = '') => lines.push(s);

p(`### Saltpack benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
p();
p(
  `${n} recipients, anonymous sender, file to file, whole process (including start-up); median of ` +
    `${reps} run(s) (1 GiB: one run); MB = 10^6 B; CPU = user + system seconds; peak RSS from ` +
    `${haveGnuTime ? 'GNU time' : '/proc VmHWM'} (the largest of the runs); load = 1-minute load ` +
    `average at the start of the runs. Node ${process.version}, ${cpus().length} CPUs.`,
);
p();
p('**Per-core limits** (this process, 1 MiB blocks, best of 5 × 32):');
p();
p('| | before the runs | after the runs |');
p('| --- | ---: | ---: |');
p(`| SHA-512, node:crypto | ${mbs(limits.sha)} MB/s | ${mbs(limitsAfter.sha)} MB/s |`);
p(`| secretbox, sodium-native | ${mbs(limits.box)} MB/s | ${mbs(limitsAfter.box)} MB/s |`);
if (limits.openssl)
  p(
    `| SHA-512, \`openssl speed\` | ${mbs(limits.openssl)} MB/s | ${mbs(limitsAfter.openssl)} MB/s |`,
  );
p(
  `| Saltpack limit, one core (1 / (1/SHA + 1/secretbox)) | ${mbs(limits.oneCore)} MB/s | ${mbs(limitsAfter.oneCore)} MB/s |`,
);
p(
  `| Saltpack limit, two cores | ${mbs(limits.twoCores)} MB/s | ${mbs(limitsAfter.twoCores)} MB/s |`,
);
p(`| load average | ${limits.load.toFixed(1)} | ${limitsAfter.load.toFixed(1)} |`);
p();
p('**Start-up** (median of 5):');
p();
p('| process | wall | peak RSS | load |');
p('| --- | ---: | ---: | ---: |');
for (const s of starts)
  p(`| ${s.what} | ${(s.seconds * 1000).toFixed(0)} ms | ${mib(s.rss)} | ${s.load.toFixed(1)} |`);
p();

const table = (label, summary) => {
  p(`**${label}**:`);
  p();
  p(
    '| tool | encrypt MB/s | decrypt MB/s | enc + dec s | encrypt CPU s | decrypt CPU s | encrypt peak RSS | decrypt peak RSS | load |',
  );
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of tools) {
    const r = summary.get(t.key);
    if (!r) continue;
    p(
      `| ${t.name} | ${mbs(r.encMBs)} | ${mbs(r.decMBs)} | ${sec(r.bothS)} | ${sec(r.encCpu)} | ${sec(r.decCpu)} | ${mib(r.encRss)} | ${mib(r.decRss)} | ${r.load.toFixed(1)} |`,
    );
  }
  if (!goTool) p(`| keybase/saltpack (Go reference) | skipped: ${go.note} | | | | | | | |`);
  p();
  const s = summary.get('saltbox');
  const others = [...paths, ageTool, goTool, summary.has('npm') && npmTool].filter(
    (t) => t && summary.has(t.key),
  );
  p('| saltbox ÷ | encrypt | decrypt | enc + dec (time ratio inverted) |');
  p('| --- | ---: | ---: | ---: |');
  for (const o of others) {
    const r = summary.get(o.key);
    p(
      `| ${o.name} | ${ratio(s.encMBs, r.encMBs)} | ${ratio(s.decMBs, r.decMBs)} | ${ratio(r.bothS, s.bothS)} |`,
    );
  }
  p();
};
table(`${sizeMiB} MiB`, small);
if (big) table('1 GiB', big);

p(
  `**Header** (in process, native backend, anonymous sender, encrypting an empty message, median of ${quick ? 5 : 9}; load ${header.load.toFixed(1)}): ` +
    `${header[100].toFixed(1)} ms at 100 recipients, ${header[1000].toFixed(1)} ms at 1000.`,
);
p();

// Targets of issue 19 (throughput at the recipients above).
const s = small.get('saltbox');
const rssAll = [
  s.encRss,
  s.decRss,
  ...(big ? [big.get('saltbox').encRss, big.get('saltbox').decRss] : []),
];
const maxRss = Math.max(...rssAll);
const check = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**');
const vs = (key, factor) => {
  const r = small.get(key);
  if (!r) return [undefined, undefined, undefined];
  return [
    ratio(s.encMBs, r.encMBs),
    ratio(s.decMBs, r.decMBs),
    s.encMBs >= factor * r.encMBs && s.decMBs >= factor * r.decMBs,
  ];
};
const targets = [];
const [ge, gd, gok] = vs('go', 1.5);
targets.push([
  'encrypt and decrypt ≥ 1.5× the Go reference',
  goTool ? `${ge} / ${gd}` : `skipped (${go.note})`,
  gok,
]);
const [ae, ad, aok] = vs('age', 0.4);
targets.push(['encrypt and decrypt ≥ 0.4× age', `${ae} / ${ad}`, aok]);
const [ne, nd, nok] = vs('npm', 6);
targets.push(['encrypt and decrypt ≥ 6× the npm library', `${ne} / ${nd}`, nok]);
targets.push([
  `peak RSS ≤ 80 MiB (every saltbox run${big ? ', 1 GiB included' : ''})`,
  mib(maxRss),
  maxRss <= 80 * MiB,
]);
targets.push([
  'header ≤ 100 ms at 1000 recipients, anonymous sender',
  `${header[1000].toFixed(1)} ms`,
  header[1000] <= 100,
]);
p(`| target (issue 19, ${sizeMiB} MiB, ${n} recipients) | saltbox (encrypt / decrypt) | |`);
p('| --- | ---: | --- |');
for (const [what, got, ok] of targets) p(`| ${what} | ${got} | ${check(ok)} |`);
p();
const cliStart = starts.at(-1);
p(
  `saltbox's bulk work against the machine's limit: encrypt ${mbs(s.encMBs)} MB/s and decrypt ` +
    `${mbs(s.decMBs)} MB/s whole-process, vs a two-core Saltpack limit of ${mbs(limits.twoCores)}–` +
    `${mbs(limitsAfter.twoCores)} MB/s measured above (one core: ${mbs(limits.oneCore)}–` +
    `${mbs(limitsAfter.oneCore)}); the CLI's start-up alone is ${(cliStart.seconds * 1000).toFixed(0)} ms and ` +
    `${mib(cliStart.rss)} of the peak RSS.`,
);

process.stdout.write(lines.join('\n') + '\n');
