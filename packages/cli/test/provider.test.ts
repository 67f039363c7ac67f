/**
 * The provider commands on the built CLI: age recipients, usage errors, a stale bridge record,
 * and every command that needs an account failing with `PROVIDER_NOT_LOGGED_IN` (the fixing
 * commands named, the CLI's not-logged-in hint, exit 3). With an account: e2e-vault.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, run, tempHome } from './helpers.js';

const AGE_PLUGIN = join(ROOT, 'packages/cli/dist/age-plugin-main.js');

const home = tempHome();
beforeAll(ensureBuilt);
afterAll(() => {
  home.cleanup();
});

describe('saltbox age / pulumi / rewrap', () => {
  it('age recipient prints age1saltbox1… for a user and a team; refuses a malformed name', async () => {
    const a = await run(['age', 'recipient', 'alice'], { env: home.env });
    expect(a.code).toBe(0);
    expect(a.out.trim()).toMatch(/^age1saltbox1[02-9ac-hj-np-z]+$/);
    const t = await run(['age', 'recipient', 'team:acme'], { env: home.env });
    expect(t.out.trim()).not.toBe(a.out.trim());
    const bad = await run(['age', 'recipient', 'al$ce'], { env: home.env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('malformed username');
  });

  it('pulumi env ignores a bridge record left by an agent that is gone', async () => {
    // A killed agent cannot remove its record; pid 2^22+1 is above Linux's pid_max default.
    const dead = { address: 'http://127.0.0.1:8200', token: 'sbv.stale', pid: 4_194_305 };
    writeFileSync(join(home.dir, 'vault-bridge.json'), JSON.stringify(dead), { mode: 0o600 });
    const r = await run(['pulumi', 'env'], { env: home.env });
    expect(r.code).not.toBe(0);
    // No bridge, and this home has no account, which is what to fix first (with an account the
    // answer names --vault-listen: e2e-vault.test.ts).
    expect(r.stderr).toContain('not logged in');
    expect(r.out).not.toContain('sbv.stale');
    // The same record naming a live process (this test's) is served.
    const live = { ...dead, pid: process.pid };
    writeFileSync(join(home.dir, 'vault-bridge.json'), JSON.stringify(live), { mode: 0o600 });
    const ok = await run(['pulumi', 'env'], { env: home.env });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('VAULT_ADDR');
    rmSync(join(home.dir, 'vault-bridge.json'));
  });

  it('agent start --vault-listen on a path holding a regular file: the file survives, a coded error with a hint, no agent', async () => {
    const file = join(home.dir, 'notes.txt');
    writeFileSync(file, 'precious notes');
    for (const extra of [[], ['--foreground']]) {
      const r = await run(['agent', 'start', ...extra, '--vault-listen', file], { env: home.env });
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.stderr).toBe(
        `saltbox: the vault bridge cannot listen on ${file}: a regular file is there (only a stale socket is replaced)\n` +
          'saltbox: hint: saltbox replaces only a socket nobody answers on: give --vault-listen another path, or move what is there out of the way\n',
      );
      const json = await run(['agent', 'start', ...extra, '--vault-listen', file, '--json'], {
        env: home.env,
      });
      expect(JSON.parse(json.stderr)).toEqual({
        error: { code: 'CLI_PROVIDER', message: expect.stringContaining(file) },
      });
    }
    expect(readFileSync(file, 'utf8')).toBe('precious notes');
    const status = await run(['agent', 'status'], { env: home.env });
    expect(status.stderr).toContain('no keystore agent is running');
    rmSync(file);
  });

  it('without an account every provider command fails with PROVIDER_NOT_LOGGED_IN: exit 3, the fixing commands, a hint, no stack trace', async () => {
    for (const args of [
      ['age', 'identity'],
      ['rewrap', '--to', 'alice'],
      ['pulumi', 'env'],
      ['sops', 'env', 'prod'],
      ['agent', 'start', '--vault-listen', '127.0.0.1:0'],
      ['agent', 'start', '--foreground', '--vault-listen', '127.0.0.1:0'],
    ]) {
      const r = await run(args, { env: home.env, input: 'x' });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.out).toBe('');
      expect(r.stderr).toBe(
        `saltbox: not logged in (no account in ${home.dir}): run 'saltbox signup' or 'saltbox login'\n` +
          "saltbox: hint: create an account with 'saltbox signup USER --server URL', or log in with 'saltbox login USER --paperkey'\n",
      );
      const json = await run([...args, '--json'], { env: home.env, input: 'x' });
      expect(JSON.parse(json.stderr)).toEqual({
        error: { code: 'CLI_NOT_LOGGED_IN', message: expect.stringContaining('not logged in') },
      });
    }
    // agent start checked before detaching: no agent was left behind.
    const status = await run(['agent', 'status'], { env: home.env });
    expect(status.stderr).toContain('no keystore agent is running');
    // The age plugin, run by age, says the same on its standard error.
    const plugin = spawnSync(process.execPath, [AGE_PLUGIN, '--age-plugin=recipient-v1'], {
      env: { ...process.env, ...home.env },
      input: '',
      encoding: 'utf8',
    });
    expect(plugin.status).toBe(1);
    expect(plugin.stderr).toBe(
      `age-plugin-saltbox: not logged in (no account in ${home.dir}): run 'saltbox signup' or 'saltbox login'\n`,
    );
  });
});
