/**
 * Everything the CLI says to people, after age's rules: data goes to standard output; every
 * message goes to standard error as `saltbox: <lowercase text>`, hints as `saltbox: hint: …`.
 * With `--json`, messages are JSON objects on standard error instead.
 *
 * @packageDocumentation
 */
// The one module, not the whole protocol package (its schemas cost start-up time).
import { UNSAFE_DISPLAY_CHARACTERS } from '@saltbox/protocol/display-text';
import { describe, serverCodeOf, toCliError } from './errors.js';
import type { HintContext } from './errors.js';

/** Where messages go; injectable so tests can capture them. */
export interface Console {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The process's real standard output and error. */
export const processConsole: Console = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * A name someone else chose (a KV namespace or key, a device name, a PGP user ID), made safe to
 * print: C0 and C1 controls, DEL and Unicode bidi controls are written as `\x1b` / `\u202e`, so
 * a team member or a hostile server cannot put escape sequences (colours, titles, OSC 52
 * clipboard writes, cursor moves) or reordered text on the user's terminal (#12.16). Every
 * human-readable line the CLI prints goes through it; `--json` output stays exact JSON.
 */
export function displayText(text: string): string {
  return text.replace(UNSAFE_DISPLAY_CHARACTERS, (c) => {
    const cp = c.codePointAt(0)!;
    return cp < 0x100
      ? `\\x${cp.toString(16).padStart(2, '0')}`
      : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** Prints an informational line: `saltbox: <text>` (escaped by {@link displayText}). */
export function info(out: Console, text: string): void {
  out.stderr(`saltbox: ${displayText(text)}\n`);
}

/** Options of {@link reportError}. */
export interface ReportOptions {
  json: boolean;
  context: HintContext;
}

const INCOMPLETE = 'the output written so far is incomplete and must be discarded';

/**
 * Prints an error (and its hint) and returns the exit code from the error table. Messages of
 * non-saltbox errors are never printed: they could quote data.
 */
export function reportError(out: Console, error: unknown, options: ReportOptions): number {
  const e = toCliError(error);
  const { exit, hint } = describe(e, { ...options.context, serverCode: serverCodeOf(e) });
  if (options.json) {
    const message = e.outputIncomplete ? `${e.message}; ${INCOMPLETE}` : e.message;
    out.stderr(`${JSON.stringify({ error: { code: e.code, message } })}\n`);
    return exit;
  }
  // Messages may quote a name (a device, a KV key): escaped like every human-readable line.
  out.stderr(`saltbox: ${displayText(e.message)}\n`);
  if (e.outputIncomplete) out.stderr(`saltbox: ${INCOMPLETE}\n`);
  if (hint !== undefined) out.stderr(`saltbox: hint: ${displayText(hint)}\n`);
  if (process.env.SALTBOX_DEBUG === '1' && e.cause !== undefined) {
    // Opt-in only: a cause's message may contain anything.
    const cause =
      e.cause instanceof Error ? (e.cause.stack ?? e.cause.message) : JSON.stringify(e.cause);
    out.stderr(`saltbox: debug: ${cause}\n`);
  }
  return exit;
}
