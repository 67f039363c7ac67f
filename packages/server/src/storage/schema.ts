/**
 * The relational schema (Kysely table types) and its migrations, shared by SQLite and
 * PostgreSQL. Column types are the common subset: text, integer, bigint. Binary values (boxes)
 * are stored as base64 text and links as JSON text, so both backends hold identical bytes.
 *
 * @packageDocumentation
 */
import { sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { m0003Kv } from './kv-schema.js';
import type { KvEntriesTable, KvTeamSeqTable } from './kv-schema.js';
import { m0007Log } from './log-schema.js';
import type { LogTables } from './log-schema.js';

/** `users`. */
export interface UsersTable {
  uid: string;
  username: string;
  eldest_kid: string;
  tail_seqno: number;
  tail_link_id: string;
  /** Unix ms; PostgreSQL returns bigint as a string. */
  ctime: number | string;
}

/** `links`: one row per sigchain link. */
export interface LinksTable {
  uid: string;
  seqno: number;
  link_id: string;
  sig_id: string;
  type: string;
  link_json: string;
}

/** `user_keys`: every KID a chain delegated; the KID is unique across users. */
export interface UserKeysTable {
  kid: string;
  uid: string;
  role: string;
  status: string;
  device_id: string | null;
  seqno: number;
}

/** `devices`. */
export interface DevicesTable {
  uid: string;
  device_id: string;
  name: string | null;
  type: string | null;
  status: string;
}

/** `pgp_bundles`: armored PGP public keys a user's chain delegates, one row per version. */
export interface PgpBundlesTable {
  uid: string;
  /** SHA-256 of the trimmed bundle: what the delegating link's `full_hash` names. */
  full_hash: string;
  kid: string;
  bundle: string;
  /** The seqno of the link that names this version. */
  seqno: number;
}

/** `per_user_keys`. */
export interface PerUserKeysTable {
  uid: string;
  generation: number;
  seqno: number;
  signing_kid: string;
  encryption_kid: string;
}

/** `puk_boxes`. */
export interface PukBoxesTable {
  uid: string;
  generation: number;
  receiver_kid: string;
  box: string;
}

/** `request_nonces`: the replay cache. */
export interface RequestNoncesTable {
  kid: string;
  nonce: string;
  expires_at: number | string;
}

/** `teams`. */
export interface TeamsTable {
  team_id: string;
  name: string;
  parent_id: string | null;
  /** 0 or 1. */
  implicit: number;
  tail_seqno: number;
  tail_link_id: string;
  ctime: number | string;
  /**
   * Unix ms of `team delete`, else null. A deleted team keeps this row only: its name and ID
   * stay reserved, so a later team of that name can never pass for it.
   */
  deleted_at: number | string | null;
}

/** `team_links`: one row per team chain link. */
export interface TeamLinksTable {
  team_id: string;
  seqno: number;
  link_id: string;
  sig_id: string;
  type: string;
  link_json: string;
}

/** `team_members`: the current members of each team. */
export interface TeamMembersTable {
  team_id: string;
  uid: string;
  role: string;
}

/** `team_key_boxes`: per-team-key seeds boxed to members' PUKs. */
export interface TeamKeyBoxesTable {
  team_id: string;
  uid: string;
  generation: number;
  receiver_kid: string;
  box: string;
}

/** `team_prevs`: one `prev` per team per generation (≥ 2). */
export interface TeamPrevsTable {
  team_id: string;
  generation: number;
  prev: string;
}

/** The whole database. */
/**
 * `signup_invites`: sign-up invite codes made by the operator (`saltbox server invite`), stored
 * as the SHA-256 of the code only; `used_by` / `used_at` are set by the one sign-up that used it.
 */
export interface SignupInvitesTable {
  code_hash: string;
  /** Unix ms; PostgreSQL returns bigint as a string. */
  created_at: number | string;
  used_by: string | null;
  used_at: number | string | null;
}

export interface Database extends LogTables {
  signup_invites: SignupInvitesTable;
  users: UsersTable;
  links: LinksTable;
  user_keys: UserKeysTable;
  devices: DevicesTable;
  per_user_keys: PerUserKeysTable;
  puk_boxes: PukBoxesTable;
  request_nonces: RequestNoncesTable;
  teams: TeamsTable;
  team_links: TeamLinksTable;
  team_members: TeamMembersTable;
  team_key_boxes: TeamKeyBoxesTable;
  kv_entries: KvEntriesTable;
  kv_team_seq: KvTeamSeqTable;
  team_prevs: TeamPrevsTable;
  pgp_bundles: PgpBundlesTable;
}

// Migrations take Kysely<any> on purpose: they run against whatever shape the database had
// before them, not the current `Database` type.
/* eslint-disable @typescript-eslint/no-explicit-any */
const m0001: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('uid', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('eldest_kid', 'text', (c) => c.notNull())
      .addColumn('tail_seqno', 'integer', (c) => c.notNull())
      .addColumn('tail_link_id', 'text', (c) => c.notNull())
      .addColumn('ctime', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('links')
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .addColumn('link_id', 'text', (c) => c.notNull())
      .addColumn('sig_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('link_json', 'text', (c) => c.notNull())
      // The primary key is what makes two concurrent appends on one tail conflict.
      .addPrimaryKeyConstraint('links_pk', ['uid', 'seqno'])
      .execute();
    await db.schema
      .createTable('user_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text')
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('user_keys_uid').on('user_keys').column('uid').execute();
    await db.schema
      .createTable('devices')
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('type', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('devices_pk', ['uid', 'device_id'])
      .execute();
    await db.schema
      .createTable('per_user_keys')
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .addColumn('signing_kid', 'text', (c) => c.notNull())
      .addColumn('encryption_kid', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('per_user_keys_pk', ['uid', 'generation'])
      .execute();
    await db.schema
      .createTable('puk_boxes')
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('receiver_kid', 'text', (c) => c.notNull())
      .addColumn('box', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('puk_boxes_pk', ['uid', 'receiver_kid', 'generation'])
      .execute();
    await db.schema
      .createTable('request_nonces')
      .addColumn('kid', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('request_nonces_pk', ['kid', 'nonce'])
      .execute();
    await db.schema
      .createIndex('request_nonces_expiry')
      .on('request_nonces')
      .column('expires_at')
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    for (const t of [
      'request_nonces',
      'puk_boxes',
      'per_user_keys',
      'devices',
      'user_keys',
      'links',
      'users',
    ])
      await db.schema.dropTable(t).execute();
  },
};

const m0002: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('teams')
      .addColumn('team_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('parent_id', 'text')
      .addColumn('implicit', 'integer', (c) => c.notNull())
      .addColumn('tail_seqno', 'integer', (c) => c.notNull())
      .addColumn('tail_link_id', 'text', (c) => c.notNull())
      .addColumn('ctime', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('team_links')
      .addColumn('team_id', 'text', (c) => c.notNull().references('teams.team_id'))
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .addColumn('link_id', 'text', (c) => c.notNull())
      .addColumn('sig_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('link_json', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('team_links_pk', ['team_id', 'seqno'])
      .execute();
    await db.schema
      .createTable('team_members')
      .addColumn('team_id', 'text', (c) => c.notNull().references('teams.team_id'))
      .addColumn('uid', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'uid'])
      .execute();
    await db.schema.createIndex('team_members_uid').on('team_members').column('uid').execute();
    await db.schema
      .createTable('team_key_boxes')
      .addColumn('team_id', 'text', (c) => c.notNull().references('teams.team_id'))
      .addColumn('uid', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('receiver_kid', 'text', (c) => c.notNull())
      .addColumn('box', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('team_key_boxes_pk', ['team_id', 'uid', 'generation'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    for (const t of ['team_key_boxes', 'team_members', 'team_links', 'teams'])
      await db.schema.dropTable(t).execute();
  },
};
const m0004TeamPrevs: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('team_prevs')
      .addColumn('team_id', 'text', (c) => c.notNull().references('teams.team_id'))
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('prev', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('team_prevs_pk', ['team_id', 'generation'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('team_prevs').execute();
  },
};
const m0005PgpBundles: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('pgp_bundles')
      .addColumn('uid', 'text', (c) => c.notNull().references('users.uid'))
      .addColumn('full_hash', 'text', (c) => c.notNull())
      .addColumn('kid', 'text', (c) => c.notNull())
      .addColumn('bundle', 'text', (c) => c.notNull())
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('pgp_bundles_pk', ['uid', 'full_hash'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('pgp_bundles').execute();
  },
};
const m0006SignupInvites: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('signup_invites')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_by', 'text')
      .addColumn('used_at', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('signup_invites').execute();
  },
};
const m0006TeamDeletion: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('teams').addColumn('deleted_at', 'bigint').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('teams').dropColumn('deleted_at').execute();
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Every migration, by name; names sort in application order. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_users_chains_keys_nonces': m0001,
  '0002_teams': m0002,
  '0003_kv': m0003Kv,
  '0004_team_prevs': m0004TeamPrevs,
  '0005_pgp_bundles': m0005PgpBundles,
  '0006_signup_invites': m0006SignupInvites,
  '0006b_team_deletion': m0006TeamDeletion,
  '0007_log': m0007Log,
};

/** The in-code migration provider (no migration files to ship or find at run time). */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};

/** A no-op query used by `ping`. */
export const PING = sql<{ one: number }>`select 1 as one`;
