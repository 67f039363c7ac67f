/**
 * The CLI's errors and the one table that turns any failure into an exit code and a hint.
 *
 * Messages follow age's CLI rules: lowercase, no trailing period, and never a key, a secret or
 * a byte of plaintext. A {@link CliError} may carry a hint; library errors
 * ({@link SaltpackError}) get theirs from {@link ERROR_TABLE}, so every command explains the
 * same failure the same way.
 *
 * @packageDocumentation
 */
import type { ClientErrorCode, ClientErrorDetails } from '@saltbox/client';
import type { KeystoreError, KeystoreErrorCode } from '@saltbox/keystore';
// The errors module alone: the Saltpack library itself is not loaded to report an error.
import { SaltpackError } from '@saltbox/saltpack/errors';
import type { SaltpackErrorCode } from '@saltbox/saltpack/errors';

/** Stable codes of errors raised by the CLI itself. */
export type CliErrorCode =
  /** Bad command line: unknown command or option, missing argument, conflicting flags. */
  | 'CLI_USAGE'
  /** The key file does not exist. */
  | 'CLI_NO_KEY_FILE'
  /** The key file exists but cannot be read or parsed. */
  | 'CLI_BAD_KEY_FILE'
  /** `keygen` would overwrite an existing key file. */
  | 'CLI_KEY_FILE_EXISTS'
  /** A `-r` value (or `--signer`) is not a public key, username or team. */
  | 'CLI_BAD_RECIPIENT'
  /** A recipient kind that needs the directory (usernames, teams), which is not set up yet. */
  | 'CLI_RECIPIENT_UNAVAILABLE'
  /** The input is a Saltpack message of another kind than the command handles. */
  | 'CLI_WRONG_MESSAGE_TYPE'
  /** Reading the input or writing the output failed. */
  | 'CLI_IO'
  /** A passphrase is needed and there is no terminal, `SALTBOX_PASSPHRASE` or passphrase file. */
  | 'CLI_NO_PASSPHRASE'
  /** The passphrase and its confirmation differ, or the passphrase is empty. */
  | 'CLI_BAD_PASSPHRASE'
  /** The passphrase prompt was cancelled (Ctrl-C, Ctrl-D). */
  | 'CLI_CANCELLED'
  /** `saltbox agent start` could not get an agent to answer on its socket. */
  | 'CLI_AGENT_START_FAILED'
  /** The running agent's client service failed a request (connection lost, bad answer). */
  | 'CLI_AGENT_SERVICE'
  /** `saltbox server` could not start (bad listen address, port in use, database). */
  | 'CLI_SERVER_FAILED'
  /** An account command ran in a home where nobody signed up or logged in. */
  | 'CLI_NOT_LOGGED_IN'
  /** `signup` or `login` in a home that already acts as an account. */
  | 'CLI_ALREADY_LOGGED_IN'
  /** The account config names a device the keystore does not hold (a oneshot that ended). */
  | 'CLI_DEVICE_MISSING'
  /** `login` needs a paper key and there is no flag, variable or standard input. */
  | 'CLI_NO_PAPER_KEY'
  /** The paper key given to `login` is not a paper key phrase (word count, spelling, version). */
  | 'CLI_BAD_PAPER_KEY'
  /** A `saltbox kv` request failed; the message is the `kvstore api` error text. */
  | 'CLI_KV'
  /** `saltbox kv get` found no value (never set or deleted). */
  | 'CLI_KV_NO_VALUE'
  /** The account's KV store cannot be reached by this build. */
  | 'CLI_KV_UNAVAILABLE'
  /** A secrets-provider failure (`@saltbox/provider`'s ProviderError; message says which). */
  | 'CLI_PROVIDER'
  /** A `saltbox://` reference (`run`, `inject`) is not `saltbox://[TEAM]/NAMESPACE/KEY`. */
  | 'CLI_BAD_REFERENCE'
  /** An `--env-file` of `saltbox run` has a syntax error (file and line in the message). */
  | 'CLI_ENV_FILE'
  /** A value cannot be an environment variable (a NUL byte, or too large for the OS). */
  | 'CLI_ENV_VALUE'
  /** `kv put` input that is not UTF-8 text (KV values are strings, as in Keybase). */
  | 'CLI_KV_VALUE_NOT_TEXT'
  /** The command given to `saltbox run` was not found. */
  | 'CLI_COMMAND_NOT_FOUND'
  /** The command given to `saltbox run` exists but could not be started (permissions). */
  | 'CLI_COMMAND_NOT_EXECUTABLE'
  /** `log root`: the server has no root yet, or none at `--seqno`. */
  | 'CLI_LOG_EMPTY'
  /** A root the server serves does not verify (signature, payload, history leaf). */
  | 'CLI_LOG_ROOT_INVALID'
  /** `log audit` found a root that does not verify or does not follow; the message names it. */
  | 'CLI_LOG_AUDIT_FAILED'
  /** `log compare`: the server shows another root at that seqno than the saved one. */
  | 'CLI_LOG_SPLIT_VIEW'
  /** `log compare`: FILE is not a `log root --json` output. */
  | 'CLI_LOG_BAD_ROOT_FILE'
  /** A bug: something that should not happen. */
  | 'CLI_INTERNAL';

/** Every code the CLI reports: its own, the Saltpack library's, the keystore's, the client's. */
export type ErrorCode = CliErrorCode | SaltpackErrorCode | KeystoreErrorCode | ClientErrorCode;

/**
 * Exit codes. Scripts can tell "the data is bad" (1) from "you called me wrong" (2), "the keys
 * do not fit" (3) and "a file could not be read or written" (4).
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  key: 3,
  io: 4,
} as const;

/** What a hint may refer to: facts about the invocation, never secrets. */
export interface HintContext {
  /** The command being run, e.g. `decrypt`. */
  command?: string;
  /** The key file in use, if any. */
  keyFile?: string;
  /** The server's error code behind a `CLIENT_HTTP` error. */
  serverCode?: string | null;
  /**
   * Where the keys came from, once known (`file` for a key file, `agent` or `keystore` for
   * the keystore through the agent or in this process); read when the error is reported.
   */
  keys?: { readonly kind: 'file' | 'agent' | 'keystore' | undefined; readonly location: string };
}

const START_AGENT = "start one with 'saltbox agent start', then run 'saltbox unlock'";
const LYING_SERVER =
  'the server answered with data that does not verify; nothing was trusted or changed — check --server';

const TEAM_LAST_OWNER_HINT =
  "make another member owner first ('saltbox team role NAME USER owner'), or delete the team ('saltbox team delete NAME --yes')";
const TEAM_LAST_MEMBER_HINT =
  "to get rid of the team, delete it ('saltbox team delete NAME --yes')";

/** Hints for the server's codes behind `CLIENT_HTTP` (`command`: the CLI command that got it). */
function serverHint(code: string | null | undefined, command?: string): string | undefined {
  switch (code) {
    case 'USERNAME_TAKEN':
      return 'choose another username';
    case 'INVALID_USERNAME':
      return 'usernames are 2–16 of a-z, 0-9 and _';
    case 'CHAIN_CONFLICT':
      return 'another device changed the account at the same time; run the command again';
    case 'DEVICE_REVOKED':
      return "this device has been revoked; log in with a paper key ('saltbox login USER --paperkey')";
    case 'UNKNOWN_KEY':
      return 'the server does not know this device; is --server the server you signed up on?';
    case 'STALE_REQUEST':
      return "this machine's clock is off by more than five minutes";
    case 'LOG_ROOT_NOT_FOUND':
      return 'the log starts with the first sign-up on this server';
    case 'RATE_LIMITED':
      // The sign-up bucket refills over an hour, not "a little" (#12.15).
      return command === 'signup'
        ? 'the server takes only a few sign-ups per hour from one address (default 5): try again later; on your own server, start it with a higher --signup-rate N'
        : 'too many requests; wait a little and try again';
    case 'USERNAME_RESERVED':
      return 'names such as admin, root, support and security are reserved; choose another username';
    case 'SIGNUP_CLOSED':
      return 'this server takes no new sign-ups; ask its operator';
    case 'INVITE_REQUIRED':
      return "this server signs up by invitation: ask its operator for a code ('saltbox server invite') and pass --invite CODE";
    case 'INVITE_INVALID':
      return 'the invite code is unknown or already used; check it, or ask the operator for a new one';
    case 'TEAM_LAST_OWNER':
      return TEAM_LAST_OWNER_HINT;
    case 'TEAM_LAST_MEMBER':
      return TEAM_LAST_MEMBER_HINT;
    case 'TEAM_HAS_SUBTEAMS':
      return "delete the subteams first ('saltbox team show NAME' lists them)";
    case 'TEAM_NAME_TAKEN':
      return 'choose another team name (names of deleted teams are not reused)';
    case 'DEVICE_NAME_TAKEN':
      return "choose another name ('saltbox device list' shows the names in use)";
    default:
      return undefined;
  }
}

interface TableEntry {
  exit: number;
  hint?: (ctx: HintContext) => string | undefined;
}

/**
 * The one mapping from error code to exit code and default hint. A {@link CliError} created
 * with its own hint overrides the default. Client codes may be missing (a client feature that
 * is newer than its CLI wiring): they keep their code and message, exit 1, no hint.
 */
export const ERROR_TABLE: Record<Exclude<ErrorCode, ClientErrorCode>, TableEntry> &
  Partial<Record<ClientErrorCode, TableEntry>> = {
  CLI_USAGE: {
    exit: EXIT.usage,
    hint: (c) =>
      `run 'saltbox ${c.command === undefined || c.command === '' ? '' : `${c.command} `}--help'`,
  },
  CLI_NO_KEY_FILE: {
    exit: EXIT.key,
    hint: () =>
      "create a key with 'saltbox keygen' (or in the keystore with 'saltbox keygen --keystore'), or name a key file with -k",
  },
  CLI_BAD_KEY_FILE: {
    exit: EXIT.key,
    hint: () => "a key file is the JSON written by 'saltbox keygen'",
  },
  CLI_KEY_FILE_EXISTS: {
    exit: EXIT.io,
    hint: () => 'pass --force to replace it (the old key is lost), or choose another file with -o',
  },
  CLI_BAD_RECIPIENT: {
    exit: EXIT.usage,
    hint: () =>
      "a recipient is a 64-character hex X25519 public key, the first line 'saltbox keygen' prints",
  },
  CLI_RECIPIENT_UNAVAILABLE: {
    exit: EXIT.usage,
    hint: () => 'name users with -r USER, or use a public key',
  },
  CLI_WRONG_MESSAGE_TYPE: { exit: EXIT.failure },
  CLI_IO: { exit: EXIT.io },
  CLI_NO_PASSPHRASE: {
    exit: EXIT.key,
    hint: () =>
      "set SALTBOX_PASSPHRASE or pass --passphrase-file FILE, run it on a terminal to be asked, or unlock the agent ('saltbox agent start', 'saltbox unlock')",
  },
  CLI_BAD_PASSPHRASE: { exit: EXIT.usage },
  CLI_CANCELLED: { exit: EXIT.failure },
  CLI_AGENT_START_FAILED: {
    exit: EXIT.failure,
    hint: () => "run 'saltbox agent start --foreground' to see why",
  },
  CLI_AGENT_SERVICE: {
    exit: EXIT.failure,
    hint: () => "see 'saltbox agent status'; 'saltbox agent stop' makes commands run in-process",
  },
  CLI_SERVER_FAILED: {
    exit: EXIT.failure,
    hint: () => 'check --listen (host:port, free port) and --data or --database-url',
  },
  CLI_NOT_LOGGED_IN: {
    exit: EXIT.key,
    hint: () =>
      "create an account with 'saltbox signup USER --server URL', or log in with 'saltbox login USER --paperkey'",
  },
  CLI_ALREADY_LOGGED_IN: {
    exit: EXIT.usage,
    hint: () => "run 'saltbox logout' first, or set SALTBOX_HOME to another directory",
  },
  CLI_DEVICE_MISSING: {
    exit: EXIT.key,
    hint: () => "log in again with 'saltbox login USER --paperkey'",
  },
  CLI_NO_PAPER_KEY: {
    exit: EXIT.usage,
    hint: () => 'pass the words on standard input, in SALTBOX_PAPERKEY, or with --paperkey "WORDS"',
  },
  CLI_BAD_PAPER_KEY: {
    exit: EXIT.key,
    hint: () =>
      "a paper key is the 13 words 'saltbox signup' or 'saltbox device add --paper' printed; check the spelling of each word",
  },
  CLI_KV: { exit: EXIT.failure },
  CLI_KV_NO_VALUE: { exit: EXIT.failure },
  CLI_KV_UNAVAILABLE: { exit: EXIT.failure },
  CLI_PROVIDER: { exit: EXIT.failure },
  CLI_BAD_REFERENCE: {
    exit: EXIT.usage,
    hint: () =>
      "write saltbox://TEAM/NAMESPACE/KEY, or saltbox:///NAMESPACE/KEY for your own store; percent-encode '/', '%', '?', '#' and spaces inside a name",
  },
  CLI_ENV_FILE: {
    exit: EXIT.usage,
    hint: () =>
      "lines are NAME=VALUE, 'export NAME=VALUE' or '# comment'; quote values with ' or \"",
  },
  CLI_ENV_VALUE: {
    exit: EXIT.failure,
    hint: () => "write it to a file with 'saltbox inject' instead",
  },
  CLI_KV_VALUE_NOT_TEXT: {
    exit: EXIT.failure,
    hint: () =>
      "store binary data encoded as text, e.g. 'base64 FILE | saltbox kv put NAMESPACE KEY' and 'saltbox kv get NAMESPACE KEY | base64 -d'",
  },
  // The shells' codes for a command that is missing (127) or cannot be executed (126).
  CLI_COMMAND_NOT_FOUND: { exit: 127, hint: () => 'check the name and PATH' },
  CLI_COMMAND_NOT_EXECUTABLE: { exit: 126 },
  CLI_LOG_EMPTY: { exit: EXIT.failure },
  CLI_LOG_ROOT_INVALID: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLI_LOG_AUDIT_FAILED: {
    exit: EXIT.failure,
    hint: () =>
      "the server's log is not what it signed (tampered storage or a lying server); keep this output and compare roots with other users ('saltbox log root --json', 'saltbox log compare')",
  },
  CLI_LOG_SPLIT_VIEW: {
    exit: EXIT.failure,
    hint: () =>
      'the server shows you and that user different histories; do not trust it, and keep both roots as evidence',
  },
  CLI_LOG_BAD_ROOT_FILE: {
    exit: EXIT.usage,
    hint: () => "FILE is what 'saltbox log root --json' printed on the other machine",
  },
  CLI_INTERNAL: {
    exit: EXIT.failure,
    hint: () => 'this is a bug in saltbox; please report it',
  },
  CLIENT_INVALID_ARGUMENT: { exit: EXIT.usage },
  CLIENT_NETWORK: {
    exit: EXIT.failure,
    hint: () => "is the server running? check --server, SALTBOX_SERVER or 'saltbox status'",
  },
  CLIENT_HTTP: { exit: EXIT.failure, hint: (c) => serverHint(c.serverCode, c.command) },
  CLIENT_BAD_RESPONSE: {
    exit: EXIT.failure,
    hint: () => 'the server answered something saltbox does not understand; check --server',
  },
  CLIENT_SIGNER: { exit: EXIT.key, hint: () => "unlock the keystore with 'saltbox unlock'" },
  CLIENT_USER_NOT_FOUND: { exit: EXIT.failure, hint: () => 'check the spelling of the username' },
  CLIENT_WRONG_USER: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_CHAIN_INVALID: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_CHAIN_FORK: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_CHAIN_ROLLBACK: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_ELDEST_CHANGED: {
    exit: EXIT.failure,
    hint: () =>
      'the account was replaced since you first saw it (a reset or an attack); confirm with its owner before trusting it',
  },
  CLIENT_LOOKUP_MISMATCH: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_KEY_BOX_INVALID: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_SESSION_UNAVAILABLE: {
    exit: EXIT.failure,
    hint: () =>
      "start and unlock an agent ('saltbox agent start', 'saltbox unlock') or set SALTBOX_PASSPHRASE",
  },
  CLIENT_STORE: {
    exit: EXIT.io,
    hint: () =>
      'a file in $SALTBOX_HOME (config.json, pins.json, follows.json) is damaged or unwritable',
  },
  CLIENT_ACCOUNT_CONFLICT: {
    exit: EXIT.usage,
    hint: () => 'one keystore holds one account; set SALTBOX_HOME to another directory',
  },
  CLIENT_PAPER_KEY_UNKNOWN: {
    exit: EXIT.key,
    hint: () => 'check the username and the 13 words of the paper key',
  },
  CLIENT_DEVICE_REVOKED: {
    exit: EXIT.key,
    hint: () =>
      "this device can no longer act for the account; log in with a paper key ('saltbox login USER --paperkey')",
  },
  CLIENT_DEVICE_NOT_FOUND: { exit: EXIT.usage, hint: () => "see 'saltbox device list'" },
  CLIENT_DEVICE_NAME_TAKEN: {
    exit: EXIT.usage,
    hint: () => "choose another --name ('saltbox device list' shows the names in use)",
  },
  CLIENT_KVSTORE_STATUS: { exit: EXIT.failure },
  CLIENT_KV_WRONG_REVISION: {
    exit: EXIT.failure,
    hint: () => 'read the entry again and write its revision + 1',
  },
  CLIENT_KV_BAD_GENERATION: {
    exit: EXIT.failure,
    hint: () => 'reload the team to get its newest key',
  },
  CLIENT_KV_NOT_FOUND: { exit: EXIT.failure },
  CLIENT_KV_NOT_A_MEMBER: {
    exit: EXIT.failure,
    hint: () => 'check the team name and your membership',
  },
  CLIENT_KV_READ_ONLY: {
    exit: EXIT.failure,
    hint: () => 'readers of a team cannot write its store',
  },
  CLIENT_KV_TOO_LARGE: { exit: EXIT.usage },
  CLIENT_KV_ECHO_MISMATCH: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_KV_ROLLBACK: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_KV_INVALID_ENTRY: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_KV_NO_TEAM_KEY: {
    exit: EXIT.key,
    hint: () => 'you do not hold the team key this entry was written with',
  },
  CLIENT_TEAM_NOT_FOUND: {
    exit: EXIT.failure,
    hint: () => 'check the team name; only members (and parent admins) can see a team',
  },
  CLIENT_WRONG_TEAM: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_TEAM_PERMISSION: {
    exit: EXIT.failure,
    hint: () => 'ask an admin of the team (owners for owner changes)',
  },
  CLIENT_LOG_KEY_MISMATCH: {
    exit: EXIT.failure,
    hint: () =>
      "the server's log key is not the one pinned in log-pins.json: check --server and compare 'saltbox log root' with others; nothing was trusted",
  },
  CLIENT_LOG_INVALID: { exit: EXIT.failure, hint: () => LYING_SERVER },
  CLIENT_LOG_ROLLBACK: {
    exit: EXIT.failure,
    hint: () =>
      'the server shows an older log than this home already verified (a restored backup or an attack); check --server',
  },
  CLIENT_LOG_INCONSISTENT: {
    exit: EXIT.failure,
    hint: () =>
      'the server rewrote its log or shows different users different logs; compare log roots with others and check --server',
  },
  CLIENT_LOG_TAIL_MISMATCH: {
    exit: EXIT.failure,
    hint: () =>
      'the server served a chain its own signed log disagrees with (a hidden or withheld link); check --server',
  },
  CLIENT_TEAM_LAST_OWNER: { exit: EXIT.failure, hint: () => TEAM_LAST_OWNER_HINT },
  CLIENT_TEAM_LAST_MEMBER: { exit: EXIT.failure, hint: () => TEAM_LAST_MEMBER_HINT },
  SALTPACK_TRUNCATED: {
    exit: EXIT.failure,
    hint: () => 'the input ended early; the file may be incomplete (an interrupted copy?)',
  },
  SALTPACK_NO_DECRYPTION_KEY: {
    exit: EXIT.key,
    hint: (c) => {
      const kind = c.keys?.kind;
      if (kind === 'agent' || kind === 'keystore') {
        const where =
          kind === 'agent' ? 'the keystore agent' : `the keystore in ${c.keys!.location}`;
        return `the message is not encrypted to a key held by ${where}; use -k to choose a key file`;
      }
      const file = c.keys?.location ?? c.keyFile;
      return `the message is not encrypted to ${file === undefined ? 'your key' : `the key in ${file}`}; use -k to choose another key file`;
    },
  },
  SALTPACK_AUTHENTICATION_FAILED: {
    exit: EXIT.failure,
    hint: () => 'the message was modified or damaged; do not trust any part of it',
  },
  SALTPACK_BAD_SIGNATURE: {
    exit: EXIT.failure,
    hint: (c) =>
      c.command === 'verify'
        ? 'the message or the signature was modified, or the signature is for another message'
        : 'the message was modified or damaged; do not trust any part of it',
  },
  SALTPACK_MALFORMED: {
    exit: EXIT.failure,
    hint: () => 'the input is not an intact saltpack message of the kind this command reads',
  },
  SALTPACK_BAD_ARMOR: {
    exit: EXIT.failure,
    hint: () => 'the armored text is damaged; copy it again completely, from BEGIN to END',
  },
  SALTPACK_UNKNOWN_SENDER: {
    exit: EXIT.key,
    hint: (c) =>
      c.command === 'verify' || c.command === 'signcrypt-open'
        ? 'the message was signed by another key than --signer allows (for a user: a live signing key of theirs)'
        : undefined,
  },
  SALTPACK_INVALID_ARGUMENT: { exit: EXIT.usage },
  SALTPACK_BACKEND_UNAVAILABLE: {
    exit: EXIT.failure,
    hint: () => 'reinstall saltbox, or set SALTBOX_CRYPTO_BACKEND=portable',
  },
  KEYSTORE_LOCKED: { exit: EXIT.key, hint: () => "run 'saltbox unlock'" },
  KEYSTORE_UNINITIALIZED: {
    exit: EXIT.key,
    hint: () => "create the keystore with 'saltbox unlock --create'",
  },
  KEYSTORE_WRONG_PASSPHRASE: {
    exit: EXIT.key,
    hint: () =>
      'nothing was changed; try again (check SALTBOX_PASSPHRASE or the --passphrase-file)',
  },
  KEYSTORE_CORRUPT: {
    exit: EXIT.failure,
    hint: () =>
      'a file in the keystore directory is damaged; nothing was changed — restore it from a backup',
  },
  KEYSTORE_UNSUPPORTED_VERSION: {
    exit: EXIT.failure,
    hint: () => 'the keystore was written by a newer saltbox; upgrade saltbox',
  },
  KEYSTORE_TRANSPORT: {
    exit: EXIT.failure,
    hint: () =>
      "the keystore agent went away (crashed or stopped); the keystore files are unchanged — run 'saltbox agent start' and 'saltbox unlock'",
  },
  KEYSTORE_UNKNOWN_KEY: { exit: EXIT.key },
  KEYSTORE_REFUSED: { exit: EXIT.failure },
  // Reached by user input too (a PGP key of an unsupported algorithm, an empty passphrase):
  // the message says what is wrong; a paper key is checked by the CLI first (CLI_BAD_PAPER_KEY).
  KEYSTORE_INVALID_ARGUMENT: { exit: EXIT.failure },
  KEYSTORE_UNKNOWN_METHOD: {
    exit: EXIT.failure,
    hint: () =>
      "the running agent is from another saltbox version; restart it with 'saltbox agent stop' and 'saltbox agent start'",
  },
  KEYSTORE_DECRYPTION_FAILED: { exit: EXIT.failure },
  KEYSTORE_KEY_MISMATCH: { exit: EXIT.key },
  KEYSTORE_KV_METADATA_MISMATCH: { exit: EXIT.failure },
  KEYSTORE_CONFLICT: { exit: EXIT.failure },
  KEYSTORE_AGENT_RUNNING: {
    exit: EXIT.failure,
    hint: () => "see it with 'saltbox agent status', or stop it with 'saltbox agent stop'",
  },
  KEYSTORE_AGENT_NOT_RUNNING: { exit: EXIT.failure, hint: () => START_AGENT },
  KEYSTORE_AGENT_SOCKET: {
    exit: EXIT.failure,
    hint: () =>
      "the agent's socket lives in $XDG_RUNTIME_DIR/saltbox or /tmp/saltbox-<uid> (see 'saltbox agent start --help'); nothing was changed",
  },
  KEYSTORE_STORAGE: { exit: EXIT.io },
  KEYSTORE_INTERNAL: {
    exit: EXIT.failure,
    hint: () => 'this is a bug in saltbox; please report it',
  },
};

/** Options of {@link CliError}. */
export interface CliErrorOptions {
  /** A `saltbox: hint:` line replacing the table's default. */
  hint?: string;
  /** The underlying error, kept for debugging; its message is never printed. */
  cause?: unknown;
  /**
   * Output already released to standard output must be discarded (a stream failed after some
   * authenticated chunks went out).
   */
  outputIncomplete?: boolean;
}

/**
 * A failure the CLI reports to the user: a stable code, a lowercase message, an optional hint.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly outputIncomplete: boolean;

  constructor(code: ErrorCode, message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.outputIncomplete = options.outputIncomplete ?? false;
  }

  /** The JSON error shape shared with the server: `{code, message}`. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Builds a `CLI_USAGE` error. */
export const usage = (message: string, hint?: string): CliError =>
  new CliError('CLI_USAGE', message, hint === undefined ? {} : { hint });

/** The message of a Node system error without the path, e.g. "no such file or directory". */
function systemMessage(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'not a directory';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EPIPE':
      return 'the reader closed the pipe';
    default:
      return (e.code ?? 'i/o error').toLowerCase();
  }
}

/**
 * Wraps a Node file-system error as `CLI_IO`, naming what was being done.
 *
 * @param what - e.g. `cannot open input file "x"`
 */
export function ioError(what: string, cause: unknown): CliError {
  const detail =
    cause instanceof Error && 'code' in cause
      ? systemMessage(cause as NodeJS.ErrnoException)
      : 'i/o error';
  return new CliError('CLI_IO', `${what}: ${detail}`, { cause });
}

/**
 * True for a `KeystoreError` with a code this CLI knows. Checked by shape, not `instanceof`, so
 * that commands without the keystore never load it (its schemas cost ~0.5 s of start-up).
 */
function isKeystoreError(e: unknown): e is KeystoreError {
  if (!(e instanceof Error) || e.name !== 'KeystoreError') return false;
  const code = (e as { code?: unknown }).code;
  return (
    typeof code === 'string' && Object.hasOwn(ERROR_TABLE, code) && code.startsWith('KEYSTORE_')
  );
}

/** True for a `ClientError` with a code this CLI knows (checked by shape, as above). */
function isClientError(
  e: unknown,
): e is Error & { code: ClientErrorCode; details: ClientErrorDetails } {
  if (!(e instanceof Error) || e.name !== 'ClientError') return false;
  const code = (e as { code?: unknown }).code;
  // Any client code: one the table does not list yet (a new client feature) still keeps its
  // code and message, with the default exit code.
  return typeof code === 'string' && code.startsWith('CLIENT_');
}

/** The server code behind a `CLIENT_HTTP` error, for its hint. */
export function serverCodeOf(e: unknown): string | null {
  const cause = e instanceof CliError ? e.cause : e;
  if (!isClientError(cause)) return null;
  const code = cause.details.serverCode;
  return typeof code === 'string' ? code : null;
}

/**
 * Turns anything thrown into a {@link CliError}. Messages of unknown errors are not printed
 * (they could quote data); they become `CLI_INTERNAL`.
 */
export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof SaltpackError) return new CliError(e.code, e.message, { cause: e });
  // Keystore messages are lowercase and secret-free by the keystore's own rule.
  if (isKeystoreError(e)) return new CliError(e.code, e.message, { cause: e });
  // Client messages are lowercase and secret-free by the client's own rule.
  if (isClientError(e)) return new CliError(e.code, e.message, { cause: e });
  // Provider messages are lowercase, secret-free, and name the command that fixes them.
  if (e instanceof Error && e.name === 'ProviderError') {
    // Not logged in is the same condition, exit code and hint as for every account command.
    if ((e as { reason?: unknown }).reason === 'PROVIDER_NOT_LOGGED_IN')
      return new CliError('CLI_NOT_LOGGED_IN', e.message, { cause: e });
    return new CliError('CLI_PROVIDER', e.message, { cause: e });
  }
  return new CliError('CLI_INTERNAL', 'unexpected internal error', { cause: e });
}

/** The same error, marked as having left incomplete output on standard output. */
export function withIncompleteOutput(error: unknown): CliError {
  const e = toCliError(error);
  const options: CliErrorOptions = { cause: e.cause ?? error, outputIncomplete: true };
  if (e.hint !== undefined) options.hint = e.hint;
  return new CliError(e.code, e.message, options);
}

/** Exit code and hint for an error, from {@link ERROR_TABLE}. */
export function describe(e: CliError, ctx: HintContext): { exit: number; hint?: string } {
  const entry: TableEntry = (ERROR_TABLE as Partial<Record<ErrorCode, TableEntry>>)[e.code] ?? {
    exit: EXIT.failure,
  };
  const hint = e.hint ?? entry.hint?.(ctx);
  return hint === undefined ? { exit: entry.exit } : { exit: entry.exit, hint };
}
