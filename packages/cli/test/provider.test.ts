/**
 * The provider commands on the built CLI: age recipients, usage errors, and the bridge
 * commands failing with a coded error that names the fix when no bridge runs.
 */
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
