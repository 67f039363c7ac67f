/**
 * Sign-up invite codes in storage (only their hashes; `signup-policy.ts`).
 *
 * @packageDocumentation
 */
import type { Kysely } from 'kysely';
import { isUniqueViolation, storageError } from './errors.js';
import type { Database } from './schema.js';
import type { InviteStore } from './types.js';

/** {@link InviteStore} over Kysely. */
export class KyselyInviteStore implements InviteStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createInvite(codeHash: string, createdAtMs: number): Promise<void> {
    try {
      await this.#db
        .insertInto('signup_invites')
        .values({ code_hash: codeHash, created_at: createdAtMs, used_by: null, used_at: null })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e))
        throw storageError(
          'STORAGE_UNIQUE_VIOLATION',
          'invite',
          'this invite is already recorded',
          e,
        );
      throw e;
    }
  }

  async countUnusedInvites(): Promise<number> {
    const r = await this.#db
      .selectFrom('signup_invites')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
