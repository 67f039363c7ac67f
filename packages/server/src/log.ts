/**
 * Structured logs: one JSON object per line. Callers pass only what is safe to log — method,
 * route pattern, status, duration, error code, an 8-character device-ID prefix — never bodies,
 * keys, signatures, nonces or `Authorization` headers.
 *
 * @packageDocumentation
 */

/** One log entry. */
export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: string | number | boolean | null | undefined;
}

/** Where log entries go. */
export type Logger = (entry: LogEntry) => void;

/** Where {@link createJsonLogger} writes: `process.stdout` or any stream with `write`. */
export interface LogSink {
  write(chunk: string): unknown;
  /** A stream's `on`: write errors (EPIPE when the reader went away) arrive as events. */
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * A logger writing JSON lines with an ISO timestamp. Lines are gathered and written once per
 * turn of the event loop: stdout to a file or a pipe is a synchronous write on Linux, and one
 * write per request was a system call per request (a few percent of an authenticated lookup).
 * Buffered lines are written at the latest on the next turn, and on process exit.
 *
 * Logging never stops the server: a sink that fails (standard output piped into `head`, whose
 * end closed: EPIPE, emitted as an `error` event that would otherwise crash the process) is
 * given up, said once on standard error, and the server goes on without logs (issue #12.10).
 *
 * @param sink - where lines go (default `process.stdout`).
 */
export function createJsonLogger(sink: LogSink = process.stdout): Logger {
  let buffered = '';
  let broken = false;
  const giveUp = (err: unknown) => {
    if (broken) return;
    broken = true;
    buffered = '';
    const code = (err as { code?: unknown } | null)?.code;
    warnOnStderr(
      `saltbox: logs are no longer written: ${typeof code === 'string' ? code : 'write failed'}\n`,
    );
  };
  sink.on?.('error', giveUp);
  const flush = () => {
    const out = buffered;
    buffered = '';
    if (out === '' || broken) return;
    try {
      sink.write(out);
    } catch (e) {
      giveUp(e);
    }
  };
  process.once('exit', flush);
  return (entry) => {
    if (broken) return;
    if (buffered === '') setImmediate(flush);
    buffered += JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n';
    // A burst of requests in one turn must not grow without bound.
    if (buffered.length > 65536) flush();
  };
}

/** One line on standard error, which may itself be closed: never throws, never crashes. */
function warnOnStderr(line: string): void {
  try {
    if (process.stderr.listenerCount('error') === 0) process.stderr.on('error', () => undefined);
    process.stderr.write(line);
  } catch {
    // Nowhere left to say it.
  }
}

let stdoutLogger: Logger | undefined;

/**
 * JSON lines to stdout (see {@link createJsonLogger}), set up on first use so that importing
 * the server does not attach listeners to `process.stdout`.
 */
export const jsonLogger: Logger = (entry) => {
  (stdoutLogger ??= createJsonLogger())(entry);
};

/** Discards everything (tests). */
export const silentLogger: Logger = () => undefined;
