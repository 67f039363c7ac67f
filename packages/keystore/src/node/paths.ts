/**
 * Where the keystore and the agent socket live on this machine (DESIGN.md, "Files on a user's
 * machine").
 *
 * @packageDocumentation
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

/**
 * `$SALTBOX_HOME`, else the platform's config directory: `$XDG_CONFIG_HOME/saltbox` or
 * `~/.config/saltbox` (Linux), `~/Library/Application Support/saltbox` (macOS),
 * `%APPDATA%\saltbox` (Windows).
 */
export function defaultSaltboxHome(env: Env = process.env): string {
  if (env.SALTBOX_HOME) return env.SALTBOX_HOME;
  if (process.platform === 'darwin') {
    return join(homedir(), 'Library', 'Application Support', 'saltbox');
  }
  if (process.platform === 'win32') {
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'saltbox');
  }
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'saltbox');
}

/** The encrypted keystore directory: `<saltbox home>/keystore`. */
export function defaultKeystoreDir(env: Env = process.env): string {
  return join(defaultSaltboxHome(env), 'keystore');
}

/**
 * The agent socket: `$SALTBOX_HOME/agent.sock` when `SALTBOX_HOME` is set, else
 * `$XDG_RUNTIME_DIR/saltbox/agent.sock`, else `<saltbox home>/agent.sock`; a per-user named
 * pipe on Windows. Unix socket paths are limited to about 104 bytes, so keep homes short.
 */
export function defaultSocketPath(env: Env = process.env): string {
  if (process.platform === 'win32') return `\\\\.\\pipe\\saltbox-agent-${userInfo().username}`;
  if (env.SALTBOX_HOME) return join(env.SALTBOX_HOME, 'agent.sock');
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'saltbox', 'agent.sock');
  return join(defaultSaltboxHome(env), 'agent.sock');
}
