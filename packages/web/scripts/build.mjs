// Bundles the web app into dist/: app.js (the page), keystore-worker.js (the keystore Web
// Worker), the chunks both import (chunk-HASH.js), index.html and style.css. esbuild reads the workspace packages' TypeScript sources
// (the `source` export condition), so the bundle does not wait for `tsc -b`; type checking is
// the root `npm run typecheck`.
//
// The build goes to a fresh temporary directory first and each file is then renamed into dist/
// (atomic per file): a server starting meanwhile (tests run in parallel) reads either the old
// or the new file, never a missing or half-written one.
import { build } from 'esbuild';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

await mkdir(dist, { recursive: true });
// Inside dist/ (ignored by git, lint and the server, which serves plain files only), so the
// renames stay on one file system.
const staging = await mkdtemp(join(dist, '.staging-'));
try {
  await build({
    entryPoints: {
      app: join(root, 'src/main.ts'),
      'keystore-worker': join(root, 'src/worker-main.ts'),
    },
    outdir: staging,
    bundle: true,
    // The page and the Worker share most of their code (libsodium's WebAssembly, zod,
    // openpgp.js, the identity and keystore packages): split into shared chunks, the browser
    // fetches it once for both instead of twice (issue #18 targets: JS+WASM ≤ 600 kB gzipped).
    splitting: true,
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css'])
    await copyFile(join(root, 'src', f), join(staging, f));
  const built = new Set(await readdir(staging));
  for (const f of built) await rename(join(staging, f), join(dist, f));
  // Scripts, maps and licence notes of earlier builds (chunks of other hashes, notes that
  // moved into a chunk) go once the new files are in place.
  for (const f of await readdir(dist))
    if (/\.js(\.map|\.LEGAL\.txt)?$/.test(f) && !built.has(f))
      await rm(join(dist, f), { force: true });
} finally {
  await rm(staging, { recursive: true, force: true });
}
