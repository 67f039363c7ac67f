/**
 * The repro (#14.6) through the built CLI against a real `saltbox server` process:
 * frank signs up on f1, writes KV on his self-team and on a team he creates, adds f2 and
 * revokes f1 from it. Every team was made by the revoked device; from f2 and from a fresh home
 * logged in with the paper key, `team show` and `kv get` still work. The log pin is written
 * 0600 in each home.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountHomes, ensureBuilt, json, ok, runAs as sb, startAccountServer } from './helpers.js';

let stopServer = (): Promise<void> => Promise.resolve();
let url = '';
const { newHome, cleanup } = accountHomes();

beforeAll(async () => {
  await ensureBuilt();
  const started = await startAccountServer();
  url = started.url;
  stopServer = started.stop;
}, 120_000);

afterAll(async () => {
  await stopServer();
  cleanup();
});

describe('revoking a device through the CLI', { timeout: 600_000 }, () => {
  const frank = newHome();
  const fresh = newHome();

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
    };
    await check(frank);
    ok(await sb(fresh, ['login', 'frank', '--server', url], {}, `${phrase}\n`));
    await check(fresh);
  });
});
