/**
 * Loads the web app's built files (`packages/web/dist`) into a {@link StaticSite} on Node. The
 * directory is read once at start (the app is a few files of a few MiB); a missing directory
 * or `index.html` means no web app, and the server serves the API alone.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { StaticFile, StaticSite } from './http/static-site.js';
import { STATIC_CONTENT_TYPES } from './http/static-site.js';

/**
 * The built web app's directory (`@saltbox/web`'s `dist`), or null when the package or its
 * build is missing.
 */
export function defaultWebRoot(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('@saltbox/web/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : null;
  } catch {
    return null;
  }
}

/**
 * Reads every file directly in `dir` whose extension has a known content type.
 *
 * @throws Error (from the file system) when `dir` cannot be read.
 */
export async function loadStaticSite(dir: string): Promise<StaticSite> {
  const files = new Map<string, StaticFile>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const contentType = STATIC_CONTENT_TYPES[extname(entry.name)];
    if (contentType === undefined) continue;
    const body = new Uint8Array(await readFile(join(dir, entry.name)));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    files.set(`/${entry.name}`, { body, contentType, etag });
  }
  return { get: (path) => files.get(path) };
}
