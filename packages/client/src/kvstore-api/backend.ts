/**
 * What the Keybase-compatible `kvstore api` dispatcher needs from the rest of the client: who is
 * logged in, team resolution, and the four KV operations. The real implementation wraps the
 * client's KV store; tests may use any other honest implementation.
 *
 * Failures that Keybase reports with a status code are thrown as `CLIENT_KVSTORE_STATUS`
 * (see {@link kvstoreStatus}); any other `ClientError` is reported as code 0 with its
 * (secret-free) message.
 *
 * @packageDocumentation
 */
import { ClientError } from '../errors.js';

/** An entry as `get` returns it: `entryValue` is null when never set or deleted. */
export interface KvstoreEntry {
  readonly entryValue: string | null;
  /** 0 when never set; the tombstone's revision when deleted. */
  readonly revision: number;
}

/** One line of an entry-key listing. */
export interface KvstoreEntryKey {
  readonly entryKey: string;
  readonly revision: number;
}

/**
 * The operations behind `kvstore api`. `Team` is whatever {@link KvstoreBackend.resolveTeam}
 * returns (a team ID, a loaded team), handed back to the other methods.
 */
export interface KvstoreBackend<Team = unknown> {
  /**
   * The logged-in username, or null when nobody is logged in. Asked before every request, as
   * Keybase's CLI asks its service.
   */
  currentUsername(): Promise<string | null>;
  /**
   * Resolves a team as the caller spelled it: with a comma an implicit team (looked up or
   * created), otherwise a named team or subteam.
   *
   * @throws ClientError `CLIENT_KVSTORE_STATUS` 2623 when the caller may not use its store.
   */
  resolveTeam(name: string): Promise<Team>;
  /** Reads and verifies an entry (revision 0 and a null value when never set). */
  get(team: Team, namespace: string, entryKey: string): Promise<KvstoreEntry>;
  /**
   * Writes `entryValue` at exactly `revision` (≥ 1) and returns the revision the server
   * confirmed.
   *
   * @throws ClientError `CLIENT_KVSTORE_STATUS` 2760 when `revision` is not current + 1.
   */
  put(
    team: Team,
    namespace: string,
    entryKey: string,
    entryValue: string,
    revision: number,
  ): Promise<number>;
  /**
   * Deletes (writes a tombstone) at exactly `revision` and returns the revision the server
   * confirmed.
   *
   * @throws ClientError `CLIENT_KVSTORE_STATUS` 2760 (wrong revision) or 2762 (nothing to delete).
   */
  del(team: Team, namespace: string, entryKey: string, revision: number): Promise<number>;
  /** Namespaces that hold at least one live entry, `__` names left out. */
  listNamespaces(team: Team): Promise<readonly string[]>;
  /** Live entry keys of a namespace with their revisions, `__` names left out. */
  listEntryKeys(team: Team, namespace: string): Promise<readonly KvstoreEntryKey[]>;
}

/** Keybase status codes the kvstore API reports (specs/keybase-kvstore.md §1.5). */
export const KEYBASE_STATUS = {
  /** `SCTeamStorageWrongRevision`. */
  wrongRevision: 2760,
  /** `SCTeamStorageBadGeneration`. */
  badGeneration: 2761,
  /** `SCTeamStorageNotFound`. */
  notFound: 2762,
  /** `SCTeamReadError`. */
  teamReadError: 2623,
  /** `SCTeamNotFound`. */
  teamNotFound: 2614,
  /** `SCTeamWritePermDenied`. */
  teamWritePermDenied: 2625,
} as const;

/**
 * A failure with a Keybase status code and Keybase's description, rendered by the dispatcher as
 * `"<desc> (error <status>)"`.
 *
 * @param status - the Keybase status code, e.g. 2760.
 * @param desc - Keybase's description, e.g. `revision out of date`.
 */
export function kvstoreStatus(status: number, desc: string): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return new ClientError('CLIENT_KVSTORE_STATUS', `kvstore status ${status}`, { status, desc });
}

/**
 * Keybase's text for a write at the wrong revision (2760): "already exists" when the revision
 * is not above the current one, "expected … but got …" when it skips ahead.
 *
 * @param current - the entry's current revision (0 when never written).
 * @param given - the revision the write carried.
 */
export function wrongRevision(
  current: number,
  given: number,
): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(
    KEYBASE_STATUS.wrongRevision,
    given <= current
      ? `revision ${given} already exists for this entry`
      : `expected revision ${current + 1} but got ${given}`,
  );
}

/** The client-side rollback cache refused a write at or below a revision it has seen (2760). */
export function revisionOutOfDate(): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(KEYBASE_STATUS.wrongRevision, 'revision out of date');
}

/** Delete of an entry that was never written or is already deleted (2762). */
export function entryNotFound(): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(KEYBASE_STATUS.notFound, 'team storage entry not found');
}

/** The caller is not an explicit member of the team (2623), Keybase's exact text. */
export function notATeamMember(): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(KEYBASE_STATUS.teamReadError, 'You are not a member of this team');
}

/** A named team that does not exist, or that the caller cannot see (2614). */
export function teamNotFound(name: string): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(KEYBASE_STATUS.teamNotFound, `Team "${name}" does not exist`);
}

/** A reader of the team asked to write its store (2625). */
export function writePermissionDenied(): ClientError<'CLIENT_KVSTORE_STATUS'> {
  return kvstoreStatus(
    KEYBASE_STATUS.teamWritePermDenied,
    'You do not have permission to write to this team',
  );
}
