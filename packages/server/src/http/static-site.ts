/**
 * The static web app (DESIGN.md, server: "static web app"): the browser app's files served at
 * `/` beside the API, from an in-memory {@link StaticSite} (`static-files.ts` loads one from
 * `packages/web/dist` on Node). Only files in the site are served — there is no path mapping
 * onto the file system — and the API's namespaces (`/api/`, `/_/`) never fall through to it.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles, workers and fetches
 * only from this origin; `'wasm-unsafe-eval'` so libsodium's WebAssembly can be compiled (no JS
 * `eval`); no frames, no plugins, no base-URI or form-target changes. `index.html` is never
 * cached; other files are revalidated against their ETag.
 *
 * @packageDocumentation
 */
import type { Context } from 'hono';

/** One file of the site. */
export interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** A strong validator (quoted), e.g. a hash of the body. */
  etag: string;
}

/** The web app's files by URL path (`/index.html`, `/app.js`, …). */
export interface StaticSite {
  get(path: string): StaticFile | undefined;
}

/** The Content-Security-Policy of every static answer. */
export const WEB_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Content types by file extension (the files the web build emits). */
export const STATIC_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const API_PREFIXES = ['/api/', '/_/'];

/**
 * The answer for a GET or HEAD of a file of `site`, or undefined (the caller answers its JSON
 * 404). `/` is `/index.html`. The app calls it from its not-found handler, after every API
 * route: registered as a catch-all route it matched every GET, and logs and metrics then named
 * every request `/*` (issue #12.14); the app names these answers `static`.
 */
export function staticSiteResponse(c: Context, site: StaticSite): Response | undefined {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return undefined;
  const path = c.req.path === '/' ? '/index.html' : c.req.path;
  const file = API_PREFIXES.some((p) => path.startsWith(p)) ? undefined : site.get(path);
  if (file === undefined) return undefined;
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'content-security-policy': WEB_CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
    etag: file.etag,
    // The page is never cached (so a new build is picked up at once); the scripts and the
    // rest are revalidated each time, cheaply, through their ETag.
    'cache-control': path.endsWith('.html') ? 'no-store' : 'no-cache',
  };
  if (c.req.header('if-none-match') === file.etag && !path.endsWith('.html'))
    return c.body(null, 304, headers);
  if (c.req.method === 'HEAD') return c.body(null, 200, headers);
  return c.body(file.body, 200, headers);
}
