#!/usr/bin/env node
/**
 * `npm run bench:saltpack`: whole-process, file-to-file encryption and decryption of one random
 * file by saltbox, the `age` CLI and the npm library @samuelthomas2774/saltpack, with 1, 10 and
 * 100 recipients; peak RSS of each process; saltpack header cost at 100 and 1000 recipients;
 * saltbox's peak RSS on a 1 GiB file. Prints a markdown table with ratios and the targets of
 * issue 2.
 *
 * Options:
 *   --size MiB     input size (default 256)
 *   --reps N       repetitions per measurement; the median is reported (default 3)
 *   --quick        a small smoke run: 16 MiB, 1 rep, 1 and 10 recipients, no 1 GiB run
 *   --big          force the 1 GiB RSS run; --no-big skips it. By default it runs when the temp
 *                  directory has room for input, ciphertext and output (about 3.3 GiB)
 *   --no-engine    stand-in only: run the library without its worker-thread engine
 *   --no-stand-in  when the CLI works, skip the extra library stand-in row
 *
 * Method: MB = 10^6 bytes. Time is wall-clock from spawn to exit, so it includes process start
 * (Node's ~50–100 ms, Go's ~1 ms) — that is what a user waits for. Peak RSS is the child's
 * maximum resident set from GNU time (`/usr/bin/time -v`), or VmHWM polled from /proc when GNU
 * time is missing and cannot be installed. Repetitions are interleaved across tools so that a
 * noisy moment on this shared machine does not land on one tool only. Every decryption output
 * is compared with the input by SHA-256. Files live in a temp directory that is removed at the
 * end (also on error or Ctrl-C).
 *
 * saltbox is `node packages/cli/dist/main.js`; while that CLI cannot encrypt yet (it is being
 * written), bench/stand-in.mjs runs instead — the same library, streaming file to file — and
 * the table says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
};
const quick = flag('--quick');
const sizeMiB = value('--size', quick ? 16 : 256);
const reps = Math.max(1, value('--reps', quick ? 1 : 3));
const counts = quick ? [1, 10] : [1, 10, 100];
const useEngine = !flag('--no-engine');

const log = (...a) => process.stderr.write(a.join(' ') + '\n');

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
 * Runs a command; resolves to wall seconds and peak RSS in bytes. Rejects on a non-zero exit.
 */
function measure(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const timed = haveGnuTime ? [gnuTime, ['-v', cmd, ...args]] : [cmd, args];
    const start = process.hrtime.bigint();
    const child = spawn(timed[0], timed[1], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
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
      resolvePromise({ seconds, rss });
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
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Setup: temp dir, input, keys

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
// The flags the `saltbox` executable runs Node with (its shebang line): a 1 MiB young
// generation makes dead 1 MiB chunk buffers get collected promptly, keeping peak RSS down.
const CLI_FLAGS = ['--max-semi-space-size=1'];
const standIn = join(here, 'stand-in.mjs');
const npmLib = join(here, 'npm-saltpack.mjs');
const maxN = Math.max(...counts);

/**
 * Whether the real CLI can encrypt: keygen must write a key file and print a public key, and an
 * encrypt/decrypt round trip of a few bytes must work with the documented flags.
 */
function probeCli() {
  if (!existsSync(cli)) return null;
  const key = join(dir, 'probe.key');
  const kg = spawnSync('node', [...CLI_FLAGS, cli, 'keygen', '-o', key], {
    cwd: root,
    encoding: 'utf8',
  });
  const pk = kg.stdout?.split('\n')[0]?.trim();
  if (kg.status !== 0 || !pk || !existsSync(key)) return null;
  const pin = join(dir, 'probe.in');
  writeFileSync(pin, 'probe');
  for (const withSender of [true, false]) {
    const enc = [
      'encrypt',
      '-r',
      pk,
      ...(withSender ? ['-k', key] : []),
      '-i',
      pin,
      '-o',
      `${pin}.enc`,
    ];
    if (spawnSync('node', [...CLI_FLAGS, cli, ...enc], { cwd: root }).status !== 0) continue;
    const dec = ['decrypt', '-k', key, '-i', `${pin}.enc`, '-o', `${pin}.dec`];
    if (spawnSync('node', [...CLI_FLAGS, cli, ...dec], { cwd: root }).status !== 0) continue;
    if (readFileSync(`${pin}.dec`, 'utf8') === 'probe') return { withSender };
  }
  return null;
}

const cliMode = probeCli();
if (!cliMode) log('the saltbox CLI cannot encrypt yet: using bench/stand-in.mjs');

log(`generating ${maxN} recipient keys per tool…`);
const saltboxKeys = []; // { file, pk } for the CLI
const senderKey = join(dir, 'sender.key');
if (cliMode) {
  const keygen = (file) => {
    const r = spawnSync('node', [...CLI_FLAGS, cli, 'keygen', '-o', file], {
      cwd: root,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`saltbox keygen failed: ${r.stderr}`);
    return r.stdout.split('\n')[0].trim();
  };
  keygen(senderKey);
  for (let i = 0; i < maxN; i++) {
    const file = join(dir, `r${i}.key`);
    saltboxKeys.push({ file, pk: keygen(file) });
  }
}

// Keys for the library stand-in (hex secrets), made in process: it runs as an extra row next to
// the CLI so the worker engine's effect stays visible until the CLI adopts it.
const standInKeys = []; // { file, pk }
const standInSender = join(dir, 'standin-sender.key');
{
  const sp = await import('@saltbox/saltpack');
  const b = await sp.loadBackend('native');
  const make = (file) => {
    const secret = b.randomBytes(32);
    writeFileSync(file, sp.toHex(secret) + '\n', { mode: 0o600 });
    return sp.toHex(sp.boxKeyFromSecret(b, secret).publicKey);
  };
  make(standInSender);
  for (let i = 0; i < maxN; i++) {
    const file = join(dir, `s${i}.key`);
    standInKeys.push({ file, pk: make(file) });
  }
  for (const n of counts) {
    writeFileSync(
      join(dir, `standin-recipients-${n}`),
      standInKeys
        .slice(0, n)
        .map((k) => k.pk)
        .join('\n') + '\n',
    );
  }
}

const ageKeys = [];
if (haveAge) {
  for (let i = 0; i < maxN; i++) {
    const file = join(dir, `age${i}.key`);
    const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
    const m = /age1[0-9a-z]+/.exec(r.stderr + readFileSync(file, 'utf8'));
    ageKeys.push({ file, pk: m[0] });
  }
  for (const n of counts) {
    writeFileSync(
      join(dir, `age-recipients-${n}`),
      ageKeys
        .slice(0, n)
        .map((k) => k.pk)
        .join('\n') + '\n',
    );
  }
}

const npmKeysFile = join(dir, 'npm-keys.json');
writeFileSync(
  npmKeysFile,
  JSON.stringify({
    sender: randomFillSync(Buffer.alloc(32)).toString('hex'),
    recipients: Array.from({ length: maxN }, () =>
      randomFillSync(Buffer.alloc(32)).toString('hex'),
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// The tools. Decryption uses the last recipient's key, as specs/crypto-benchmarks.md §3 did.

const standInArgs = useEngine ? [] : ['--no-engine'];
const standInTool = {
  name: `saltbox library stand-in (${useEngine ? 'worker engine' : 'no engine'})`,
  key: 'lib',
  encrypt: (n, i, o) => [
    'node',
    [standIn, 'encrypt', standInSender, join(dir, `standin-recipients-${n}`), i, o, ...standInArgs],
  ],
  decrypt: (n, i, o) => [
    'node',
    [standIn, 'decrypt', standInKeys[n - 1].file, i, o, ...standInArgs],
  ],
};
const cliTool = cliMode && {
  name: 'saltbox (CLI)',
  key: 'cli',
  encrypt: (n, i, o) => [
    'node',
    [
      ...CLI_FLAGS,
      cli,
      'encrypt',
      ...saltboxKeys.slice(0, n).flatMap((k) => ['-r', k.pk]),
      ...(cliMode.withSender ? ['-k', senderKey] : []),
      '-i',
      i,
      '-o',
      o,
    ],
  ],
  decrypt: (n, i, o) => [
    'node',
    [...CLI_FLAGS, cli, 'decrypt', '-k', saltboxKeys[n - 1].file, '-i', i, '-o', o],
  ],
};
/** The row the ratios and targets are judged on: the CLI when it works, else the stand-in. */
const primary = cliTool || standInTool;
const tools = [
  primary,
  ...(cliTool && !flag('--no-stand-in') ? [standInTool] : []),
  ...(haveAge
    ? [
        {
          name: 'age 1.1.1 (Go)',
          key: 'age',
          encrypt: (n, i, o) => ['age', ['-R', join(dir, `age-recipients-${n}`), '-o', o, i]],
          decrypt: (n, i, o) => ['age', ['-d', '-i', ageKeys[n - 1].file, '-o', o, i]],
        },
      ]
    : []),
  {
    name: '@samuelthomas2774/saltpack 0.4.0',
    key: 'npm',
    encrypt: (n, i, o) => ['node', [npmLib, 'encrypt', npmKeysFile, String(n), i, o]],
    decrypt: (n, i, o) => ['node', [npmLib, 'decrypt', npmKeysFile, String(n - 1), i, o]],
  },
];
if (haveAge) {
  const v = spawnSync('age', ['--version'], { encoding: 'utf8' }).stdout.trim();
  tools.find((t) => t.key === 'age').name = `age ${v} (Go)`;
}

// ---------------------------------------------------------------------------------------------
// Throughput runs

async function runPair(tool, n, input, bytes, inputHash) {
  const enc = join(dir, `${tool.key}.enc`);
  const out = join(dir, `${tool.key}.out`);
  const e = await measure(...tool.encrypt(n, input, enc));
  const d = await measure(...tool.decrypt(n, enc, out));
  const got = await sha256(out);
  if (got !== inputHash)
    throw new Error(`${tool.name}, ${n} recipients: decrypted output differs from the input`);
  rmSync(enc, { force: true });
  rmSync(out, { force: true });
  return {
    encMBs: bytes / 1e6 / e.seconds,
    decMBs: bytes / 1e6 / d.seconds,
    encRss: e.rss,
    decRss: d.rss,
  };
}

const input = join(dir, 'input.bin');
const bytes = sizeMiB * MiB;
log(`writing ${sizeMiB} MiB of random data…`);
writeRandomFile(input, bytes);
const inputHash = await sha256(input); // also warms the page cache for every tool alike

const results = new Map(); // `${tool.key}/${n}` → list of runs
for (let rep = 0; rep < reps; rep++) {
  for (const n of counts) {
    for (const tool of tools) {
      log(`rep ${rep + 1}/${reps}: ${tool.name}, ${n} recipient(s)…`);
      const r = await runPair(tool, n, input, bytes, inputHash);
      const k = `${tool.key}/${n}`;
      results.set(k, [...(results.get(k) ?? []), r]);
    }
  }
}
const med = (key, n, field) => median(results.get(`${key}/${n}`).map((r) => r[field]));

// ---------------------------------------------------------------------------------------------
// Header cost, in process: encrypting an empty message is the header plus one 16-byte packet.

log('header cost…');
const headerScript = `
  import { encrypt, generateBoxKey, loadBackend } from '@saltbox/saltpack';
  const b = await loadBackend('native');
  const out = {};
  for (const n of [100, 1000]) {
    const recipients = Array.from({ length: n }, () => generateBoxKey(b).publicKey);
    const sender = generateBoxKey(b);
    const empty = new Uint8Array(0);
    await encrypt(empty, { recipients, sender, backend: b }); // warm-up (JIT, shared-key caches stay cold: new keys below)
    const times = [];
    for (let i = 0; i < ${quick ? 5 : 9}; i++) {
      const s = generateBoxKey(b); // a fresh sender each run, so no cached shared secrets help
      const t = performance.now();
      await encrypt(empty, { recipients, sender: s, backend: b });
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    out[n] = times[times.length >> 1];
  }
  process.stdout.write(JSON.stringify(out));
`;
const hr = spawnSync('node', ['--input-type=module', '-e', headerScript], {
  cwd: root,
  encoding: 'utf8',
});
if (hr.status !== 0) throw new Error(`header benchmark failed: ${hr.stderr}`);
const header = JSON.parse(hr.stdout);

// ---------------------------------------------------------------------------------------------
// 1 GiB: saltbox's peak RSS must not grow with the input.

const bigBytes = 1024 * MiB;
let big = null;
const room = (() => {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
})();
const wantBig = flag('--big') || (!flag('--no-big') && !quick && room > bigBytes * 3.3);
if (wantBig) {
  rmSync(input, { force: true });
  const bigInput = join(dir, 'big.bin');
  log('writing 1 GiB of random data for the RSS run…');
  writeRandomFile(bigInput, bigBytes);
  const bigHash = await sha256(bigInput);
  log(`${primary.name}, 1 GiB, 10 recipients…`);
  big = await runPair(primary, Math.min(10, maxN), bigInput, bigBytes, bigHash);
  rmSync(bigInput, { force: true });
} else {
  log('skipping the 1 GiB run (--quick, --no-big, or not enough space in the temp directory)');
}

// ---------------------------------------------------------------------------------------------
// Report

const mbs = (x) => (x === undefined ? '–' : x.toFixed(0));
const mib = (x) => (x === undefined ? '–' : `${(x / MiB).toFixed(0)} MiB`);
const ratio = (a, b) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
const lines = [];
const p = (s = '') => lines.push(s);

p(`### Saltpack benchmark — ${new Date().toISOString().slice(0, 10)}`);
p();
p(
  `${sizeMiB} MiB random file, file to file, whole process (including start-up); median of ${reps} run(s); ` +
    `MB = 10^6 B; peak RSS from ${haveGnuTime ? 'GNU time' : '/proc VmHWM'}. Node ${process.version}, ` +
    `${(await import('node:os')).cpus().length} CPUs.`,
);
p();
p('| tool | recipients | encrypt MB/s | encrypt peak RSS | decrypt MB/s | decrypt peak RSS |');
p('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const n of counts) {
  for (const t of tools) {
    p(
      `| ${t.name} | ${n} | ${mbs(med(t.key, n, 'encMBs'))} | ${mib(med(t.key, n, 'encRss'))} | ${mbs(med(t.key, n, 'decMBs'))} | ${mib(med(t.key, n, 'decRss'))} |`,
    );
  }
}
p();
p(
  '| recipients | saltbox ÷ npm lib, encrypt | saltbox ÷ npm lib, decrypt | saltbox ÷ age, encrypt | saltbox ÷ age, decrypt |',
);
p('| ---: | ---: | ---: | ---: | ---: |');
for (const n of counts) {
  const s = (f) => med(primary.key, n, f);
  const a = (f) => (haveAge ? med('age', n, f) : undefined);
  p(
    `| ${n} | ${ratio(s('encMBs'), med('npm', n, 'encMBs'))} | ${ratio(s('decMBs'), med('npm', n, 'decMBs'))} | ${ratio(s('encMBs'), a('encMBs'))} | ${ratio(s('decMBs'), a('decMBs'))} |`,
  );
}
p();
p(
  `Header cost (in process, native backend, encrypting an empty message, median of ${quick ? 5 : 9}): ` +
    `**${header[100].toFixed(1)} ms** at 100 recipients, **${header[1000].toFixed(1)} ms** at 1000.`,
);
p();
if (big) {
  p(
    `1 GiB file, 10 recipients, ${primary.name}: encrypt ${mbs(big.encMBs)} MB/s, peak RSS ${mib(big.encRss)}; ` +
      `decrypt ${mbs(big.decMBs)} MB/s, peak RSS ${mib(big.decRss)}.`,
  );
  p();
}

// Targets of issue 2, judged at 10 recipients (or the largest count run, for --quick).
const tn = counts.includes(10) ? 10 : counts[counts.length - 1];
const rssAll = [...results.entries()]
  .filter(([k]) => k.startsWith(`${primary.key}/`))
  .flatMap(([, rs]) => rs.flatMap((r) => [r.encRss, r.decRss]));
if (big) rssAll.push(big.encRss, big.decRss);
const maxRss = Math.max(...rssAll);
const sEnc = med(primary.key, tn, 'encMBs');
const sDec = med(primary.key, tn, 'decMBs');
const check = (ok) => (ok ? 'met' : '**missed**');
const targets = [
  [
    'encrypt ≥ 6× npm lib',
    `${ratio(sEnc, med('npm', tn, 'encMBs'))}`,
    sEnc >= 6 * med('npm', tn, 'encMBs'),
  ],
  [
    'decrypt ≥ 6× npm lib',
    `${ratio(sDec, med('npm', tn, 'decMBs'))}`,
    sDec >= 6 * med('npm', tn, 'decMBs'),
  ],
  ...(haveAge
    ? [
        [
          'encrypt ≥ 0.6× age',
          `${ratio(sEnc, med('age', tn, 'encMBs'))}`,
          sEnc >= 0.6 * med('age', tn, 'encMBs'),
        ],
        [
          'decrypt ≥ 0.6× age',
          `${ratio(sDec, med('age', tn, 'decMBs'))}`,
          sDec >= 0.6 * med('age', tn, 'decMBs'),
        ],
      ]
    : []),
  [
    `peak RSS ≤ 100 MiB (every saltbox run${big ? ', 1 GiB included' : ''})`,
    mib(maxRss),
    maxRss <= 100 * MiB,
  ],
  ['header ≤ 15 ms at 100 recipients', `${header[100].toFixed(1)} ms`, header[100] <= 15],
  ['header ≤ 100 ms at 1000 recipients', `${header[1000].toFixed(1)} ms`, header[1000] <= 100],
];
p(`| target (issue 2; throughput at ${tn} recipients) | measured | |`);
p('| --- | ---: | --- |');
for (const [what, got, ok] of targets) p(`| ${what} | ${got} | ${check(ok)} |`);
if (!cliMode) {
  p();
  p(
    'saltbox rows ran bench/stand-in.mjs (the library streaming file to file) because the CLI could not encrypt yet.',
  );
}

process.stdout.write(lines.join('\n') + '\n');
