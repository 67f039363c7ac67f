/**
 * Recipients of a `keybase://` URL (`alice,bob,team:acme`) and the directory that turns them
 * into encryption keys. The directory is an interface so the provider does not care whether
 * keys come from `@saltbox/client`'s verified user loading, its team loading, or a test's
 * in-memory table; {@link userDirectory} is the client-backed one.
 *
 * @packageDocumentation
 */
import { isValidUsername, normalizeUsername, parseTeamName } from '@saltbox/identity';
import { isClientError, isLogUnreachable, userEncryptionKids } from '@saltbox/client';
import type { LogClient, PinStore, TeamPinStore, UserLoader, VerifiedUser } from '@saltbox/client';
import { ProviderError, invalidArgument } from './errors.js';

/** One recipient: a user or a team, by name. */
export type Recipient = { kind: 'user'; name: string } | { kind: 'team'; name: string };

/** The label of a recipient as URLs and caches spell it: `alice` or `team:acme`. */
export function recipientLabel(r: Recipient): string {
  return r.kind === 'team' ? `team:${r.name}` : r.name;
}

/**
 * Parses `alice,bob,team:acme` (percent-decoded, lower-cased, de-duplicated, order kept).
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_RECIPIENT`) for an empty list, an
 *   empty entry, or a malformed username or team name.
 */
export function parseRecipients(list: string): Recipient[] {
  let text: string;
  try {
    text = decodeURIComponent(list);
  } catch {
    throw invalidArgument('PROVIDER_BAD_RECIPIENT', 'recipient list is not valid percent-encoding');
  }
  if (text.trim() === '') throw invalidArgument('PROVIDER_BAD_RECIPIENT', 'no recipients given');
  const out: Recipient[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    let r: Recipient;
    if (item.toLowerCase().startsWith('team:')) {
      const name = item.slice(5);
      try {
        r = { kind: 'team', name: parseTeamName(name).name };
      } catch {
        throw invalidArgument('PROVIDER_BAD_RECIPIENT', 'malformed team name', {
          recipient: item.slice(0, 64),
        });
      }
    } else {
      if (!isValidUsername(item))
        throw invalidArgument('PROVIDER_BAD_RECIPIENT', 'malformed username', {
          recipient: item.slice(0, 64),
        });
      r = { kind: 'user', name: normalizeUsername(item) };
    }
    const label = recipientLabel(r);
    if (!seen.has(label)) out.push(r);
    seen.add(label);
  }
  return out;
}

/** The encryption keys of one recipient, from a verified chain. */
export interface RecipientKeys {
  /** `alice` or `team:acme`. */
  label: string;
  /** Curve25519 KIDs (`0121…0a`) to encrypt to: current PUK / team key and live devices. */
  encryptionKids: string[];
  /**
   * Users with a PUK: the current PUK's encryption KID (also in `encryptionKids`), all that
   * `device_keys=false` encrypts to. Absent for teams and for users without a PUK.
   */
  perUserKid?: string;
  /** The verified chain's eldest KID (users) or team ID (teams): what `follow` records. */
  identity: string;
  /** The verified chain's tail link ID: a different one means the chain changed. */
  tail: string;
  /**
   * The chain's ID in the server's signed log (the user's UID, the team's ID): what a cache
   * checks the tail against ({@link RecipientDirectory.loggedTail}).
   */
  chainId?: string;
}

/** Where recipients' keys come from. */
export interface RecipientDirectory {
  /**
   * The recipient's keys, from a chain the implementation verified.
   *
   * @throws ProviderError `NotFound` (`PROVIDER_RECIPIENT_NOT_FOUND`), `Unavailable`-style
   *   directory failures as `Unknown` (`PROVIDER_DIRECTORY`), `PermissionDenied`
   *   (`PROVIDER_UNTRUSTED`).
   */
  resolve(recipient: Recipient): Promise<RecipientKeys>;
  /**
   * The tail of the chain this machine last verified for the recipient, read locally (no
   * request); undefined when unknown. Used to invalidate cached keys when a chain changed.
   *
   * @param identity - the identity of the cached entry ({@link RecipientKeys.identity}): a
   *   team's pins are kept by team ID, which a subteam's name alone does not give without a
   *   request.
   */
  verifiedTail?(recipient: Recipient, identity?: string): Promise<string | undefined>;
  /**
   * The tail link ID the server's signed log holds for a chain at its latest root (asked for
   * at most once per a few seconds; the chains asked for together share one request): a cache
   * whose tail differs is stale. Null when the log holds no such chain; undefined when the
   * server cannot be reached (the cache's TTL then decides).
   *
   * @param chainId - {@link RecipientKeys.chainId}.
   * @throws ProviderError `PermissionDenied` (`PROVIDER_UNTRUSTED`) when the log does not
   *   verify (another root key, a rollback, a fork, a bad proof).
   */
  loggedTail?(chainId: string, label: string): Promise<string | null | undefined>;
  /**
   * A user's live PGP public keys (`format=pgp`), from the verified chain: only keys a
   * verified `sibkey` link delegates, at the version its full hash names. Directories without
   * it make `format=pgp` Unimplemented.
   *
   * @throws ProviderError as {@link RecipientDirectory.resolve}; `FailedPrecondition`
   *   (`PROVIDER_NO_PGP_KEY`) when the user published none; `InvalidArgument` for a team.
   */
  resolvePgp?(recipient: Recipient): Promise<PgpRecipientKeys>;
}

/** A recipient's PGP public keys, from a verified chain. */
export interface PgpRecipientKeys {
  label: string;
  /** Armored public keys of the live PGP sibkeys. */
  armoredKeys: string[];
  /** The verified chain's eldest KID (what `follow` records). */
  identity: string;
  tail: string;
}

/** Maps `@saltbox/client` failures to Go CDK codes. */
export function fromClientError(e: unknown, label: string): ProviderError {
  if (e instanceof ProviderError) return e;
  if (isClientError(e)) {
    const details = { recipient: label, clientCode: e.code };
    switch (e.code) {
      case 'CLIENT_USER_NOT_FOUND':
        return new ProviderError(
          'NotFound',
          'PROVIDER_RECIPIENT_NOT_FOUND',
          `no such user: ${label}`,
          details,
          { cause: e },
        );
      case 'CLIENT_INVALID_ARGUMENT':
        return new ProviderError(
          'InvalidArgument',
          'PROVIDER_BAD_RECIPIENT',
          'malformed recipient',
          details,
          { cause: e },
        );
      case 'CLIENT_CHAIN_INVALID':
      case 'CLIENT_CHAIN_FORK':
      case 'CLIENT_CHAIN_ROLLBACK':
      case 'CLIENT_ELDEST_CHANGED':
      case 'CLIENT_LOOKUP_MISMATCH':
      case 'CLIENT_WRONG_USER':
      case 'CLIENT_LOG_KEY_MISMATCH':
      case 'CLIENT_LOG_INVALID':
      case 'CLIENT_LOG_ROLLBACK':
      case 'CLIENT_LOG_INCONSISTENT':
      case 'CLIENT_LOG_TAIL_MISMATCH':
        return new ProviderError(
          'PermissionDenied',
          'PROVIDER_UNTRUSTED',
          `the directory's answer for ${label} failed verification`,
          details,
          { cause: e },
        );
      case 'CLIENT_HTTP':
        if (e.details.status === 429)
          return new ProviderError(
            'ResourceExhausted',
            'PROVIDER_DIRECTORY',
            'the directory is rate limiting',
            details,
            { cause: e },
          );
        break;
      case 'CLIENT_SIGNER':
        return new ProviderError(
          'FailedPrecondition',
          'PROVIDER_KEYSTORE_LOCKED',
          "the keystore is locked: run 'saltbox unlock'",
          details,
          { cause: e },
        );
      default:
        break;
    }
    return new ProviderError(
      'Unknown',
      'PROVIDER_DIRECTORY',
      `the directory failed for ${label}`,
      details,
      { cause: e },
    );
  }
  return new ProviderError(
    'Internal',
    'PROVIDER_INTERNAL',
    `resolving ${label} failed`,
    { recipient: label },
    { cause: e },
  );
}

/** The keys saltbox encrypts to for a user: the current PUK and every live device key. */
export { userEncryptionKids };

/** Resolves a team's encryption keys (supplied by the client's team loading). */
export type TeamResolver = (name: string) => Promise<RecipientKeys>;

/**
 * A directory over `@saltbox/client`: users through the verifying {@link UserLoader}; teams
 * through `teams` when given (else `Unimplemented`).
 *
 * @param options - `pins` (the user loader's pin store) and `teamPins` (the team loader's) let
 *   cached keys be invalidated when the verified tail moves on this machine; `log` (default
 *   the loader's) when it moves anywhere: a revoked device, a rotated PUK, a team rotation
 *   after a member was removed by another client.
 */
export function userDirectory(options: {
  loader: UserLoader;
  pins?: PinStore;
  teams?: TeamResolver;
  teamPins?: TeamPinStore;
  log?: LogClient;
}): RecipientDirectory {
  const log = options.log ?? options.loader.log;
  return {
    async loggedTail(chainId, label) {
      try {
        return (await log.currentTail(chainId))?.linkId ?? null;
      } catch (e) {
        if (isLogUnreachable(e)) return undefined;
        throw fromClientError(e, label);
      }
    },
    async resolve(r) {
      const label = recipientLabel(r);
      if (r.kind === 'team') {
        if (!options.teams)
          throw new ProviderError(
            'Unimplemented',
            'PROVIDER_UNIMPLEMENTED',
            'team recipients need team loading, which this build lacks',
            { recipient: label },
          );
        return options.teams(r.name);
      }
      let user: VerifiedUser;
      try {
        user = await options.loader.load(r.name);
      } catch (e) {
        throw fromClientError(e, label);
      }
      const kids = userEncryptionKids(user);
      if (kids.length === 0)
        throw new ProviderError(
          'FailedPrecondition',
          'PROVIDER_RECIPIENT_NOT_FOUND',
          `${label} has no encryption keys`,
          { recipient: label },
        );
      return {
        label,
        encryptionKids: kids,
        // userEncryptionKids lists the current PUK first when there is one.
        ...(user.perUserKeys.length > 0 ? { perUserKid: kids[0]! } : {}),
        identity: user.eldestKid,
        tail: user.tail.linkId,
        chainId: user.uid,
      };
    },
    async resolvePgp(r) {
      const label = recipientLabel(r);
      if (r.kind === 'team')
        throw invalidArgument(
          'PROVIDER_BAD_RECIPIENT',
          'teams have no pgp keys: use format=saltpack',
          {
            recipient: label,
          },
        );
      let user: VerifiedUser;
      try {
        user = await options.loader.load(r.name);
        // A chain verified before the user published a key says nothing about now: look
        // again before failing.
        if (user.pgpKeys.length === 0) user = await options.loader.load(r.name, { refresh: true });
      } catch (e) {
        throw fromClientError(e, label);
      }
      if (user.pgpKeys.length === 0)
        throw new ProviderError(
          'FailedPrecondition',
          'PROVIDER_NO_PGP_KEY',
          `${label} has published no pgp key: ask ${label} to run 'saltbox pgp gen'`,
          { recipient: label },
        );
      return {
        label,
        armoredKeys: user.pgpKeys.map((k) => k.armoredPublicKey),
        identity: user.eldestKid,
        tail: user.tail.linkId,
      };
    },
    async verifiedTail(r, identity) {
      if (r.kind === 'team') {
        // A team's pin is kept by team ID: the cached entry's identity.
        if (!options.teamPins || identity === undefined) return undefined;
        return (await options.teamPins.get(identity))?.tail.linkId;
      }
      if (!options.pins) return undefined;
      return (await options.pins.get(r.name))?.tail.linkId;
    },
  };
}

/** The part of `@saltbox/client`'s TeamLoader the provider needs. */
export interface TeamLoaderLike {
  load(name: string): Promise<{
    id: string;
    name: string;
    tail: { linkId: string };
    perTeamKeys: { generation: number; encryptionKid: string }[];
  }>;
}

/**
 * Team recipients through the client's verifying team loader: the newest per-team encryption
 * key of the verified chain (members decrypt with every generation their keystore holds).
 */
export function teamResolver(teams: TeamLoaderLike): TeamResolver {
  return async (name) => {
    const label = `team:${name}`;
    try {
      const team = await teams.load(name);
      const current = team.perTeamKeys[team.perTeamKeys.length - 1];
      if (!current)
        throw new ProviderError(
          'FailedPrecondition',
          'PROVIDER_RECIPIENT_NOT_FOUND',
          `${label} has no key`,
          { recipient: label },
        );
      return {
        label,
        encryptionKids: [current.encryptionKid],
        identity: team.id,
        tail: team.tail.linkId,
        chainId: team.id,
      };
    } catch (e) {
      if (isClientError(e) && (e.code as string) === 'CLIENT_TEAM_NOT_FOUND')
        throw new ProviderError(
          'NotFound',
          'PROVIDER_RECIPIENT_NOT_FOUND',
          `no such team: ${name}`,
          { recipient: label, clientCode: e.code },
          { cause: e },
        );
      throw fromClientError(e, label);
    }
  };
}
