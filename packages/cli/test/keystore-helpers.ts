/**
 * Helpers for the keystore tests: a temporary home whose CLI runs never see the caller's
 * passphrase or terminal, and bookkeeping so every agent a test starts is stopped afterwards.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentSocketPath, connectAgent } from '@saltbox/keystore/node';
import type { AgentStatus } from '@saltbox/keystore/node';
import { run, tempHome } from './helpers.js';
import type { RunOptions, RunResult } from './helpers.js';

export interface KeystoreHome {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Where this home's agent listens (outside the home, named by its hash). */
  socketPath: string;
  /** Runs `saltbox` in this home, detached from any terminal; `env` adds variables. */
  sb: (args: readonly string[], options?: RunOptions) => Promise<RunResult>;
  /** Starts an agent here and remembers its pid; fails the test if it does not start. */
  startAgent: (args?: readonly string[]) => Promise<number>;
  /** The running agent's pid, or undefined. */
  agentPid: () => Promise<number | undefined>;
  /**
   * The agent's own status, asked in-process (cheaper than spawning the CLI); the asking
   * connection is counted in `connections`.
   */
  agentStatus: () => Promise<AgentStatus | undefined>;
  /** Stops (or kills) every agent started here, then removes the directory. */
  cleanup: () => Promise<void>;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The socket the CLI computes for `home` when run with the test's environment. */
export const socketPathOf = (home: string): string =>
  agentSocketPath(home, { env: { ...process.env, SALTBOX_HOME: home } });

export function keystoreHome(options: { dirName?: string } = {}): KeystoreHome {
  const home = tempHome(options.dirName);
  const socketPath = socketPathOf(home.dir);
  const pids = new Set<number>();
  // An empty SALTBOX_PASSPHRASE counts as unset: the caller's own never leaks into a test.
  const env = { ...home.env, SALTBOX_PASSPHRASE: '' };
  const sb = (args: readonly string[], options: RunOptions = {}) =>
    run(args, { ...options, detached: true, env: { ...env, ...options.env } });
  const agentStatus = async (): Promise<AgentStatus | undefined> => {
    const agent = await connectAgent(socketPath).catch(() => undefined);
    if (!agent) return undefined;
    try {
      return await agent.agentStatus();
    } finally {
      await agent.close();
    }
  };
  const agentPid = async (): Promise<number | undefined> => (await agentStatus())?.pid;
  return {
    dir: home.dir,
    env,
    socketPath,
    sb,
    agentPid,
    agentStatus,
    startAgent: async (args = []) => {
      const r = await sb(['agent', 'start', ...args]);
      if (r.code !== 0) throw new Error(`agent start failed: ${r.stderr}`);
      const pid = await agentPid();
      if (pid === undefined) throw new Error('agent started but does not answer');
      pids.add(pid);
      return pid;
    },
    cleanup: async () => {
      const agent = await connectAgent(socketPath).catch(() => undefined);
      await agent?.stopAgent().catch(() => undefined);
      await agent?.close();
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      // A killed agent leaves its socket behind, now outside the home.
      rmSync(socketPath, { force: true });
      home.cleanup();
    },
  };
}

/** SHA-256 of every file in the keystore directory: proof that nothing was written. */
export function snapshot(dir: string): Record<string, string> {
  const ks = join(dir, 'keystore');
  if (!existsSync(ks)) return {};
  return Object.fromEntries(
    readdirSync(ks)
      .sort()
      .map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(ks, f)))
          .digest('hex'),
      ]),
  );
}
