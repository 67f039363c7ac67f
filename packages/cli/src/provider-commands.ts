/**
 * The secrets-provider commands (issue 7): `saltbox pulumi env`, `saltbox sops env`,
 * `saltbox age recipient|identity`, `saltbox rewrap`, and the Vault bridge the agent serves
 * with `saltbox agent start --vault-listen`. The work is `@saltbox/provider`'s; this file reads
 * the account config and prints.
 *
 * @packageDocumentation
 */
import { mkdir, readFile, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { HOME_FILES, accountConfigPath, readAccountConfig, writeAtomic } from '@saltbox/client';
import type { AccountConfig } from '@saltbox/client';
import {
  ProviderError,
  ageIdentity,
  ageRecipient,
  isProviderError,
  newVaultToken,
  notLoggedIn,
  openAccountProviderContext,
  parseRecipients,
  parseVaultListen,
  prepareVaultSocketPath,
  requireProviderAccount,
  startVaultBridge,
  vaultDecrypter,
  vaultKeeperResolver,
} from '@saltbox/provider';
import type { ProviderContext, VaultBridge } from '@saltbox/provider';
import { CliError, usage } from './errors.js';
import { home } from './session.js';
import type { CommandContext, Flags } from './context.js';

const VAULT_FILE = HOME_FILES.vaultBridge;
const VAULT_KEYS_FILE = HOME_FILES.vaultKeys;

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
function positionals(flags: Flags): string[] {
  const p = (flags as { _positionals?: unknown })._positionals;
  return Array.isArray(p) ? (p as string[]) : [];
}

/**
 * A provider context for the logged-in account (the agent is connected on first use).
 *
 * @throws ProviderError `PROVIDER_NOT_LOGGED_IN` when `$SALTBOX_HOME` has no account.
 */
export function accountProvider(): Promise<ProviderContext> {
  return openAccountProviderContext({ home: home() });
}

/**
 * What `saltbox agent start --vault-listen ADDR` checks before it detaches, so the caller sees
 * why the bridge cannot start (the detached agent's own error would be lost): an address the
 * bridge accepts — for a socket path, nothing there or a stale socket, which is removed — and
 * an account.
 *
 * @throws ProviderError `PROVIDER_VAULT_REFUSED`, `PROVIDER_NOT_LOGGED_IN`; CliError
 *   `CLI_PROVIDER` with a hint when the socket path holds anything but a stale socket.
 */
export async function checkVaultBridgeStart(listen: string): Promise<void> {
  const where = parseVaultListen(listen);
  if ('path' in where) {
    try {
      await prepareVaultSocketPath(where.path);
    } catch (e) {
      if (!isProviderError(e, 'PROVIDER_VAULT_PATH_TAKEN')) throw e;
      throw new CliError('CLI_PROVIDER', e.message, {
        cause: e,
        hint: 'saltbox replaces only a socket nobody answers on: give --vault-listen another path, or move what is there out of the way',
      });
    }
  }
  await requireProviderAccount(home());
}

/** The bridge's address and token, as the agent recorded them (0600). */
interface VaultRecord {
  address: string;
  token: string;
  pid: number;
}

function processAlive(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readVaultRecord(): Promise<VaultRecord> {
  try {
    const r = JSON.parse(await readFile(join(home(), VAULT_FILE), 'utf8')) as VaultRecord;
    // The agent removes the record when it stops, but a killed agent cannot: a record whose
    // process is gone names a dead address and token, so it counts as no bridge at all.
    if (typeof r.address === 'string' && typeof r.token === 'string' && processAlive(r.pid)) {
      return r;
    }
  } catch {
    // fall through
  }
  // No bridge: without an account none can be started, so say that first.
  await requireProviderAccount(home());
  throw new CliError(
    'CLI_PROVIDER',
    'the keystore agent serves no vault bridge: start it with --vault-listen',
    { hint: "run 'saltbox agent stop', then 'saltbox agent start --vault-listen 127.0.0.1:8200'" },
  );
}

/**
 * A check that the account a long-lived bridge started as is still the account of the home:
 * after `saltbox logout` (or a login as someone else) the agent must not go on decrypting as
 * that account. It costs a `stat` of `config.json` per call; the file is read again only when
 * it changed.
 *
 * @returns a function that throws ProviderError `PROVIDER_NOT_LOGGED_IN` when the account is
 *   gone or is another one.
 */
async function accountGuard(config: AccountConfig): Promise<() => Promise<void>> {
  const path = accountConfigPath(home());
  const same = (a: Stats, b: Stats) =>
    a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
  let seen = await stat(path);
  return async () => {
    const now = await stat(path).catch(() => undefined);
    if (now === undefined) throw notLoggedIn(home());
    if (same(now, seen)) return;
    const current = await readAccountConfig(home()).catch(() => undefined);
    if (current === undefined) throw notLoggedIn(home());
    if (
      current.username !== config.username ||
      current.device.signingKid !== config.device.signingKid
    )
      throw new ProviderError(
        'FailedPrecondition',
        'PROVIDER_NOT_LOGGED_IN',
        `the account of ${home()} changed since the agent started: restart the agent`,
      );
    seen = now;
  };
}

/** `$SALTBOX_HOME/vault-keys.json` (`{"prod": "alice,bob,team:acme"}`), or none. */
async function readVaultAliases(): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(join(home(), VAULT_KEYS_FILE), 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/**
 * Starts the Vault bridge inside the agent process and records its address and token in
 * `$SALTBOX_HOME/vault-bridge.json` (0600). Aliases come from `$SALTBOX_HOME/vault-keys.json`
 * (`{"prod": "alice,bob,team:acme"}`) when present; they route encryption only.
 */
export async function startAgentVaultBridge(listen: string): Promise<VaultBridge> {
  const config = await requireProviderAccount(home());
  const stillLoggedIn = await accountGuard(config);
  const provider = await accountProvider();
  const aliases = await readVaultAliases();
  const resolveKeeper = vaultKeeperResolver({ opener: provider.opener, aliases });
  const decrypter = vaultDecrypter({ opener: provider.opener, username: config.username });
  const token = newVaultToken();
  const bridge = await startVaultBridge({
    listen,
    token,
    keeperFor: async (keyName) => {
      await stillLoggedIn();
      return resolveKeeper(keyName);
    },
    // Whatever the key name: old files stay readable after an alias is renamed or removed.
    decrypter: async () => {
      await stillLoggedIn();
      return decrypter();
    },
  });
  await mkdir(home(), { recursive: true, mode: 0o700 });
  await writeAtomic(
    join(home(), VAULT_FILE),
    JSON.stringify({ address: bridge.address, token, pid: process.pid }),
  );
  return {
    address: bridge.address,
    async close() {
      await bridge.close();
      await unlink(join(home(), VAULT_FILE)).catch(() => undefined);
      await provider.close();
    },
  };
}

async function readInput(path: string | undefined): Promise<Uint8Array> {
  if (path !== undefined) return new Uint8Array(await readFile(path));
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

async function writeOutput(path: string | undefined, bytes: Uint8Array): Promise<void> {
  if (path === undefined) {
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(bytes, (e) => {
        if (e) reject(e);
        else resolve();
      });
    });
    return;
  }
  // Replacing a file keeps its mode (a stack file checked in 0644 stays so); a new one is 0600.
  const mode = await stat(path).then(
    (st) => st.mode & 0o777,
    () => 0o600,
  );
  await writeAtomic(path, bytes, { mode });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `saltbox pulumi env`: VAULT_ADDR and VAULT_TOKEN for Pulumi's hashivault:// provider.
 *
 * @throws CliError `CLI_PROVIDER` (no bridge runs); ProviderError `PROVIDER_NOT_LOGGED_IN` (no
 *   bridge and no account).
 */
export async function pulumiEnv(_flags: Flags, ctx: CommandContext): Promise<void> {
  const r = await readVaultRecord();
  ctx.console.stdout(
    `export VAULT_ADDR=${shellQuote(r.address)}\nexport VAULT_TOKEN=${shellQuote(r.token)}\n`,
  );
}

/**
 * `saltbox sops env [KEY]`: VAULT_TOKEN plus the hc_vault_transit_uri for KEY (TCP only).
 *
 * KEY is what the bridge will be asked for: an alias of `vault-keys.json`, else a recipient
 * list. A name that is no alias is checked as recipients through the verified directory before
 * a URI is printed: `sops env prod` without a `prod` alias would otherwise hand SOPS a key that
 * encrypts to a user named "prod" (or fails only at encryption time). A real user named like
 * the alias would have been is still accepted: the bridge reads KEY exactly the same way.
 *
 * @throws CliError `CLI_PROVIDER` (no bridge, or on a Unix socket), `CLI_USAGE` (bad KEY);
 *   `CLI_PROVIDER` when KEY is neither an alias nor existing recipients (with a hint);
 *   ProviderError `PROVIDER_NOT_LOGGED_IN` (no bridge and no account).
 */
export async function sopsEnv(flags: Flags, ctx: CommandContext): Promise<void> {
  const r = await readVaultRecord();
  if (!r.address.startsWith('http://'))
    throw new CliError('CLI_PROVIDER', 'SOPS needs the vault bridge on TCP, not a unix socket', {
      hint: "restart the agent with '--vault-listen 127.0.0.1:8200'",
    });
  const key = positionals(flags)[0];
  const lines = [`export VAULT_TOKEN=${shellQuote(r.token)}`];
  if (key !== undefined) {
    if (!/^[A-Za-z0-9,:._+-]+$/.test(key)) throw usage('a key name is recipients or an alias');
    if (!Object.hasOwn(await readVaultAliases(), key)) await checkRecipients(key);
    lines.push(`export SOPS_VAULT_URIS=${shellQuote(`${r.address}/v1/transit/keys/${key}`)}`);
  }
  ctx.console.stdout(`${lines.join('\n')}\n`);
}

/** Every recipient of `list` exists (verified directory); else a coded error naming the alias file. */
async function checkRecipients(list: string): Promise<void> {
  const provider = await accountProvider();
  try {
    for (const r of parseRecipients(list)) await provider.directory.resolve(r);
  } catch (e) {
    if (e instanceof ProviderError && e.reason === 'PROVIDER_RECIPIENT_NOT_FOUND')
      throw new CliError(
        'CLI_PROVIDER',
        `"${list}" is not an alias in ${join(home(), VAULT_KEYS_FILE)}, and ${e.message}`,
        {
          cause: e,
          hint: `define the alias there ({"${list}": "alice,bob,team:acme"}) and restart the agent, or name recipients`,
        },
      );
    throw e;
  } finally {
    await provider.close();
  }
}

/** `saltbox age recipient <user | team:NAME>`. */
export function ageRecipientCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name, ...rest] = positionals(flags);
  if (name === undefined || rest.length > 0) throw usage('give one user or team:NAME');
  ctx.console.stdout(`${ageRecipient(name)}\n`);
  return Promise.resolve();
}

/**
 * `saltbox age identity`: the identity line for this account (no secret inside).
 *
 * @throws ProviderError `PROVIDER_NOT_LOGGED_IN`.
 */
export async function ageIdentityCommand(_flags: Flags, ctx: CommandContext): Promise<void> {
  const config = await requireProviderAccount(home());
  ctx.console.stdout(
    `# saltbox identity of ${config.username}: decrypts through the keystore agent\n${ageIdentity(config.username)}\n`,
  );
}

/**
 * `saltbox rewrap --to RECIPIENTS [-i FILE] [-o FILE] [--stack]`: decrypts a keeper ciphertext
 * and encrypts it again to the recipients (current keys). With `--stack`, the input is a Pulumi
 * stack file and its `encryptedkey` is rewrapped in place (the data key is unchanged, so every
 * secret stays valid).
 *
 * @throws CliError `CLI_USAGE` (no `--to`), `CLI_PROVIDER` (not a bridge stack file);
 *   ProviderError `PROVIDER_NOT_LOGGED_IN` and the keeper's codes.
 */
export async function rewrap(flags: Flags, _ctx: CommandContext): Promise<void> {
  const to = str(flags, 'to');
  if (to === undefined) throw usage('--to RECIPIENTS is required (e.g. alice,bob,team:acme)');
  const provider = await accountProvider();
  try {
    const keeper = await provider.mux.openKeeper(to.includes('://') ? to : `keybase://${to}`);
    const input = await readInput(str(flags, 'input'));
    if (flags.stack === true) {
      const text = new TextDecoder().decode(input);
      const m = /^encryptedkey:[ \t]*(\S+)[ \t]*$/m.exec(text);
      if (!m) throw new CliError('CLI_PROVIDER', 'the stack file has no encryptedkey');
      // Pulumi stores base64 of the keeper's ciphertext; the bridge's is "vault:v1:<base64>".
      const outer = new TextDecoder().decode(Buffer.from(m[1]!, 'base64'));
      if (!outer.startsWith('vault:v1:'))
        throw new CliError('CLI_PROVIDER', 'encryptedkey was not made by the saltbox bridge');
      const plain = await keeper.decrypt(new Uint8Array(Buffer.from(outer.slice(9), 'base64')));
      const again = `vault:v1:${Buffer.from(await keeper.encrypt(plain)).toString('base64')}`;
      const replaced = text.replace(m[0], `encryptedkey: ${Buffer.from(again).toString('base64')}`);
      await writeOutput(str(flags, 'output'), new TextEncoder().encode(replaced));
      return;
    }
    const plain = await keeper.decrypt(input);
    await writeOutput(str(flags, 'output'), await keeper.encrypt(plain));
  } finally {
    await provider.close();
  }
}
