/**
 * The run budget and seed of the property and fuzz suites. CI uses a fixed seed per suite so a
 * red build reproduces; `SALTBOX_FUZZ_RUNS=N` runs N cases with a random seed (fast-check prints
 * it on failure) and `SALTBOX_FUZZ_SEED` replays one.
 */
import type fc from 'fast-check';

const LONG_RUNS = Number(process.env.SALTBOX_FUZZ_RUNS ?? '0');
const SEED_ENV = process.env.SALTBOX_FUZZ_SEED;

/** fast-check parameters: `ciRuns` cases with `ciSeed`, unless the environment asks for more. */
export function fuzzParams(ciRuns: number, ciSeed: number): fc.Parameters<unknown> {
  const seed =
    SEED_ENV !== undefined && SEED_ENV !== ''
      ? Number(SEED_ENV)
      : LONG_RUNS > 0
        ? Date.now() ^ (Math.random() * 0x7fffffff)
        : ciSeed;
  return { seed, numRuns: LONG_RUNS > 0 ? LONG_RUNS : ciRuns };
}
