/**
 * The KV part of the storage conformance suite, run by `runStorageConformance` on every
 * backend. Each case uses its own random team ID.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { StorageError } from '../src/storage/errors.js';
import { storageErrorToServerError } from '../src/storage-errors-map.js';
import type { KvWriterRecord, Storage } from '../src/storage/types.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const writer: KvWriterRecord = { uid: hex(16), eldestSeqno: 1, deviceId: hex(16) };

async function code(p: Promise<unknown>): Promise<string> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  return apiCode(e) ?? '<not mapped>';
}

/** A storage error's API code: storage speaks its own codes, the server maps them (#16.3). */
function apiCode(e: unknown): string | undefined {
  expect(e).toBeInstanceOf(StorageError);
  return storageErrorToServerError(e as StorageError)?.code;
}

/** Registers the KV cases; `storage()` gives the suite's open storage. */
export function runKvConformance(storage: () => Storage): void {
  const put = (teamId: string, namespace: string, entryKey: string, revision: number, gen = 1) =>
    storage().kv.put({
      teamId,
      namespace,
      entryKey,
      revision,
      ciphertext: `ct-${namespace}-${entryKey}-${revision}`,
      formatVersion: 1,
      teamKeyGen: gen,
      writer,
    });
  const del = (teamId: string, namespace: string, entryKey: string, revision: number) =>
    storage().kv.del({ teamId, namespace, entryKey, revision, writer });

  it('kv: writes revisions 1, 2, … exactly; wrong revisions are refused and change nothing', async () => {
    const t = hex(16);
    const kv = storage().kv;
    expect(await kv.get(t, 'ns', 'k')).toBeNull();
    expect(await code(put(t, 'ns', 'k', 2))).toBe('KV_WRONG_REVISION');
    expect(await put(t, 'ns', 'k', 1)).toMatchObject({ revision: 1 });
    expect(await code(put(t, 'ns', 'k', 1))).toBe('KV_WRONG_REVISION');
    expect(await code(put(t, 'ns', 'k', 3))).toBe('KV_WRONG_REVISION');
    expect(await put(t, 'ns', 'k', 2, 2)).toMatchObject({ revision: 2 });
    const got = await kv.get(t, 'ns', 'k');
    expect(got).toEqual({
      teamId: t,
      namespace: 'ns',
      entryKey: 'k',
      revision: 2,
      ciphertext: 'ct-ns-k-2',
      formatVersion: 1,
      teamKeyGen: 2,
      writer,
      changeSeq: got!.changeSeq,
    });
    // A write under an older team key generation than the entry has is refused.
    expect(await code(put(t, 'ns', 'k', 3, 1))).toBe('KV_BAD_GENERATION');
    expect((await kv.get(t, 'ns', 'k'))!.revision).toBe(2);
    // Entries are per team, namespace and key.
    expect(await kv.get(hex(16), 'ns', 'k')).toBeNull();
    expect(await kv.get(t, 'ns2', 'k')).toBeNull();
  });

  it('kv: delete writes a tombstone that bumps the revision and keeps the generation', async () => {
    const t = hex(16);
    const kv = storage().kv;
    expect(await code(del(t, 'ns', 'k', 1))).toBe('KV_NOT_FOUND');
    await put(t, 'ns', 'k', 1, 3);
    expect(await code(del(t, 'ns', 'k', 1))).toBe('KV_WRONG_REVISION');
    expect(await del(t, 'ns', 'k', 2)).toMatchObject({ revision: 2 });
    const tomb = await kv.get(t, 'ns', 'k');
    expect(tomb).toMatchObject({ revision: 2, ciphertext: null, teamKeyGen: 3 });
    expect(await code(del(t, 'ns', 'k', 3))).toBe('KV_NOT_FOUND');
    // Writing over a tombstone continues the numbering (put 1, del 2, put 3, del 4).
    expect(await code(put(t, 'ns', 'k', 1, 3))).toBe('KV_WRONG_REVISION');
    await put(t, 'ns', 'k', 3, 3);
    expect(await del(t, 'ns', 'k', 4)).toMatchObject({ revision: 4 });
  });

  it('kv: two writers of one revision — exactly one wins', async () => {
    const t = hex(16);
    for (let rev = 1; rev <= 5; rev++) {
      const results = await Promise.allSettled([put(t, 'n', 'k', rev), put(t, 'n', 'k', rev)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(apiCode(lost!.reason)).toBe('KV_WRONG_REVISION');
    }
    expect((await storage().kv.get(t, 'n', 'k'))!.revision).toBe(5);
  });

  it('kv: batch get answers in request order, null for never written', async () => {
    const t = hex(16);
    await put(t, 'a', 'x', 1);
    await put(t, 'b', 'y', 1);
    await put(t, 'b', 'y', 2);
    const got = await storage().kv.getMany(t, [
      { namespace: 'b', entryKey: 'y' },
      { namespace: 'a', entryKey: 'nope' },
      { namespace: 'a', entryKey: 'x' },
    ]);
    expect(got.map((e) => e && [e.namespace, e.entryKey, e.revision])).toEqual([
      ['b', 'y', 2],
      null,
      ['a', 'x', 1],
    ]);
    expect(await storage().kv.getMany(hex(16), [{ namespace: 'a', entryKey: 'x' }])).toEqual([
      null,
    ]);
  });

  it('kv: lists live names only, __ names left out, byte order, paginated', async () => {
    const t = hex(16);
    const kv = storage().kv;
    expect(await kv.listNamespaces(t, { limit: 10 })).toEqual([]);
    for (const ns of ['b', 'a', 'B', '__hidden', '_one', 'gone', 'z'])
      for (const k of ['k2', 'k1', '__secret', 'K0']) await put(t, ns, k, 1);
    await del(t, 'gone', 'k1', 2);
    await del(t, 'gone', 'k2', 2);
    await del(t, 'gone', 'K0', 2);
    // 'gone' keeps only a hidden live key: it is not listed either way.
    await del(t, 'gone', '__secret', 2);
    await del(t, 'a', 'k2', 2);
    expect(await kv.listNamespaces(t, { limit: 10 })).toEqual(['B', '_one', 'a', 'b', 'z']);
    expect(await kv.listNamespaces(t, { limit: 2 })).toEqual(['B', '_one']);
    expect(await kv.listNamespaces(t, { after: '_one', limit: 2 })).toEqual(['a', 'b']);
    expect(await kv.listNamespaces(t, { after: 'b', limit: 2 })).toEqual(['z']);
    expect(await kv.listNamespaces(t, { after: 'z', limit: 2 })).toEqual([]);
    expect(await kv.listEntryKeys(t, 'a', { limit: 10 })).toEqual([
      { entryKey: 'K0', revision: 1 },
      { entryKey: 'k1', revision: 1 },
    ]);
    expect(await kv.listEntryKeys(t, 'b', { limit: 2, after: 'K0' })).toEqual([
      { entryKey: 'k1', revision: 1 },
      { entryKey: 'k2', revision: 1 },
    ]);
    expect(await kv.listEntryKeys(t, 'gone', { limit: 10 })).toEqual([]);
    // Hidden names stay readable directly.
    expect((await kv.get(t, '__hidden', '__secret'))!.revision).toBe(1);
    // Another team sees nothing.
    expect(await kv.listNamespaces(hex(16), { limit: 10 })).toEqual([]);
  });

  it('kv: change cursor per team, changes since a cursor, by namespace', async () => {
    const t = hex(16);
    const kv = storage().kv;
    expect(await kv.cursor(t)).toBe(0);
    await put(t, 'n1', 'a', 1);
    const c1 = await kv.cursor(t);
    expect(c1).toBe(1);
    await put(t, 'n2', 'b', 1);
    await put(t, 'n1', 'a', 2);
    await del(t, 'n1', 'a', 3);
    expect(await kv.cursor(t)).toBe(4);
    const all = await kv.changes(t, { since: c1, limit: 100 });
    expect(all.map((c) => [c.namespace, c.entryKey, c.revision, c.deleted])).toEqual([
      ['n2', 'b', 1, false],
      ['n1', 'a', 3, true],
    ]);
    expect(await kv.changes(t, { since: 0, namespace: 'n2', limit: 100 })).toEqual([
      { namespace: 'n2', entryKey: 'b', revision: 1, deleted: false, changeSeq: 2 },
    ]);
    expect(await kv.changes(t, { since: 4, limit: 100 })).toEqual([]);
    // A refused write does not move the cursor.
    await code(put(t, 'n1', 'a', 9));
    expect(await kv.cursor(t)).toBe(4);
  });

  it('kv: stores names of 255 bytes and values of 1 MiB', async () => {
    const t = hex(16);
    const long = 'é'.repeat(127) + 'x';
    const ciphertext = 'A'.repeat(1 << 20);
    await storage().kv.put({
      teamId: t,
      namespace: long,
      entryKey: long,
      revision: 1,
      ciphertext,
      formatVersion: 1,
      teamKeyGen: 1,
      writer,
    });
    const got = await storage().kv.get(t, long, long);
    expect(got!.ciphertext!.length).toBe(ciphertext.length);
    expect(got!.ciphertext === ciphertext).toBe(true);
  });
}
