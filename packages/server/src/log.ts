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

/** Writes JSON lines to stdout, with an ISO timestamp. */
export const jsonLogger: Logger = (entry) => {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
};

/** Discards everything (tests). */
export const silentLogger: Logger = () => undefined;
