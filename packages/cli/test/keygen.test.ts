import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, run, stderrJson, tempHome } from './helpers.js';

describe('saltbox keygen', () => {
  const home = tempHome();
  beforeAll(ensureBuilt);
  afterAll(home.cleanup);

  it('writes $SALTBOX_HOME/saltpack.key with mode 0600 and prints the public keys', async () => {
    const r = await run(['keygen'], { env: home.env });
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[1]).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[2]).toBe('');
    const path = join(home.dir, 'saltpack.key');
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = JSON.parse(readFileSync(path, 'utf8'));
    expect(file).toMatchObject({ type: 'saltbox-saltpack-key', version: 1 });
    expect(file.encryption.public).toBe(lines[0]);
    expect(file.signing.public).toBe(lines[1]);
    // Messages go to stderr, prefixed; the secret never appears in any output.
    expect(r.stderr).toMatch(/^saltbox: /);
    expect(r.out + r.stderr).not.toContain(file.encryption.secret);
    expect(r.out + r.stderr).not.toContain(file.signing.seed);
    // No temporary files are left beside the key.
    expect(readdirSync(home.dir)).toEqual(['saltpack.key']);
  });

  it('refuses to overwrite without --force, and replaces with it', async () => {
    const path = join(home.dir, 'other.key');
    writeFileSync(path, 'precious');
    const refused = await run(['keygen', '-o', path]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`saltbox: key file ${path} already exists`);
    expect(refused.stderr).toContain('saltbox: hint: pass --force');
    expect(readFileSync(path, 'utf8')).toBe('precious');
    const forced = await run(['keygen', '-o', path, '--force']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8')).type).toBe('saltbox-saltpack-key');
  });

  it('prints JSON with --json', async () => {
    const path = join(home.dir, 'json.key');
    const r = await run(['keygen', '-o', path, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.keyFile).toBe(path);
    expect(out.encryptionPublicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(out.encryptionKid).toBe(`0121${out.encryptionPublicKey}0a`);
    expect(out.signingKid).toBe(`0120${out.signingPublicKey}0a`);
  });

  it('reports errors as JSON with --json', async () => {
    const path = join(home.dir, 'json.key'); // exists from the previous test
    const r = await run(['keygen', '-o', path, '--json']);
    expect(r.code).toBe(4);
    expect(stderrJson(r)).toEqual({
      error: { code: 'CLI_KEY_FILE_EXISTS', message: `key file ${path} already exists` },
    });
  });

  it('answers usage errors with a hint and exit code 2', async () => {
    const r = await run(['keygen', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "saltbox: unknown flag --bogus for keygen\nsaltbox: hint: run 'saltbox keygen --help'\n",
    );
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('saltbox: unknown command "frobnicate"');
  });
});
