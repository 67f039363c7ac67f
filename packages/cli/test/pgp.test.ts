/**
 * `saltbox pgp …` end to end through the built CLI against a real `saltbox server` process and
 * the real `gpg` (installed by packages/provider/scripts/ensure-gnupg.sh when missing): alice
 * makes a key in her keystore and publishes it, bob imports a passphrase-protected key made by
 * gpg (bad imports refused by code, the passphrase never printed), both list and export public
 * keys only; then gpg encrypts to alice's exported key, alice's agent opens it and re-encrypts
 * it with `keybase://bob?format=pgp` (`saltbox rewrap`), and bob's gpg decrypts the result.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  accountHomes,
  ensureBuilt,
  errorCode,
  json,
  ok,
  runAs,
  startAccountServer,
} from './helpers.js';

const GPG_PASS = 'bob gpg pass 5c1e';
let server: { url: string; stop: () => Promise<void> } | undefined;
const { newHome, cleanup } = accountHomes();
const alice = newHome();
const bob = newHome();
const gnupg = mkdtempSync(join(tmpdir(), 'sbcligpg-'));

const gpg = (args: string[], input?: string | Uint8Array): Buffer =>
  execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--quiet', ...args], {
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
const withPass = ['--pinentry-mode', 'loopback', '--passphrase', GPG_PASS];

beforeAll(async () => {
  execFileSync('sh', [join(ROOT, 'packages/provider/scripts/ensure-gnupg.sh')], {
    stdio: 'inherit',
  });
  await ensureBuilt();
  server = await startAccountServer();
}, 120_000);

afterAll(async () => {
  await runAs(alice, ['agent', 'stop']);
  await server?.stop();
  try {
    execFileSync('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { stdio: 'ignore' });
  } catch {
    // no gpg-agent left
  }
  rmSync(gnupg, { recursive: true, force: true });
  cleanup();
});

describe('saltbox pgp end to end', { timeout: 300_000 }, () => {
  it('gen, import (gpg key), list, export, and format=pgp between gpg and the keystore', async () => {
    for (const [home, name] of [
      [alice, 'pgpcli_alice'],
      [bob, 'pgpcli_bob'],
    ] as const)
      ok(await runAs(home, ['signup', name, '--server', server!.url]));

    const made = json(
      await runAs(alice, ['pgp', 'gen', '--user-id', 'Alice <alice@example.com>', '--json']),
    );
    expect(made).toMatchObject({ published: true, userIds: ['Alice <alice@example.com>'] });

    // bob's key comes from gpg, protected by a passphrase.
    gpg([
      ...withPass,
      '--quick-generate-key',
      'Bob <bob@example.com>',
      'default',
      'default',
      'never',
    ]);
    const secretFile = join(bob.dir, 'bob-secret.asc');
    writeFileSync(
      secretFile,
      gpg([...withPass, '--armor', '--export-secret-keys', 'bob@example.com']),
      { mode: 0o600 },
    );
    const publicFile = join(bob.dir, 'bob-public.asc');
    writeFileSync(publicFile, gpg(['--armor', '--export', 'bob@example.com']));

    const wrong = await runAs(bob, ['pgp', 'import', secretFile], {
      SALTBOX_PGP_PASSPHRASE: 'not the passphrase',
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('the passphrase does not unlock this pgp key');
    expect(wrong.stderr).toContain('SALTBOX_PGP_PASSPHRASE');
    expect(wrong.stderr).not.toContain('not the passphrase');
    // No terminal and no passphrase: refused with the same code, nothing asked.
    expect(errorCode(await runAs(bob, ['pgp', 'import', secretFile, '--json']))).toBe(
      'KEYSTORE_WRONG_PASSPHRASE',
    );
    const pub = await runAs(bob, ['pgp', 'import', publicFile]);
    expect(pub.code).not.toBe(0);
    expect(pub.stderr).toContain('gpg --armor --export-secret-keys');
    const missing = await runAs(bob, ['pgp', 'import']);
    expect(missing.code).toBe(2);

    const imported = json(
      await runAs(bob, ['pgp', 'import', secretFile, '--json'], {
        SALTBOX_PGP_PASSPHRASE: GPG_PASS,
      }),
    );
    const bobFingerprint = gpg(['--with-colons', '--fingerprint', 'bob@example.com'])
      .toString()
      .split('\n')
      .find((l) => l.startsWith('fpr:'))!
      .split(':')[9]!
      .toLowerCase();
    expect(imported).toMatchObject({ fingerprint: bobFingerprint, published: true });
    const again = await runAs(bob, ['pgp', 'import', secretFile, '--json'], {
      SALTBOX_PGP_PASSPHRASE: GPG_PASS,
    });
    expect(errorCode(again)).toBe('KEYSTORE_CONFLICT');

    const listed = json(await runAs(bob, ['pgp', 'list', '--json'])) as {
      keys: { fingerprint: string; published: boolean }[];
    };
    expect(listed.keys).toEqual([
      expect.objectContaining({ fingerprint: bobFingerprint, published: true }),
    ]);
    const human = ok(await runAs(bob, ['pgp', 'list'])).out;
    expect(human).toMatch(/^published /);

    const exported = ok(await runAs(alice, ['pgp', 'export'])).out;
    expect(exported).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(exported).not.toContain('PRIVATE');

    // gpg → alice (her agent decrypts) → keybase://bob?format=pgp → bob's gpg.
    gpg(['--import'], exported);
    const toAlice = join(alice.dir, 'to-alice.gpg');
    writeFileSync(
      toAlice,
      gpg(
        ['--trust-model', 'always', '--encrypt', '--recipient', 'alice@example.com'],
        'hi from gpg',
      ),
    );
    ok(await runAs(alice, ['agent', 'start']));
    ok(await runAs(alice, ['unlock']));
    const toBob = join(alice.dir, 'to-bob.pgp');
    ok(
      await runAs(alice, [
        'rewrap',
        '--to',
        'keybase://pgpcli_bob?format=pgp',
        '-i',
        toAlice,
        '-o',
        toBob,
      ]),
    );
    expect(gpg([...withPass, '--decrypt', toBob]).toString()).toBe('hi from gpg');
    for (const r of [made, imported, listed])
      expect(JSON.stringify(r)).not.toContain('PRIVATE KEY');
  });
});
