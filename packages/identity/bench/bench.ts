/**
 * `npm run bench:identity`: user-chain verification timings.
 *
 * - max_chain.json (313 live links, mostly PGP-signed) from Keybase's vectors;
 * - a generated 1000-link NaCl chain (goal ≤ 200 ms);
 * - extending a verified 1000-link state by one link (goal ≤ 1 ms).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultBackend } from '@saltbox/saltpack';
import { buildKeyFamily, extendUserChain, verifyUserChain } from '../src/index.js';
import { generateChain } from './chain-gen.js';

const VECTORS = process.env.KEYBASE_VECTORS ?? resolve(import.meta.dirname, '../test/vectors');

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

/** User + system CPU time in ms: on a loaded shared machine, wall time mostly measures others. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Timing<T> {
  median: number;
  cpuMedian: number;
  cpuBest: number;
  last: T;
}

async function time<T>(runs: number, f: () => Promise<T>): Promise<Timing<T>> {
  const wall: number[] = [];
  const cpu: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    last = await f();
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - t0);
  }
  return { median: median(wall), cpuMedian: median(cpu), cpuBest: Math.min(...cpu), last };
}

function cpuNote(t: Timing<unknown>): string {
  return `CPU median ${ms(t.cpuMedian)}, best ${ms(t.cpuBest)}`;
}

const backend = await defaultBackend();
console.log(`backend: ${backend.name}, node ${process.version}`);

const max = JSON.parse(readFileSync(join(VECTORS, 'chains', 'max_chain.json'), 'utf8'));
const maxFamily = await buildKeyFamily(backend, max.keys);
const maxRun = await time(5, () =>
  verifyUserChain(backend, {
    uid: max.uid,
    username: max.username,
    links: max.chain,
    keyFamily: maxFamily,
    eldestKid: maxFamily.kids[0]!,
  }),
);
console.log(
  `max_chain.json (${max.chain.length} links, PGP + NaCl): ${ms(maxRun.median)} median of 5 (${cpuNote(maxRun)}), ${maxRun.last.linkCount} live links`,
);

for (const version of [1, 2] as const) {
  const chain = generateChain(backend, 1000, version);
  const family = await buildKeyFamily(backend, chain.keys);
  const input = {
    uid: chain.uid,
    username: chain.username,
    links: chain.links,
    keyFamily: family,
    eldestKid: chain.eldestKid,
  };
  const full = await time(7, () => verifyUserChain(backend, input));
  console.log(
    `generated 1000-link NaCl chain (sig v${version}): ${ms(full.median)} median of 7 (${cpuNote(full)}; goal ≤ 200 ms)`,
  );
  const extra = Array.from({ length: 50 }, () => chain.next());
  const family2 = await buildKeyFamily(backend, chain.keys);
  let state = full.last.state;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (const link of extra) {
    const t0 = performance.now();
    const c0 = cpuMs();
    state = (await extendUserChain(backend, state, [link], family2)).state;
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - t0);
  }
  console.log(
    `  incremental: one new link on a verified 1000-link state: ${ms(median(wall))} median of 50 (CPU median ${ms(median(cpu))}, best ${ms(Math.min(...cpu))}; goal ≤ 1 ms)`,
  );
}
