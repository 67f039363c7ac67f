/**
 * Recipient strings (`-r`): classified first, resolved to keys second.
 *
 * Classification is pure and already knows every kind saltbox will accept — raw keys, Keybase
 * KIDs, usernames and `team:` names — so adding the directory later only means a new
 * {@link RecipientResolver}, not a new parser or new flags.
 *
 * @packageDocumentation
 */
import { userEncryptionKids } from '@saltbox/client';
import { fromHex } from '@saltbox/saltpack/encoding';
import { CliError } from './errors.js';

/** A `-r` value after classification. */
export type RecipientSpec =
  | { kind: 'key'; publicKey: Uint8Array; text: string }
  | { kind: 'user'; name: string }
  | { kind: 'team'; name: string };

const HEX64 = /^[0-9a-f]{64}$/i;
// Keybase KIDs: 01 ‖ type ‖ 32-byte key ‖ 0a; type 21 is Curve25519 (DH), 20 is Ed25519.
const DH_KID = /^0121([0-9a-f]{64})0a$/i;
const SIGNING_KID = /^0120([0-9a-f]{64})0a$/i;
// Keybase usernames: 2–16 of letters, digits and underscores, not starting with an underscore.
const USERNAME = /^[a-z0-9][a-z0-9_]{1,15}$/i;
// Team names: dot-separated parts of the same shape (`acme`, `acme.infra`).
const TEAM = /^[a-z0-9][a-z0-9_]{1,15}(\.[a-z0-9][a-z0-9_]{1,15})*$/i;

/**
 * Classifies one `-r` string. A 64-character hex string or a Curve25519 KID (`0121…0a`) is a
 * key; `team:NAME` is a team; a Keybase-style name is a user. Nothing is looked up here.
 *
 * @throws CliError `CLI_BAD_RECIPIENT` when the string is none of these (including an Ed25519
 *   KID, which cannot receive encrypted messages).
 */
export function parseRecipient(text: string): RecipientSpec {
  const s = text.trim();
  if (HEX64.test(s)) return { kind: 'key', publicKey: fromHex(s.toLowerCase()), text: s };
  const kid = DH_KID.exec(s);
  if (kid) return { kind: 'key', publicKey: fromHex(kid[1]!.toLowerCase()), text: s };
  if (SIGNING_KID.test(s)) {
    throw new CliError(
      'CLI_BAD_RECIPIENT',
      'recipient is a signing key (kid 0120…), not an encryption key',
      {
        hint: "use the first line of 'saltbox keygen' (the encryption public key)",
      },
    );
  }
  if (s.toLowerCase().startsWith('team:')) {
    const name = s.slice('team:'.length).toLowerCase();
    if (TEAM.test(name)) return { kind: 'team', name };
    throw new CliError('CLI_BAD_RECIPIENT', `invalid team name in recipient "${clip(s)}"`);
  }
  if (USERNAME.test(s)) return { kind: 'user', name: s.toLowerCase() };
  if (s.includes(',')) {
    throw new CliError('CLI_BAD_RECIPIENT', `invalid recipient "${clip(s)}"`, {
      hint: 'pass one -r per recipient',
    });
  }
  throw new CliError('CLI_BAD_RECIPIENT', `invalid recipient "${clip(s)}"`);
}

/**
 * Parses an Ed25519 public key given as 64 hex characters or a signing KID (`0120…0a`).
 *
 * @throws CliError `CLI_BAD_RECIPIENT` otherwise.
 */
export function parseSigningPublicKey(text: string): Uint8Array {
  const s = text.trim();
  if (HEX64.test(s)) return fromHex(s.toLowerCase());
  const kid = SIGNING_KID.exec(s);
  if (kid) return fromHex(kid[1]!.toLowerCase());
  throw new CliError('CLI_BAD_RECIPIENT', `invalid signing public key "${clip(s)}"`, {
    hint: "--signer takes a username or the 64-character hex key on the second line 'saltbox keygen' prints",
  });
}

/** Shortens user input quoted in a message, so an error never echoes a pasted secret whole. */
function clip(s: string): string {
  return s.length > 24 ? `${s.slice(0, 20)}…` : s;
}

/** Turns classified recipients into X25519 public keys. */
export interface RecipientResolver {
  /**
   * Resolves every spec to one or more keys (a user or team may have several).
   *
   * @throws CliError when a recipient cannot be resolved.
   */
  resolve(
    specs: readonly RecipientSpec[],
    options?: { passphraseFile?: string | undefined },
  ): Promise<Uint8Array[]>;
}

/** The verified keys a user is encrypted to (what {@link directoryResolver} needs of a user). */
export interface UserKeys {
  username: string;
  /** Live device and paper-key encryption subkeys (`0121…0a`). */
  subkeys: readonly string[];
  /** Per-user key generations; the highest one's encryption key is used. */
  perUserKeys: readonly { generation: number; encryptionKid: string }[];
}

/** Where {@link directoryResolver} gets verified users and, later, teams. */
export interface Directory {
  /** Loads a user through the verified directory (chain verified, eldest pinned). */
  loadUser(name: string): Promise<UserKeys>;
  /**
   * The current per-team-key encryption KID of a team, or undefined while team support is not
   * wired in (the `teams` work plugs its client team API in here).
   */
  loadTeamKeys?: (name: string) => Promise<string[]>;
}

/**
 * The keys saltbox encrypts to for a user (DESIGN.md Identity): the current PUK encryption key
 * and every active device and paper encryption key, as `keybase encrypt` does.
 *
 * @throws CliError `CLI_RECIPIENT_UNAVAILABLE` when the user has no live encryption key.
 */
export function userRecipientKids(user: UserKeys): string[] {
  const kids = userEncryptionKids(user);
  if (kids.length === 0)
    throw new CliError(
      'CLI_RECIPIENT_UNAVAILABLE',
      `user "${user.username}" has no live encryption key`,
    );
  return kids;
}

const kidKey = (kid: string): Uint8Array => fromHex(kid.slice(4, 68));

/**
 * The resolver behind a saltbox directory: keys resolve to themselves, users to their verified
 * keys ({@link userRecipientKids}), teams through `directory.loadTeamKeys` when present. The
 * directory is opened only when a user or team is named, so key-only commands need no account.
 *
 * @throws CliError `CLI_RECIPIENT_UNAVAILABLE` (from `resolve`) for teams without team support;
 *   the directory's errors (`CLI_NOT_LOGGED_IN`, `CLIENT_USER_NOT_FOUND`, chain errors, …).
 */
export function directoryResolver(
  open: (options: { passphraseFile?: string | undefined }) => Promise<Directory>,
): RecipientResolver {
  return {
    async resolve(specs, options = {}) {
      const keys: Uint8Array[] = [];
      let directory: Directory | undefined;
      for (const spec of specs) {
        if (spec.kind === 'key') {
          keys.push(spec.publicKey);
          continue;
        }
        directory ??= await open(options);
        if (spec.kind === 'user') {
          keys.push(...userRecipientKids(await directory.loadUser(spec.name)).map(kidKey));
          continue;
        }
        if (directory.loadTeamKeys === undefined)
          throw new CliError(
            'CLI_RECIPIENT_UNAVAILABLE',
            `cannot encrypt to team "${spec.name}": teams are not supported yet`,
            { hint: 'name the members with -r USER instead' },
          );
        keys.push(...(await directory.loadTeamKeys(spec.name)).map(kidKey));
      }
      // One recipient per key, however many specs name it (a user twice, a user and a team).
      const seen = new Set<string>();
      return keys.filter((k) => {
        const hex = Array.from(k, (b) => b.toString(16).padStart(2, '0')).join('');
        if (seen.has(hex)) return false;
        seen.add(hex);
        return true;
      });
    },
  };
}

/**
 * The resolver available without a server: keys resolve to themselves, users and teams fail
 * with a hint. The directory-backed resolver will replace it.
 *
 * @throws CliError `CLI_RECIPIENT_UNAVAILABLE` (from `resolve`) for users and teams.
 */
export const offlineResolver: RecipientResolver = {
  resolve(specs) {
    // Inside `new Promise` so a refusal is a rejection, as the interface promises.
    return new Promise((resolve) => {
      resolve(
        specs.map((spec) => {
          if (spec.kind === 'key') return spec.publicKey;
          const what = spec.kind === 'user' ? `user "${spec.name}"` : `team "${spec.name}"`;
          throw new CliError(
            'CLI_RECIPIENT_UNAVAILABLE',
            `cannot encrypt to ${what}: no saltbox directory is configured`,
          );
        }),
      );
    });
  },
};
