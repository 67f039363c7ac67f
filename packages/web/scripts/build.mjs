// Bundles the web app into dist/: app.js (the page), keystore-worker.js (the keystore Web
// Worker), index.html and style.css. esbuild reads the workspace packages' TypeScript sources
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
  for (const f of await readdir(staging)) await rename(join(staging, f), join(dist, f));
} finally {
  await rm(staging, { recursive: true, force: true });
}
