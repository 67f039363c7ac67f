/**
 * `saltbox pgp gen|import|list|export|publish`: PGP keys for `keybase://…?format=pgp`. Keys are
 * made or imported inside the keystore (which keeps the secret key) and published through the
 * account's chain, so others encrypt to them from the verified chain. Nothing here touches a
 * secret key: the commands pass armored text to the keystore and print public keys only.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { isKeystoreError } from '@saltbox/keystore';
import type { CommandContext, Flags } from './context.js';
import { CliError, usage } from './errors.js';
import { askSecretLine } from './passphrase.js';
import { displayText, info } from './ui.js';

/** The environment variable the passphrase of an imported PGP key may come from. */
export const PGP_PASSPHRASE_ENV = 'SALTBOX_PGP_PASSPHRASE';
/** An armored secret key is a few kilobytes; RSA 4096 with many signatures stays far below. */
const KEY_FILE_LIMIT = 256 * 1024;

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;

function positionals(flags: Flags): string[] {
  const p = flags._positionals;
  return Array.isArray(p) ? p.filter((x): x is string => typeof x === 'string') : [];
}

function atMostOne(flags: Flags, what: string): string | undefined {
  const list = positionals(flags);
  if (list.length > 1) throw usage(`unexpected argument "${list[1]!.slice(0, 20)}"`, what);
  return list[0];
}

function printJson(ctx: CommandContext, value: unknown): void {
  ctx.console.stdout(`${JSON.stringify(value)}\n`);
}

/** The fingerprint as gpg prints it: ten groups of four upper-case hex digits. */
function spaced(fingerprint: string): string {
  return (fingerprint.toUpperCase().match(/.{1,4}/g) ?? []).join(' ');
}

async function readKeyText(source: string): Promise<string> {
  let bytes: Buffer;
  try {
    if (source === '-') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > KEY_FILE_LIMIT) throw usage('the key on standard input is too large');
        chunks.push(chunk);
      }
      bytes = Buffer.concat(chunks);
    } else {
      bytes = await readFile(source);
      if (bytes.length > KEY_FILE_LIMIT) throw usage(`${source} is too large for a pgp key`);
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('CLI_IO', `cannot read ${source === '-' ? 'standard input' : source}`, {
      cause: e,
    });
  }
  return bytes.toString('utf8');
}

/** The passphrase of the key to import: `--key-passphrase-file`, else the variable. */
async function givenKeyPassphrase(flags: Flags): Promise<string | undefined> {
  const file = str(flags, 'key-passphrase-file');
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new CliError('CLI_IO', `cannot read the key passphrase file ${file}`, { cause: e });
    }
    return text.replace(/\r?\n$/, '');
  }
  const env = process.env[PGP_PASSPHRASE_ENV];
  return env !== undefined && env !== '' ? env : undefined;
}

/** Keystore refusals of an import, with what to do about them. */
function importError(e: unknown): never {
  if (isKeystoreError(e)) {
    switch (e.code) {
      case 'KEYSTORE_WRONG_PASSPHRASE':
        throw new CliError(e.code, e.message, {
          hint: `give the key's passphrase on the terminal, in ${PGP_PASSPHRASE_ENV} or with --key-passphrase-file`,
          cause: e,
        });
      case 'KEYSTORE_INVALID_ARGUMENT':
        throw new CliError(e.code, e.message, {
          hint: 'export the secret key with: gpg --armor --export-secret-keys KEYID > key.asc',
          cause: e,
        });
      case 'KEYSTORE_CONFLICT':
        throw new CliError(e.code, e.message, {
          hint: "see 'saltbox pgp list'; publish it with 'saltbox pgp publish'",
          cause: e,
        });
      default:
        break;
    }
  }
  throw e;
}

interface PublicInfo {
  kid: string;
  fingerprint: string;
  keyId: string;
  userIds: string[];
  created: number;
}

function describe(k: PublicInfo): string {
  const when = new Date(k.created * 1000).toISOString().slice(0, 10);
  return `${spaced(k.fingerprint)}  ${when}  ${displayText(k.userIds.join(', '))}`;
}

async function publish(
  ctx: CommandContext,
  flags: Flags,
  key: PublicInfo,
): Promise<{ seqno: number } | null> {
  if (bool(flags, 'no-publish')) return null;
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const r = await session.account.publishPgpKey({ kid: key.kid });
  return { seqno: r.seqno };
}

function report(
  ctx: CommandContext,
  flags: Flags,
  verb: string,
  key: PublicInfo,
  published: { seqno: number } | null,
): void {
  if (bool(flags, 'json')) {
    printJson(ctx, {
      kid: key.kid,
      fingerprint: key.fingerprint,
      keyId: key.keyId,
      userIds: key.userIds,
      published: published !== null,
      ...(published ? { seqno: published.seqno } : {}),
    });
    return;
  }
  info(ctx.console, `${verb} pgp key ${spaced(key.fingerprint)} (${key.userIds.join(', ')})`);
  info(
    ctx.console,
    published
      ? `published through your chain (link ${published.seqno}): keybase://USER?format=pgp now encrypts to it`
      : "not published: run 'saltbox pgp publish' to let others encrypt to it",
  );
}

/**
 * `saltbox pgp gen [--user-id "Name <email>"] [--no-publish]`: a new Ed25519/Curve25519 PGP
 * key made in the keystore, published through the chain.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; KeystoreError `KEYSTORE_INVALID_ARGUMENT` (user ID);
 *   ClientError codes of publishing.
 */
export async function pgpGenCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  atMostOne(flags, "'saltbox pgp gen' takes no arguments");
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const userId = str(flags, 'user-id') ?? session.config.username;
  const key = await session.keystore.client.pgpGenerate({ userId });
  report(ctx, flags, 'made', key, await publish(ctx, flags, key));
}

/**
 * `saltbox pgp import FILE|-`: an armored secret key (from `gpg --armor --export-secret-keys`)
 * into the keystore, then published. A protected key's passphrase comes from
 * `--key-passphrase-file`, `SALTBOX_PGP_PASSPHRASE`, else the terminal (never echoed).
 *
 * @throws CliError `CLI_USAGE`, `CLI_IO`, `CLI_NOT_LOGGED_IN`; `KEYSTORE_WRONG_PASSPHRASE`,
 *   `KEYSTORE_INVALID_ARGUMENT` (not a secret key), `KEYSTORE_CONFLICT` with hints.
 */
export async function pgpImportCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const source = atMostOne(flags, 'usage: saltbox pgp import FILE|-');
  if (source === undefined)
    throw usage('the key file is missing', 'usage: saltbox pgp import FILE|-');
  const armoredSecretKey = await readKeyText(source);
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const given = await givenKeyPassphrase(flags);
  const attempt = (passphrase: string | undefined) =>
    session.keystore.client.pgpImport({
      armoredSecretKey,
      ...(passphrase === undefined ? {} : { passphrase }),
    });
  let key;
  try {
    key = await attempt(given);
  } catch (e) {
    // A protected key and no passphrase given: ask on the terminal (when there is one).
    if (!(isKeystoreError(e, 'KEYSTORE_WRONG_PASSPHRASE') && given === undefined)) importError(e);
    const asked = source === '-' ? undefined : await askSecretLine('passphrase of the pgp key');
    if (asked === undefined) importError(e);
    try {
      key = await attempt(asked);
    } catch (e2) {
      importError(e2);
    }
  }
  report(ctx, flags, 'imported', key, await publish(ctx, flags, key));
}

/**
 * `saltbox pgp publish [FINGERPRINT]`: publishes a keystore PGP key through the chain.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError `CLIENT_INVALID_ARGUMENT`,
 *   `CLIENT_ACCOUNT_CONFLICT` (already published), transport codes.
 */
export async function pgpPublishCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const fingerprint = atMostOne(flags, 'usage: saltbox pgp publish [FINGERPRINT]');
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const r = await session.account.publishPgpKey(fingerprint === undefined ? {} : { fingerprint });
  const key = (await session.keystore.client.pgpList()).keys.find((k) => k.kid === r.kid)!;
  report(ctx, flags, 'published', key, { seqno: r.seqno });
}

/**
 * `saltbox pgp list`: the keystore's PGP keys and whether the verified chain publishes them.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError chain and transport codes.
 */
export async function pgpListCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  atMostOne(flags, "'saltbox pgp list' takes no arguments");
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const { keys } = await session.keystore.client.pgpList();
  const me = await session.account.me();
  const live = new Set(me.pgpKeys.map((k) => k.kid));
  if (bool(flags, 'json')) {
    printJson(ctx, {
      keys: keys.map((k) => ({
        kid: k.kid,
        fingerprint: k.fingerprint,
        keyId: k.keyId,
        userIds: k.userIds,
        created: k.created,
        published: live.has(k.kid),
      })),
    });
    return;
  }
  if (keys.length === 0) {
    info(ctx.console, "no pgp keys in the keystore: run 'saltbox pgp gen' or 'saltbox pgp import'");
    return;
  }
  for (const k of keys)
    ctx.console.stdout(`${live.has(k.kid) ? 'published  ' : 'local only '} ${describe(k)}\n`);
}

/**
 * `saltbox pgp export [FINGERPRINT]`: prints the armored PUBLIC key (never the secret one).
 *
 * @throws CliError `CLI_USAGE` (no such key, or several and none named), `CLI_NOT_LOGGED_IN`.
 */
export async function pgpExportCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const wanted = atMostOne(flags, 'usage: saltbox pgp export [FINGERPRINT]')
    ?.toLowerCase()
    .replace(/\s/g, '');
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const { keys } = await session.keystore.client.pgpList();
  const matches =
    wanted === undefined
      ? keys
      : keys.filter((k) => k.fingerprint === wanted || k.keyId === wanted || k.kid === wanted);
  if (matches.length !== 1)
    throw usage(
      matches.length === 0 ? 'no such pgp key in the keystore' : 'several pgp keys: name one',
      "see 'saltbox pgp list'",
    );
  const key = matches[0]!;
  if (bool(flags, 'json')) {
    printJson(ctx, { fingerprint: key.fingerprint, armoredPublicKey: key.armoredPublicKey });
    return;
  }
  ctx.console.stdout(
    key.armoredPublicKey.endsWith('\n') ? key.armoredPublicKey : `${key.armoredPublicKey}\n`,
  );
}
