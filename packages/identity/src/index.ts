/**
 * Placeholder entry point: this package's public API arrives with its issue.
 *
 * @packageDocumentation
 */
export {};
