/**
 * The PostgreSQL hot path (issue #17.2): the reads of every request and the nonce batches as
 * named prepared statements on the pool (node-postgres `{ name, text, values }`: each pooled
 * connection parses and plans a statement once, then only binds and executes it).
 *
 * Why: through Kysely every read was built, compiled and sent as a new unnamed statement, which
 * PostgreSQL parsed and planned again each time; per request that was most of the server's CPU
 * beside the signature check. Nothing here caches rows: every read sees the latest commit of
 * any server sharing the database, so a revoked key reads as revoked on the next request.
 *
 * @packageDocumentation
 */
import type pg from 'pg';
import type { ClaimNonces, HotReads } from './backend.js';
import { fillProjections, toEntry, toKey, toLink, toRole, toUser } from './rows.js';
import type { Database } from './schema.js';
import type { UserProjection, UserRecord } from './types.js';

type Row<T extends keyof Database> = Database[T];

/** The statements, by name (names are per connection; `sb_` keeps them apart from others'). */
const SQL = {
  sb_user_by_name: 'select * from users where username = $1',
  sb_users_by_name: 'select * from users where username = any($1::text[])',
  sb_user_by_uid: 'select * from users where uid = $1',
  sb_key_by_kid: 'select * from user_keys where kid = $1',
  sb_keys_of: 'select * from user_keys where uid = any($1::text[]) order by seqno',
  sb_devices_of: 'select * from devices where uid = any($1::text[]) order by device_id',
  sb_puks_of: 'select * from per_user_keys where uid = any($1::text[]) order by generation',
  sb_links_since: 'select * from links where uid = $1 and seqno > $2 order by seqno',
  sb_members: 'select * from team_members where team_id = $1 order by uid',
  sb_member_role: 'select role from team_members where team_id = $1 and uid = $2',
  sb_team_generation: `select max(generation) as generation from team_key_boxes
    where team_id = $1 and generation >=
      coalesce((select max(generation) from team_prevs where team_id = $1), 1)`,
  sb_kv_entry: 'select * from kv_entries where team_id = $1 and namespace = $2 and entry_key = $3',
  sb_claim_nonces: `insert into request_nonces (kid, nonce, expires_at)
    select * from unnest($1::text[], $2::text[], $3::bigint[])
    on conflict do nothing returning kid, nonce`,
} as const;

/** The hot reads and the nonce writer of a PostgreSQL pool. */
export function postgresReads(pool: pg.Pool): HotReads & { claimNonces: ClaimNonces } {
  const rows = async <R extends pg.QueryResultRow>(
    name: keyof typeof SQL,
    values: unknown[],
  ): Promise<R[]> => (await pool.query<R>({ name, text: SQL[name], values })).rows;
  const one = async <R extends pg.QueryResultRow>(
    name: keyof typeof SQL,
    values: unknown[],
  ): Promise<R | undefined> => (await rows<R>(name, values))[0];
  return {
    async getUser(username) {
      const r = await one<Row<'users'>>('sb_user_by_name', [username]);
      return r ? toUser(r) : null;
    },
    async getUserByUid(uid) {
      const r = await one<Row<'users'>>('sb_user_by_uid', [uid]);
      return r ? toUser(r) : null;
    },
    async getUsers(usernames) {
      const out = new Map<string, UserRecord>();
      if (usernames.length === 0) return out;
      for (const r of await rows<Row<'users'>>('sb_users_by_name', [[...new Set(usernames)]]))
        out.set(r.username, toUser(r));
      return out;
    },
    async getProjections(uids) {
      const out = new Map<string, UserProjection>();
      if (uids.length === 0) return out;
      const ids = [...new Set(uids)];
      for (const uid of ids) out.set(uid, { keys: [], devices: [], perUserKeys: [] });
      const [keys, devices, puks] = await Promise.all([
        rows<Row<'user_keys'>>('sb_keys_of', [ids]),
        rows<Row<'devices'>>('sb_devices_of', [ids]),
        rows<Row<'per_user_keys'>>('sb_puks_of', [ids]),
      ]);
      fillProjections(out, keys, devices, puks);
      return out;
    },
    async getLinks(uid, sinceSeqno) {
      return (await rows<Row<'links'>>('sb_links_since', [uid, sinceSeqno])).map(toLink);
    },
    async getKey(kid) {
      const r = await one<Row<'user_keys'>>('sb_key_by_kid', [kid]);
      return r ? toKey(r) : null;
    },
    async getMembers(teamId) {
      return (await rows<Row<'team_members'>>('sb_members', [teamId])).map((r) => ({
        uid: r.uid,
        role: toRole(r.role),
      }));
    },
    async getMemberRole(teamId, uid) {
      const r = await one<{ role: string }>('sb_member_role', [teamId, uid]);
      return r ? toRole(r.role) : null;
    },
    async currentKeyGeneration(teamId) {
      const r = await one<{ generation: number | null }>('sb_team_generation', [teamId]);
      return r?.generation ?? 0;
    },
    async getKvEntry(teamId, namespace, entryKey) {
      const r = await one<Row<'kv_entries'>>('sb_kv_entry', [teamId, namespace, entryKey]);
      return r ? toEntry(r) : null;
    },
    async claimNonces(claims) {
      const inserted = new Set(
        (
          await rows<{ kid: string; nonce: string }>('sb_claim_nonces', [
            claims.map((c) => c.kid),
            claims.map((c) => c.nonce),
            claims.map((c) => c.expiresAt),
          ])
        ).map((r) => `${r.kid} ${r.nonce}`),
      );
      // delete(): of two copies of one nonce in a batch, only the first wins.
      return claims.map((c) => inserted.delete(`${c.kid} ${c.nonce}`));
    },
  };
}
