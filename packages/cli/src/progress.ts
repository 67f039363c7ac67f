/**
 * A one-line progress bar on standard error, for large inputs on a terminal only: scripts and
 * logs (non-TTY standard error) never see it. Hand-written because it is thirty lines and a
 * dependency would bring its own terminal handling into a security tool.
 *
 * @packageDocumentation
 */

/** Inputs at least this large (or of unknown size, once this much has been read) show a bar. */
export const PROGRESS_THRESHOLD = 16 * 1024 * 1024;
/** Redraw at most this often. */
const INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/** Where the bar is drawn: a TTY-like stream. */
export interface ProgressTarget {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Counts bytes and draws; `finish` erases the line. */
export interface Progress {
  add(n: number): void;
  finish(): void;
}

const MIB = 1024 * 1024;

/**
 * The bar's text for a state, e.g. `[######------]  50%  128.0/256.0 MiB  310 MB/s`. Pure, so
 * it is tested without a terminal.
 *
 * @param total - input size, or `undefined` when unknown (no bar, only the count)
 */
export function renderProgress(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? done / 1e6 / (elapsedMs / 1000) : 0;
  const speed = `${rate.toFixed(0)} MB/s`;
  if (total === undefined || total <= 0) {
    return `${(done / MIB).toFixed(1)} MiB  ${speed}`;
  }
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
  const percent = `${Math.floor(fraction * 100)}`.padStart(3);
  return `[${bar}] ${percent}%  ${(done / MIB).toFixed(1)}/${(total / MIB).toFixed(1)} MiB  ${speed}`;
}

const noProgress: Progress = { add: () => undefined, finish: () => undefined };

/**
 * A progress bar for an input of `total` bytes (or unknown), drawn on `target` only when it is
 * a terminal and the input is large.
 */
export function createProgress(
  total: number | undefined,
  target: ProgressTarget = process.stderr,
  now: () => number = () => performance.now(),
): Progress {
  if (target.isTTY !== true) return noProgress;
  if (total !== undefined && total < PROGRESS_THRESHOLD) return noProgress;
  const start = now();
  let done = 0;
  let last = 0;
  let drawn = false;
  return {
    add(n) {
      done += n;
      if (total === undefined && done < PROGRESS_THRESHOLD) return;
      const t = now();
      if (drawn && t - last < INTERVAL_MS) return;
      last = t;
      drawn = true;
      // \r and erase-to-end: redraw in place without scrolling the terminal.
      target.write(`\r${renderProgress(done, total, t - start)}\x1b[K`);
    },
    finish() {
      if (drawn) target.write('\r\x1b[K');
      drawn = false;
    },
  };
}
