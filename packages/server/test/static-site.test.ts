/**
 * The static web app beside the API (`static-site.ts`, `static-files.ts`): a directory of built
 * files loaded by `loadStaticSite` and served by `createApp` after the API routes — `/` is
 * `index.html`, content types by extension, the CSP and other headers on every file,
 * `no-store` for the page and ETag revalidation for the rest, HEAD, and no fall-through from the
 * API namespaces or for unknown paths (the JSON 404 stays). Real SQLite in memory.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import type { LogEntry } from '../src/log.js';
import { loadStaticSite } from '../src/static-files.js';
import { WEB_CONTENT_SECURITY_POLICY } from '../src/http/static-site.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import type { Storage } from '../src/storage/types.js';

let dir = '';
let storage: Storage;
let app: App;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saltbox-static-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(join(dir, 'app.js'), 'console.log(1);');
  await writeFile(join(dir, 'style.css'), 'body{}');
  await writeFile(join(dir, 'notes.unknown'), 'not served: unknown extension');
  // A file under an API-looking name and one in a subdirectory are never served.
  await mkdir(join(dir, 'api'));
  await writeFile(join(dir, 'api', 'x.js'), 'nested');
  storage = await openSqliteStorage({ dataDir: ':memory:' });
  app = createApp({
    storage,
    backend: await defaultBackend(),
    logger: () => undefined,
    web: await loadStaticSite(dir),
  });
});

afterAll(async () => {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('static web app', () => {
  it('serves index.html at / with the CSP, never cached', async () => {
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<!doctype html><title>app</title>');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(WEB_CONTENT_SECURITY_POLICY);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // The same file by name: still never a 304 for the page.
    const etag = res.headers.get('etag')!;
    const again = await app.request('/index.html', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(200);
  });

  it('serves scripts and styles with their types, revalidated by ETag', async () => {
    const js = await app.request('/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('no-cache');
    const etag = js.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const cached = await app.request('/app.js', { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(await cached.text()).toBe('');
    const css = await app.request('/style.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await app.request('/app.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await head.text()).toBe('');
  });

  it('leaves the API, unknown paths and other methods to the JSON 404', async () => {
    const notFound = { error: { code: 'NOT_FOUND', message: 'no such route' } };
    for (const path of [
      '/api/x.js',
      '/api/v1/nothing',
      '/_/nothing.js',
      '/notes.unknown',
      '/missing.js',
      '/api',
    ]) {
      const res = await app.request(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(await res.json()).toEqual(notFound);
    }
    expect((await app.request('/app.js', { method: 'POST' })).status).toBe(404);
    // Dot segments are resolved by URL parsing before routing: only names in the site exist.
    expect(await (await app.request('/x/../app.js')).text()).toBe('console.log(1);');
    // API routes answer as before.
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
  });

  it('is absent when no site is given (API only)', async () => {
    const bare = createApp({ storage, backend: await defaultBackend(), logger: () => undefined });
    expect((await bare.request('/')).status).toBe(404);
  });

  it('names the route in logs and metrics: static for the files, the pattern for the API (#12.14)', async () => {
    const logs: LogEntry[] = [];
    const logged = createApp({
      storage,
      backend: await defaultBackend(),
      logger: (e) => logs.push(e),
      web: await loadStaticSite(dir),
    });
    for (const path of [
      '/',
      '/app.js',
      '/healthz',
      '/api/v1/me',
      '/api/v1/users/alice/chain',
      '/missing.js',
    ])
      await logged.request(path);
    expect(logs.filter((l) => l.msg === 'request').map((l) => [l.route, l.status])).toEqual([
      ['static', 200],
      ['static', 200],
      ['/healthz', 200],
      ['/api/v1/me', 401],
      ['/api/v1/users/:username/chain', 401],
      ['unmatched', 404],
    ]);
    const metrics = await (await logged.request('/metrics')).text();
    expect(metrics).toContain(
      'saltbox_http_requests_total{method="GET",route="static",status="200"} 2',
    );
    expect(metrics).toContain(
      'saltbox_http_requests_total{method="GET",route="/healthz",status="200"} 1',
    );
    expect(metrics).toContain(
      'saltbox_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1',
    );
    expect(metrics).not.toContain('route="/*"');
  });
});
