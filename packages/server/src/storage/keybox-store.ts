/**
 * Per-user-key boxes in storage (the boxes a device opens to get its user's PUK seeds).
 *
 * @packageDocumentation
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { KeyBoxStore, PukBoxRecord } from './types.js';
import { upsertBoxes } from './user-store.js';

/** {@link KeyBoxStore} over Kysely. */
export class KyselyKeyBoxStore implements KeyBoxStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  putPukBoxes(uid: string, boxes: readonly PukBoxRecord[]): Promise<void> {
    return upsertBoxes(this.#db, uid, boxes);
  }

  async getPukBoxes(
    uid: string,
    receiverKids: readonly string[],
    generation?: number,
  ): Promise<PukBoxRecord[]> {
    if (receiverKids.length === 0) return [];
    let q = this.#db
      .selectFrom('puk_boxes')
      .selectAll()
      .where('uid', '=', uid)
      .where('receiver_kid', 'in', [...receiverKids]);
    if (generation !== undefined) q = q.where('generation', '=', generation);
    const rows = await q.orderBy('generation').orderBy('receiver_kid').execute();
    return rows.map((r) => ({
      generation: r.generation,
      receiverKid: r.receiver_kid,
      box: r.box,
    }));
  }
}
