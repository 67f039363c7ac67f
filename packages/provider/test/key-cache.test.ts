import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CachedDirectory, fileKeyCacheStore } from '../src/index.js';
import type { Recipient, RecipientDirectory, RecipientKeys } from '../src/index.js';

/** A directory answering from a table, counting calls (the cache is what is under test). */
function tableDirectory(tails: Map<string, string>): RecipientDirectory & { calls: number } {
  const d = {
    calls: 0,
    resolve(r: Recipient): Promise<RecipientKeys> {
      d.calls++;
      return Promise.resolve({
        label: r.name,
        encryptionKids: [`0121${'11'.repeat(32)}0a`],
        identity: `0120${'22'.repeat(32)}0a`,
        tail: tails.get(r.name) ?? 't1',
      });
    },
    verifiedTail: (r: Recipient) => Promise.resolve(tails.get(r.name)),
  };
  return d;
}

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file key cache', () => {
  it('persists across instances in a 0600 file, written atomically', async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-keycache-'));
    const tails = new Map([['alice', 't1']]);
    const inner = tableDirectory(tails);
    const a = new CachedDirectory(inner, { store: fileKeyCacheStore(dir) });
    await a.resolve({ kind: 'user', name: 'alice' });
    const b = new CachedDirectory(inner, { store: fileKeyCacheStore(dir) });
    await b.resolve({ kind: 'user', name: 'alice' });
    expect(inner.calls).toBe(1);
    expect(b.stats).toMatchObject({ hits: 1, misses: 0, invalidations: 0 });
    expect((await stat(join(dir, 'provider-keys.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['provider-keys.json']);
  });

  it('checks a hit against the signed log: moved → refetched, unreachable → the TTL decides (#14.9)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-keycache-'));
    const tails = new Map([['alice', 't1']]);
    /** What the log holds, by chain ID; undefined: the server cannot be reached. */
    let logged: string | undefined = 't1';
    const table = tableDirectory(tails);
    const inner: RecipientDirectory & { calls: number } = Object.assign(table, {
      resolve: async (r: Recipient) => ({
        ...(await tableDirectory(tails).resolve(r)),
        chainId: 'a1',
      }),
      loggedTail: (chainId: string) => Promise.resolve(chainId === 'a1' ? logged : null),
    });
    let now = 1_000_000;
    const c = new CachedDirectory(inner, {
      store: fileKeyCacheStore(dir),
      ttlSeconds: 60,
      now: () => now,
    });
    const alice: Recipient = { kind: 'user', name: 'alice' };
    await c.resolve(alice);
    await c.resolve(alice);
    expect(c.stats).toMatchObject({ hits: 1, misses: 1, invalidations: 0 });
    // Moved in the log (another machine), not in the local pin: refetched at once.
    tails.set('alice', 't2');
    logged = 't2';
    // (the local pin has not moved: the table's verifiedTail answers t2 only for the refetch)
    expect((await c.resolve(alice)).tail).toBe('t2');
    expect(c.stats).toMatchObject({ hits: 1, misses: 2, invalidations: 1 });
    // The server cannot be reached: the entry answers within cache_ttl, not after it.
    logged = undefined;
    expect((await c.resolve(alice)).tail).toBe('t2');
    expect(c.stats).toMatchObject({ hits: 2, offlineHits: 1 });
    now += 61_000;
    await c.resolve(alice);
    expect(c.stats.misses).toBe(3);
    // An entry from before the log (no chain ID) is refetched once.
    const file = join(dir, 'provider-keys.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      entries: Record<string, { chainId?: string; fetchedAt: number }>;
    };
    delete saved.entries.alice!.chainId;
    saved.entries.alice!.fetchedAt = now;
    await writeFile(file, JSON.stringify(saved));
    const old = new CachedDirectory(inner, {
      store: fileKeyCacheStore(dir),
      ttlSeconds: 60,
      now: () => now,
    });
    logged = 't2';
    await old.resolve(alice);
    expect(old.stats).toMatchObject({ hits: 0, misses: 1, invalidations: 1 });
  });

  it('drops an entry when the verified tail moved, and treats a corrupt file as empty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-keycache-'));
    const tails = new Map([['alice', 't1']]);
    const inner = tableDirectory(tails);
    const c = new CachedDirectory(inner, { store: fileKeyCacheStore(dir) });
    await c.resolve({ kind: 'user', name: 'alice' });
    tails.set('alice', 't2');
    await c.resolve({ kind: 'user', name: 'alice' });
    expect(c.stats).toMatchObject({ hits: 0, misses: 2, invalidations: 1 });
    await writeFile(join(dir, 'provider-keys.json'), '{"format":"saltbox-provider-keys","ver');
    const d = new CachedDirectory(inner, { store: fileKeyCacheStore(dir) });
    await d.resolve({ kind: 'user', name: 'alice' });
    expect(d.stats.misses).toBe(1);
    expect(inner.calls).toBe(3);
  });

  it('cache_ttl=0 asks the directory every time', async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-keycache-'));
    const inner = tableDirectory(new Map());
    const c = new CachedDirectory(inner, { ttlSeconds: 0 });
    for (let i = 0; i < 3; i++) await c.resolve({ kind: 'user', name: 'bob' });
    expect(inner.calls).toBe(3);
  });

  it('a cold resolution of many recipients shares its saves, and every entry is kept', async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-keycache-'));
    const inner = tableDirectory(new Map());
    const file = fileKeyCacheStore(dir);
    let saves = 0;
    const counting = {
      load: () => file.load(),
      save: (e: Parameters<typeof file.save>[0]) => {
        saves++;
        return file.save(e);
      },
    };
    const c = new CachedDirectory(inner, { store: counting });
    const names = Array.from({ length: 200 }, (_, i) => `user${String(i)}`);
    await Promise.all(names.map((name) => c.resolve({ kind: 'user', name })));
    // One save per miss wrote (and fsynced) the whole file 200 times.
    expect(saves).toBeLessThan(5);
    const again = new CachedDirectory(inner, { store: fileKeyCacheStore(dir) });
    for (const name of names) await again.resolve({ kind: 'user', name });
    expect(again.stats).toMatchObject({ hits: 200, misses: 0, invalidations: 0 });
    expect(inner.calls).toBe(200);
  });
});
