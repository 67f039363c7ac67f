/**
 * Command-line parsing and dispatch.
 *
 * Parsing uses `node:util` `parseArgs` rather than commander: commander 15 declares
 * `engines.node >= 22.12` while saltbox supports Node 20.19+, and our needs (one subcommand,
 * flags, a repeatable `-r`) are small. Owning the help text and the error wording also keeps
 * every message in the `saltbox: …` style with a coded, hinted error.
 *
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
// Only the help text of `kvstore api`, not the client: the table must load in a few
// milliseconds, since `--version` and `--help` load nothing else (issue #15.3).
import { KVSTORE_API_HELP } from '@saltbox/client/kvstore-help';
import type { CommandContext, Flags } from './context.js';
import { usage } from './errors.js';
import type { Console } from './ui.js';

/** The version printed by `saltbox --version`. */
export const VERSION = '0.1.0';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** The agent's default idle auto-lock (the keystore's own default). */
const DEFAULT_IDLE_LOCK = '15m';

/**
 * A keystore command, loaded on use: the keystore's schemas cost about half a second of
 * start-up that commands run with a key file should not pay.
 */
const keystoreCommand =
  (name: 'agentStart' | 'agentStop' | 'agentStatus' | 'unlock' | 'lock') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./keystore-commands.js');
    await commands[name](flags, ctx);
  };

/** A Saltpack command (`commands.ts`: the Saltpack library, key sources), loaded on use. */
const cryptoCommand =
  (name: 'keygen' | 'encrypt' | 'sign' | 'verify' | 'signcrypt') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./commands.js');
    await commands[name](flags, ctx);
  };

/** `decrypt` (any mode) or `open` of signcryption, loaded on use. */
const openCommand =
  (mode?: 'signcryption') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const { open } = await import('./commands.js');
    await open(flags, ctx, mode);
  };

/** A secrets-provider command, loaded on use. */
const providerCommand =
  (name: 'pulumiEnv' | 'sopsEnv' | 'ageRecipientCommand' | 'ageIdentityCommand' | 'rewrap') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./provider-commands.js');
    await commands[name](flags, ctx);
  };

interface CommandSpec {
  summary: string;
  usage: string;
  options: OptionSpec;
  /** Takes positional arguments (a username, a device); they arrive as `flags._positionals`. */
  positionals?: boolean;
  /** The fixed words the positional arguments can be, for shell completion (`completion.ts`). */
  choices?: readonly string[];
  /** Resolves to the exit code when the command has its own (`run`: the child's), else 0. */
  run(flags: Flags, ctx: CommandContext): Promise<void> | Promise<number>;
}

type AccountCommandName =
  | 'signupCommand'
  | 'loginCommand'
  | 'logoutCommand'
  | 'deviceListCommand'
  | 'deviceAddCommand'
  | 'deviceRevokeCommand'
  | 'whoamiCommand'
  | 'statusCommand'
  | 'idCommand'
  | 'followCommand';

type TeamCommandName =
  | 'teamCreateCommand'
  | 'teamListCommand'
  | 'teamShowCommand'
  | 'teamAddCommand'
  | 'teamRemoveCommand'
  | 'teamRoleCommand'
  | 'teamRotateCommand'
  | 'teamLeaveCommand'
  | 'teamDeleteCommand';

/** A team command, loaded on use. */
const teamCommand =
  (name: TeamCommandName) =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./team-commands.js');
    await commands[name](flags, ctx);
  };

/** An account command, loaded on use (the client and its schemas are not needed otherwise). */
const accountCommand =
  (name: AccountCommandName) =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./account-commands.js');
    await commands[name](flags, ctx);
  };

/** A `pgp` command, loaded on use. */
const pgpCommand =
  (
    name:
      | 'pgpGenCommand'
      | 'pgpImportCommand'
      | 'pgpPublishCommand'
      | 'pgpListCommand'
      | 'pgpExportCommand',
  ) =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./pgp-commands.js');
    await commands[name](flags, ctx);
  };

/** A `log` command, loaded on use. */
const logCommand =
  (name: 'logRootCommand' | 'logVerifyCommand' | 'logAuditCommand' | 'logCompareCommand') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./log-commands.js');
    await commands[name](flags, ctx);
  };

/** A `kvstore`/`kv` command, loaded on use. */
const kvCommand =
  (name: 'kvstoreApiCommand' | 'kvGet' | 'kvPut' | 'kvDel' | 'kvList') =>
  async (flags: Flags, ctx: CommandContext): Promise<void> => {
    const commands = await import('./kvstore-command.js');
    await commands[name](flags, ctx);
  };

const common = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;
const io = {
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
} as const satisfies OptionSpec;
const key = {
  key: { type: 'string', short: 'k' },
  'passphrase-file': { type: 'string' },
} as const satisfies OptionSpec;
const armorOptions = {
  armor: { type: 'boolean', short: 'a' },
  brand: { type: 'string' },
} as const satisfies OptionSpec;

const KEY_HELP = `  -k, --key FILE          use this key file (default: the keystore agent, else the
                          keystore in $SALTBOX_HOME/keystore, else $SALTBOX_HOME/saltpack.key)
      --passphrase-file FILE  the keystore passphrase, for the keystore without an agent
                          (also: SALTBOX_PASSPHRASE; else you are asked on the terminal)`;
const PASSPHRASE_HELP = `      --passphrase-file FILE  read the passphrase from FILE (one line) instead of
                          SALTBOX_PASSPHRASE or asking on the terminal`;
const IO_HELP = `  -i, --input FILE        read FILE instead of standard input
  -o, --output FILE       write FILE instead of standard output`;
const JSON_HELP = `      --json              machine-readable output and errors`;

const SERVER_HELP = `      --server URL        the saltbox server (default: SALTBOX_SERVER, else the
                          account's, else http://127.0.0.1:8080)`;
const ACCOUNT_PASSPHRASE_HELP = `      --passphrase-file FILE  the keystore passphrase when no agent runs (also:
                          SALTBOX_PASSPHRASE; else you are asked on the terminal)`;
const account = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'passphrase-file': { type: 'string' },
} as const satisfies OptionSpec;

/** Every command: name → flags, help and implementation. */
export const COMMANDS: Record<string, CommandSpec> = {
  signup: {
    summary: 'create an account: a device in the keystore, a per-user key and a paper key',
    usage: `usage: saltbox signup USER [--server URL] [--invite CODE] [--device-name NAME] [--passphrase-file FILE] [--json]

Creates USER on the server with this machine as its first device (keys made in the
keystore: the agent when one runs, else $SALTBOX_HOME/keystore, created on first
use) and a paper key. The paper key is printed once on standard output: write it
down, it is the way back in ('saltbox login USER --paperkey') if this device is lost.

${SERVER_HELP}
      --invite CODE       an invite code from the server's operator, for a server that
                          signs up by invitation ('saltbox server invite')
      --device-name NAME  this device's name (default: the host name)
${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: {
      ...account,
      server: { type: 'string' },
      invite: { type: 'string' },
      'device-name': { type: 'string' },
    },
    positionals: true,
    run: accountCommand('signupCommand'),
  },
  login: {
    summary: 'log in with a paper key (like keybase oneshot; works without a terminal)',
    usage: `usage: saltbox login USER [--paperkey "WORDS"] [--server URL] [--passphrase-file FILE] [--json]

Acts as USER through a paper key: derives its keys in the keystore and opens the
per-user keys boxed to it. Nothing is posted. The words come from --paperkey, else
SALTBOX_PAPERKEY, else standard input, else the terminal (keep them out of argv
when you can). With an agent running the paper key lives only in the agent's
memory; without one it is stored in the encrypted keystore.

      --paperkey "WORDS"  the 13 words of the paper key
${SERVER_HELP}
${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account, server: { type: 'string' }, paperkey: { type: 'string' } },
    positionals: true,
    run: accountCommand('loginCommand'),
  },
  logout: {
    summary: "forget this home's account (keys stay in the encrypted keystore)",
    usage: `usage: saltbox logout [--json]`,
    options: { ...common },
    run: accountCommand('logoutCommand'),
  },
  'device list': {
    summary: "list the account's devices from the verified chain",
    usage: `usage: saltbox device list [--json]

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    run: accountCommand('deviceListCommand'),
  },
  'device add': {
    summary: 'add a device to this keystore (or a paper key) and delegate it',
    usage: `usage: saltbox device add --name NAME [--type desktop|mobile] [--json]
       saltbox device add --paper [--json]

--name makes a new device in this home's keystore, signed for by the current one
(after 'saltbox login --paperkey', the paper key), and this home then acts as it.
--paper makes a new paper key and prints it once.

      --name NAME         the new device's name
      --type TYPE         desktop (default) or mobile
      --paper             a paper key instead
${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: {
      ...account,
      name: { type: 'string' },
      type: { type: 'string' },
      paper: { type: 'boolean' },
    },
    run: accountCommand('deviceAddCommand'),
  },
  'device revoke': {
    summary: 'revoke a device and rotate the per-user and team keys',
    usage: `usage: saltbox device revoke NAME|ID [--json]

Revokes the device (by name or id, see 'saltbox device list') and makes a new
per-user key generation for the remaining devices: what is encrypted to you from
then on cannot be read by the revoked device. Then rotates the key of each of
your teams where you are a writer or above, and lists the others: a writer's or
admin's next write to them rotates their key.

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: accountCommand('deviceRevokeCommand'),
  },
  'pgp gen': {
    summary: 'make a PGP key in the keystore and publish it (for format=pgp)',
    usage: `usage: saltbox pgp gen [--user-id "Name <email>"] [--no-publish] [--json]

Makes an Ed25519 PGP key with a Curve25519 encryption subkey inside the keystore
(the secret key never leaves it) and publishes it through your chain, so
'keybase://YOU?format=pgp' encrypts to it and gpg users can use it.

      --user-id ID        the key's user ID (default: your username)
      --no-publish        keep it in the keystore only ('saltbox pgp publish' later)
${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account, 'user-id': { type: 'string' }, 'no-publish': { type: 'boolean' } },
    positionals: true,
    run: pgpCommand('pgpGenCommand'),
  },
  'pgp import': {
    summary: 'import a PGP secret key (gpg --armor --export-secret-keys) and publish it',
    usage: `usage: saltbox pgp import FILE|- [--no-publish] [--key-passphrase-file FILE] [--json]

Reads an armored PGP secret key from FILE (or standard input), stores it in the
keystore without its passphrase (the keystore encrypts it at rest) and publishes
it through your chain. The key's passphrase comes from --key-passphrase-file,
SALTBOX_PGP_PASSPHRASE, else it is asked on the terminal (never echoed).

      --key-passphrase-file FILE  the PGP key's passphrase (one line)
      --no-publish        keep it in the keystore only
${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: {
      ...account,
      'key-passphrase-file': { type: 'string' },
      'no-publish': { type: 'boolean' },
    },
    positionals: true,
    run: pgpCommand('pgpImportCommand'),
  },
  'pgp publish': {
    summary: 'publish a keystore PGP key through your chain',
    usage: `usage: saltbox pgp publish [FINGERPRINT] [--json]

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: pgpCommand('pgpPublishCommand'),
  },
  'pgp list': {
    summary: "list the keystore's PGP keys and whether your chain publishes them",
    usage: `usage: saltbox pgp list [--json]

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: pgpCommand('pgpListCommand'),
  },
  'pgp export': {
    summary: 'print a PGP public key (armored; never the secret key)',
    usage: `usage: saltbox pgp export [FINGERPRINT] [--json]

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: pgpCommand('pgpExportCommand'),
  },
  'team create': {
    summary: 'create a team (you are its owner) or a subteam: acme.infra (you are its admin)',
    usage: `usage: saltbox team create NAME [--json]`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamCreateCommand'),
  },
  'team list': {
    summary: 'list your teams and your role in each (verified)',
    usage: `usage: saltbox team list [--all] [--json]

      --all               include implicit teams (alice,bob)
${JSON_HELP}`,
    options: { ...account, all: { type: 'boolean' } },
    run: teamCommand('teamListCommand'),
  },
  'team show': {
    summary: "show a team's verified members, roles and current key",
    usage: `usage: saltbox team show NAME [--json]`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamShowCommand'),
  },
  'team add': {
    summary: 'add a user to a team (admins)',
    usage: `usage: saltbox team add NAME USER [--role owner|admin|writer|reader] [--json]

      --role ROLE         the new member's role (default writer)
${JSON_HELP}`,
    options: { ...account, role: { type: 'string' } },
    positionals: true,
    run: teamCommand('teamAddCommand'),
  },
  'team remove': {
    summary: 'remove a user from a team and rotate its key (admins)',
    usage: `usage: saltbox team remove NAME USER [--json]`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamRemoveCommand'),
  },
  'team role': {
    summary: "change a member's role (admins)",
    usage: `usage: saltbox team role NAME USER owner|admin|writer|reader [--json]`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamRoleCommand'),
  },
  'team leave': {
    summary: 'leave a team (the remaining admins rotate its key with their next change)',
    usage: `usage: saltbox team leave NAME [--json]

The last owner of a team cannot leave while others remain (make another member owner
first), and the last member cannot leave at all (delete the team instead).`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamLeaveCommand'),
  },
  'team delete': {
    summary: 'delete a team, its keys and its KV data for every member (owners)',
    usage: `usage: saltbox team delete NAME --yes [--json]

      --yes               confirm: the team's KV entries are erased for every member

The team's chain, members, keys and KV entries are erased on the server. Its name stays
reserved and cannot be used for a new team. A team with subteams cannot be deleted: delete
the subteams first (their admins, or the parent's, can). Implicit teams cannot be deleted.`,
    options: { ...account, yes: { type: 'boolean' } },
    positionals: true,
    run: teamCommand('teamDeleteCommand'),
  },
  'team rotate': {
    summary: "make a new generation of a team's key",
    usage: `usage: saltbox team rotate NAME [--json]`,
    options: { ...account },
    positionals: true,
    run: teamCommand('teamRotateCommand'),
  },
  whoami: {
    summary: 'print the user this home acts as (confirmed by the server)',
    usage: `usage: saltbox whoami [--json]`,
    options: { ...account },
    run: accountCommand('whoamiCommand'),
  },
  status: {
    summary: 'server, account, device, keystore and agent at a glance',
    usage: `usage: saltbox status [--server URL] [--json]

Never asks for a passphrase.

${SERVER_HELP}
${JSON_HELP}`,
    options: { ...common, server: { type: 'string' } },
    run: accountCommand('statusCommand'),
  },
  id: {
    summary: "show a user's verified keys and fingerprint",
    usage: `usage: saltbox id USER [--json]

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: accountCommand('idCommand'),
  },
  follow: {
    summary: "record a user's (or team's) verified identity (checked by verify_proofs)",
    usage: `usage: saltbox follow USER [--json]
       saltbox follow team:NAME [--json]

A user is recorded by their eldest key (a reset account is no longer followed); a
team by its verified team ID (only members, and admins of a parent, can follow it).

${ACCOUNT_PASSPHRASE_HELP}
${JSON_HELP}`,
    options: { ...account },
    positionals: true,
    run: accountCommand('followCommand'),
  },
  keygen: {
    summary: 'create a key file (X25519 + Ed25519) and print its public keys',
    usage: `usage: saltbox keygen [-o FILE] [--force] [--json]
       saltbox keygen --keystore [--passphrase-file FILE] [--json]

Writes a new key file (mode 0600). The first line of standard output is the
encryption public key (what -r takes), the second the signing public key.

With --keystore, creates this device's keys inside the keystore instead (or
reports the ones it has): through the agent when one runs (unlock it first),
else in this process, creating the keystore on first use.

  -o, --output FILE       key file to write (default: $SALTBOX_HOME/saltpack.key)
      --force             replace an existing key file (its keys are lost)
      --keystore          keys in the keystore; the secrets never leave it
${PASSPHRASE_HELP}
${JSON_HELP}`,
    options: {
      ...common,
      output: io.output,
      force: { type: 'boolean' },
      keystore: { type: 'boolean' },
      'passphrase-file': key['passphrase-file'],
    },
    run: cryptoCommand('keygen'),
  },
  encrypt: {
    summary: 'encrypt to one or more recipients',
    usage: `usage: saltbox encrypt -r RECIPIENT [-r ...] [--anonymous] [--armor [--brand X]]
                       [--hide-recipients] [-k FILE] [-i FILE] [-o FILE]

  -r, --recipient R       a username (its verified per-user key and every active
                          device and paper key), team:NAME (the team's current key),
                          a 64-hex X25519 public key or a 0121…0a KID; repeatable
      --anonymous         do not reveal the sender (no key file needed)
      --hide-recipients   leave recipient keys out of the header
  -a, --armor             write ASCII armor instead of binary
      --brand X           armor brand, e.g. KEYBASE
${KEY_HELP}
${IO_HELP}`,
    options: {
      ...common,
      ...io,
      ...key,
      ...armorOptions,
      recipient: { type: 'string', short: 'r', multiple: true },
      anonymous: { type: 'boolean' },
      'hide-recipients': { type: 'boolean' },
    },
    run: cryptoCommand('encrypt'),
  },
  decrypt: {
    summary: 'decrypt an encrypted or signcrypted message (armored or binary)',
    usage: `usage: saltbox decrypt [-k FILE] [-i FILE] [-o FILE] [--json]

Prints the sender to standard error: the username when this home's account
verified that the user's chain holds the sender's key ("alice", or "alice
(revoked key)"), else the public key (with "(unknown key)" when no verified
user holds it), or "anonymous"; with --json, an info object with the key, its
KID, senderUsername and senderKeyStatus. Output files appear only when the
whole message authenticated.

${KEY_HELP}
${IO_HELP}
${JSON_HELP}`,
    options: { ...common, ...io, ...key },
    run: openCommand(),
  },
  sign: {
    summary: 'sign a message (attached or detached)',
    usage: `usage: saltbox sign [--detached] [--armor [--brand X]] [-k FILE] [-i FILE] [-o FILE]

  -d, --detached          write only the signature
  -a, --armor             write ASCII armor instead of binary
      --brand X           armor brand
${KEY_HELP}
${IO_HELP}`,
    options: {
      ...common,
      ...io,
      ...key,
      ...armorOptions,
      detached: { type: 'boolean', short: 'd' },
    },
    run: cryptoCommand('sign'),
  },
  verify: {
    summary: 'verify a signed message or a detached signature',
    usage: `usage: saltbox verify [-i SIGNED] [-o FILE] [--signer USER|KEY] [--json]
       saltbox verify --detached-signature SIG [-i MESSAGE] [--signer USER|KEY] [--json]

Writes the verified message (attached signatures) and prints the signer to
standard error, by username when this home's account verified that the user's
chain holds the key (as decrypt prints the sender). Armored input is detected.

  -s, --detached-signature FILE   the detached signature; -i is then the message
      --signer USER|KEY           require a live signing key of this user's
                                  verified chain, or this Ed25519 public key
                                  (64 hex or a 0120…0a KID)
      --passphrase-file FILE      the keystore passphrase, for the account
                                  without an agent (also: SALTBOX_PASSPHRASE)
${IO_HELP}
${JSON_HELP}`,
    options: {
      ...common,
      ...io,
      'detached-signature': { type: 'string', short: 's' },
      signer: { type: 'string' },
      'passphrase-file': key['passphrase-file'],
    },
    run: cryptoCommand('verify'),
  },
  signcrypt: {
    summary: 'signcrypt to receivers (signed, encrypted)',
    usage: `usage: saltbox signcrypt -r RECIPIENT [-r ...] [--symmetric-key-file FILE ...]
                         [--anonymous] [--armor [--brand X]] [-k FILE] [-i FILE] [-o FILE]

  -r, --recipient R              an X25519 public key; repeatable
      --symmetric-key-file FILE  a symmetric receiver {"identifier","key"}; repeatable
      --anonymous                do not sign with your key (anonymous signer)
  -a, --armor                    write ASCII armor instead of binary
      --brand X                  armor brand
${KEY_HELP}
${IO_HELP}`,
    options: {
      ...common,
      ...io,
      ...key,
      ...armorOptions,
      recipient: { type: 'string', short: 'r', multiple: true },
      'symmetric-key-file': { type: 'string', multiple: true },
      anonymous: { type: 'boolean' },
    },
    run: cryptoCommand('signcrypt'),
  },
  'signcrypt-open': {
    summary: 'open a signcrypted message',
    usage: `usage: saltbox signcrypt-open [-k FILE] [--symmetric-key-file FILE ...]
                              [--signer USER|KEY] [-i FILE] [-o FILE] [--json]

Prints the signer as decrypt prints the sender (a verified username, else the key).

      --symmetric-key-file FILE  a symmetric key to try; repeatable
      --signer USER|KEY          require a live signing key of this user's verified
                                 chain, or this Ed25519 public key (64 hex, 0120…0a)
${KEY_HELP}
${IO_HELP}
${JSON_HELP}`,
    options: {
      ...common,
      ...io,
      ...key,
      'symmetric-key-file': { type: 'string', multiple: true },
      signer: { type: 'string' },
    },
    run: openCommand('signcryption'),
  },
  'agent start': {
    summary: 'start the keystore agent (in the background)',
    usage: `usage: saltbox agent start [--idle-lock DURATION] [--foreground] [--json]

Starts the keystore agent, which holds the unlocked keystore for the other
commands (like ssh-agent). It starts locked; run 'saltbox unlock' next.

Each home has its own agent, on a 0600 Unix socket named by a hash of the home
(so the path stays short however long $SALTBOX_HOME is):
  $XDG_RUNTIME_DIR/saltbox/agent-HASH.sock  when that is a private directory
  /tmp/saltbox-UID/agent-HASH.sock          otherwise (0700; refused if another
                                            user owns it or others may enter)
  \\\\.\\pipe\\saltbox-agent-USER-HASH          on Windows (a named pipe)
'saltbox agent status' prints the path.

      --idle-lock DURATION  lock after this long unused, e.g. 30s, 15m, 2h, or
                            'never' (default ${DEFAULT_IDLE_LOCK})
      --foreground          run in this process until Ctrl-C or SIGTERM
      --vault-listen ADDR   also serve the Vault-transit bridge (Pulumi, SOPS) on
                            127.0.0.1:PORT or a unix socket path; see 'saltbox pulumi env'
${JSON_HELP}`,
    options: {
      ...common,
      'idle-lock': { type: 'string' },
      foreground: { type: 'boolean' },
      'vault-listen': { type: 'string' },
    },
    run: keystoreCommand('agentStart'),
  },
  'agent stop': {
    summary: 'stop the keystore agent (it locks the keystore first)',
    usage: `usage: saltbox agent stop [--json]`,
    options: { ...common },
    run: keystoreCommand('agentStop'),
  },
  'agent status': {
    summary: 'show whether the agent runs and its keystore is unlocked',
    usage: `usage: saltbox agent status [--json]

Prints the agent's pid, socket and keystore state. Exits 1 when no agent runs.

${JSON_HELP}`,
    options: { ...common },
    run: keystoreCommand('agentStatus'),
  },
  unlock: {
    summary: "unlock the agent's keystore (--create makes a new one)",
    usage: `usage: saltbox unlock [--create] [--passphrase-file FILE]

Unlocks the keystore held by the running agent. The passphrase comes from
--passphrase-file, else SALTBOX_PASSPHRASE, else the terminal (not echoed;
asked twice for a new keystore).

      --create            create the keystore if there is none yet
${PASSPHRASE_HELP}
      --json              errors as JSON`,
    options: {
      ...common,
      create: { type: 'boolean' },
      'passphrase-file': key['passphrase-file'],
    },
    run: keystoreCommand('unlock'),
  },
  completion: {
    summary: 'print a shell completion script (bash, zsh or fish)',
    usage: `usage: saltbox completion bash|zsh|fish

Prints a completion script for the shell, made from this saltbox's commands and
flags: commands, subcommands, flags, and file names for flags that take a value.

  bash   in ~/.bashrc:  source <(saltbox completion bash)
  zsh    saltbox completion zsh > "\${fpath[1]}/_saltbox" (then restart zsh), or in
         ~/.zshrc after compinit:  source <(saltbox completion zsh)
  fish   saltbox completion fish > ~/.config/fish/completions/saltbox.fish`,
    options: { help: common.help },
    positionals: true,
    choices: ['bash', 'zsh', 'fish'],
    run: async (flags, ctx) => {
      const { completionCommand } = await import('./completion.js');
      completionCommand(flags, ctx, COMMANDS);
    },
  },
  server: {
    summary: 'run the directory and storage server (SQLite by default, or PostgreSQL)',
    usage: `usage: saltbox server [--listen HOST:PORT] [--data DIR] [--database-url URL]
                      [--signup open|invite|closed] [--signup-rate N] [--json]
       saltbox server invite [--data DIR] [--database-url URL] [--json]

Serves the saltbox HTTP API (users, sigchains, key boxes, lookups) until Ctrl-C or
SIGTERM. Logs are JSON lines on standard output and never contain keys or values.
'server invite' makes a single-use sign-up invite code and prints it once.

      --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; port 0 picks one)
      --data DIR           data directory: the SQLite database and the signed log's
                           root key, log-root-key (default $SALTBOX_HOME/server)
      --database-url URL   PostgreSQL instead of SQLite (also: DATABASE_URL); --data
                           then holds only the log root key: keep it, and give every
                           server process on the database the same key
      --signup MODE        who may sign up: open (default), invite (a code from
                           'saltbox server invite'), closed (also: SALTBOX_SIGNUP)
      --signup-rate N      sign-ups per hour from one address (default 5; also:
                           SALTBOX_SIGNUP_RATE); reserved names (admin, root, …) are refused
${JSON_HELP}`,
    options: {
      ...common,
      listen: { type: 'string' },
      data: { type: 'string' },
      'database-url': { type: 'string' },
      signup: { type: 'string' },
      'signup-rate': { type: 'string' },
    },
    run: async (flags, ctx) => {
      const { serverCommand } = await import('./server-command.js');
      await serverCommand(flags, ctx);
    },
  },
  'server invite': {
    summary: 'make a single-use sign-up invite code for this server',
    usage: `usage: saltbox server invite [--data DIR] [--database-url URL] [--json]

Makes a sign-up invite code in the server's database and prints it once on standard
output (only its hash is stored). Give it to one person: 'saltbox signup USER --invite
CODE'. Used by a server started with --signup invite; the server may be running.

      --data DIR           the server's data directory (default $SALTBOX_HOME/server);
                           with --database-url it holds only the log root key
      --database-url URL   PostgreSQL instead of SQLite (also: DATABASE_URL)
${JSON_HELP}`,
    options: { ...common, data: { type: 'string' }, 'database-url': { type: 'string' } },
    run: async (flags, ctx) => {
      const { serverInviteCommand } = await import('./server-command.js');
      await serverInviteCommand(flags, ctx);
    },
  },
  'kvstore api': {
    summary: "Keybase's kvstore JSON API (get, put, del, list), byte for byte",
    usage: `usage: saltbox kvstore api [-m JSON | -i FILE] [-o FILE] [-p]

${KVSTORE_API_HELP}

  -p, --pretty            indent the replies (four spaces)
  -m JSON                 the requests as a string instead of standard input
  -i, --infile FILE       read the requests from FILE
  -o, --outfile FILE      write the replies to FILE`,
    options: {
      help: common.help,
      pretty: { type: 'boolean', short: 'p' },
      m: { type: 'string', short: 'm' },
      infile: { type: 'string', short: 'i' },
      outfile: { type: 'string', short: 'o' },
    },
    positionals: true,
    run: kvCommand('kvstoreApiCommand'),
  },
  'kv get': {
    summary: 'print a value of the encrypted key-value store',
    usage: `usage: saltbox kv get [--team TEAM] NAMESPACE KEY [--json]

Prints the value exactly as stored (on a terminal, a newline follows). Without
--team your own store (yourname,yourname); a team name with commas is an
implicit team of those users. An unset or deleted entry prints nothing and
exits 1; with --json it is {"entryValue":null,...}.

      --team TEAM         the team whose store to use
${JSON_HELP} (the result object of 'kvstore api')`,
    options: { ...common, team: { type: 'string' } },
    positionals: true,
    run: kvCommand('kvGet'),
  },
  'kv put': {
    summary: 'store a value (encrypted to the team) under NAMESPACE/KEY',
    usage: `usage: saltbox kv put [--team TEAM] [--revision N] NAMESPACE KEY [VALUE | -i FILE]

Without VALUE the value is read from -i FILE or standard input, as is. Writes at
the current revision + 1, or exactly at --revision N (N = 1: only if unset).

      --team TEAM         the team whose store to use
      --revision N        write only if the current revision is N - 1
  -i, --input FILE        read the value from FILE
${JSON_HELP}`,
    options: {
      ...common,
      team: { type: 'string' },
      revision: { type: 'string' },
      input: io.input,
    },
    positionals: true,
    run: kvCommand('kvPut'),
  },
  'kv del': {
    summary: 'delete a value (a tombstone at the next revision)',
    usage: `usage: saltbox kv del [--team TEAM] [--revision N] NAMESPACE KEY [--json]

      --team TEAM         the team whose store to use
      --revision N        delete only if the current revision is N - 1
${JSON_HELP}`,
    options: { ...common, team: { type: 'string' }, revision: { type: 'string' } },
    positionals: true,
    run: kvCommand('kvDel'),
  },
  'kv list': {
    summary: "list namespaces, or a namespace's keys and revisions",
    usage: `usage: saltbox kv list [--team TEAM] [NAMESPACE] [--json]

Without NAMESPACE prints the namespaces that hold a value; with it, each key and
its revision separated by a tab. Names starting with "__" are not listed.

      --team TEAM         the team whose store to use
${JSON_HELP}`,
    options: { ...common, team: { type: 'string' } },
    positionals: true,
    run: kvCommand('kvList'),
  },
  run: {
    summary: 'run a command with saltbox:// references in its environment resolved (masked)',
    usage: `usage: saltbox run [--env-file FILE]... [--no-masking] -- CMD [ARGS...]

Runs CMD with every environment variable whose value is a reference
  saltbox://TEAM/NAMESPACE/KEY   (saltbox:///NAMESPACE/KEY: your own store)
replaced by the value it names, read and verified like 'saltbox kv get'. Values are
kept in memory only. Every reference is read before CMD starts: one that cannot be
read stops here with its error and CMD never runs. Parts of a reference are
percent-decoded ('/' inside a name is %2F).

Each value is concealed as '<concealed by saltbox>' wherever it appears in CMD's
standard output and error; CMD then writes to pipes, not the terminal (programs that
check for a terminal may print differently — use --no-masking to keep the terminal).
Standard input is CMD's own. saltbox exits with CMD's exit code (128 + n when signal n
killed it) and passes SIGTERM on (SIGINT and SIGHUP too when not on a terminal, where
the terminal sends them to CMD itself).

      --env-file FILE     also set the variables of FILE (dotenv: NAME=VALUE lines,
                          quotes, '# comments'; no expansion); repeatable, later wins
                          over earlier and over the environment
      --no-masking        leave CMD's output as it is, on the terminal`,
    options: {
      help: common.help,
      'env-file': { type: 'string', multiple: true },
      'no-masking': { type: 'boolean' },
    },
    positionals: true,
    run: async (flags, ctx) => {
      const { runCommand } = await import('./run-command.js');
      return runCommand(flags, ctx);
    },
  },
  inject: {
    summary: 'fill {{ saltbox://… }} references of a template into a 0600 file',
    usage: `usage: saltbox inject [-i TEMPLATE] [-o FILE] [--json]

Copies TEMPLATE (default: standard input) with every {{ saltbox://TEAM/NAMESPACE/KEY }}
(spaces inside the braces allowed; saltbox:///NAMESPACE/KEY is your own store)
replaced by the value it names. Every reference is read first; one that cannot be
read is an error and nothing is written. FILE is written with mode 0600 through a
temporary file renamed into place, so it is complete or untouched.

  -i, --input TEMPLATE    read the template from TEMPLATE
  -o, --output FILE       write FILE (0600) instead of standard output
${JSON_HELP}`,
    options: { ...common, ...io },
    positionals: true,
    run: async (flags, ctx) => {
      const { injectCommand } = await import('./run-command.js');
      await injectCommand(flags, ctx);
    },
  },
  'pulumi env': {
    summary: "print VAULT_ADDR/VAULT_TOKEN for Pulumi's hashivault:// provider",
    usage: `usage: saltbox pulumi env

Prints the environment Pulumi needs to use the agent's Vault bridge:
  eval "$(saltbox pulumi env)"
  pulumi stack change-secrets-provider "hashivault://alice,bob"
The agent must run with --vault-listen.`,
    options: { ...common },
    run: providerCommand('pulumiEnv'),
  },
  'sops env': {
    summary: "print VAULT_TOKEN (and SOPS_VAULT_URIS for KEY) for SOPS's hc_vault_transit",
    usage: `usage: saltbox sops env [KEY]

KEY is a recipient list (alice,bob,team:acme) or an alias from
$SALTBOX_HOME/vault-keys.json. SOPS needs the bridge on TCP.`,
    options: { ...common },
    positionals: true,
    run: providerCommand('sopsEnv'),
  },
  'age recipient': {
    summary: 'print the age recipient (age1saltbox1…) of a user or team',
    usage: `usage: saltbox age recipient USER | team:NAME

Use it with age -r; age runs age-plugin-saltbox, which encrypts to the
verified keys of USER or the team.`,
    options: { ...common },
    positionals: true,
    run: providerCommand('ageRecipientCommand'),
  },
  'age identity': {
    summary: 'print the age identity of this account (for age -d -i FILE)',
    usage: `usage: saltbox age identity > saltbox.identity

The identity holds no secret: age-plugin-saltbox decrypts through the agent.`,
    options: { ...common },
    run: providerCommand('ageIdentityCommand'),
  },
  rewrap: {
    summary: 're-encrypt a keeper ciphertext (or a Pulumi stack encryptedkey) to recipients',
    usage: `usage: saltbox rewrap --to RECIPIENTS [--stack] [-i FILE] [-o FILE]

Decrypts with your keystore and encrypts again to RECIPIENTS' current keys
(alice,bob,team:acme, or a keybase:// URL). With --stack, the input is a
Pulumi.<stack>.yaml made through the vault bridge and its encryptedkey is
rewrapped (the data key is unchanged, so secrets stay valid).

      --to RECIPIENTS     who can decrypt afterwards
      --stack             the input is a Pulumi stack file
${IO_HELP}`,
    options: {
      ...common,
      ...io,
      to: { type: 'string' },
      stack: { type: 'boolean' },
    },
    run: providerCommand('rewrap'),
  },
  'log root': {
    summary: "print the server's latest signed log root, to compare out of band",
    usage: `usage: saltbox log root [--seqno N] [--server URL] [--json]

Prints the latest root of the server's signed log (or root N): its seqno,
hash_meta, map root, time and the root key that signed it. Two people who read
the same hash_meta at the same seqno see the same history. Save the --json
output for another user's 'saltbox log compare'. Needs no account.

      --seqno N           root N instead of the latest
${SERVER_HELP}
${JSON_HELP}`,
    options: { ...common, server: { type: 'string' }, seqno: { type: 'string' } },
    run: logCommand('logRootCommand'),
  },
  'log verify': {
    summary: "check the server's latest log root against this home's pinned root, and pin it",
    usage: `usage: saltbox log verify [--server URL] [--json]

Walks from the log root this home last verified (log-pins.json, which every
load of this home also updates) to the server's latest: the root must be signed
by the pinned root key and a consistency proof must show it extends the pinned
root. Then the new root is pinned and the two seqnos and the root key printed.
With nothing pinned yet for the server, the key and root seen are pinned on
first contact (compare them with 'saltbox log root' run elsewhere). Another
key, an older root or a fork fails with the client's CLIENT_LOG_* error (exit 1)
and pins nothing. Needs no account.

${SERVER_HELP}
${JSON_HELP}`,
    options: { ...common, server: { type: 'string' } },
    run: logCommand('logVerifyCommand'),
  },
  'log audit': {
    summary: "replay the server's whole log and check every root (a monitor anyone can run)",
    usage: `usage: saltbox log audit [--server URL] [--from N] [--key KID] [--json]

Replays the signed log from root 1: recomputes every map root and history root
from the published changes, checks every root's signature against one root key
(root 1's, or --key), every prev link, that no chain's tail moves backwards, and
that the server's consistency proofs agree. Prints counts and the time taken;
the first root that fails is named in a CLI_LOG_AUDIT_FAILED error (exit 1).
Needs no account.

      --from N            start at root N: signatures, prev links and consistency
                          only (recomputing the map needs the whole log)
      --key KID           the root key to require (default: the one of the first root)
${SERVER_HELP}
${JSON_HELP}`,
    options: {
      ...common,
      server: { type: 'string' },
      from: { type: 'string' },
      key: { type: 'string' },
    },
    run: logCommand('logAuditCommand'),
  },
  'log compare': {
    summary: 'check the server shows the root another user saved (detects a split view)',
    usage: `usage: saltbox log compare FILE [--server URL] [--json]

FILE is another user's 'saltbox log root --json' output. Fetches the root at its
seqno from the server and compares hash_meta and root key: a difference is a
split view (CLI_LOG_SPLIT_VIEW, exit 1) — the server shows you and that user
different histories. Needs no account.

${SERVER_HELP}
${JSON_HELP}`,
    options: { ...common, server: { type: 'string' } },
    positionals: true,
    run: logCommand('logCompareCommand'),
  },
  lock: {
    summary: "lock the agent's keystore (drops every secret from its memory)",
    usage: `usage: saltbox lock [--json]`,
    options: { ...common },
    run: keystoreCommand('lock'),
  },
};

/** The subcommands of `saltbox agent`. */
const AGENT_USAGE = `usage: saltbox agent start [--idle-lock DURATION] [--foreground]
       saltbox agent stop
       saltbox agent status [--json]

Run 'saltbox agent <command> --help' for a command's flags.
`;

/** The subcommands of `saltbox device`. */
const DEVICE_USAGE = `usage: saltbox device list [--json]
       saltbox device add --name NAME | --paper
       saltbox device revoke NAME|ID

Run 'saltbox device <command> --help' for a command's flags.
`;

/** The subcommands of `saltbox team`. */
const TEAM_USAGE = `usage: saltbox team create NAME
       saltbox team list [--all]
       saltbox team show NAME
       saltbox team add NAME USER [--role ROLE]
       saltbox team remove NAME USER
       saltbox team role NAME USER ROLE
       saltbox team leave NAME
       saltbox team delete NAME --yes
       saltbox team rotate NAME

Run 'saltbox team <command> --help' for a command's flags.
`;

/** The subcommands of `saltbox pgp`. */
const PGP_USAGE = `usage: saltbox pgp gen [--user-id "Name <email>"] [--no-publish]
       saltbox pgp import FILE|- [--no-publish]
       saltbox pgp publish [FINGERPRINT]
       saltbox pgp list
       saltbox pgp export [FINGERPRINT]

PGP keys for keybase://USER?format=pgp: made or imported inside the keystore and
published through your chain. Run 'saltbox pgp <command> --help' for a command's flags.
`;

/** The subcommands of `saltbox log`. */
const LOG_USAGE = `usage: saltbox log root [--seqno N] [--json]
       saltbox log verify [--json]
       saltbox log audit [--from N] [--key KID] [--json]
       saltbox log compare FILE [--json]

The server's signed log of every chain: public, needs no account.
Run 'saltbox log <command> --help' for a command's flags.
`;

/** The `kvstore` and `kv` command groups. */
const KV_GROUPS: Record<string, string> = {
  kvstore: `usage: saltbox kvstore api [-m JSON | -i FILE] [-o FILE] [-p]

Run 'saltbox kvstore api --help' for the JSON interface.
`,
  kv: `usage: saltbox kv get [--team TEAM] NAMESPACE KEY
       saltbox kv put [--team TEAM] [--revision N] NAMESPACE KEY [VALUE | -i FILE]
       saltbox kv del [--team TEAM] [--revision N] NAMESPACE KEY
       saltbox kv list [--team TEAM] [NAMESPACE]

Run 'saltbox kv <command> --help' for a command's flags.
`,
};

/** Commands with subcommands, and their usage. */
const GROUPS: Record<string, string> = {
  agent: AGENT_USAGE,
  device: DEVICE_USAGE,
  team: TEAM_USAGE,
  pgp: PGP_USAGE,
  log: LOG_USAGE,
  ...KV_GROUPS,
  pulumi: `usage: saltbox pulumi env\n`,
  sops: `usage: saltbox sops env [KEY]\n`,
  age: `usage: saltbox age recipient USER | team:NAME\n       saltbox age identity\n`,
};

/** The top-level help. */
export function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`,
  );
  return `usage: saltbox <command> [flags]

saltbox: end-to-end encrypted key-value store and secrets provider.

commands:
${lines.join('\n')}

Run 'saltbox <command> --help' for a command's flags. Input is standard input
and output standard output unless -i/-o name files.
`;
}

/**
 * Turns `parseArgs`' errors (English sentences with advice) into short usage errors.
 *
 * @param readsFiles - whether the command reads its input from `-i FILE`: an argument given to
 *   it is most likely a file name, and the hint says so; other commands get the default hint
 *   (their `--help`), not advice about a flag they do not have.
 */
function parseError(e: unknown, command: string, readsFiles: boolean): Error {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : '';
  // Node quotes the flag as '-k, --key <value>'; keep the first spelling only.
  const quoted = /'([^']+)'/.exec(message)?.[1]?.split(/[, ]/)[0];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return usage(`unknown flag ${quoted ?? ''} for ${command}`.replace('  ', ' '));
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return usage(
        quoted === undefined
          ? `a flag of ${command} is missing its value`
          : `flag ${quoted} needs a value`,
      );
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const what = `unexpected argument ${quoted === undefined ? '' : `"${quoted}"`}`.trim();
      return readsFiles
        ? usage(what, 'use -i FILE to read a file')
        : usage(`${what}: ${command} takes none`);
    }
    default:
      return usage(`invalid flags for ${command}`);
  }
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code. Never
 * throws: every failure is printed by {@link reportError}.
 */
export async function runCli(argv: readonly string[], console: Console): Promise<number> {
  let [command, ...rest] = argv;
  // Not from the arguments after `--` (the command of `saltbox run`).
  const json = (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv).includes('--json');
  const group =
    command !== undefined && Object.hasOwn(GROUPS, command) ? GROUPS[command] : undefined;
  if (group !== undefined) {
    const sub = rest[0];
    if (sub === '-h' || sub === '--help') {
      console.stdout(group);
      return 0;
    }
    if (sub === undefined) {
      console.stderr(group);
      return 2;
    }
    command = `${command} ${sub}`;
    rest = rest.slice(1);
  }
  // `server` runs the server; `server invite` is its one subcommand.
  if (command === 'server' && rest[0] === 'invite') {
    command = 'server invite';
    rest = rest.slice(1);
  }
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const target = command === 'help' ? rest.join(' ') || undefined : undefined;
    if (target !== undefined && Object.hasOwn(GROUPS, target)) {
      console.stdout(GROUPS[target]!);
      return 0;
    }
    const spec = target === undefined ? undefined : COMMANDS[target];
    if (command === undefined) {
      console.stderr(mainUsage());
      return 2;
    }
    console.stdout(spec ? `${spec.usage}\n` : mainUsage());
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    console.stdout(`saltbox ${VERSION}\n`);
    return 0;
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  // Loaded here, after `--version` and the help texts have been answered without them.
  const [{ defaultContext }, { reportError }] = await Promise.all([
    import('./default-context.js'),
    import('./ui.js'),
  ]);
  const ctx = defaultContext(console, command);
  try {
    if (spec === undefined) {
      throw usage(`unknown command "${command}"`, "run 'saltbox --help' for the list of commands");
    }
    let flags: Flags;
    try {
      const parsed = parseArgs({
        args: [...rest],
        options: spec.options,
        strict: true,
        allowPositionals: spec.positionals === true,
      });
      flags =
        spec.positionals === true
          ? { ...parsed.values, _positionals: parsed.positionals }
          : parsed.values;
    } catch (e) {
      throw parseError(
        e,
        command,
        Object.entries(spec.options).some(([name, o]) => name === 'i' || o.short === 'i'),
      );
    }
    if (flags.help === true) {
      console.stdout(`${spec.usage}\n`);
      return 0;
    }
    const code = await spec.run(flags, ctx);
    await ctx.close();
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    await ctx.close();
    if (spec === undefined) ctx.hints.command = '';
    return reportError(console, e, { json, context: ctx.hints });
  }
}
