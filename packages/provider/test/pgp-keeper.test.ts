/**
 * `format=pgp` end to end against a real server: users publish keystore PGP keys through their
 * chains (`Account.publishPgpKey`), the keeper encrypts one OpenPGP message to every
 * recipient's verified PGP key, and decryption needs no URL (an OpenPGP message goes to the
 * keystore's `pgpDecrypt`). The keeper conformance suite runs for `format=pgp` too. With the
 * real `gpg` binary (installed by scripts/ensure-gnupg.sh when missing): a key made by gpg is
 * imported, published and used both ways.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Account } from '@saltbox/client';
import { URLMux, isOpenPgpMessage, saltboxOpener } from '../src/index.js';
import { runKeeperConformance } from './conformance.js';
import { backend, failure, startWorld } from './helpers.js';
import type { KeystoreUser } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let world: Awaited<ReturnType<typeof startWorld>>;
let alice: KeystoreUser;
let bob: KeystoreUser;
let carol: KeystoreUser;

function account(u: KeystoreUser): Account {
  return new Account(
    { backend, keystore: u.ks, server: world.url },
    {
      version: 1,
      server: world.url,
      username: u.user.username,
      uid: u.user.uid,
      device: {
        id: u.device.id,
        name: 'laptop',
        type: 'desktop',
        signingKid: u.device.kid,
        encryptionKid: u.device.encKid,
      },
      oneshot: false,
    },
  );
}

beforeAll(async () => {
  world = await startWorld();
  alice = await world.signup('pgpk_alice');
  bob = await world.signup('pgpk_bob');
  carol = await world.signup('pgpk_carol');
  for (const u of [alice, bob]) {
    await u.ks.pgpGenerate({ userId: `${u.user.username} <${u.user.username}@example.com>` });
    await account(u).publishPgpKey();
  }
});
afterAll(() => world.close());

function mux(me: KeystoreUser): URLMux {
  const m = new URLMux();
  const opener = saltboxOpener({ directory: me.directory, keystore: () => Promise.resolve(me.ks) });
  m.registerKeeper('keybase', opener);
  return m;
}

runKeeperConformance('keybase:// format=pgp, in-process keystore, real server', async () => ({
  keeper: await mux(alice).openKeeper('keybase://pgpk_alice,pgpk_bob?format=pgp'),
}));

describe('format=pgp', () => {
  it('writes one binary OpenPGP message to every recipient; each decrypts, others cannot', async () => {
    const ct = await (
      await mux(alice).openKeeper('keybase://pgpk_alice,pgpk_bob?format=pgp')
    ).encrypt(enc('pgp data key'));
    expect(isOpenPgpMessage(ct)).toBe(true);
    const message = await openpgp.readMessage({ binaryMessage: ct });
    const ids = message
      .getEncryptionKeyIDs()
      .map((k) => k.toHex())
      .sort();
    const subkeyIds = await Promise.all(
      [alice, bob].map(async (u) => {
        const info = (await u.ks.pgpList()).keys[0]!;
        const key = await openpgp.readKey({ armoredKey: info.armoredPublicKey });
        return (await key.getEncryptionKey()).getKeyID().toHex();
      }),
    );
    expect(ids).toEqual(subkeyIds.sort());
    // Decryption needs no URL and no format: the keeper sees an OpenPGP message.
    expect(dec(await (await mux(bob).openKeeper('keybase://pgpk_carol')).decrypt(ct))).toBe(
      'pgp data key',
    );
    const e = await failure((await mux(carol).openKeeper('keybase://pgpk_carol')).decrypt(ct));
    expect([e.code, e.reason]).toEqual(['PermissionDenied', 'PROVIDER_DECRYPT_FAILED']);
  });

  it('a user without a pgp key is FailedPrecondition naming saltbox pgp gen; teams are refused', async () => {
    const k = await mux(alice).openKeeper('keybase://pgpk_alice,pgpk_carol?format=pgp');
    const e = await failure(k.encrypt(enc('x')));
    expect([e.code, e.reason]).toEqual(['FailedPrecondition', 'PROVIDER_NO_PGP_KEY']);
    expect(e.message).toContain("ask pgpk_carol to run 'saltbox pgp gen'");
    const t = await failure(mux(alice).openKeeper('keybase://pgpk_alice,team:acme?format=pgp'));
    expect([t.code, t.reason]).toEqual(['InvalidArgument', 'PROVIDER_BAD_RECIPIENT']);
    const armored = await failure(mux(alice).openKeeper('keybase://pgpk_alice?format=pgp&armor=1'));
    expect(armored.code).toBe('InvalidArgument');
  });

  it('an armored OpenPGP message decrypts too; a truncated one is InvalidArgument', async () => {
    const info = (await bob.ks.pgpList()).keys[0]!;
    const encryptionKeys = (
      await openpgp.readKey({ armoredKey: info.armoredPublicKey })
    ).toPublic();
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: enc('armored secret') }),
      encryptionKeys,
      format: 'armored',
    });
    const keeper = await mux(bob).openKeeper('keybase://pgpk_bob');
    expect(dec(await keeper.decrypt(enc(armored)))).toBe('armored secret');
    const cut = await failure(keeper.decrypt(enc(armored.slice(0, 60))));
    expect([cut.code, cut.reason]).toEqual(['InvalidArgument', 'PROVIDER_MALFORMED_CIPHERTEXT']);
  });
});

const here = fileURLToPath(new URL('.', import.meta.url));

describe('interop with the real gpg binary', () => {
  let home: string;
  const gpg = (args: string[], input?: Uint8Array | string): Buffer =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--quiet', ...args], {
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

  beforeAll(async () => {
    execFileSync('sh', [join(here, '../scripts/ensure-gnupg.sh')], { stdio: 'inherit' });
    home = await mkdtemp(join(tmpdir(), 'sbgpg-'));
    // gpg's own default key algorithms (whatever this gpg version makes).
    gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'gpg pass 91',
      '--quick-generate-key',
      'Carol GPG <carol@example.com>',
      'default',
      'default',
      'never',
    ]);
  });
  afterAll(async () => {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    } catch {
      // no agent left to stop
    }
    await rm(home, { recursive: true, force: true });
  });

  it('a gpg key imported and published: keeper → gpg --decrypt, gpg --encrypt → keeper', async () => {
    const secret = gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'gpg pass 91',
      '--armor',
      '--export-secret-keys',
      'carol@example.com',
    ]).toString();
    const info = await carol.ks.pgpImport({ armoredSecretKey: secret, passphrase: 'gpg pass 91' });
    await account(carol).publishPgpKey({ fingerprint: info.fingerprint });
    const ct = await (
      await mux(alice).openKeeper('keybase://pgpk_carol?format=pgp')
    ).encrypt(enc('for gpg'));
    const plain = gpg(
      ['--pinentry-mode', 'loopback', '--passphrase', 'gpg pass 91', '--decrypt'],
      ct,
    );
    expect(plain.toString()).toBe('for gpg');
    const fromGpg = gpg(
      ['--trust-model', 'always', '--encrypt', '--recipient', 'carol@example.com'],
      'from gpg',
    );
    const keeper = await mux(carol).openKeeper('keybase://pgpk_carol');
    expect(dec(await keeper.decrypt(new Uint8Array(fromGpg)))).toBe('from gpg');
  });
});
