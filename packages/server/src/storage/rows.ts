/**
 * Database rows as storage records: one mapping per table, used by the Kysely stores and by
 * each backend's prepared read path (`sqlite-reads.ts`, `postgres-reads.ts`) alike, so a row
 * reads the same whichever path served it.
 *
 * @packageDocumentation
 */
import type { ChainLink } from '@saltbox/protocol';
import type { KvEntryRecord } from './kv-types.js';
import type { Database } from './schema.js';
import type {
  DeviceRecord,
  KeyRecord,
  PerUserKeyRecord,
  StoredLink,
  TeamRecord,
  TeamRole,
  UserProjection,
  UserRecord,
} from './types.js';

/** A `users` row as a record. */
export function toUser(r: Database['users']): UserRecord {
  return {
    uid: r.uid,
    username: r.username,
    eldestKid: r.eldest_kid,
    tailSeqno: r.tail_seqno,
    tailLinkId: r.tail_link_id,
    ctime: Number(r.ctime),
  };
}

/** A `user_keys` row as a record. */
export function toKey(r: Database['user_keys']): KeyRecord {
  return {
    kid: r.kid,
    uid: r.uid,
    role: r.role === 'subkey' ? 'subkey' : 'sibkey',
    status: r.status === 'live' ? 'live' : 'revoked',
    deviceId: r.device_id,
    seqno: r.seqno,
  };
}

/** A `links` or `team_links` row as a stored link. */
export function toLink(
  r: Pick<Database['links'], 'seqno' | 'link_id' | 'sig_id' | 'type' | 'link_json'>,
): StoredLink {
  return {
    seqno: r.seqno,
    linkId: r.link_id,
    sigId: r.sig_id,
    type: r.type,
    link: JSON.parse(r.link_json) as ChainLink,
  };
}

/**
 * Adds projection rows to `out` (which holds an empty projection per wanted UID), in the order
 * the rows come: keys by seqno, devices by ID, PUKs by generation.
 */
export function fillProjections(
  out: Map<string, UserProjection>,
  keys: readonly Database['user_keys'][],
  devices: readonly Database['devices'][],
  puks: readonly Database['per_user_keys'][],
): void {
  for (const k of keys) out.get(k.uid)?.keys.push(toKey(k));
  for (const d of devices)
    out.get(d.uid)?.devices.push({
      id: d.device_id,
      name: d.name,
      type: d.type,
      status: d.status === 'revoked' ? 'revoked' : 'active',
    } satisfies DeviceRecord);
  for (const p of puks)
    out.get(p.uid)?.perUserKeys.push({
      generation: p.generation,
      seqno: p.seqno,
      signingKid: p.signing_kid,
      encryptionKid: p.encryption_kid,
    } satisfies PerUserKeyRecord);
}

/** A `teams` row as a record. */
export function toTeam(r: Database['teams']): TeamRecord {
  return {
    teamId: r.team_id,
    name: r.name,
    parentId: r.parent_id,
    implicit: r.implicit === 1,
    tailSeqno: r.tail_seqno,
    tailLinkId: r.tail_link_id,
    ctime: Number(r.ctime),
  };
}

const TEAM_ROLES: readonly TeamRole[] = ['owner', 'admin', 'writer', 'reader'];

/**
 * A stored role as a {@link TeamRole}.
 *
 * @throws Error when the column holds something else (a damaged database, not a request).
 */
export function toRole(role: string): TeamRole {
  const r = TEAM_ROLES.find((x) => x === role);
  if (r === undefined) throw new Error('corrupt team role in storage');
  return r;
}

/** A `kv_entries` row as a record. */
export function toEntry(r: Database['kv_entries']): KvEntryRecord {
  return {
    teamId: r.team_id,
    namespace: r.namespace,
    entryKey: r.entry_key,
    revision: r.revision,
    ciphertext: r.ciphertext,
    formatVersion: r.format_version,
    teamKeyGen: r.team_key_gen,
    writer: {
      uid: r.writer_uid,
      eldestSeqno: r.writer_eldest_seqno,
      deviceId: r.writer_device_id,
    },
    changeSeq: Number(r.change_seq),
  };
}
