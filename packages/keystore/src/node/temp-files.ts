/**
 * Temporary files of atomic writes (write a temporary file beside the target, then rename it
 * over the target), named so that a later run can tell the leftover of a killed writer from a
 * write in progress, and removes those leftovers (issue 12, defect 17).
 *
 * A process killed with SIGKILL (or a power cut) runs no cleanup, so its temporary file —
 * possibly a whole decrypted plaintext — stays beside the target. The name therefore carries
 * the writer's host and process id: `.<target>.saltbox-<host>-<pid>-<random>.tmp`. Before a
 * directory is first written to, the files of that shape whose host is this one and whose
 * process no longer runs are removed. Files of another host (a shared or network directory)
 * are left alone: their process cannot be checked from here. A reused pid only delays the
 * cleanup to a later run; it never removes a live writer's file.
 *
 * Writing where no name can be left (Linux `O_TMPFILE`, then `linkat`) is out of reach from
 * Node: `fs.open` accepts the flag, but naming the file needs `linkat(…, AT_EMPTY_PATH)` (which
 * needs CAP_DAC_READ_SEARCH) or `linkat` of `/proc/self/fd/N` with `AT_SYMLINK_FOLLOW`, and
 * Node's `fs.link` is a plain `link(2)`, which does not follow that link (EXDEV). A link also
 * cannot replace an existing target, and the flag is Linux-only and not on every file system.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** A short, stable tag of this machine's host name (not the name itself). */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `.<name>.saltbox-<host>-<pid>-<random>.tmp`; the captures are host and pid. */
const TEMP_NAME = /^\..*\.saltbox-([0-9a-f]{8})-([1-9]\d{0,9})-[0-9a-f]{12}\.tmp$/s;

/** At most this many characters of the target's name go into the temporary name (NAME_MAX). */
const NAME_PART = 64;

/**
 * The temporary file for an atomic write of `target`: hidden, in the same directory (so the
 * rename stays on one file system), named by this host and `pid`.
 *
 * @param pid - the writing process (default this one)
 */
export function tempPathFor(target: string, pid: number = process.pid): string {
  const name = Array.from(basename(target)).slice(0, NAME_PART).join('');
  const random = randomBytes(6).toString('hex');
  return join(dirname(target), `.${name}.saltbox-${HOST_TAG}-${pid}-${random}.tmp`);
}

/** Whether a process with this id runs (EPERM: it runs, as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Directories already swept by this process: each is read once, however often it is written.
const swept = new Set<string>();

/**
 * Removes the temporary files that writers on this host left in `dir` when they were killed
 * (their process no longer runs). Each directory is swept once per process. Never throws:
 * an unreadable directory or a file another user owns is left as it is.
 *
 * @returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const key = resolve(dir);
  if (swept.has(key)) return [];
  swept.add(key);
  let names: string[];
  try {
    names = await readdir(key);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m?.[1] !== HOST_TAG) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processRuns(pid)) continue;
    const path = join(key, name);
    try {
      // Only plain files: a directory or link of that name was not made by a writer.
      if (!(await lstat(path)).isFile()) continue;
      await unlink(path);
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
