/**
 * `npm run bench:provider`: keeper encrypt/decrypt of a 32-byte data key, p50/p95/p99, with 1,
 * 10, 100 and 1000 recipients — in-process keystore, through a keystore agent (real Unix
 * socket), and through the Vault bridge (real TCP, the hashivault keeper's requests) — plus a
 * simulated 100-operation session showing how many directory calls the key cache avoids.
 *
 * Recipients are real users signed up on a real server (SQLite); their keys are resolved and
 * verified once before timing (the steady state the cache gives), so the timings are the
 * keeper's own work: Saltpack with one X25519 box per recipient key (PUK + device = 2 per
 * user) and, for decryption, the keystore round trips.
 *
 * The agent and the bridge run in this process (separate sockets, same event loop), so their
 * numbers include both ends' work on one thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectAgent, startAgent } from '@saltbox/keystore/node';
import { newDevice, signupUser } from '../../client/test/helpers.js';
import {
  CachedDirectory,
  fileKeyCacheStore,
  hashivaultKeeper,
  newVaultToken,
  saltboxKeeper,
  startVaultBridge,
  userDirectory,
} from '../src/index.js';
import { LogClient, MemoryChainCache, MemoryPinStore, UserLoader } from '@saltbox/client';
import { uidFromUsername } from '@saltbox/identity';
import type { Keeper, Recipient } from '../src/index.js';
import { backend, startWorld } from '../test/helpers.js';

/** `BENCH_PROVIDER_SIZES=1,10,100` runs only those rows (and signs up only as many users). */
const SIZES = (process.env.BENCH_PROVIDER_SIZES ?? '1,10,100,1000').split(',').map(Number);
const MAX = Math.max(...SIZES);
const ITERATIONS: Record<number, number> = { 1: 300, 10: 300, 100: 60, 1000: 20 };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${pct(s, 50).toFixed(2)} / ${pct(s, 95).toFixed(2)} / ${pct(s, 99).toFixed(2)}`;
}
async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(5, n); i++) await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

const world = await startWorld();
const dir = await mkdtemp(join(tmpdir(), 'saltbox-bench-provider-'));
try {
  const alice = await world.signup('alice');
  const others: string[] = [];
  process.stdout.write(`signing up ${MAX - 1} recipients`);
  for (let i = 1; i < MAX; i++) {
    const name = `user${String(i).padStart(4, '0')}`;
    await signupUser(backend, world.url, name, newDevice(backend));
    others.push(name);
    if (i % 100 === 0) process.stdout.write('.');
  }
  process.stdout.write('\n');

  const directory = new CachedDirectory(alice.directory, { ttlSeconds: 86_400 });
  const recipientsOf = (n: number): Recipient[] => [
    { kind: 'user', name: 'alice' },
    ...others.slice(0, n - 1).map((name) => ({ kind: 'user' as const, name })),
  ];
  // Resolve and verify every recipient once (not timed).
  for (const r of recipientsOf(MAX)) await directory.resolve(r);

  const socket = join(dir, 'agent.sock');
  const agent = await startAgent({ socketPath: socket, keystore: alice.ks });
  const agentClient = await connectAgent(socket);
  const token = newVaultToken();
  const bridgeKeepers = new Map<string, Keeper>();
  const bridge = await startVaultBridge({
    listen: '127.0.0.1:0',
    token,
    keeperFor: (name) => {
      const k = bridgeKeepers.get(name);
      if (!k) throw new Error('unknown key');
      return Promise.resolve(k);
    },
    // Decryption ignores the key name: one keeper of alice's, through the agent.
    decrypter: () =>
      Promise.resolve(
        saltboxKeeper({
          recipients: [{ kind: 'user', name: 'alice' }],
          directory,
          keystore: () => Promise.resolve(agentClient),
          backend,
        }),
      ),
  });

  const load = loadavg()[0]!.toFixed(2);
  console.log(
    `\nkeeper encrypt / decrypt of a 32-byte key, ms p50 / p95 / p99 (load average ${load})`,
  );
  console.log('| recipients | path | encrypt | decrypt |');
  console.log('| --- | --- | --- | --- |');
  const key = crypto.getRandomValues(new Uint8Array(32));
  for (const n of SIZES) {
    const recipients = recipientsOf(n);
    const inProcess = saltboxKeeper({
      recipients,
      directory,
      keystore: () => Promise.resolve(alice.ks),
      backend,
    });
    const viaAgent = saltboxKeeper({
      recipients,
      directory,
      keystore: () => Promise.resolve(agentClient),
      backend,
    });
    const keyName = `set${n}`;
    bridgeKeepers.set(keyName, viaAgent);
    const viaBridge = hashivaultKeeper({ address: bridge.address, token, keyId: keyName });
    for (const [path, k] of [
      ['in-process', inProcess],
      ['agent', viaAgent],
      ['vault bridge (agent behind it)', viaBridge],
    ] as const) {
      const iters = ITERATIONS[n]!;
      const ct = await k.encrypt(key);
      const e = await time(iters, () => k.encrypt(key));
      const d = await time(iters, () => k.decrypt(ct));
      console.log(`| ${n} | ${path} | ${summary(e)} | ${summary(d)} |`);
    }
  }

  // device_keys=false: one Saltpack receiver per user (the PUK key) instead of PUK + device.
  for (const n of SIZES.filter((x) => x >= 100)) {
    const pukOnly = saltboxKeeper({
      recipients: recipientsOf(n),
      directory,
      keystore: () => Promise.resolve(alice.ks),
      backend,
      deviceKeys: false,
    });
    const iters = ITERATIONS[n]!;
    const ct = await pukOnly.encrypt(key);
    const e = await time(iters, () => pukOnly.encrypt(key));
    const d = await time(iters, () => pukOnly.decrypt(ct));
    console.log(`| ${n} | in-process, device_keys=false | ${summary(e)} | ${summary(d)} |`);
  }

  // Cold resolution: a new process's first encryption — every recipient's chain fetched and
  // verified by a fresh user loader (what the log's per-load tail proof adds to).
  console.log(
    '\ncold resolution of n users (fresh loader, concurrent as the keeper), ms p50 / p95 / p99',
  );
  console.log('| recipients | resolve |');
  console.log('| --- | --- |');
  const COLD_ITERATIONS: Record<number, number> = { 1: 100, 10: 40, 100: 10, 1000: 3 };
  for (const n of SIZES) {
    const recipients = recipientsOf(n);
    const cold = await time(COLD_ITERATIONS[n]!, async () => {
      const fresh = userDirectory({
        loader: new UserLoader({
          api: alice.api,
          backend,
          pins: new MemoryPinStore(),
          cache: new MemoryChainCache(),
        }),
      });
      await Promise.all(recipients.map((r) => fresh.resolve(r)));
    });
    console.log(`| ${n} | ${summary(cold)} |`);
  }

  // The freshness check of n cached recipients after the log root moved: one root (with its
  // consistency proof) and one batch map-proof request for all n (#14.9).
  console.log('\nlog check of n cached users after the root moved, ms p50 / p95 / p99');
  console.log('| recipients | root + batch proofs |');
  console.log('| --- | --- |');
  for (const n of SIZES) {
    const uids = recipientsOf(n).map((r) => uidFromUsername(backend, r.name));
    const check = await time(COLD_ITERATIONS[n]! * 2, async () => {
      const log = new LogClient({ api: alice.api, backend, freshMs: 0 });
      await log.tailsAt(uids);
    });
    console.log(`| ${n} | ${summary(check)} |`);
  }

  // A session of 100 operations: a team of 5 encrypting and decrypting secrets, on a fresh
  // on-disk cache, against the same verified directory.
  const session = new CachedDirectory(alice.directory, {
    store: fileKeyCacheStore(join(dir, 'home')),
    ttlSeconds: 86_400,
  });
  const sessionKeeper = saltboxKeeper({
    recipients: recipientsOf(5),
    directory: session,
    keystore: () => Promise.resolve(alice.ks),
    backend,
  });
  let resolutions = 0;
  for (let i = 0; i < 100; i++) {
    if (i % 2 === 0) {
      await sessionKeeper.encrypt(key);
      resolutions += 5;
    } else
      await sessionKeeper.decrypt(
        await sessionKeeper.encrypt(key).then((c) => ((resolutions += 5), c)),
      );
  }
  const { hits, misses } = session.stats;
  console.log(
    `\nsession: 100 operations, ${resolutions} recipient resolutions, ${misses} directory calls, ` +
      `${hits} cache hits — hit rate ${((100 * hits) / (hits + misses)).toFixed(1)}%, ` +
      `${((100 * (resolutions - misses)) / resolutions).toFixed(1)}% of directory calls avoided`,
  );

  console.log(`load average at the end: ${loadavg()[0]!.toFixed(2)}`);
  await bridge.close();
  await agentClient.close();
  await agent.stop();
} finally {
  await world.close();
  await rm(dir, { recursive: true, force: true });
}
