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
}

/**
 * A logger writing JSON lines with an ISO timestamp. Lines are gathered and written once per
 * turn of the event loop: stdout to a file or a pipe is a synchronous write on Linux, and one
 * write per request was a system call per request (a few percent of an authenticated lookup).
 * Buffered lines are written at the latest on the next turn, and on process exit.
 *
 * @param sink - where lines go (default `process.stdout`).
 */
export function createJsonLogger(sink: LogSink = process.stdout): Logger {
  let buffered = '';
  const flush = () => {
    const out = buffered;
    buffered = '';
    if (out !== '') sink.write(out);
  };
  process.once('exit', flush);
  return (entry) => {
    if (buffered === '') setImmediate(flush);
    buffered += JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n';
    // A burst of requests in one turn must not grow without bound.
    if (buffered.length > 65536) flush();
  };
}

/** JSON lines to stdout (see {@link createJsonLogger}). */
export const jsonLogger: Logger = createJsonLogger();

/** Discards everything (tests). */
export const silentLogger: Logger = () => undefined;
