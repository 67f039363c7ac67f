/**
 * The one atomic writer (`@saltbox/keystore/files`, #15.1): 0600 whatever the umask, a wider
 * mode only when asked, replace or refuse (`noClobber`) an existing target, and nothing left
 * beside the target when a write fails.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStore } from '../src/node/index.js';
import { writeFileAtomic } from '../src/node/atomic-file.js';

const posix = process.platform !== 'win32';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'saltbox-atomic-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.runIf(posix)('writes 0600 under a permissive umask, wider only when asked', async () => {
    const old = process.umask(0o000);
    try {
      await writeFileAtomic(join(dir, 'secret'), 's');
      await writeFileAtomic(join(dir, 'shared'), 'p', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect((await stat(join(dir, 'secret'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'shared'))).mode & 0o777).toBe(0o644);
  });

  it('replaces a target, or refuses to with noClobber, leaving no temporary file', async () => {
    const target = join(dir, 'f.json');
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, new TextEncoder().encode('two'));
    expect(await readFile(target, 'utf8')).toBe('two');
    await expect(writeFileAtomic(target, 'three', { noClobber: true })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await readFile(target, 'utf8')).toBe('two');
    await writeFileAtomic(join(dir, 'new.json'), 'n', { noClobber: true });
    expect(await readFile(join(dir, 'new.json'), 'utf8')).toBe('n');
    expect((await readdir(dir)).sort()).toEqual(['f.json', 'new.json']);
  });

  it('fails with the file system error when the directory is missing, target untouched', async () => {
    await expect(writeFileAtomic(join(dir, 'nope', 'f'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // A target that is a directory cannot be replaced: the temporary file is removed again.
    await writeFile(join(dir, 'keep'), 'k');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'adir'));
    await expect(writeFileAtomic(join(dir, 'adir'), 'x')).rejects.toBeInstanceOf(Error);
    expect((await readdir(dir)).sort()).toEqual(['adir', 'keep']);
  });

  it("is the keystore file store's writer: records are 0600 and list ignores temp files", async () => {
    const store = fileStore(join(dir, 'ks'));
    await store.set('device/a', new Uint8Array([1, 2]));
    await writeFile(join(dir, 'ks', '.device~b.rec.saltbox-00000000-1-000000000000.tmp'), 'x');
    expect(await store.list()).toEqual(['device/a']);
    if (posix) expect((await stat(join(dir, 'ks', 'device~a.rec'))).mode & 0o777).toBe(0o600);
  });
});
