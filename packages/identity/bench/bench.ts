/**
 * `npm run bench:identity`: user-chain verification timings.
 *
 * - max_chain.json (313 live links, mostly PGP-signed) from Keybase's vectors;
 * - a generated 1000-link NaCl chain (goal ≤ 200 ms);
 * - extending a verified 1000-link state by one link (goal ≤ 1 ms).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultBackend } from '@saltbox/saltpack';
import { buildKeyFamily, extendUserChain, verifyUserChain } from '../src/index.js';
import { generateChain } from './chain-gen.js';

const VECTORS = process.env.KEYBASE_VECTORS ?? '/work/shared/vectors/keybase';

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

async function time<T>(runs: number, f: () => Promise<T>): Promise<{ median: number; last: T }> {
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, last };
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
  `max_chain.json (${max.chain.length} links, PGP + NaCl): ${ms(maxRun.median)} median of 5, ${maxRun.last.linkCount} live links`,
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
    `generated 1000-link NaCl chain (sig v${version}): ${ms(full.median)} median of 7 (goal ≤ 200 ms)`,
  );
  const extra = Array.from({ length: 50 }, () => chain.next());
  const family2 = await buildKeyFamily(backend, chain.keys);
  let state = full.last.state;
  const times: number[] = [];
  for (const link of extra) {
    const t0 = performance.now();
    state = (await extendUserChain(backend, state, [link], family2)).state;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `  incremental: one new link on a verified 1000-link state: ${ms(times[25]!)} median of 50 (goal ≤ 1 ms)`,
  );
}
