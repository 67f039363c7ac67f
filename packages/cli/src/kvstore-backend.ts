/**
 * The KV backend behind `kvstore api`, `kv` and the `saltbox-keybase` shim: the account of
 * `$SALTBOX_HOME` (its config names the server and the user; the keystore or its agent holds
 * the device keys) as the session's client (`openSaltboxHome`): teams through its `TeamManager`
 * and `TeamLoader` (team pins in `team-pins.json`, shared with `saltbox team`), entries through
 * its `KvClient` (sealing, verification, the rollback cache persisted in `$SALTBOX_HOME`). Client error codes
 * become Keybase's status codes and texts (specs/keybase-kvstore.md §1.5).
 *
 * @packageDocumentation
 */
import {
  ClientError,
  entryNotFound,
  isClientError,
  kvstoreStatus,
  notATeamMember,
  readAccountConfig,
  teamNotFound,
  writePermissionDenied,
  KEYBASE_STATUS,
} from '@saltbox/client';
import type { KvstoreBackend, VerifiedTeam } from '@saltbox/client';
import { CliError, describe, toCliError } from './errors.js';
import { saltboxHome } from './keys.js';
import type { Session } from './session.js';

const notLoggedIn = (): Promise<never> => Promise.reject(new CliError('CLI_KV', 'not logged in'));

/** The KV backend of this home, and how to let go of its session (keystore, agent connection). */
export type KvstoreSessionBackend = KvstoreBackend<VerifiedTeam> & { close(): Promise<void> };

/** The backend of a home where nobody is logged in: every request is `not logged in`. */
const loggedOut: KvstoreBackend<never> & { close(): Promise<void> } = {
  close: () => Promise.resolve(),
  currentUsername: () => Promise.resolve(null),
  resolveTeam: notLoggedIn,
  get: notLoggedIn,
  put: notLoggedIn,
  del: notLoggedIn,
  listNamespaces: notLoggedIn,
  listEntryKeys: notLoggedIn,
};

/**
 * The backend of a home whose session cannot be opened (a locked keystore with no passphrase,
 * an unreachable agent, a damaged config): every request is answered with that error, so
 * `kvstore api` still gives one JSON reply per request and exits 0 (the bot contract).
 */
export function unavailableBackend(
  error: unknown,
): KvstoreBackend<never> & { close(): Promise<void> } {
  // The reply carries the CLI's secret-free message and hint (the dispatcher passes client
  // errors' messages through, and nothing else).
  const cli = toCliError(error);
  const hint = describe(cli, { command: 'kvstore api' }).hint;
  const reason = new ClientError(
    'CLIENT_SESSION_UNAVAILABLE',
    hint === undefined ? cli.message : `${cli.message} (${hint})`,
  );
  const fail = (): Promise<never> => Promise.reject(reason);
  return {
    close: () => Promise.resolve(),
    currentUsername: fail,
    resolveTeam: fail,
    get: fail,
    put: fail,
    del: fail,
    listNamespaces: fail,
    listEntryKeys: fail,
  };
}

/** KvClient's codes as Keybase's status errors; everything else is passed on (code 0). */
function keybaseError(e: unknown): unknown {
  if (isClientError(e, 'CLIENT_KV_WRONG_REVISION')) {
    // The server's and the cache's texts are Keybase's own (`revision out of date`, …).
    return kvstoreStatus(KEYBASE_STATUS.wrongRevision, e.message);
  }
  if (isClientError(e, 'CLIENT_KV_BAD_GENERATION'))
    return kvstoreStatus(KEYBASE_STATUS.badGeneration, e.message);
  if (isClientError(e, 'CLIENT_KV_NOT_FOUND')) return entryNotFound();
  if (isClientError(e, 'CLIENT_KV_NOT_A_MEMBER')) return notATeamMember();
  if (isClientError(e, 'CLIENT_KV_READ_ONLY')) return writePermissionDenied();
  return e;
}

async function keybase<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw keybaseError(e);
  }
}

/**
 * Opens the KV backend of `$SALTBOX_HOME`. A home without an account — or whose oneshot paper
 * key is gone with its agent — answers `not logged in`, as Keybase does when its service has no
 * session; other failures to open the session (a locked agent) are reported per request.
 */
export async function openKvstoreBackend(
  options: { openSession?: () => Promise<Session> } = {},
): Promise<KvstoreSessionBackend> {
  const home = saltboxHome();
  if ((await readAccountConfig(home)) === undefined) return loggedOut;
  const { openSession } = await import('./session.js');
  let session: Session;
  try {
    session = await (options.openSession?.() ?? openSession({ passphraseFile: undefined }));
  } catch (e) {
    if (e instanceof CliError && e.code === 'CLI_DEVICE_MISSING') return loggedOut;
    throw e;
  }
  const { config, saltbox } = session;
  const { teams, manager, kv } = saltbox;
  try {
    // The rollback cache is read now, so a damaged one fails the session, not each request.
    await kv.ready();
  } catch (e) {
    await session.close();
    throw e;
  }

  return {
    close: () => session.close(),
    currentUsername: () => Promise.resolve(config.username),
    async resolveTeam(name) {
      let team: VerifiedTeam;
      if (name.includes(',')) {
        // Keybase reports a failure to load or create an implicit team as 2623; here only
        // when the caller cannot be a member (#14.8): a chain that does not verify, a lying
        // server or a network failure keeps its own code, message and hint.
        try {
          team = await manager.loadOrCreateImplicitTeam(name);
        } catch (e) {
          if (
            isClientError(e, 'CLIENT_TEAM_NOT_FOUND') ||
            isClientError(e, 'CLIENT_INVALID_ARGUMENT') ||
            isClientError(e, 'CLIENT_TEAM_PERMISSION') ||
            isClientError(e, 'CLIENT_KV_NOT_A_MEMBER')
          )
            throw notATeamMember();
          throw keybaseError(e);
        }
      } else {
        try {
          team = await teams.load(name, { refresh: true });
        } catch (e) {
          if (
            isClientError(e, 'CLIENT_TEAM_NOT_FOUND') ||
            isClientError(e, 'CLIENT_INVALID_ARGUMENT')
          )
            throw teamNotFound(name);
          throw keybaseError(e);
        }
      }
      if (!team.members.some((m) => m.uid === config.uid)) throw notATeamMember();
      await saltbox.useKvTeam(team);
      return team;
    },
    async get(team, namespace, entryKey) {
      const v = await keybase(kv.get(team.id, namespace, entryKey));
      return { entryValue: v.value, revision: v.revision };
    },
    async put(team, namespace, entryKey, entryValue, revision) {
      // Lazy rotation (spec keybase-identity §6.4 CLKR): a key a member's revoked device still
      // holds is rotated before it seals a new value (every writer may rotate).
      const check = await keybase(manager.rotateIfDue(team.id));
      if (check.rotated) await saltbox.useKvTeam(check.team);
      return (await keybase(kv.put(team.id, namespace, entryKey, entryValue, { revision })))
        .revision;
    },
    async del(team, namespace, entryKey, revision) {
      return (await keybase(kv.del(team.id, namespace, entryKey, { revision }))).revision;
    },
    listNamespaces: (team) => keybase(kv.listAllNamespaces(team.id)),
    listEntryKeys: (team, namespace) => keybase(kv.listAllEntryKeys(team.id, namespace)),
  };
}
