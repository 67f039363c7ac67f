/**
 * What every command handler is given: its parsed flags and a {@link CommandContext}. Types
 * only, so the command modules share them without importing one another (no import cycles).
 *
 * @packageDocumentation
 */
import type { HintContext } from './errors.js';
import type { KeySource, KeySourceOptions } from './key-source.js';
import type { RecipientResolver } from './recipients.js';
import type { Session } from './session.js';
import type { Console } from './ui.js';

/** Parsed flags of one command (from `node:util` `parseArgs`). */
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What every command gets besides its flags. */
export interface CommandContext {
  readonly console: Console;
  /** Facts for hints; commands fill in what they learn (the key file). */
  readonly hints: HintContext;
  /** Resolves `-r` values to keys; the directory-backed resolver slots in here. */
  readonly resolver: RecipientResolver;
  /** Opens the key source for `-k` (else the agent, the keystore or the default key file). */
  readonly keys: (options: KeySourceOptions) => KeySource;
  /**
   * The account session of this home (config, keystore, verified directory), opened once per
   * command on first use.
   */
  readonly session: (options: { passphraseFile?: string | undefined }) => Promise<Session>;
  /** Releases every key source the command opened (run by `runCli` after the command). */
  close(): Promise<void>;
}
