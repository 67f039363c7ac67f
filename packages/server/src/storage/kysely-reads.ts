/**
 * The hot reads through Kysely: what a backend without a prepared path of its own uses (a
 * private in-memory SQLite database, which cannot be opened a second time), and the reference
 * the prepared paths must agree with (the conformance suites run both).
 *
 * @packageDocumentation
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { ClaimNonces, HotReads } from './backend.js';
import { fillProjections, toEntry, toKey, toLink, toRole, toUser } from './rows.js';
import type { Database } from './schema.js';
import type { UserProjection, UserRecord } from './types.js';

/** {@link HotReads} over `db`. */
export function kyselyReads(db: Kysely<Database>): HotReads {
  return {
    async getUser(username) {
      const r = await db
        .selectFrom('users')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirst();
      return r ? toUser(r) : null;
    },
    async getUserByUid(uid) {
      const r = await db.selectFrom('users').selectAll().where('uid', '=', uid).executeTakeFirst();
      return r ? toUser(r) : null;
    },
    async getUsers(usernames) {
      const out = new Map<string, UserRecord>();
      if (usernames.length === 0) return out;
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('username', 'in', [...new Set(usernames)])
        .execute();
      for (const r of rows) out.set(r.username, toUser(r));
      return out;
    },
    async getProjections(uids) {
      const out = new Map<string, UserProjection>();
      if (uids.length === 0) return out;
      const ids = [...new Set(uids)];
      for (const uid of ids) out.set(uid, { keys: [], devices: [], perUserKeys: [] });
      const [keys, devices, puks] = await Promise.all([
        db.selectFrom('user_keys').selectAll().where('uid', 'in', ids).orderBy('seqno').execute(),
        db.selectFrom('devices').selectAll().where('uid', 'in', ids).orderBy('device_id').execute(),
        db
          .selectFrom('per_user_keys')
          .selectAll()
          .where('uid', 'in', ids)
          .orderBy('generation')
          .execute(),
      ]);
      fillProjections(out, keys, devices, puks);
      return out;
    },
    async getLinks(uid, sinceSeqno) {
      const rows = await db
        .selectFrom('links')
        .selectAll()
        .where('uid', '=', uid)
        .where('seqno', '>', sinceSeqno)
        .orderBy('seqno')
        .execute();
      return rows.map(toLink);
    },
    async getKey(kid) {
      const r = await db
        .selectFrom('user_keys')
        .selectAll()
        .where('kid', '=', kid)
        .executeTakeFirst();
      return r ? toKey(r) : null;
    },
    async getMembers(teamId) {
      const rows = await db
        .selectFrom('team_members')
        .selectAll()
        .where('team_id', '=', teamId)
        .orderBy('uid')
        .execute();
      return rows.map((r) => ({ uid: r.uid, role: toRole(r.role) }));
    },
    async getMemberRole(teamId, uid) {
      const r = await db
        .selectFrom('team_members')
        .select('role')
        .where('team_id', '=', teamId)
        .where('uid', '=', uid)
        .executeTakeFirst();
      return r ? toRole(r.role) : null;
    },
    async currentKeyGeneration(teamId) {
      // Every generation from 2 has its `prev` row, so the scan of boxes starts at the newest
      // prev's generation (an index seek) instead of reading every member's every box; were a
      // prev ever missing, the answer would still be right, only read from more rows.
      const r = await db
        .selectFrom('team_key_boxes')
        .select((eb) => eb.fn.max('generation').as('generation'))
        .where('team_id', '=', teamId)
        .where(
          'generation',
          '>=',
          sql<number>`coalesce((select max(generation) from team_prevs where team_id = ${teamId}), 1)`,
        )
        .executeTakeFirst();
      return r?.generation ?? 0;
    },
    async getKvEntry(teamId, namespace, entryKey) {
      const r = await db
        .selectFrom('kv_entries')
        .selectAll()
        .where('team_id', '=', teamId)
        .where('namespace', '=', namespace)
        .where('entry_key', '=', entryKey)
        .executeTakeFirst();
      return r ? toEntry(r) : null;
    },
  };
}

/** {@link ClaimNonces} through Kysely: one `insert … on conflict do nothing returning`. */
export function kyselyClaimNonces(db: Kysely<Database>): ClaimNonces {
  return async (claims) => {
    const rows = await db
      .insertInto('request_nonces')
      .values(claims.map((c) => ({ kid: c.kid, nonce: c.nonce, expires_at: c.expiresAt })))
      .onConflict((oc) => oc.columns(['kid', 'nonce']).doNothing())
      .returning(['kid', 'nonce'])
      .execute();
    const inserted = new Set(rows.map((r) => `${r.kid} ${r.nonce}`));
    // delete(): of two copies of one nonce in a batch, only the first wins.
    return claims.map((c) => inserted.delete(`${c.kid} ${c.nonce}`));
  };
}
