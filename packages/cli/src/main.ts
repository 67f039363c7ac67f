#!/usr/bin/env node
/**
 * Entry point of the `saltbox` command.
 *
 * @packageDocumentation
 */
import { runCli } from './cli.js';
import { removeTempFilesSync } from './io.js';
import { processConsole } from './ui.js';

// An interrupted decryption must not leave its temporary plaintext file behind.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    removeTempFilesSync();
    process.exit(code);
  });
}

const code = await runCli(process.argv.slice(2), processConsole);
// Exit explicitly: an unread standard input must not keep the process alive. Standard output
// and error are flushed first (writes to pipes and files are synchronous on POSIX; this covers
// the rest).
await new Promise<void>((resolve) => {
  process.stdout.write('', () => {
    resolve();
  });
});
process.exit(code);
