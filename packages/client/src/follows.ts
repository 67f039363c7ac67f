/**
 * Followed identities (`saltbox follow`, DESIGN.md Identity): a user's verified fingerprint
 * recorded locally, so a later load can tell "the same identity I checked" from "someone the
 * server says is alice". A provider URL with `verify_proofs=true` refuses recipients that are
 * not followed or whose fingerprint changed ({@link checkFollowed}).
 *
 * The fingerprint binds the UID and the eldest key — what a chain's every later link descends
 * from — so adding or revoking devices does not change it, while an account reset (a new
 * eldest key) does.
 *
 * @packageDocumentation
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { utf8 } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import { toHex } from '@saltbox/identity';
import { z } from 'zod';
import { ClientError } from './errors.js';
import { saltboxHome, writeAtomic } from './store.js';
import type { VerifiedUser } from './users.js';

/** Domain separation of the fingerprint hash. */
const FINGERPRINT_CONTEXT = 'saltbox-user-fingerprint-1';

/**
 * A user's fingerprint: SHA-256 of `"saltbox-user-fingerprint-1" ‖ 0 ‖ uid ‖ 0 ‖ eldest KID`,
 * as 64 lowercase hex (see {@link formatFingerprint} for display).
 */
export function userFingerprint(
  backend: CryptoBackend,
  user: Pick<VerifiedUser, 'uid' | 'eldestKid'>,
): string {
  return toHex(backend.sha256(utf8(`${FINGERPRINT_CONTEXT}\0${user.uid}\0${user.eldestKid}`)));
}

/** The first 160 bits of a fingerprint in groups of four, for people to compare aloud. */
export function formatFingerprint(fingerprint: string): string {
  return (fingerprint.slice(0, 40).match(/.{4}/g) ?? []).join(' ');
}

const followSchema = z.object({
  username: z.string(),
  uid: z.string(),
  eldestKid: z.string(),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  /** The verified tail when followed (informational). */
  seqno: z.number().int(),
  followedAt: z.number().int(),
});
/** One followed identity. */
export type Follow = z.infer<typeof followSchema>;

const fileSchema = z.object({ version: z.literal(1), follows: z.record(z.string(), followSchema) });

/** Followed identities in `$SALTBOX_HOME/follows.json` (0600, atomic). */
export class FileFollowStore {
  readonly #dir: string;

  /** @param dir - the saltbox home (default `$SALTBOX_HOME`). */
  constructor(dir: string = saltboxHome()) {
    this.#dir = dir;
  }

  async #read(): Promise<Record<string, Follow>> {
    let text: string;
    try {
      text = await readFile(join(this.#dir, 'follows.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ClientError('CLIENT_STORE', 'could not read follows.json', {}, { cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ClientError('CLIENT_STORE', 'follows.json is corrupt', {}, { cause: e });
    }
    const parsed = fileSchema.safeParse(json);
    // A damaged follow list must not silently become "nobody is followed but nothing changed".
    if (!parsed.success) throw new ClientError('CLIENT_STORE', 'follows.json is corrupt');
    return parsed.data.follows;
  }

  /**
   * The follow of `username`, if any.
   *
   * @throws ClientError `CLIENT_STORE` when the file is unreadable or corrupt.
   */
  async get(username: string): Promise<Follow | undefined> {
    const all = await this.#read();
    return Object.hasOwn(all, username) ? all[username] : undefined;
  }

  /**
   * Every follow, by username.
   *
   * @throws ClientError `CLIENT_STORE`.
   */
  async list(): Promise<Follow[]> {
    return Object.values(await this.#read()).sort((a, b) => a.username.localeCompare(b.username));
  }

  /**
   * Records (or replaces) a follow.
   *
   * @throws ClientError `CLIENT_STORE`.
   */
  async set(follow: Follow): Promise<void> {
    const all = await this.#read();
    all[follow.username] = follow;
    await mkdir(this.#dir, { recursive: true, mode: 0o700 }).catch((e: unknown) => {
      throw new ClientError('CLIENT_STORE', 'could not create the saltbox home', {}, { cause: e });
    });
    await writeAtomic(
      join(this.#dir, 'follows.json'),
      `${JSON.stringify({ version: 1, follows: all }, null, 2)}\n`,
    );
  }
}

/** The follow record for a verified user now. */
export function followOf(backend: CryptoBackend, user: VerifiedUser, now = Date.now()): Follow {
  return {
    username: user.username,
    uid: user.uid,
    eldestKid: user.eldestKid,
    fingerprint: userFingerprint(backend, user),
    seqno: user.tail.seqno,
    followedAt: now,
  };
}

/**
 * Requires `user` to be followed with the fingerprint it has now (for `verify_proofs=true`).
 *
 * @throws ClientError `CLIENT_NOT_FOLLOWED` when there is no follow, `CLIENT_FINGERPRINT_CHANGED`
 *   when the verified fingerprint differs from the followed one; `CLIENT_STORE`.
 */
export async function checkFollowed(
  backend: CryptoBackend,
  follows: FileFollowStore,
  user: VerifiedUser,
): Promise<Follow> {
  const f = await follows.get(user.username);
  if (f === undefined)
    throw new ClientError('CLIENT_NOT_FOLLOWED', `${user.username} is not followed`, {
      username: user.username,
    });
  if (f.fingerprint !== userFingerprint(backend, user))
    throw new ClientError(
      'CLIENT_FINGERPRINT_CHANGED',
      `the identity of ${user.username} changed since it was followed`,
      { username: user.username },
    );
  return f;
}
