/**
 * The one atomic writer of saltbox's files on a user's machine (DESIGN.md, "Files on a user's
 * machine"): the keystore's records, the client's pins, chain cache, rollback cache and config,
 * the provider's key cache and follows, the CLI's key files. Every one of them is written the
 * same way — a temporary file in the same directory created exclusively with mode 0600, the
 * data, fsync, rename over the target (or a hard link when the target must not be replaced),
 * fsync of the directory — so a crash or a kill at any point leaves the old or the new file,
 * never a mix, and a secret is never readable by others, not even for a moment.
 *
 * Errors are the file system's own (`NodeJS.ErrnoException`): each caller turns them into its
 * layer's code (`KEYSTORE_STORAGE`, `CLIENT_STORE`, `CLI_IO`, …).
 *
 * @packageDocumentation
 */
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { removeStaleTempFiles, tempPathFor } from './temp-files.js';

export { removeStaleTempFiles, tempPathFor } from './temp-files.js';

/** How {@link writeFileAtomic} writes. */
export interface AtomicWriteOptions {
  /**
   * The file's mode (default 0600). A wider mode is set only after the file was created 0600,
   * so it is never wider than asked whatever the umask; ignored on Windows, where a mode only
   * toggles the read-only flag (access is the profile directory's ACL).
   */
  mode?: number;
  /**
   * Refuse to replace an existing target (`EEXIST`): the temporary file is hard-linked into
   * place, which fails if the target exists, so two concurrent writers cannot overwrite each
   * other. File systems without hard links get a check-then-rename with a small race window.
   */
  noClobber?: boolean;
}

/**
 * Makes a rename or link in `dir` durable. Best effort: some platforms (Windows) cannot open
 * or fsync a directory; the rename is still atomic there, only weaker across power loss.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort: the data itself is already synced
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Hard-links `temp` to `path`, refusing an existing `path` (`EEXIST`). */
async function linkNoClobber(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS')
      throw e;
    const exists = await lstat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
    await rename(temp, path);
  }
}

/**
 * Writes `data` to `path` atomically and durably: a temporary file beside it (named by
 * {@link tempPathFor}, so a later run removes it if this process is killed — the first write
 * to a directory sweeps such leftovers with {@link removeStaleTempFiles}), created exclusively
 * with mode 0600, written, fsynced, renamed over `path` (or linked, with `noClobber`), then the
 * directory fsynced. The directory must exist. On failure the temporary file is removed and
 * the target is untouched.
 *
 * @throws NodeJS.ErrnoException the file system's error; `EEXIST` when `noClobber` is set and
 *   `path` exists.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  await removeStaleTempFiles(dir);
  const temp = tempPathFor(path);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      const { mode } = options;
      if (mode !== undefined && mode !== 0o600 && process.platform !== 'win32')
        await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.noClobber === true) await linkNoClobber(temp, path);
    else await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  // After a link the temporary name is a second link to the same file.
  if (options.noClobber === true) await unlink(temp).catch(() => undefined);
  await syncDirectory(dir);
}
