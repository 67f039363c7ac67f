/**
 * The HTTP contract is the single source: these tests fail when the table, the server's routes
 * and the client's calls drift apart (the HTTP counterpart of the keystore's rpc-table test).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { CONTRACT, ENDPOINT_NAMES, endpointPath, parseAuthorization } from '@saltbox/protocol';
import type { EndpointName, EndpointParams } from '@saltbox/protocol';
import { createApp, openSqliteStorage } from '@saltbox/server';
import { ApiClient, isClientError } from '../src/index.js';
import { newDevice, signer } from './helpers.js';

const backend = await defaultBackend();

/** Written out by hand on purpose: adding an endpoint must touch this list, type and runtime. */
const DECLARED = [
  'health',
  'metrics',
  'signup',
  'usersLookup',
  'chain',
  'appendLinks',
  'putPukBoxes',
  'keyOwner',
  'whoami',
  'myPukBoxes',
  'keybaseLookup',
  'createTeam',
  'listTeams',
  'deleteTeam',
  'teamChain',
  'appendTeamLinks',
  'teamKeyBoxes',
  'kvGet',
  'kvPut',
  'kvDelete',
  'kvBatchGet',
  'kvNamespaces',
  'kvKeys',
  'kvChanges',
  'logRoot',
  'logConsistency',
  'logProof',
  'logProofs',
  'logChanges',
] as const;

/** Endpoints no saltbox client calls: `/metrics` is for a Prometheus scraper. */
const SERVER_ONLY: readonly EndpointName[] = ['metrics'];

const key = (method: string, path: string) => `${method} ${path}`;

/** The `call('name'` sites in the client's and the CLI's sources. */
function calledNames(): Set<string> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts'))
        for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/\bcall\('(\w+)'/g))
          names.add(m[1]!);
    }
  };
  walk(join(root, 'client/src'));
  walk(join(root, 'cli/src'));
  return names;
}

describe('http contract', () => {
  it('declares exactly the endpoints the type declares', () => {
    expectTypeOf<(typeof DECLARED)[number]>().toEqualTypeOf<EndpointName>();
    expect([...ENDPOINT_NAMES].sort()).toEqual([...DECLARED].sort());
    const routes = ENDPOINT_NAMES.map((n) => key(CONTRACT[n].method, CONTRACT[n].path));
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('is served by the server, route for route: no handler missing, none outside the table', async () => {
    const storage = await openSqliteStorage({ dataDir: ':memory:' });
    try {
      const app = createApp({ storage, backend });
      app.stop();
      const served = app.routes.map((r) => key(r.method, r.path)).sort();
      const declared = ENDPOINT_NAMES.map((n) => key(CONTRACT[n].method, CONTRACT[n].path));
      expect(served).toEqual(declared.sort());
    } finally {
      await storage.close();
    }
  });

  it('is called by the client: every endpoint but the server-only ones has a call site', () => {
    const called = calledNames();
    for (const n of called) expect(ENDPOINT_NAMES).toContain(n);
    expect([...called].sort()).toEqual(
      ENDPOINT_NAMES.filter((n) => !SERVER_ONLY.includes(n)).sort(),
    );
  });

  it('derives each call from its entry: method, path with encoded parameters, query, signing', async () => {
    const seen: { method: string; url: URL; authorization: string | null }[] = [];
    const api = new ApiClient({
      baseUrl: 'http://127.0.0.1:1',
      backend,
      signer: signer(backend, newDevice(backend)),
      sleep: () => Promise.resolve(),
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        seen.push({
          method: init?.method ?? 'GET',
          url: new URL(input instanceof Request ? input.url : String(input)),
          authorization: headers.get('authorization'),
        });
        const body = { error: { code: 'NOT_FOUND', message: 'no such route' } };
        return Promise.resolve(new Response(JSON.stringify(body), { status: 404 }));
      },
    });
    for (const name of ENDPOINT_NAMES) {
      const e = CONTRACT[name];
      if (e.body !== null) continue; // bodies are checked before sending; see the next test
      const params = Object.fromEntries(
        [...e.path.matchAll(/:(\w+)/g)].map((m) => [m[1]!, 'a b/ü']),
      ) as EndpointParams<typeof name>;
      const args = { params, ...(e.query === null ? {} : { query: { zz: 'q&1' } }) };
      const err = await api
        .call(name as 'health', args as Parameters<ApiClient['call']>[1])
        .catch((x: unknown) => x);
      expect(isClientError(err, 'CLIENT_HTTP'), name).toBe(true);
      const req = seen.pop()!;
      expect(req.method, name).toBe(e.method);
      expect(req.url.pathname, name).toBe(endpointPath(name, params));
      if (e.query !== null) expect(req.url.searchParams.get('zz'), name).toBe('q&1');
      expect(req.authorization !== null, name).toBe(e.auth !== 'none');
      if (req.authorization !== null) expect(parseAuthorization(req.authorization)).toBeTruthy();
    }
  });

  it('checks a body against its entry before sending it', async () => {
    let sent = 0;
    const api = new ApiClient({
      baseUrl: 'http://127.0.0.1:1',
      backend,
      signer: signer(backend, newDevice(backend)),
      fetch: () => {
        sent++;
        return Promise.resolve(new Response('{}'));
      },
    });
    for (const name of ENDPOINT_NAMES) {
      const e = CONTRACT[name];
      if (e.body === null) continue;
      const params = Object.fromEntries([...e.path.matchAll(/:(\w+)/g)].map((m) => [m[1]!, 'x']));
      const err = await api
        .call(name as 'kvPut', { params, body: { unknown: 1 } } as never)
        .catch((x: unknown) => x);
      expect(isClientError(err, 'CLIENT_INVALID_ARGUMENT'), name).toBe(true);
    }
    expect(sent).toBe(0);
  });
});
