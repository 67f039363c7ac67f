#!/usr/bin/env node
/**
 * `saltbox-keybase`: a `keybase`-compatible executable for the `keybase-bot` npm library
 * (specs/keybase-kvstore.md §4), so bots run unchanged against saltbox through
 * `keybaseBinaryLocation`. It answers exactly what keybase-bot 3.6.1 spawns:
 *
 * | keybase                                   | saltbox                                        |
 * | ----------------------------------------- | ---------------------------------------------- |
 * | `service`                                 | `saltbox agent start --foreground` (no idle lock) |
 * | `oneshot --username U` (paper key on stdin)| `saltbox login U` (the paper key stays in the agent) |
 * | `status --json`                           | Keybase's status shape from the account config |
 * | `kvstore api …`                           | `saltbox kvstore api …`                        |
 * | `chat notification-settings …`            | nothing to do (saltbox has no chat)            |
 * | `logout --force`                          | `saltbox logout`                               |
 * | `ctl stop --shutdown`                     | `saltbox agent stop`                           |
 *
 * Leading global flags: `--home DIR` becomes `$SALTBOX_HOME`; `--log-file`,
 * `--enable-bot-lite-mode`, `--no-auto-fork`, `--debug` are accepted and ignored. The server
 * comes from `$SALTBOX_SERVER` (or the home's config).
 *
 * keybase-bot *copies* the executable into a temporary directory before running it, so a copy
 * must not depend on where it lies: `saltbox-keybase install-wrapper PATH` writes a small
 * script that runs this installation from anywhere.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { saltboxHome } from '@saltbox/keystore/paths';
import { runCli } from './cli.js';
import { installSignalExits } from './signals.js';
import { processConsole } from './ui.js';

const IGNORED_BOOLEANS = new Set(['--enable-bot-lite-mode', '--no-auto-fork', '--debug', '-d']);
const IGNORED_VALUES = new Set(['--log-file', '--socket-file', '--pid-file', '--run-mode']);

/** Splits leading global flags off; `--home` sets `$SALTBOX_HOME`. */
function globalFlags(argv: readonly string[]): string[] {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] ?? '';
    if (a === '--home') {
      process.env.SALTBOX_HOME = argv[i + 1] ?? '';
      i += 2;
    } else if (a.startsWith('--home=')) {
      process.env.SALTBOX_HOME = a.slice('--home='.length);
      i += 1;
    } else if (IGNORED_VALUES.has(a)) {
      i += 2;
    } else if (IGNORED_BOOLEANS.has(a) || [...IGNORED_VALUES].some((f) => a.startsWith(`${f}=`))) {
      i += 1;
    } else {
      break;
    }
  }
  return argv.slice(i);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The home's account config. The client library is loaded here, on use: a `kvstore api` call
 * (every keybase-bot request) is forwarded to the agent and must not pay for it (issue #15.3).
 */
async function accountConfig() {
  const { readAccountConfig } = await import('@saltbox/client');
  return readAccountConfig(saltboxHome({ env: process.env }));
}

/**
 * Keybase's `status --json`, the fields keybase-bot reads (`Username`, `Device.name`) and the
 * ones scripts commonly check (`LoggedIn`, `UserID`). Always exit 0 with JSON, logged in or not:
 * keybase-bot polls it to see that the service is up.
 */
async function status(): Promise<number> {
  const config = await accountConfig();
  const out =
    config === undefined
      ? { Username: '', UserID: '', LoggedIn: false, SessionIsValid: false, Device: null }
      : {
          Username: config.username,
          UserID: config.uid,
          LoggedIn: true,
          SessionIsValid: true,
          Device: {
            name: config.device.name,
            type: config.device.type,
            deviceID: config.device.id,
          },
          Server: config.server,
        };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

/** `keybase oneshot --username U` with the paper key on standard input. */
async function oneshot(args: readonly string[]): Promise<number> {
  const i = args.findIndex((a) => a === '--username' || a === '-u');
  const inline = args.find((a) => a.startsWith('--username='));
  const username = inline?.slice('--username='.length) ?? (i >= 0 ? args[i + 1] : undefined);
  if (username === undefined || username === '') {
    process.stderr.write('saltbox-keybase: oneshot needs --username\n');
    return 2;
  }
  const paperkey = (await readStdin()).trim();
  process.env.SALTBOX_PAPERKEY = paperkey;
  // The service's keystore is created on first use and holds nothing that outlives the agent
  // (a oneshot paper key stays in its memory), so a random passphrase nobody keeps will do.
  process.env.SALTBOX_PASSPHRASE ??= randomBytes(32).toString('base64');
  return runCli(['login', username], processConsole);
}

/** Writes a wrapper script that runs this installation's shim (keybase-bot copies it). */
async function installWrapper(path: string | undefined): Promise<number> {
  if (path === undefined) {
    process.stderr.write('usage: saltbox-keybase install-wrapper PATH\n');
    return 2;
  }
  const self = fileURLToPath(import.meta.url);
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  await writeFile(path, `#!/bin/sh\nexec ${q(process.execPath)} ${q(self)} "$@"\n`, {
    mode: 0o755,
  });
  await chmod(path, 0o755);
  return 0;
}

/** Runs one shim invocation and returns its exit code. */
async function runKeybaseShim(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = globalFlags(argv);
  switch (command) {
    case 'status':
      return status();
    case 'service':
      return runCli(['agent', 'start', '--foreground', '--idle-lock', 'never'], processConsole);
    case 'oneshot':
      return oneshot(rest);
    case 'kvstore':
      return runCli(['kvstore', ...rest], processConsole);
    case 'chat':
      // keybase-bot sets chat notification settings during init; saltbox has no chat.
      return 0;
    case 'logout':
      return (await accountConfig()) === undefined ? 0 : runCli(['logout'], processConsole);
    case 'ctl':
      if (rest[0] === 'stop') return runCli(['agent', 'stop'], processConsole);
      break;
    case 'install-wrapper':
      return installWrapper(rest[0]);
    case 'version':
    case '--version':
      process.stdout.write('saltbox-keybase 0.1.0 (keybase-compatible shim)\n');
      return 0;
  }
  process.stderr.write(
    `saltbox-keybase: unsupported command "${[command, ...rest].join(' ').trim()}"\n`,
  );
  return 1;
}

// The first SIGINT/SIGTERM stops a foreground agent (`service`) cleanly; otherwise it exits.
installSignalExits();
// Exit explicitly: keybase-bot never closes the service's standard input.
process.exit(await runKeybaseShim(process.argv.slice(2)));
