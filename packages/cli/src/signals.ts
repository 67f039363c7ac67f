/**
 * Ctrl-C and SIGTERM. By default an executable (`main.ts`, the keybase shim) cleans up and exits
 * at once; a long-running command (the foreground agent, the server) registers a handler
 * instead and shuts down by itself. A second signal always exits.
 *
 * @packageDocumentation
 */

let handler: (() => Promise<void>) | undefined;
let forwarder: ((signal: NodeJS.Signals) => void) | undefined;

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

/**
 * While set, every SIGINT and SIGTERM goes to `f` and nothing else happens: `saltbox run` hands
 * them to its child and exits when the child does (undefined: back to the usual behaviour).
 */
export function setSignalForwarder(f: ((signal: NodeJS.Signals) => void) | undefined): void {
  forwarder = f;
}

/**
 * Installs the SIGINT/SIGTERM behaviour every saltbox executable shares: run the registered
 * forwarder or handler if there is one, else `beforeExit` (synchronous cleanup) and exit with 128 + signal.
 */
export function installSignalExits(beforeExit: () => void = () => undefined): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      if (forwarder) {
        forwarder(signal);
        return;
      }
      const h = takeInterruptHandler();
      if (h) {
        void h();
        return;
      }
      beforeExit();
      process.exit(code);
    });
  }
}
