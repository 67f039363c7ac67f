/**
 * The KV backend behind `kvstore api`, `kv` and the `saltbox-keybase` shim: the account of
 * `$SALTBOX_HOME` (its config names the server and the user, its agent holds the device keys).
 * Without an account everything answers Keybase's `not logged in`.
 *
 * @packageDocumentation
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { KvstoreBackend } from '@saltbox/client';
import { CliError } from './errors.js';
import { saltboxHome } from './keys.js';

/** The backend of a home with nobody logged in: every request is `not logged in`. */
const loggedOut: KvstoreBackend<never> = {
  currentUsername: () => Promise.resolve(null),
  resolveTeam: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
  get: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
  put: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
  del: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
  listNamespaces: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
  listEntryKeys: () => Promise.reject(new CliError('CLI_INTERNAL', 'not logged in')),
};

/**
 * Opens the KV backend of `$SALTBOX_HOME`.
 *
 * @throws CliError `CLI_KV_UNAVAILABLE` when the home has an account but this build cannot
 *   reach its KV store yet.
 */
export async function openKvstoreBackend(): Promise<KvstoreBackend> {
  try {
    await access(join(saltboxHome(), 'config.json'));
  } catch {
    return loggedOut;
  }
  throw new CliError('CLI_KV_UNAVAILABLE', 'the account kv backend is not available yet');
}
