/**
 * `npm run chain-vectors -- --dir <path>`: runs `<path>/chain_tests.json` against the chains in
 * `<path>/chains/`, prints one line per failing test and ends with `N passed, M failed`.
 * Exits non-zero when anything failed.
 */
import { defaultBackend } from '@saltbox/saltpack';
import { loadChainTests, runChainTest } from './chain-vector-runner.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--dir');
  const dir = i >= 0 ? args[i + 1] : undefined;
  if (dir === undefined) {
    console.error('usage: chain-vectors --dir <path containing chain_tests.json and chains/>');
    return 2;
  }
  let tests;
  try {
    tests = loadChainTests(dir);
  } catch (e) {
    console.error(`cannot read ${dir}/chain_tests.json: ${(e as Error).message}`);
    return 2;
  }
  const backend = await defaultBackend();
  let passed = 0;
  let failed = 0;
  for (const [name, test] of Object.entries(tests)) {
    const r = await runChainTest(backend, dir, name, test);
    if (r.ok) passed++;
    else {
      failed++;
      console.log(`FAIL ${name}: ${r.reason}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
