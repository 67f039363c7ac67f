/**
 * Names in paths, queries and bodies (KV namespaces and entry keys, listing cursors, team
 * references, usernames) are validated the same on both backends (issue #12.5): a NUL byte
 * (PostgreSQL text cannot hold one: SQLSTATE 22021, a 500) or a lone surrogate (UTF-8 cannot
 * hold one: SQLite stored an entry no one could read again, PostgreSQL a U+FFFD colliding with
 * another key) is a coded 400 on every route, and nothing is written.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { kvPath } from '@saltbox/protocol';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import type { Storage } from '../src/storage/types.js';
import { newUser, signed } from './helpers.js';
import type { TestUser } from './helpers.js';
import { usePostgresStorage } from './use-postgres.js';

const backend = await defaultBackend();
const hex = (n: number) => randomBytes(n).toString('hex');

/** A bad name, as a JSON string value and as a URL component. */
interface BadName {
  label: string;
  /** The string a JSON body carries (JSON.stringify escapes it). */
  text: string;
  /** How a URL carries it: percent-encoded bytes (a lone surrogate as its invalid UTF-8). */
  url: string;
}
const BAD: BadName[] = [
  { label: 'NUL', text: 'x\u0000y', url: 'x%00y' },
  { label: 'lone high surrogate', text: 'x\ud800y', url: 'x%ED%A0%80y' },
  { label: 'lone low surrogate', text: 'x\udc00y', url: 'x%ED%B0%80y' },
  // In a body: the byte 0xFF where U+FFFD's three bytes would be (see `bodyBytes`).
  { label: 'invalid UTF-8', text: 'x\ufffdy', url: 'x%FFy' },
];

/** One request with a bad name in one place. */
interface Case {
  route: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: (teamId: string, bad: BadName) => string;
  body?: (bad: BadName) => unknown;
}

const q = (o: Record<string, string>) =>
  '?' +
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');

const CASES: Case[] = [
  {
    route: 'GET kv entry (namespace)',
    method: 'GET',
    path: (t, b) => kvPath('kvEntry', t) + q({ namespace: b.url, entryKey: 'k' }),
  },
  {
    route: 'GET kv entry (entryKey)',
    method: 'GET',
    path: (t, b) => kvPath('kvEntry', t) + q({ namespace: 'ns', entryKey: b.url }),
  },
  {
    route: 'POST kv entry (namespace)',
    method: 'POST',
    path: (t) => kvPath('kvEntry', t),
    body: (b) => putBody(b.text, 'k'),
  },
  {
    route: 'POST kv entry (entryKey)',
    method: 'POST',
    path: (t) => kvPath('kvEntry', t),
    body: (b) => putBody('ns', b.text),
  },
  {
    route: 'DELETE kv entry (namespace)',
    method: 'DELETE',
    path: (t, b) => kvPath('kvEntry', t) + q({ namespace: b.url, entryKey: 'k', revision: '2' }),
  },
  {
    route: 'DELETE kv entry (entryKey)',
    method: 'DELETE',
    path: (t, b) => kvPath('kvEntry', t) + q({ namespace: 'ns', entryKey: b.url, revision: '2' }),
  },
  {
    route: 'POST kv batch (namespace)',
    method: 'POST',
    path: (t) => kvPath('kvBatchGet', t),
    body: (b) => ({ items: [{ namespace: b.text, entryKey: 'k' }] }),
  },
  {
    route: 'POST kv batch (entryKey)',
    method: 'POST',
    path: (t) => kvPath('kvBatchGet', t),
    body: (b) => ({ items: [{ namespace: 'ns', entryKey: b.text }] }),
  },
  {
    route: 'GET kv namespaces (after)',
    method: 'GET',
    path: (t, b) => kvPath('kvNamespaces', t) + q({ after: b.url }),
  },
  {
    route: 'GET kv keys (namespace)',
    method: 'GET',
    path: (t, b) => kvPath('kvKeys', t) + q({ namespace: b.url }),
  },
  {
    route: 'GET kv keys (after)',
    method: 'GET',
    path: (t, b) => kvPath('kvKeys', t) + q({ namespace: 'ns', after: b.url }),
  },
  {
    route: 'GET kv changes (namespace)',
    method: 'GET',
    path: (t, b) => kvPath('kvChanges', t) + q({ namespace: b.url, since: '0' }),
  },
  {
    route: 'GET users lookup',
    method: 'GET',
    path: (_t, b) => `/api/v1/users/lookup${q({ usernames: b.url })}`,
  },
  {
    route: 'GET user chain',
    method: 'GET',
    path: (_t, b) => `/api/v1/users/${b.url}/chain`,
  },
  {
    route: 'POST user chain',
    method: 'POST',
    path: (_t, b) => `/api/v1/users/${b.url}/chain`,
    body: () => ({ links: [] }),
  },
  {
    route: 'PUT user puk boxes',
    method: 'PUT',
    path: (_t, b) => `/api/v1/users/${b.url}/puk-boxes`,
    body: () => ({ boxes: [] }),
  },
  {
    route: 'POST signup (username)',
    method: 'POST',
    path: () => '/api/v1/users',
    body: (b) => ({ username: b.text, links: [] }),
  },
  {
    route: 'GET team chain',
    method: 'GET',
    path: (_t, b) => `/api/v1/teams/${b.url}/chain`,
  },
  {
    route: 'POST team chain',
    method: 'POST',
    path: (_t, b) => `/api/v1/teams/${b.url}/chain`,
    body: () => ({ links: [] }),
  },
  {
    route: 'GET team key boxes',
    method: 'GET',
    path: (_t, b) => `/api/v1/teams/${b.url}/key-boxes`,
  },
];

/** The JSON body; for the invalid UTF-8 case, with a raw 0xFF byte instead of U+FFFD. */
function bodyBytes(bad: BadName, body: unknown): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  if (bad.label !== 'invalid UTF-8') return bytes;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) {
      out.push(0xff);
      i += 2;
    } else out.push(bytes[i]!);
  }
  return new Uint8Array(out);
}

const CODES = ['VALIDATION_FAILED', 'INVALID_USERNAME', 'MALFORMED_REQUEST'];

function putBody(namespace: string, entryKey: string) {
  return {
    namespace,
    entryKey,
    revision: 1,
    teamKeyGen: 1,
    ciphertextVersion: 1,
    ciphertext: 'Y3Q=',
  };
}

function suite(label: string, open: () => Promise<Storage>): void {
  describe(`names on every route (${label})`, () => {
    let storage: Storage | undefined;
    afterEach(async () => {
      await storage?.close();
      storage = undefined;
    });

    it('a NUL, a lone surrogate or invalid UTF-8 in any name is a coded 400; nothing is written', async () => {
      storage = await open();
      const app: App = createApp({
        storage,
        backend,
        limits: { rateLimit: { burst: 100_000, perSecond: 100_000 } },
        logger: () => undefined,
      });
      const { user, request } = newUser(backend, 'alice');
      const alice: TestUser = user;
      expect(
        (await signed(backend, app, alice.devices[0]!, '/api/v1/users', { body: request })).status,
      ).toBe(201);
      const teamId = hex(16);
      await storage.teams.createTeam({
        team: {
          teamId,
          name: `t_${hex(4)}`,
          parentId: null,
          implicit: false,
          tailSeqno: 1,
          tailLinkId: hex(32),
          ctime: 1,
        },
        links: [],
        projection: { members: [{ uid: alice.uid, role: 'owner' }] },
        keyBoxes: [{ generation: 1, uid: alice.uid, receiverKid: hex(35), box: '{}' }],
      });

      const failures: string[] = [];
      for (const c of CASES)
        for (const bad of BAD) {
          const res = await signed(backend, app, alice.devices[0]!, c.path(teamId, bad), {
            method: c.method,
            ...(c.body ? { raw: bodyBytes(bad, c.body(bad)) } : {}),
          });
          const text = await res.text();
          const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          // A user route may also say the name is not a username, and a URL that is not
          // UTF-8 is malformed before any route sees it; all are coded 400s.
          if (res.status !== 400 || !CODES.includes(code ?? ''))
            failures.push(`${c.route} with ${bad.label}: ${res.status} ${text}`);
        }
      expect(failures).toEqual([]);
      // The Keybase lookup answers in its own envelope (HTTP 200, status INPUT_ERROR).
      // (A URL that is not UTF-8 is refused before it, with MALFORMED_REQUEST.)
      for (const bad of BAD)
        for (const name of ['username', 'usernames']) {
          const res = await app.request(`/_/api/1.0/user/lookup.json${q({ [name]: bad.url })}`);
          const body = (await res.json()) as {
            status?: { name: string };
            error?: { code: string };
          };
          if (res.status === 200) expect(body.status?.name).toBe('INPUT_ERROR');
          else expect([res.status, body.error?.code]).toEqual([400, 'MALFORMED_REQUEST']);
        }
      // Nothing was written.
      expect(await storage.kv.cursor(teamId)).toBe(0);
    });
  });
}

suite('sqlite', () => openSqliteStorage({ dataDir: ':memory:' }));
suite('postgresql', usePostgresStorage());
