/**
 * Ctrl-C and SIGTERM. By default `main.ts` removes temporary output files and exits at once; a
 * long-running command (the foreground agent) registers a handler instead and shuts down by
 * itself. A second signal always exits.
 *
 * @packageDocumentation
 */

let handler: (() => Promise<void>) | undefined;

/** Registers what the next SIGINT/SIGTERM should do instead of exiting (undefined: exit). */
export function setInterruptHandler(h: (() => Promise<void>) | undefined): void {
  handler = h;
}

/** Takes the registered handler, if any (so a second signal finds none and exits). */
export function takeInterruptHandler(): (() => Promise<void>) | undefined {
  const h = handler;
  handler = undefined;
  return h;
}
