import { describe, expect, it } from 'vitest';
import { loadChainTests, runChainTest } from '../scripts/chain-vector-runner.js';
import { BACKEND_NAMES, backend, VECTORS } from './helpers.js';

const tests = loadChainTests(VECTORS);

describe.each(BACKEND_NAMES)("Keybase's chain_tests.json (%s backend)", (name) => {
  it('holds 57 tests', () => {
    expect(Object.keys(tests)).toHaveLength(57);
  });

  it.each(Object.entries(tests))('%s', async (testName, test) => {
    const outcome = await runChainTest(await backend(name), VECTORS, testName, test);
    expect(outcome.reason).toBe('');
    expect(outcome.ok).toBe(true);
  });
});
