#!/usr/bin/env -S node --max-semi-space-size=1
// The 1 MiB young generation makes dead 1 MiB chunk buffers get collected promptly, which keeps
// peak memory of bulk encryption and decryption under 100 MiB (the benchmark checks it).
/**
 * Entry point of the `saltbox` command.
 *
 * @packageDocumentation
 */
import { runCli } from './cli.js';
import { removeTempFilesSync } from './io.js';
import { installSignalExits } from './signals.js';
import { processConsole, reportError } from './ui.js';

// An interrupted decryption must not leave its temporary plaintext file behind. A command that
// shuts down by itself (the foreground agent) registers a handler instead; a second signal exits.
installSignalExits(removeTempFilesSync);

// A promise rejected inside a stream pipeline before anyone awaited it (a packet that failed
// while earlier ones were still being written) would otherwise crash the process with a stack
// trace instead of a `saltbox:` message. The pipeline reports the same failure when it reaches
// that packet, so such rejections are only tracked here; one never handled turns a "success"
// into a failure. Listening to `rejectionHandled` also keeps Node's warning off standard error.
const strays = new Map<Promise<unknown>, unknown>();
process.on('unhandledRejection', (reason, promise) => {
  strays.set(promise, reason);
});
process.on('rejectionHandled', (promise) => {
  strays.delete(promise);
});

/** Resolves once everything written to `stream` has been handed to the OS (or it failed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

const argv = process.argv.slice(2);
let code = await runCli(argv, processConsole);
const [stray] = strays.values();
if (code === 0 && strays.size > 0) {
  code = reportError(processConsole, stray, { json: argv.includes('--json'), context: {} });
}
// Exit explicitly (an unread standard input must not keep the process alive), but only after
// standard output and error are flushed: a pipe to a slow reader may still hold queued data.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
