/**
 * The provider commands on the built CLI: age recipients, usage errors, and the bridge
 * commands failing with a coded error that names the fix when no bridge runs.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, run, tempHome } from './helpers.js';

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

  it('pulumi env without a bridge names the command that starts one', async () => {
    const r = await run(['pulumi', 'env'], { env: home.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--vault-listen');
  });

  it('pulumi env ignores a bridge record left by an agent that is gone', async () => {
    // A killed agent cannot remove its record; pid 2^22+1 is above Linux's pid_max default.
    const dead = { address: 'http://127.0.0.1:8200', token: 'sbv.stale', pid: 4_194_305 };
    writeFileSync(join(home.dir, 'vault-bridge.json'), JSON.stringify(dead), { mode: 0o600 });
    const r = await run(['pulumi', 'env'], { env: home.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--vault-listen');
    expect(r.out).not.toContain('sbv.stale');
    // The same record naming a live process (this test's) is served.
    const live = { ...dead, pid: process.pid };
    writeFileSync(join(home.dir, 'vault-bridge.json'), JSON.stringify(live), { mode: 0o600 });
    const ok = await run(['pulumi', 'env'], { env: home.env });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('VAULT_ADDR');
    rmSync(join(home.dir, 'vault-bridge.json'));
  });

  it('age identity and rewrap need an account', async () => {
    for (const args of [
      ['age', 'identity'],
      ['rewrap', '--to', 'alice'],
    ]) {
      const r = await run(args, { env: home.env, input: 'x' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('no account is set up');
    }
  });
});
