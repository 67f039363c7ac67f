/**
 * The rollback cache's persistence (specs/keybase-kvstore.md §2.6): every change that resolved
 * is in the stored text, however the changes follow one another. Issue #12.3: the second
 * change of a process (the write after the read that `put` does first) never reached storage,
 * so a restored older database went unnoticed.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { KvRollbackCache } from '../src/index.js';
import type { KvCacheStorage } from '../src/index.js';

const backend = await defaultBackend();

/** Storage in a variable, counting writes (a real text store: the cache re-reads and merges). */
function memoryStorage(): KvCacheStorage & { text: string | null; writes: number } {
  const s = {
    text: null as string | null,
    writes: 0,
    read: () => Promise.resolve(s.text),
    write: (text: string) => {
      s.text = text;
      s.writes++;
      return Promise.resolve();
    },
  };
  return s;
}

/** The revision the stored text holds for `ns/k`. */
function storedRevision(s: { text: string | null }, key = 'k'): number | undefined {
  const rows = (JSON.parse(s.text ?? '{"entries":[]}') as { entries: unknown[][] }).entries;
  return rows.find((r) => r[1] === 'ns' && r[2] === key)?.[3] as number | undefined;
}

const teamId = 'ab'.repeat(16);
const id = (entryKey = 'k') => ({ teamId, namespace: 'ns', entryKey });

describe('KvRollbackCache persistence', () => {
  it('stores every awaited change, not only the first of the process (#12.3)', async () => {
    const storage = memoryStorage();
    const cache = await KvRollbackCache.open(backend, storage);
    // What `KvClient.put` does: the read it makes first (revision 0), then the write.
    await cache.put(id(), null, 0, 0);
    expect(storedRevision(storage)).toBe(0);
    await cache.put(id(), 'c1', 1, 1);
    expect(storedRevision(storage)).toBe(1);
    await cache.put(id(), 'c2', 1, 2);
    expect(storedRevision(storage)).toBe(2);
    await cache.markDeleted(id(), 3);
    expect(storedRevision(storage)).toBe(3);
    // A new process sees the last write.
    const reopened = await KvRollbackCache.open(backend, storage);
    expect(reopened.lookup(id())).toEqual({ revision: 3, hash: '', teamKeyGen: 1 });
    expect(() => {
      reopened.check(id(), 'c2', 1, 2);
    }).toThrow(/revision decreased from 3 to 2/);
  });

  it('changes made together share writes, and each resolves only once it is stored', async () => {
    const storage = memoryStorage();
    const cache = await KvRollbackCache.open(backend, storage);
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => cache.put(id(k), `c-${k}`, 1, 1)));
    expect(storage.writes).toBeLessThanOrEqual(3);
    for (const k of keys) expect(storedRevision(storage, k)).toBe(1);
    // And after a group commit, a lone change is still stored.
    await cache.put(id('k0'), 'c-again', 1, 2);
    expect(storedRevision(storage, 'k0')).toBe(2);
    await cache.flush();
    expect(storedRevision(storage, 'k0')).toBe(2);
  });
});
