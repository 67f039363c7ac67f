/**
 * The keystore commands: `saltbox agent start|stop|status`, `saltbox unlock`, `saltbox lock`,
 * and `saltbox keygen --keystore`. The keystore package does the work (`startAgent`,
 * `connectAgent`, `openFileKeystore`); these functions add passphrase sources, process
 * management and the CLI's messages.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareAgentSocketDir, saltboxHome, startAgent } from '@saltbox/keystore/node';
import type { AgentClient, AgentStatus } from '@saltbox/keystore/node';
import type { KeystoreClient } from '@saltbox/keystore';
import type { CommandContext, Flags } from './context.js';
import { CliError, usage } from './errors.js';
import {
  configuredSigningKid,
  defaultDeviceName,
  keystorePaths,
  kidToHex,
  openInProcess,
  pickDevice,
  requireAgent,
  tryConnectAgent,
} from './keystore-access.js';
import type { DeviceInfo, KeystorePaths, OpenKeystore } from './keystore-access.js';
import { PASSPHRASE_ENV, readPassphrase } from './passphrase.js';
import { setInterruptHandler } from './signals.js';
import { info } from './ui.js';

/** The agent's default idle auto-lock: 15 minutes, as the keystore's own default. */
const DEFAULT_IDLE_LOCK = '15m';
/** How long `agent start` waits for a detached agent to answer. */
const START_TIMEOUT_MS = 15_000;
/** How long `agent stop` waits for the agent process to exit. */
const STOP_TIMEOUT_MS = 10_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `--idle-lock`: `30s`, `15m`, `2h`, `1d`, `500ms`; `never`, `off` or `0` disable it.
 *
 * @returns milliseconds, or null for never.
 * @throws CliError `CLI_USAGE`.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'never' || t === 'off' || t === '0') return null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 2 ** 31 - 1) {
    throw usage(
      `invalid duration "${text}" for --idle-lock`,
      "a duration is like 30s, 15m, 2h or 1d; 'never' turns auto-lock off",
    );
  }
  return ms;
}

/** Formats milliseconds the way {@link parseDuration} reads them. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return 'never';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

function printJson(ctx: CommandContext, value: unknown): void {
  ctx.console.stdout(`${JSON.stringify(value)}\n`);
}

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What to tell the user to do next, given the agent keystore's state. */
function nextStep(ctx: CommandContext, state: string): void {
  if (state === 'uninitialized') {
    info(ctx.console, "next: create the keystore with 'saltbox unlock --create'");
  } else if (state === 'locked') {
    info(ctx.console, "next: unlock the keystore with 'saltbox unlock'");
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * `saltbox agent start`: starts the agent detached (a background process with its standard
 * streams closed; returns once its socket answers) or, with `--foreground`, in this process
 * until SIGINT or SIGTERM.
 *
 * @throws CliError `KEYSTORE_AGENT_RUNNING`, `CLI_AGENT_START_FAILED`, `CLI_USAGE`; with
 *   `--vault-listen`, ProviderError `PROVIDER_NOT_LOGGED_IN` (no account in the home) and
 *   `PROVIDER_VAULT_REFUSED` (not a loopback or socket address), and `CLI_PROVIDER` (the
 *   socket path holds a file or a live socket), checked before detaching;
 *   KeystoreError `KEYSTORE_REFUSED` (the socket directory belongs to someone else or is open to
 *   others), `KEYSTORE_AGENT_SOCKET` (the socket path is too long or cannot be listened on).
 */
export async function agentStart(flags: Flags, ctx: CommandContext): Promise<void> {
  const idleText = str(flags, 'idle-lock') ?? DEFAULT_IDLE_LOCK;
  const idleLockMs = parseDuration(idleText);
  const paths = keystorePaths();
  const existing = await tryConnectAgent(paths.socketPath);
  if (existing) {
    const st = await existing.agentStatus().finally(() => existing.close());
    throw new CliError(
      'KEYSTORE_AGENT_RUNNING',
      `a keystore agent is already running (pid ${st.pid})`,
    );
  }
  const vaultListen = str(flags, 'vault-listen');
  if (vaultListen !== undefined) {
    const { checkVaultBridgeStart } = await import('./provider-commands.js');
    await checkVaultBridgeStart(vaultListen);
  }
  if (bool(flags, 'foreground')) {
    await runForeground(ctx, paths, idleLockMs, vaultListen);
    return;
  }
  // Here, not only in the detached child (whose output goes nowhere): an unusable socket path
  // or directory is reported with its path instead of a bare "exited" (issue #12.23).
  await prepareAgentSocketDir(paths.socketPath);

  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  // The agent never needs the passphrase from the environment: unlock sends it over the socket.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== PASSPHRASE_ENV),
  );
  // The agent runs in `/`: it gets the home as an absolute path, so a relative SALTBOX_HOME
  // names the same keystore and the same socket (whose name hashes the absolute home).
  env.SALTBOX_HOME = resolve(saltboxHome());
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      main,
      'agent',
      'start',
      '--foreground',
      '--idle-lock',
      formatDuration(idleLockMs),
      ...(vaultListen === undefined ? [] : ['--vault-listen', vaultListen]),
    ],
    {
      detached: true,
      stdio: 'ignore',
      env,
      // Like any daemon: do not keep the caller's working directory busy.
      cwd: process.platform === 'win32' ? undefined : '/',
      windowsHide: true,
    },
  );
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal === null ? `exit code ${code ?? '?'}` : `signal ${signal}`;
  });
  child.once('error', (e) => {
    exited = (e as NodeJS.ErrnoException).code ?? 'spawn error';
  });
  child.unref();

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      throw new CliError(
        'CLI_AGENT_START_FAILED',
        `the keystore agent exited before it was ready (${exited}); its socket would be ${paths.socketPath}`,
      );
    }
    const agent = await tryConnectAgent(paths.socketPath).catch(() => undefined);
    if (agent) {
      try {
        const st = await agent.agentStatus();
        const ks = await agent.status();
        if (bool(flags, 'json')) {
          printJson(ctx, {
            running: true,
            pid: st.pid,
            socketPath: st.socketPath,
            idleLockMs,
            keystore: ks.state,
          });
        } else {
          info(ctx.console, `keystore agent started (pid ${st.pid}) on ${st.socketPath}`);
          nextStep(ctx, ks.state);
        }
        return;
      } finally {
        await agent.close();
      }
    }
    if (Date.now() > deadline) {
      if (child.pid !== undefined && alive(child.pid)) process.kill(child.pid, 'SIGTERM');
      throw new CliError(
        'CLI_AGENT_START_FAILED',
        `the keystore agent did not answer on ${paths.socketPath} within ${START_TIMEOUT_MS / 1000}s`,
      );
    }
    await sleep(50);
  }
}

/** The agent in this process: serves until `agent stop`, SIGINT or SIGTERM. */
async function runForeground(
  ctx: CommandContext,
  paths: KeystorePaths,
  idleLockMs: number | null,
  vaultListen?: string,
): Promise<void> {
  // The agent is also the client service (issue #15.2): warm KV and `kvstore api` answers.
  const { createClientService } = await import('./client-service.js');
  let service: ReturnType<typeof createClientService> | undefined;
  const agent = await startAgent({
    socketPath: paths.socketPath,
    keystoreDir: paths.keystoreDir,
    idleLockMs,
    serve: (keystore) => {
      service = createClientService(keystore, paths);
      return service.methods;
    },
  });
  let bridge: { address: string; close(): Promise<void> } | undefined;
  if (vaultListen !== undefined) {
    try {
      const { startAgentVaultBridge } = await import('./provider-commands.js');
      bridge = await startAgentVaultBridge(vaultListen);
    } catch (e) {
      await agent.stop();
      throw e;
    }
    info(ctx.console, `vault bridge listening on ${bridge.address}`);
  }
  setInterruptHandler(() => agent.stop());
  info(
    ctx.console,
    `keystore agent listening on ${agent.socketPath} (pid ${process.pid}, idle lock ${formatDuration(idleLockMs)})`,
  );
  await agent.stopped;
  await service?.close();
  // Closed before this returns (and the process exits): closing removes vault-bridge.json, so
  // a cleanly stopped agent leaves no record naming its address and token behind.
  await bridge?.close();
  setInterruptHandler(undefined);
  info(ctx.console, 'keystore agent stopped');
}

/**
 * `saltbox agent stop`: asks the agent to lock and exit, and waits until it has.
 *
 * @throws CliError `KEYSTORE_AGENT_NOT_RUNNING`.
 */
export async function agentStop(flags: Flags, ctx: CommandContext): Promise<void> {
  const paths = keystorePaths();
  const agent = await requireAgent(paths, 'there is nothing to stop');
  let st: AgentStatus;
  try {
    st = await agent.agentStatus();
    await agent.stopAgent();
  } finally {
    await agent.close();
  }
  // The socket is removed as the agent stops; its process exits right after.
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (st.pid !== process.pid && alive(st.pid) && Date.now() < deadline) await sleep(25);
  if (bool(flags, 'json')) printJson(ctx, { stopped: true, pid: st.pid });
  else info(ctx.console, `keystore agent stopped (pid ${st.pid})`);
}

/**
 * `saltbox agent status`: the agent's process, socket and keystore state (standard output).
 *
 * @throws CliError `KEYSTORE_AGENT_NOT_RUNNING`.
 */
export async function agentStatus(flags: Flags, ctx: CommandContext): Promise<void> {
  const paths = keystorePaths();
  const agent = await requireAgent(paths, "start one with 'saltbox agent start'");
  try {
    const st = await agent.agentStatus();
    const ks = await agent.status();
    if (bool(flags, 'json')) {
      printJson(ctx, {
        running: true,
        pid: st.pid,
        socketPath: st.socketPath,
        startedAt: st.startedAt,
        // This status request's own connection is not counted.
        connections: Math.max(0, st.connections - 1),
        keystore: {
          directory: paths.keystoreDir,
          state: ks.state,
          idleLockMs: ks.idleLockMs,
          devices: ks.counts.devices,
        },
      });
      return;
    }
    const devices =
      ks.state === 'unlocked'
        ? `, ${ks.counts.devices} device${ks.counts.devices === 1 ? '' : 's'}`
        : '';
    ctx.console.stdout(
      [
        `agent: running (pid ${st.pid}) since ${st.startedAt}`,
        `socket: ${st.socketPath}`,
        `keystore: ${ks.state}${devices} (${paths.keystoreDir})`,
        `idle lock: ${formatDuration(ks.idleLockMs)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await agent.close();
  }
}

/**
 * `saltbox unlock [--create]`: unlocks the agent's keystore with a passphrase from
 * `--passphrase-file`, `SALTBOX_PASSPHRASE` or the terminal; `--create` makes the keystore on
 * first use (asking twice on a terminal).
 *
 * @throws CliError `KEYSTORE_AGENT_NOT_RUNNING`, `KEYSTORE_UNINITIALIZED` (no `--create`),
 *   passphrase errors; KeystoreError `KEYSTORE_WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT`, ….
 */
export async function unlock(flags: Flags, ctx: CommandContext): Promise<void> {
  const paths = keystorePaths();
  const agent = await requireAgent(
    paths,
    "the keystore is unlocked inside the agent: start it with 'saltbox agent start', then run 'saltbox unlock' again",
  );
  try {
    const before = (await agent.status()).state;
    if (before === 'unlocked') {
      if (bool(flags, 'json')) printJson(ctx, { state: 'unlocked', created: false, already: true });
      else info(ctx.console, 'the keystore is already unlocked');
      return;
    }
    const create = before === 'uninitialized';
    if (create && !bool(flags, 'create')) {
      throw new CliError('KEYSTORE_UNINITIALIZED', `there is no keystore in ${paths.keystoreDir}`);
    }
    const passphrase = await readPassphrase({
      file: str(flags, 'passphrase-file'),
      confirm: create,
      prompt: create
        ? `new passphrase for the keystore in ${paths.keystoreDir}`
        : `passphrase for the keystore in ${paths.keystoreDir}`,
    });
    await agent.unlock({ passphrase, create });
    const { idleLockMs } = await agent.status();
    if (bool(flags, 'json')) {
      printJson(ctx, { state: 'unlocked', created: create, already: false, idleLockMs });
      return;
    }
    const after =
      idleLockMs === null ? '' : ` (locks again after ${formatDuration(idleLockMs)} unused)`;
    if (create) info(ctx.console, `created the keystore in ${paths.keystoreDir}, unlocked${after}`);
    else info(ctx.console, `keystore unlocked${after}`);
  } finally {
    await agent.close();
  }
}

/**
 * `saltbox lock`: makes the agent drop every secret from memory. With `--json`, one object on
 * standard output (`{"state":"locked"}`), like every other `--json` command.
 *
 * @throws CliError `KEYSTORE_AGENT_NOT_RUNNING`.
 */
export async function lock(flags: Flags, ctx: CommandContext): Promise<void> {
  const agent = await requireAgent(keystorePaths(), 'without an agent nothing stays unlocked');
  try {
    await agent.lock();
    if (bool(flags, 'json')) printJson(ctx, { state: 'locked' });
    else info(ctx.console, 'keystore locked');
  } finally {
    await agent.close();
  }
}

/**
 * The keystore for `keygen --keystore`: the agent's (which must be unlocked), else the file
 * keystore in this process, created on first use.
 */
async function openForKeygen(flags: Flags, paths: KeystorePaths): Promise<OpenKeystore> {
  const agent: AgentClient | undefined = await tryConnectAgent(paths.socketPath);
  if (agent) {
    try {
      const { state } = await agent.status();
      if (state === 'locked') throw new CliError('KEYSTORE_LOCKED', 'the keystore agent is locked');
      if (state === 'uninitialized') {
        throw new CliError(
          'KEYSTORE_UNINITIALIZED',
          `there is no keystore in ${paths.keystoreDir}`,
        );
      }
    } catch (e) {
      await agent.close();
      throw e;
    }
    return {
      client: agent,
      kind: 'agent',
      location: paths.socketPath,
      close: () => agent.close(),
    };
  }
  const local = await openInProcess(paths.keystoreDir, {
    passphraseFile: str(flags, 'passphrase-file'),
    create: true,
  });
  if (!local) throw new CliError('CLI_INTERNAL', 'the keystore could not be created');
  return local;
}

async function findOrCreateDevice(
  client: KeystoreClient,
): Promise<{ device: DeviceInfo; created: boolean }> {
  // The device config.json names (a home that added a device holds more than one), as the
  // Saltpack commands use it; else the keystore's own.
  const existing = pickDevice(
    (await client.getPublicKeyBundle()).devices,
    await configuredSigningKid(),
  );
  if (existing) return { device: existing, created: false };
  const device = await client.createDevice({ name: defaultDeviceName(), type: 'desktop' });
  return { device, created: true };
}

/**
 * `saltbox keygen --keystore`: creates the keystore's device key (or reports the one it has)
 * and prints its encryption public key on the first line and its signing public key on the
 * second, as `keygen` does for key files.
 *
 * @throws CliError `KEYSTORE_LOCKED`, `KEYSTORE_UNINITIALIZED` (agent), passphrase errors;
 *   KeystoreError `KEYSTORE_WRONG_PASSPHRASE`, ….
 */
export async function keygenKeystore(flags: Flags, ctx: CommandContext): Promise<void> {
  const paths = keystorePaths();
  const ks = await openForKeygen(flags, paths);
  try {
    const { device, created } = await findOrCreateDevice(ks.client);
    const encryptionPublicKey = kidToHex(device.encryptionKid);
    const signingPublicKey = kidToHex(device.signingKid);
    if (bool(flags, 'json')) {
      printJson(ctx, {
        keystore: paths.keystoreDir,
        via: ks.kind === 'agent' ? 'agent' : 'in-process',
        created,
        deviceId: device.deviceId,
        deviceName: device.name,
        encryptionPublicKey,
        signingPublicKey,
        encryptionKid: device.encryptionKid,
        signingKid: device.signingKid,
      });
      return;
    }
    ctx.console.stdout(`${encryptionPublicKey}\n${signingPublicKey}\n`);
    info(
      ctx.console,
      created
        ? `created device "${device.name}" in the keystore ${paths.keystoreDir}`
        : `the keystore ${paths.keystoreDir} already has device "${device.name}"`,
    );
    info(
      ctx.console,
      'line 1 is your encryption public key (for -r), line 2 your signing public key',
    );
  } finally {
    await ks.close();
  }
}
