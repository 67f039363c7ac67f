/**
 * The repro (#14.6) through the built CLI against a real `saltbox server` process, on
 * SQLite and on PostgreSQL: frank signs up on f1, writes KV on his self-team and on a team he
 * creates, adds f2 and revokes f1 from it. Every team was made by the revoked device; from f2
 * and from a fresh home logged in with the paper key, `team show` and `kv get` still work, and
 * `log verify` walks each home's pin (written 0600) to the server's latest root.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres } from '../../server/test/pg.js';
import type { TestPostgres } from '../../server/test/pg.js';
import {
  accountHomes,
  ensureBuilt,
  json,
  ok,
  runAs as sb,
  startServerProcess,
  tempHome,
} from './helpers.js';

const { newHome, cleanup } = accountHomes();
const data = tempHome();
let pg: TestPostgres | undefined;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  await pg?.stop();
  cleanup();
  data.cleanup();
}, 60_000);

const backends: { name: string; args: () => Promise<string[]> }[] = [
  { name: 'sqlite', args: () => Promise.resolve([]) },
  {
    name: 'postgresql',
    args: async () => {
      pg ??= await startTestPostgres();
      return ['--database-url', await pg.freshDatabase()];
    },
  },
];

describe.each(backends)('revoking a device through the CLI on $name', { timeout: 600_000 }, (b) => {
  const frank = newHome();
  const fresh = newHome();
  let url = '';

  beforeAll(async () => {
    // On PostgreSQL --data holds only the log root key.
    const s = await startServerProcess(join(data.dir, b.name), data.env, await b.args());
    stops.push(s.stop);
    url = s.url;
  }, 180_000);

  it('strands nothing: teams and KV made by the revoked device load from f2 and a paper-key login', async () => {
    const signed = json(
      await sb(frank, ['signup', 'frank', '--server', url, '--device-name', 'f1', '--json']),
    );
    const phrase = (signed.paperKey as { phrase: string }).phrase;
    ok(await sb(frank, ['kv', 'put', 'ns', 'k', 'self value']));
    ok(await sb(frank, ['team', 'create', 'fteam']));
    ok(await sb(frank, ['kv', 'put', '--team', 'fteam', 'ns', 'k', 'team value']));
    ok(await sb(frank, ['device', 'add', '--name', 'f2']));
    ok(await sb(frank, ['device', 'revoke', 'f1']));
    expect(statSync(join(frank.dir, 'log-pins.json')).mode & 0o777).toBe(0o600);

    const check = async (home: typeof frank) => {
      // kv get prints the value as stored (a newline only on a terminal).
      expect(ok(await sb(home, ['kv', 'get', 'ns', 'k'])).out).toBe('self value');
      expect(ok(await sb(home, ['kv', 'get', '--team', 'fteam', 'ns', 'k'])).out).toBe(
        'team value',
      );
      const shown = json(await sb(home, ['team', 'show', 'fteam', '--json']));
      expect(shown).toMatchObject({ name: 'fteam' });
      // The home's pin already is the latest root its loads verified.
      const v = json(await sb(home, ['log', 'verify', '--json']));
      expect(v).toMatchObject({ firstContact: false });
      expect(v.to).toBe(v.from);
    };
    await check(frank);
    ok(await sb(fresh, ['login', 'frank', '--server', url], {}, `${phrase}\n`));
    await check(fresh);
    const audit = json(await sb(fresh, ['log', 'audit', '--json']));
    expect(audit).toMatchObject({ from: 1, recomputed: true });
  });
});
