/**
 * The local account configuration, `$SALTBOX_HOME/config.json` (DESIGN.md, Files on a user's
 * machine): which server, which user, which device of the keystore this home acts as. Nothing
 * secret — KIDs and IDs only — but it is still written 0600 and atomically, because a torn or
 * swapped file would point every command at another identity.
 *
 * @packageDocumentation
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HOME_FILES } from '@saltbox/keystore/paths';
import { ClientError } from './errors.js';
import { saltboxHome, writeAtomic } from './store.js';

const kid = z.string().regex(/^01[0-9a-f]{66}0a$/);
const hex32 = z.string().regex(/^[0-9a-f]{32}$/);

/** The device this home acts as (public facts only). */
export const accountDeviceSchema = z.object({
  id: hex32,
  name: z.string().min(1).max(64),
  type: z.enum(['desktop', 'mobile', 'backup']),
  signingKid: kid,
  encryptionKid: kid,
});
/** The device this home acts as. */
export type AccountDevice = z.infer<typeof accountDeviceSchema>;

/** `config.json`. */
export const accountConfigSchema = z.object({
  version: z.literal(1),
  /** Server base URL. */
  server: z.url(),
  username: z.string(),
  uid: hex32,
  device: accountDeviceSchema,
  /**
   * True after `login --paperkey` through an agent: the paper device lives only in the agent's
   * memory (`keybase oneshot`), so this home stops working when the agent locks or stops.
   */
  oneshot: z.boolean(),
});
/** The local account configuration. */
export type AccountConfig = z.infer<typeof accountConfigSchema>;

/** The config file's name inside `$SALTBOX_HOME`. */
export const ACCOUNT_CONFIG_FILE = HOME_FILES.config;

/** The config path of a home (default `$SALTBOX_HOME`). */
export function accountConfigPath(home: string = saltboxHome()): string {
  return join(home, ACCOUNT_CONFIG_FILE);
}

/**
 * Reads the account configuration.
 *
 * @returns undefined when the home has none (nobody signed up or logged in here).
 * @throws ClientError `CLIENT_STORE` when the file cannot be read, is not JSON or does not
 *   match the schema.
 */
export async function readAccountConfig(
  home: string = saltboxHome(),
): Promise<AccountConfig | undefined> {
  let text: string;
  try {
    text = await readFile(accountConfigPath(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientError('CLIENT_STORE', 'could not read the account config', {}, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClientError('CLIENT_STORE', 'the account config is not json', {}, { cause: e });
  }
  const parsed = accountConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new ClientError('CLIENT_STORE', 'the account config does not match its schema', {
      issue: parsed.error.issues[0]?.path.join('.') ?? null,
    });
  return parsed.data;
}

/**
 * Writes the account configuration (0600, atomic; the home directory is created 0700).
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` for a config that does not match the schema,
 *   `CLIENT_STORE` when it cannot be written.
 */
export async function writeAccountConfig(
  config: AccountConfig,
  home: string = saltboxHome(),
): Promise<void> {
  const parsed = accountConfigSchema.safeParse(config);
  if (!parsed.success)
    throw new ClientError('CLIENT_INVALID_ARGUMENT', 'the account config is malformed', {
      issue: parsed.error.issues[0]?.path.join('.') ?? null,
    });
  try {
    await mkdir(home, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ClientError('CLIENT_STORE', 'could not create the saltbox home', {}, { cause: e });
  }
  await writeAtomic(accountConfigPath(home), `${JSON.stringify(parsed.data, null, 2)}\n`);
}

/**
 * Removes the account configuration (logout). Removing a missing file is not an error.
 *
 * @returns whether a configuration existed.
 * @throws ClientError `CLIENT_STORE` when it cannot be removed.
 */
export async function removeAccountConfig(home: string = saltboxHome()): Promise<boolean> {
  const path = accountConfigPath(home);
  try {
    await readFile(path);
  } catch {
    return false;
  }
  try {
    await rm(path);
  } catch (e) {
    throw new ClientError('CLIENT_STORE', 'could not remove the account config', {}, { cause: e });
  }
  return true;
}
