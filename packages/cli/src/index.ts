/**
 * The saltbox command-line interface. `main.ts` is the executable entry point.
 *
 * @packageDocumentation
 */
export {};
