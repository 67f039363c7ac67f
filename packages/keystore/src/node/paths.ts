/**
 * Where saltbox keeps its files on this machine and where the keystore agent listens (DESIGN.md,
 * "Files on a user's machine"). The one definition of the home layout: `@saltbox/client`, the
 * provider and the CLI all call {@link saltboxHome}, so they can never disagree.
 *
 * Every input — platform, environment, home directory, the `path` flavour — is injectable, so
 * the macOS and Windows layouts are computed and tested on Linux (`path.win32` injected).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import type { PlatformPath } from 'node:path';
import { KeystoreError } from '../errors.js';

/** Environment variables, as `process.env`. */
export type Env = Record<string, string | undefined>;

/** The facts of the host that decide the layout; each defaults to this process's. */
export interface HostInfo {
  /** `process.platform`. */
  platform: NodeJS.Platform;
  /** `process.env`. */
  env: Env;
  /** The user's home directory, `os.homedir()`. */
  homedir: string;
  /** `path.win32` on Windows, else `path.posix`. */
  path: PlatformPath;
}

/** What {@link agentSocketPath} needs beyond {@link HostInfo}; each defaults to this process's. */
export interface SocketHostInfo extends HostInfo {
  /** The numeric user id (`process.getuid()`); absent on Windows. */
  uid: number | undefined;
  /** The user name, for the Windows pipe name (`os.userInfo().username`, else `%USERNAME%`). */
  username: string;
  /**
   * The system temp directory for the fallback socket directory: `/tmp` on Unix. Deliberately not
   * `$TMPDIR`, which can itself be long (macOS's `/var/folders/…`, test harnesses).
   */
  tmpdir: string;
  /**
   * Whether `dir` may hold the socket as an XDG runtime directory: a real directory (not a
   * symlink) of this user, mode 0700, as the XDG Base Directory spec requires of it.
   */
  isPrivateDir: (dir: string) => boolean;
}

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== '';

function hostWith(host: Partial<HostInfo>): HostInfo {
  const platform = host.platform ?? process.platform;
  return {
    platform,
    env: host.env ?? process.env,
    // os.homedir() only when a rule needs it: a set SALTBOX_HOME never asks.
    get homedir() {
      return host.homedir ?? homedir();
    },
    path: host.path ?? (platform === 'win32' ? path.win32 : path.posix),
  };
}

/** A user name as it may appear in a file or pipe name. */
const safeName = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * The saltbox home: `$SALTBOX_HOME` when set and non-empty (it overrides everything), else the
 * platform's per-user configuration directory plus `saltbox`:
 *
 * - Linux and other Unix: `$XDG_CONFIG_HOME/saltbox` when that variable is non-empty and
 *   absolute (the XDG spec says to ignore a relative one), else `~/.config/saltbox`;
 * - macOS: `~/Library/Application Support/saltbox`;
 * - Windows: `%APPDATA%\saltbox`, else `%USERPROFILE%\AppData\Roaming\saltbox`, else the same
 *   under the home directory.
 *
 * @param host - the platform, environment, home directory and `path` flavour (default: this
 *   process's).
 */
export function saltboxHome(host: Partial<HostInfo> = {}): string {
  const h = hostWith(host);
  const { env, path: p } = h;
  if (nonEmpty(env.SALTBOX_HOME)) return env.SALTBOX_HOME;
  if (h.platform === 'win32') {
    if (nonEmpty(env.APPDATA) && p.isAbsolute(env.APPDATA)) return p.join(env.APPDATA, 'saltbox');
    const profile = nonEmpty(env.USERPROFILE) ? env.USERPROFILE : h.homedir;
    return p.join(profile, 'AppData', 'Roaming', 'saltbox');
  }
  if (h.platform === 'darwin') {
    return p.join(h.homedir, 'Library', 'Application Support', 'saltbox');
  }
  const xdg = env.XDG_CONFIG_HOME;
  return p.join(nonEmpty(xdg) && p.isAbsolute(xdg) ? xdg : p.join(h.homedir, '.config'), 'saltbox');
}

/**
 * The encrypted keystore directory, `<home>/keystore`.
 *
 * @param home - the saltbox home; default {@link saltboxHome}.
 * @param p - `path.win32` or `path.posix`; default this platform's.
 */
export function keystoreDirOf(home: string = saltboxHome(), p: PlatformPath = path): string {
  return p.join(home, HOME_FILES.keystore);
}

/**
 * The longest socket path `bind(2)` takes, in bytes without the final NUL: `sun_path` is 108
 * bytes on Linux, 104 on macOS and the BSDs. Longer paths are truncated or refused by the
 * kernel — the agent would be unreachable — so such a path is an error, never a silent fallback.
 * Windows named pipes have no such limit here (256 characters).
 */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  if (platform === 'win32') return 255;
  return platform === 'linux' || platform === 'android' ? 107 : 103;
}

/**
 * A short, stable name for a home: 16 hex digits of SHA-256 over its absolute path (lower-cased on
 * Windows, whose file names are case-insensitive). Like gpg-agent's socket directories, it lets
 * every home have its own agent without its (possibly long) path in the socket's path.
 */
export function homeHash(home: string, host: Partial<HostInfo> = {}): string {
  const h = hostWith(host);
  let key = h.path.resolve(home);
  if (h.platform === 'win32') key = key.toLowerCase();
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 16);
}

function defaultUsername(env: Env): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name, else a constant.
    return env.USERNAME ?? env.USER ?? 'user';
  }
}

function isPrivateDirOnDisk(uid: number | undefined) {
  return (dir: string): boolean => {
    try {
      const st = lstatSync(dir);
      return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o077) === 0;
    } catch {
      return false;
    }
  };
}

/**
 * Where the agent of `home` listens. Never inside the home: a home's path can be longer than a
 * Unix socket path may be (issue #12.23). Instead, named by {@link homeHash}:
 *
 * - Unix: `$XDG_RUNTIME_DIR/saltbox/agent-<hash>.sock` when `XDG_RUNTIME_DIR` is set, absolute,
 *   a 0700 directory of this user and the result fits {@link maxSocketPathBytes}; else
 *   `/tmp/saltbox-<uid>/agent-<hash>.sock` (the agent makes that directory 0700 and refuses one
 *   another user owns or others may enter, as tmux and gpg-agent do);
 * - Windows: the named pipe `\\.\pipe\saltbox-agent-<user>-<hash>`.
 *
 * Files about the agent other than its socket stay in the home.
 *
 * @param home - the saltbox home; default {@link saltboxHome} of `host`.
 * @param host - the host facts (default: this process's).
 */
export function agentSocketPath(home?: string, host: Partial<SocketHostInfo> = {}): string {
  const h = hostWith(host);
  const hash = homeHash(home ?? saltboxHome(host), host);
  if (h.platform === 'win32') {
    const user = safeName(host.username ?? defaultUsername(h.env));
    return `\\\\.\\pipe\\saltbox-agent-${user}-${hash}`;
  }
  const name = `agent-${hash}`;
  const p = h.path;
  const uid = 'uid' in host ? host.uid : process.getuid?.();
  const isPrivateDir = host.isPrivateDir ?? isPrivateDirOnDisk(uid);
  const runtime = h.env.XDG_RUNTIME_DIR;
  if (nonEmpty(runtime) && p.isAbsolute(runtime) && isPrivateDir(runtime)) {
    const inRuntime = p.join(runtime, 'saltbox', `${name}.sock`);
    if (Buffer.byteLength(inRuntime) <= maxSocketPathBytes(h.platform)) return inRuntime;
  }
  const owner = uid ?? safeName(host.username ?? defaultUsername(h.env));
  return p.join(host.tmpdir ?? '/tmp', `saltbox-${String(owner)}`, `${name}.sock`);
}

/**
 * Before connecting: the socket must be this user's (bind makes it with the creator's uid), and
 * so must its directory, not writable by others — else another local user could be listening
 * there to collect passphrases. A missing socket is left to `connect` (not running). Here, not
 * in agent.ts, so a light client (the CLI's service client) checks it without loading the
 * keystore.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED`.
 */
export async function checkAgentSocketOwner(socketPath: string): Promise<void> {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return;
  const uid = process.getuid();
  const refuse = (what: string): KeystoreError =>
    new KeystoreError('KEYSTORE_REFUSED', `the agent socket ${socketPath} ${what}`, {
      path: socketPath,
    });
  let sock;
  try {
    sock = await lstat(socketPath);
  } catch {
    return;
  }
  if (sock.uid !== uid) throw refuse('belongs to another user');
  const dir = await lstat(path.dirname(socketPath));
  if (dir.uid !== uid || (dir.mode & 0o022) !== 0) {
    throw refuse('is in a directory another user can write');
  }
}

/**
 * The name of every file saltbox keeps in a home (DESIGN.md, "Files on a user's machine"),
 * relative to it. Every package names these files through {@link homeLayout}, never by a
 * literal of its own, so a file cannot be written under one name and read under another.
 */
export const HOME_FILES = {
  /** The account this home acts as (server, user, device; nothing secret). */
  config: 'config.json',
  /** The client's user pins (eldest KID, newest verified tail). */
  pins: 'pins.json',
  /** The client's team pins (team ID, root link, newest verified tail). */
  teamPins: 'team-pins.json',
  /** The server's log key and newest verified log root, per server. */
  logPins: 'log-pins.json',
  /** Verified chain states, one file per UID. */
  chains: 'chains',
  /** The KV rollback cache (newest revision seen per entry). */
  kvCache: 'kv-rollback-cache.json',
  /** The provider's cache of verified recipient keys. */
  keyCache: 'provider-keys.json',
  /** The users this home follows (`saltbox follow`). */
  follows: 'following.json',
  /** The encrypted keystore (one record per file). */
  keystore: 'keystore',
  /** A plain key file (`saltbox keygen`, no keystore). */
  keyFile: 'saltpack.key',
  /** The running Vault bridge's address and token. */
  vaultBridge: 'vault-bridge.json',
  /** Vault key aliases (`{"prod": "alice,team:acme"}`). */
  vaultKeys: 'vault-keys.json',
  /** The default SQLite data directory of `saltbox server`. */
  serverData: 'server',
} as const;

/** The absolute (or home-relative, as the home is given) path of each of {@link HOME_FILES}. */
export type HomeLayout = { readonly [K in keyof typeof HOME_FILES]: string } & {
  /** The home itself. */
  readonly home: string;
  /** Where the home's agent listens (outside the home: {@link agentSocketPath}). */
  readonly agentSocket: string;
};

/**
 * The paths of every file of a home.
 *
 * @param home - the saltbox home; default {@link saltboxHome} of `host`.
 * @param host - the host facts (default: this process's).
 */
export function homeLayout(home?: string, host: Partial<SocketHostInfo> = {}): HomeLayout {
  const h = hostWith(host);
  const dir = home ?? saltboxHome(host);
  const files = Object.fromEntries(
    Object.entries(HOME_FILES).map(([k, name]) => [k, h.path.join(dir, name)]),
  ) as { [K in keyof typeof HOME_FILES]: string };
  return {
    ...files,
    home: dir,
    // Lazily: the socket rule looks at the disk (is XDG_RUNTIME_DIR private?).
    get agentSocket() {
      return agentSocketPath(dir, host);
    },
  };
}
