/**
 * `npm run vectors -- --dir <path> [--backend native|portable|both] [--feed oneshot|stream|bytewise|all]`
 *
 * Runs every Saltpack vector file in a directory of the shared schema and prints one line per
 * failing check, then `N passed, M failed`. Exits non-zero if anything failed.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/backend/index.js';
import { checkReseal, checkVector, isResealable, loadVectorDir } from '../test/vector-runner.js';
import type { Feed } from '../test/vector-runner.js';

const { values } = parseArgs({
  options: {
    dir: {
      type: 'string',
      default: resolve(import.meta.dirname, '../test/vectors'),
    },
    backend: { type: 'string', default: 'both' },
    feed: { type: 'string', default: 'all' },
  },
});

const backends: BackendName[] =
  values.backend === 'both' ? ['native', 'portable'] : [values.backend as BackendName];
const feeds: Feed[] =
  values.feed === 'all' ? ['oneshot', 'stream', 'bytewise'] : [values.feed as Feed];
const BYTEWISE_LIMIT = 64 * 1024; // see test/vectors.test.ts for why

let passed = 0;
let failed = 0;
const files = loadVectorDir(values.dir);
if (files.every((f) => f.vectors.length === 0)) {
  process.stderr.write(`vectors: no vector files found in ${values.dir}\n`);
  process.exitCode = 2;
}
for (const name of backends) {
  const be = await loadBackend(name);
  for (const { file, vectors } of files) {
    for (const v of vectors) {
      const size = (v.message_b64?.length ?? 0) + (v.message_armored?.length ?? 0);
      for (const feed of feeds) {
        if (feed === 'bytewise' && size > BYTEWISE_LIMIT) continue;
        let problem: string | null;
        try {
          problem = await checkVector(v, be, feed);
        } catch (e) {
          problem = `runner error: ${e instanceof Error ? e.message : String(e)}`;
        }
        if (problem === null) passed++;
        else {
          failed++;
          console.log(`FAIL ${file} ${v.id} [${name} ${feed}]: ${problem}`);
        }
      }
      if (isResealable(v)) {
        const problem = await checkReseal(v, be).catch(
          (e: unknown) => `runner error: ${String(e)}`,
        );
        if (problem === null) passed++;
        else {
          failed++;
          console.log(`FAIL ${file} ${v.id} [${name} reseal]: ${problem}`);
        }
      }
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) process.exitCode = 1;
