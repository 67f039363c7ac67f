/**
 * A saltbox server in a child process (fixtures/kv-server-process.ts), for the SIGKILL
 * durability test and the KV benchmark: real process, real socket, killable.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export { freePort } from '../../server/test/pg.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/kv-server-process.ts', import.meta.url));

/** A running server process and the URL it printed. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts the server on `port` with `where` (a data directory for SQLite, or a `postgres://`
 * URL) and resolves once it listens. Its stderr is kept for the rejection message, or passed
 * through with `inheritStderr`.
 */
export function startServerProcess(
  port: number,
  where: string,
  options: { inheritStderr?: boolean; keyDir?: string } = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      SCRIPT,
      String(port),
      where,
      ...(options.keyDir === undefined ? [] : [options.keyDir]),
    ],
    { stdio: ['ignore', 'pipe', options.inheritStderr ? 'inherit' : 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ child, url: out.split('\n')[0]! });
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      reject(new Error(`server process exited (${String(code)}): ${err.slice(-2000)}`));
    });
  });
}

/** SIGKILLs the process (no chance to flush anything) and waits for it to be gone. */
export function killProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGKILL');
  });
}
