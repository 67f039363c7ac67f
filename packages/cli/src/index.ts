/**
 * The saltbox command-line interface. `main.ts` is the executable entry point; these exports
 * let tests and other tools run the CLI in-process.
 *
 * @packageDocumentation
 */
export { COMMANDS, mainUsage, runCli, VERSION } from './cli.js';
export { CliError, ERROR_TABLE, EXIT } from './errors.js';
export type { CliErrorCode, ErrorCode } from './errors.js';
export { parseRecipient, parseSigningPublicKey, offlineResolver } from './recipients.js';
export type { RecipientResolver, RecipientSpec } from './recipients.js';
export { defaultKeyFile, openKeySource, saltboxHome } from './keys.js';
export type { KeySource, KeySourceKind, KeySourceOptions } from './keys.js';
export { PASSPHRASE_ENV } from './passphrase.js';
