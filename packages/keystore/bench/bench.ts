/**
 * `npm run bench:keystore`: latency of small keystore operations in-process vs through the
 * agent (a separate process on a Unix socket), and the cost of a 1000-item KV-seal batch against
 * the sum of 1000 single-item calls.
 *
 * Targets (issue 4): the agent adds at most 1 ms at p99 for small operations; a 1000-item batch
 * costs at most 2× the sum of its items in-process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decrypt, defaultBackend, encrypt, generateBoxKey } from '@saltbox/saltpack';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { KeystoreApi } from '@saltbox/keystore';
import {
  inProcessClient,
  keystoreKeyring,
  kidPublicKey,
  memoryStore,
  openKeystore,
} from '@saltbox/keystore';
import { connectAgent } from '@saltbox/keystore/node';

const backend = await defaultBackend();
const ITER = Number(process.env.BENCH_ITER ?? 2000);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeEach(
  n: number,
  fn: () => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(200, n); i++) await fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { p50: percentile(t, 50), p99: percentile(t, 99) };
}

const ms = (x: number) => `${x.toFixed(3)} ms`;

async function prepare(ks: KeystoreApi, teamId: string) {
  const dev = await ks.createDevice({ name: 'bench', type: 'bot' });
  await ks.createKeyBoxes({
    key: { kind: 'team', teamId },
    generation: 'new',
    senderKid: dev.encryptionKid,
    recipients: [],
  });
  return dev;
}

async function scenario(name: string, ks: KeystoreApi) {
  const teamId = 'ab'.repeat(15) + '24';
  const dev = await prepare(ks, teamId);
  const message = utf8('POST /api/v1/kv 1700000000 nonce');
  const sign = await timeEach(ITER, () =>
    ks.sign({ items: [{ kid: dev.signingKid, purpose: 'http_request', message }] }),
  );

  // A 10-recipient message to the keystore's device key: full Saltpack decrypt with the
  // keystore keyring (one unboxBatch + one boxBatch per header).
  const others = Array.from({ length: 9 }, () => generateBoxKey(backend).publicKey);
  const ct = await encrypt(utf8('x'), {
    recipients: [...others, kidPublicKey(dev.encryptionKid)],
    sender: generateBoxKey(backend),
    backend,
  });
  const keyring = await keystoreKeyring(ks);
  const header = await timeEach(Math.floor(ITER / 2), () => decrypt(ct, { keyring, backend }));

  // Hidden-recipient worst case: 10 payload-key unbox trials in one batch call.
  const sender = generateBoxKey(backend);
  const nonce = (i: number) => {
    const n = new Uint8Array(24);
    n.set(utf8('saltpack_recipsb'));
    new DataView(n.buffer).setUint32(20, i);
    return n;
  };
  // A local key answers synchronously.
  const boxes = Array.from(
    { length: 10 },
    (_, i) =>
      sender.box(kidPublicKey(dev.encryptionKid), nonce(i), backend.randomBytes(32)) as Uint8Array,
  );
  const unbox10 = await timeEach(Math.floor(ITER / 2), () =>
    ks.unboxBatch({
      items: boxes.map((box, i) => ({
        kid: dev.encryptionKid,
        peer: sender.publicKey,
        nonce: nonce(i),
        box,
      })),
    }),
  );

  // KV seal: one 1000-item batch vs 1000 single-item calls (100-byte values).
  const item = (i: number) => ({
    teamId,
    generation: 1,
    signerKid: dev.signingKid,
    plaintext: utf8(`value ${i} `.padEnd(100, '.')),
  });
  const batchTimes: number[] = [];
  const sumTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    let s = performance.now();
    const res = await ks.sealKv({ items: Array.from({ length: 1000 }, (_, i) => item(i)) });
    batchTimes.push(performance.now() - s);
    if (res.items.some((x) => 'error' in x)) throw new Error('seal failed');
    s = performance.now();
    for (let i = 0; i < 1000; i++) await ks.sealKv({ items: [item(i)] });
    sumTimes.push(performance.now() - s);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return { name, sign, header, unbox10, batch: med(batchTimes), sum: med(sumTimes) };
}

// In-process: the in-process client (request validation included) over a memory keystore.
const local = await openKeystore({
  store: memoryStore(),
  kdf: { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } },
  backend,
});
await local.unlock({ passphrase: 'bench', create: true });
const inProc = await scenario('in-process', inProcessClient(local));

// Agent: a separate process, file keystore, JSON-RPC over a Unix socket.
const dir = await mkdtemp(join(tmpdir(), 'sbkb-'));
const socketPath = join(dir, 'agent.sock');
const child = spawn(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    fileURLToPath(new URL('./agent-child.ts', import.meta.url)),
    join(dir, 'ks'),
    socketPath,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise<void>((resolve) => {
  child.stdout.on('data', (b: Buffer) => {
    if (b.toString().includes('ready')) resolve();
  });
});
const client = await connectAgent(socketPath);
await client.unlock({ passphrase: 'bench', create: true });
const viaAgent = await scenario('agent', client);
await client.stopAgent();
await client.close();
await rm(dir, { recursive: true, force: true });

console.log(`keystore benchmark (${backend.name} backend, ${ITER} iterations for sign)`);
console.log('');
console.log(
  '| operation | in-process p50 | in-process p99 | agent p50 | agent p99 | agent − in-process (p99) |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [label, key] of [
  ['sign (1 item, http_request)', 'sign'],
  ['decrypt 10-recipient Saltpack message (keyring)', 'header'],
  ['unboxBatch of 10 payload-key boxes', 'unbox10'],
] as const) {
  const a = inProc[key];
  const b = viaAgent[key];
  console.log(
    `| ${label} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(b.p50)} | ${ms(b.p99)} | ${ms(b.p99 - a.p99)} |`,
  );
}
console.log('');
console.log(
  '| KV seal, 1000 × 100 B | one 1000-item batch | 1000 single calls (sum) | batch / sum |',
);
console.log('| --- | --- | --- | --- |');
for (const r of [inProc, viaAgent]) {
  console.log(`| ${r.name} | ${ms(r.batch)} | ${ms(r.sum)} | ${(r.batch / r.sum).toFixed(2)} |`);
}
await local.close();
