// Bundles the web app into dist/: app.js (the page), keystore-worker.js (the keystore Web
// Worker), index.html and style.css. esbuild reads the workspace packages' TypeScript sources
// (the `source` export condition), so the bundle does not wait for `tsc -b`; type checking is
// the root `npm run typecheck`.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: {
    app: join(root, 'src/main.ts'),
    'keystore-worker': join(root, 'src/worker-main.ts'),
  },
  outdir: dist,
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
for (const f of ['index.html', 'style.css']) await copyFile(join(root, 'src', f), join(dist, f));
