/** Byte stores, encryption at rest, and the file keystore's failure behaviour. */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { ByteStore } from '@saltbox/keystore';
import { encryptedStore, memoryStore, openKeystore, prefixedStore } from '@saltbox/keystore';
import { fileStore, nodeArgon2id, openFileKeystore } from '@saltbox/keystore/node';
import { expectCode } from './conformance.js';
import { CHEAP_KDF, tempDir } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});
async function dir(): Promise<string> {
  const d = await tempDir();
  cleanup.push(() => d.remove());
  return d.path;
}

/** Every file in a directory with a hash of its bytes: "nothing was written" checks. */
async function snapshot(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(path)).sort()) {
    out[f] = createHash('sha256')
      .update(await readFile(join(path, f)))
      .digest('hex');
  }
  return out;
}

async function exercise(store: ByteStore): Promise<void> {
  expect(await store.get('a/b')).toBeNull();
  await store.set('a/b', utf8('one'));
  await store.set('a/c', utf8('two'));
  await store.set('z', utf8('three'));
  await store.set('a/b', utf8('uno'));
  expect(await store.get('a/b')).toEqual(utf8('uno'));
  expect(await store.list()).toEqual(['a/b', 'a/c', 'z']);
  expect(await store.list('a/')).toEqual(['a/b', 'a/c']);
  await store.delete('a/c');
  await store.delete('missing');
  expect(await store.list('a/')).toEqual(['a/b']);
  await expectCode(store.set('../x', utf8('x')), 'KEYSTORE_INVALID_ARGUMENT');
  await expectCode(store.get('.hidden'), 'KEYSTORE_INVALID_ARGUMENT');
}

describe('byte stores', () => {
  it('memory store', () => exercise(memoryStore()));
  it('prefixed store keeps scopes apart', async () => {
    const base = memoryStore();
    await exercise(prefixedStore(base, 'alice/'));
    await prefixedStore(base, 'bob/').set('k', utf8('b'));
    expect(await prefixedStore(base, 'alice/').list()).toEqual(['a/b', 'z']);
    expect(await base.list()).toEqual(['alice/a/b', 'alice/z', 'bob/k']);
  });
  it('file store writes 0600 files in a 0700 directory, leaving no temp files', async () => {
    const d = join(await dir(), 'ks');
    await exercise(fileStore(d));
    expect((await stat(d)).mode & 0o777).toBe(0o700);
    const files = await readdir(d);
    expect(files.sort()).toEqual(['a~b.rec', 'z.rec']);
    for (const f of files) expect((await stat(join(d, f))).mode & 0o777).toBe(0o600);
  });
});

describe('encryption at rest', () => {
  it('binds the record name and detects tampering, truncation and unknown versions', async () => {
    const backend = await defaultBackend();
    const base = memoryStore();
    const enc = encryptedStore(base, backend.randomBytes(32), backend);
    await enc.set('key/a', utf8('secret a'));
    expect(await enc.get('key/a')).toEqual(utf8('secret a'));
    const raw = (await base.get('key/a'))!;
    expect(new TextDecoder().decode(raw)).not.toContain('secret');

    await base.set('key/b', raw); // moved to another name
    await expectCode(enc.get('key/b'), 'KEYSTORE_CORRUPT');
    const flipped = raw.slice();
    flipped[raw.length - 1]! ^= 1;
    await base.set('key/a', flipped);
    await expectCode(enc.get('key/a'), 'KEYSTORE_CORRUPT');
    await base.set('key/a', raw.subarray(0, 30));
    await expectCode(enc.get('key/a'), 'KEYSTORE_CORRUPT');
    const future = raw.slice();
    future[4] = 2;
    await base.set('key/a', future);
    const e = await expectCode(enc.get('key/a'), 'KEYSTORE_UNSUPPORTED_VERSION');
    expect(e.details).toEqual({ record: 'key/a', version: 2 });
    enc.close();
    await expectCode(enc.set('key/c', utf8('x')), 'KEYSTORE_LOCKED');
  });
});

describe('file keystore', () => {
  const PASS = 'hunter2 hunter2';

  async function populated(): Promise<{ dir: string; deviceKid: string }> {
    const d = join(await dir(), 'ks');
    const ks = await openFileKeystore({ keystoreDir: d, kdf: CHEAP_KDF });
    await ks.unlock({ passphrase: PASS, create: true });
    const dev = await ks.createDevice({ name: 'laptop', type: 'desktop' });
    await ks.createKeyBoxes({
      key: { kind: 'puk' },
      generation: 'new',
      senderKid: dev.encryptionKid,
      recipients: [],
    });
    await ks.close();
    return { dir: d, deviceKid: dev.signingKid };
  }

  it('survives a restart', async () => {
    const { dir: d, deviceKid } = await populated();
    const again = await openFileKeystore({ keystoreDir: d });
    expect((await again.status()).state).toBe('locked');
    await again.unlock({ passphrase: PASS });
    const bundle = await again.getPublicKeyBundle();
    expect(bundle.devices.map((x) => x.signingKid)).toEqual([deviceKid]);
    expect(bundle.puks).toHaveLength(1);
    await again.close();
  });

  it('says wrong passphrase, stays locked and writes nothing', async () => {
    const { dir: d } = await populated();
    const before = await snapshot(d);
    const ks = await openFileKeystore({ keystoreDir: d });
    const e = await expectCode(ks.unlock({ passphrase: 'not it' }), 'KEYSTORE_WRONG_PASSPHRASE');
    expect(e.message).not.toContain('not it');
    await expectCode(
      ks.unlock({ passphrase: 'not it', create: true }),
      'KEYSTORE_WRONG_PASSPHRASE',
    );
    expect((await ks.status()).state).toBe('locked');
    expect(await snapshot(d)).toEqual(before);
  });

  it('reports a corrupted key record, never overwrites it, and recovers once it is restored', async () => {
    const { dir: d } = await populated();
    const before = await snapshot(d);
    const victim = join(
      d,
      (await readdir(d)).find((f) => f.startsWith('key~device'))!,
    );
    const good = await readFile(victim);
    const bad = Buffer.from(good);
    bad[bad.length - 5]! ^= 0x40;
    await writeFile(victim, bad);

    const ks = await openFileKeystore({ keystoreDir: d });
    const e = await expectCode(ks.unlock({ passphrase: PASS }), 'KEYSTORE_CORRUPT');
    expect(e.details.record).toMatch(/^key\/device\//);
    await expectCode(ks.unlock({ passphrase: PASS, create: true }), 'KEYSTORE_CORRUPT');
    expect((await ks.status()).state).toBe('locked');
    expect(await readFile(victim)).toEqual(bad); // untouched

    await writeFile(victim, good);
    expect(await snapshot(d)).toEqual(before);
    await ks.unlock({ passphrase: PASS });
    expect((await ks.status()).counts.devices).toBe(1);
    await ks.close();
  });

  it('reports a truncated record or meta file without starting over', async () => {
    const { dir: d } = await populated();
    const meta = join(d, 'meta.rec');
    const goodMeta = await readFile(meta);
    await writeFile(meta, goodMeta.subarray(0, goodMeta.length >> 1));
    const ks = await openFileKeystore({ keystoreDir: d, kdf: CHEAP_KDF });
    await expectCode(ks.unlock({ passphrase: PASS }), 'KEYSTORE_CORRUPT');
    await expectCode(ks.unlock({ passphrase: PASS, create: true }), 'KEYSTORE_CORRUPT');
    expect((await readFile(meta)).length).toBe(goodMeta.length >> 1);

    // Meta gone entirely while key records remain: still corrupt, never a fresh keystore.
    await writeFile(meta, goodMeta);
    const puk = join(d, 'key~puk~1.rec');
    const goodPuk = await readFile(puk);
    await writeFile(puk, goodPuk.subarray(0, 20));
    await expectCode(ks.unlock({ passphrase: PASS }), 'KEYSTORE_CORRUPT');
    await writeFile(puk, goodPuk);
    const { rm } = await import('node:fs/promises');
    await rm(meta);
    await expectCode(ks.unlock({ passphrase: PASS, create: true }), 'KEYSTORE_CORRUPT');
    expect(await readdir(d)).not.toContain('meta.rec');
  });

  it('reports absurd key-derivation parameters in meta as a damaged keystore (#12.8)', async () => {
    const { dir: d } = await populated();
    const meta = join(d, 'meta.rec');
    const good = await readFile(meta);
    const parsed = JSON.parse(good.toString('utf8')) as { kdf: Record<string, unknown> };
    const ks = await openFileKeystore({ keystoreDir: d });
    // Not a power of two; more memory than scrypt may use (128 GiB). Before: "internal
    // keystore error", which the CLI called a bug.
    for (const kdf of [
      { ...parsed.kdf, N: 3 },
      { ...parsed.kdf, N: 2 ** 24, r: 64 },
    ]) {
      await writeFile(meta, JSON.stringify({ ...parsed, kdf }));
      const e = await expectCode(ks.unlock({ passphrase: PASS }), 'KEYSTORE_CORRUPT');
      expect(e.message).toMatch(
        /^keystore meta record (is damaged|has unusable key-derivation parameters)$/,
      );
    }
    await writeFile(meta, good);
    await ks.unlock({ passphrase: PASS });
    await ks.close();
  });

  it('works with Argon2id at rest (sodium-native), including a wrong passphrase', async () => {
    const d = join(await dir(), 'ks');
    const kdf = {
      alg: 'argon2id' as const,
      params: { opslimit: 1, memlimit: 8 * 1024 * 1024 },
      argon2id: nodeArgon2id,
    };
    const ks = await openFileKeystore({ keystoreDir: d, kdf });
    await ks.unlock({ passphrase: PASS, create: true });
    const dev = await ks.createDevice({ name: 'a', type: 'bot' });
    await ks.close();
    const meta = JSON.parse(await readFile(join(d, 'meta.rec'), 'utf8'));
    expect(meta.kdf).toMatchObject({ alg: 'argon2id', opslimit: 1, memlimit: 8 * 1024 * 1024 });
    const again = await openFileKeystore({ keystoreDir: d });
    await expectCode(again.unlock({ passphrase: 'nope' }), 'KEYSTORE_WRONG_PASSPHRASE');
    await again.unlock({ passphrase: PASS });
    expect((await again.getPublicKeyBundle()).devices).toEqual([dev]);
    await again.close();
    // Without an Argon2id implementation (a browser core), the store is refused, not damaged.
    const core = await openKeystore({ store: fileStore(d) });
    await expectCode(core.unlock({ passphrase: PASS }), 'KEYSTORE_UNSUPPORTED_VERSION');
  });

  it('locks itself after the idle timeout', async () => {
    const ks = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF, idleLockMs: 150 });
    await ks.unlock({ passphrase: PASS, create: true });
    await ks.createDevice({ name: 'd', type: 'bot' });
    expect((await ks.status()).state).toBe('unlocked');
    await new Promise((r) => setTimeout(r, 400));
    expect((await ks.status()).state).toBe('locked');
    await ks.close();
  });
});
