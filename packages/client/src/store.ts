/**
 * The file-backed pins, team pins and verified-chain cache (interfaces and in-memory versions in
 * `pins.ts`): the files live under `$SALTBOX_HOME` with mode 0600 and are replaced atomically
 * (temp file, fsync, rename), so a crash never leaves a half-written pin.
 *
 * @packageDocumentation
 */
import { HOME_FILES, saltboxHome } from '@saltbox/keystore/paths';
import type { TeamPin, TeamPinStore } from './teams.js';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@saltbox/keystore/files';
import { ClientError } from './errors.js';
import type { CachedChain, ChainCache, Pin, PinStore } from './pins.js';
import type { LogPin, LogPinStore } from './log.js';

/**
 * The saltbox home (`$SALTBOX_HOME`, else the platform's config directory): the one rule of
 * `@saltbox/keystore/paths`, re-exported so every package resolves the same home.
 */
export { saltboxHome };

/**
 * Writes `data` to `path` with the one atomic writer of `@saltbox/keystore/files` (temp file
 * created 0600, fsync, rename, directory fsync; a killed writer's temporary file is removed by
 * a later run), mode 0600 or `options.mode`.
 *
 * @throws ClientError `CLIENT_STORE` when the file cannot be written.
 */
export async function writeAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  try {
    await writeFileAtomic(path, data, options);
  } catch (e) {
    throw new ClientError('CLIENT_STORE', 'could not write a client store file', {}, { cause: e });
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientError('CLIENT_STORE', 'could not read a client store file', {}, { cause: e });
  }
  try {
    return JSON.parse(text, reviver) as unknown;
  } catch (e) {
    throw new ClientError('CLIENT_STORE', 'a client store file is corrupt', {}, { cause: e });
  }
}

// JSON has no Map or Set; the verifier's state uses both, so they are tagged on the way out.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { $map: [...(value as Map<unknown, unknown>).entries()] };
  if (value instanceof Set) return { $set: [...(value as Set<unknown>).values()] };
  return value;
}
function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$map')
      return new Map((value as { $map: [unknown, unknown][] }).$map);
    if (keys.length === 1 && keys[0] === '$set')
      return new Set((value as { $set: unknown[] }).$set);
  }
  return value;
}

/** A lock older than this is taken to be left by a crashed process and broken. */
const STALE_LOCK_MS = 30_000;
/** How long a writer waits for the lock before giving up. */
const LOCK_WAIT_MS = 10_000;

/**
 * Runs `fn` holding `<path>.lock` (created with `wx`, so only one process holds it). Pins are
 * read-modify-write on one file; without the lock two processes pinning at once would each
 * rename their own copy and one pin would be lost.
 */
async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new ClientError('CLIENT_STORE', 'could not lock the pin file', {}, { cause: e });
      const age = await stat(lock).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rm(lock, { force: true });
      else if (Date.now() > deadline)
        throw new ClientError('CLIENT_STORE', 'the pin file stayed locked', {});
      else
        await new Promise((r) => {
          setTimeout(r, 5 + Math.random() * 20);
        });
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

const NAME_RE = /^[a-z0-9_]{1,64}$/;
const UID_RE = /^[0-9a-f]{32}$/;

/**
 * A JSON object of records in one file, as the pin stores keep them. Reads go through a
 * snapshot that is parsed again only when the file's identity (inode, size, mtime in ns)
 * changed: every writer replaces the file by rename ({@link writeAtomic}), which gives a new
 * inode, so another process's write is seen on the next read, while a keeper resolving a
 * thousand recipients pays a stat per recipient instead of reading and parsing the whole file
 * each time (7 s for 1,000 gets on a 1,000-pin file before). Writes are serialised in the
 * process (a queue) and across processes (a `<name>.lock` file created exclusively; a lock
 * older than 30 s is taken as left by a crash and broken), so concurrent `set`s never lose
 * each other's records.
 */
class JsonRecordFile<T> {
  readonly #dir: string;
  readonly #path: string;
  readonly #corrupt: string;
  #queue: Promise<unknown> = Promise.resolve();
  #snapshot: { identity: string; records: Readonly<Record<string, T>> } | undefined;

  constructor(dir: string, name: string, corruptMessage: string) {
    this.#dir = dir;
    this.#path = join(dir, name);
    this.#corrupt = corruptMessage;
  }

  async #records(): Promise<Readonly<Record<string, T>>> {
    let identity: string;
    try {
      const st = await stat(this.#path, { bigint: true });
      identity = `${String(st.ino)}:${String(st.size)}:${String(st.mtimeNs)}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ClientError('CLIENT_STORE', 'could not read a client store file', {}, { cause: e });
    }
    if (this.#snapshot?.identity === identity) return this.#snapshot.records;
    const data = await readJson(this.#path);
    if (data === undefined) return {};
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new ClientError('CLIENT_STORE', this.#corrupt);
    // Read after the stat: if the file was replaced in between, the next stat differs and the
    // newer file is read then; a snapshot is never newer than its identity says.
    this.#snapshot = { identity, records: data as Record<string, T> };
    return this.#snapshot.records;
  }

  /** A copy of one record, so callers cannot change the snapshot. */
  async get(key: string): Promise<T | undefined> {
    const all = await this.#records();
    return Object.hasOwn(all, key) ? structuredClone(all[key]) : undefined;
  }

  set(key: string, value: T): Promise<void> {
    const run = this.#queue.then(async () => {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await withFileLock(this.#path, async () => {
        const all = { ...(await this.#records()), [key]: value };
        await writeAtomic(this.#path, JSON.stringify(all, null, 1));
      });
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Pins in one file, `<dir>/pins.json` (default `$SALTBOX_HOME/pins.json`). Writes are
 * serialised in the process (a queue) and across processes (a `pins.json.lock` file created
 * exclusively; a lock older than 30 s is taken as left by a crash and broken), so concurrent
 * `set`s never lose each other's pins.
 */
export class FilePinStore implements PinStore {
  readonly #file: JsonRecordFile<Pin>;

  /** @param dir - the directory (created 0700); default {@link saltboxHome}. */
  constructor(dir: string = saltboxHome()) {
    this.#file = new JsonRecordFile(dir, HOME_FILES.pins, 'the pin file is corrupt');
  }

  /** @throws ClientError `CLIENT_STORE`. */
  get(username: string): Promise<Pin | undefined> {
    return this.#file.get(username);
  }

  /** @throws ClientError `CLIENT_STORE`. */
  set(pin: Pin): Promise<void> {
    if (!NAME_RE.test(pin.username))
      return Promise.reject(new ClientError('CLIENT_INVALID_ARGUMENT', 'bad username for a pin'));
    return this.#file.set(pin.username, pin);
  }
}

const TEAM_ID_RE = /^[0-9a-f]{30}(?:24|2e|25|2f)$/;

/**
 * Team pins (`TeamLoader`'s team ID, root link and newest verified tail) in one file,
 * `<dir>/team-pins.json` (0600, written atomically, locked across processes like `pins.json`),
 * so the prefix rule for teams survives across CLI runs.
 */
export class FileTeamPinStore implements TeamPinStore {
  readonly #file: JsonRecordFile<TeamPin>;

  /** @param dir - the directory (created 0700); default {@link saltboxHome}. */
  constructor(dir: string = saltboxHome()) {
    this.#file = new JsonRecordFile(dir, HOME_FILES.teamPins, 'the team pin file is corrupt');
  }

  /** @throws ClientError `CLIENT_STORE`. */
  get(teamId: string): Promise<TeamPin | undefined> {
    return this.#file.get(teamId);
  }

  /** @throws ClientError `CLIENT_STORE`, `CLIENT_INVALID_ARGUMENT` (not a team ID). */
  set(pin: TeamPin): Promise<void> {
    if (!TEAM_ID_RE.test(pin.teamId))
      return Promise.reject(new ClientError('CLIENT_INVALID_ARGUMENT', 'bad team id for a pin'));
    return this.#file.set(pin.teamId, pin);
  }
}

/**
 * Log pins (the server's root key and the newest root verified, per server URL) in one file,
 * `<dir>/log-pins.json` (0600, written atomically, locked across processes like `pins.json`).
 */
export class FileLogPinStore implements LogPinStore {
  readonly #file: JsonRecordFile<LogPin>;

  /** @param dir - the directory (created 0700); default {@link saltboxHome}. */
  constructor(dir: string = saltboxHome()) {
    this.#file = new JsonRecordFile(dir, HOME_FILES.logPins, 'the log pin file is corrupt');
  }

  /** @throws ClientError `CLIENT_STORE`. */
  get(server: string): Promise<LogPin | undefined> {
    return this.#file.get(server);
  }

  /** @throws ClientError `CLIENT_STORE`. */
  set(pin: LogPin): Promise<void> {
    return this.#file.set(pin.server, pin);
  }
}

/** The chain cache as one file per UID under `<dir>/chains/` (default under `$SALTBOX_HOME`). */
export class FileChainCache implements ChainCache {
  readonly #dir: string;

  /** @param dir - the saltbox home directory; default {@link saltboxHome}. */
  constructor(dir: string = saltboxHome()) {
    this.#dir = join(dir, HOME_FILES.chains);
  }

  async get(uid: string): Promise<CachedChain | undefined> {
    if (!UID_RE.test(uid)) return undefined;
    try {
      const e = (await readJson(join(this.#dir, `${uid}.json`))) as CachedChain | undefined;
      // A cache file that does not describe this UID is treated as missing, not trusted.
      if (e?.uid !== uid || !Array.isArray(e.linkIds) || !(e.state.keys instanceof Map))
        return undefined;
      return e;
    } catch {
      return undefined;
    }
  }

  /** @throws ClientError `CLIENT_STORE`. */
  async set(entry: CachedChain): Promise<void> {
    if (!UID_RE.test(entry.uid))
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'bad uid for the chain cache');
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await writeAtomic(join(this.#dir, `${entry.uid}.json`), JSON.stringify(entry, replacer));
  }
}
