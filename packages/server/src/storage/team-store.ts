/**
 * Team chains in storage: creation, appends (through the generic chain append), members, key
 * boxes, prevs and deletion; the per-request reads come from the backend's hot path.
 *
 * @packageDocumentation
 */
import type { Kysely, Transaction } from 'kysely';
import type { HotReads } from './backend.js';
import { appendChain, chainConflict, insertLinks } from './chain-append.js';
import type { ChainKind } from './chain-append.js';
import { isUniqueViolation, storageError } from './errors.js';
import type { KyselyLogStore } from './log-store.js';
import { toLink, toRole, toTeam } from './rows.js';
import type { Database } from './schema.js';
import type {
  StoredLink,
  TeamKeyBoxRecord,
  TeamMemberRecord,
  TeamMembership,
  TeamPrevRecord,
  TeamProjection,
  TeamRecord,
  TeamRole,
  TeamStore,
} from './types.js';

/** Team chains: deleted teams are not found; any unique violation is a concurrent append. */
const TEAM_CHAIN: ChainKind = {
  table: 'teams',
  idColumn: 'team_id',
  linksTable: 'team_links',
  softDeleted: true,
  eldestKid: false,
  subject: 'team',
  uniqueViolation: chainConflict,
};

async function writeTeamProjection(
  trx: Transaction<Database>,
  teamId: string,
  p: TeamProjection,
): Promise<void> {
  await trx.deleteFrom('team_members').where('team_id', '=', teamId).execute();
  if (p.members.length > 0)
    await trx
      .insertInto('team_members')
      .values(p.members.map((m) => ({ team_id: teamId, uid: m.uid, role: m.role })))
      .execute();
}

async function upsertTeamBoxes(
  db: Kysely<Database> | Transaction<Database>,
  teamId: string,
  boxes: readonly TeamKeyBoxRecord[],
): Promise<void> {
  if (boxes.length === 0) return;
  await db
    .insertInto('team_key_boxes')
    .values(
      boxes.map((b) => ({
        team_id: teamId,
        uid: b.uid,
        generation: b.generation,
        receiver_kid: b.receiverKid,
        box: b.box,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['team_id', 'uid', 'generation']).doUpdateSet((eb) => ({
        receiver_kid: eb.ref('excluded.receiver_kid'),
        box: eb.ref('excluded.box'),
      })),
    )
    .execute();
}

async function insertTeamPrevs(
  trx: Transaction<Database>,
  teamId: string,
  prevs: readonly TeamPrevRecord[] | undefined,
): Promise<void> {
  if (prevs === undefined || prevs.length === 0) return;
  // A generation's prev is written once, with the link that introduced the generation; a
  // second one for the same generation is a conflict (primary key), like a second tail.
  await trx
    .insertInto('team_prevs')
    .values(prevs.map((p) => ({ team_id: teamId, generation: p.generation, prev: p.prev })))
    .execute();
}

/** {@link TeamStore} over Kysely, its hot reads served by `reads`. */
export class KyselyTeamStore implements TeamStore {
  readonly #db: Kysely<Database>;
  readonly #log: KyselyLogStore;
  readonly #reads: HotReads;
  constructor(db: Kysely<Database>, log: KyselyLogStore, reads: HotReads) {
    this.#db = db;
    this.#log = log;
    this.#reads = reads;
  }

  async createTeam(input: {
    team: TeamRecord;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void> {
    const { team } = input;
    try {
      await this.#log.transact(async (trx) => {
        await trx
          .insertInto('teams')
          .values({
            team_id: team.teamId,
            name: team.name,
            parent_id: team.parentId,
            implicit: team.implicit ? 1 : 0,
            tail_seqno: team.tailSeqno,
            tail_link_id: team.tailLinkId,
            ctime: team.ctime,
            deleted_at: null,
          })
          .execute();
        await insertLinks(trx, TEAM_CHAIN, team.teamId, input.links);
        await writeTeamProjection(trx, team.teamId, input.projection);
        await upsertTeamBoxes(trx, team.teamId, input.keyBoxes);
        await insertTeamPrevs(trx, team.teamId, input.prevs);
        return [[team.teamId, { seqno: team.tailSeqno, linkId: team.tailLinkId, eldestKid: null }]];
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw storageError(
          'STORAGE_UNIQUE_VIOLATION',
          'team_name',
          'team name is already registered',
          e,
        );
      throw e;
    }
  }

  async getTeam(teamId: string): Promise<TeamRecord | null> {
    const r = await this.#db
      .selectFrom('teams')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? toTeam(r) : null;
  }

  async getTeamByName(name: string): Promise<TeamRecord | null> {
    const r = await this.#db
      .selectFrom('teams')
      .selectAll()
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? toTeam(r) : null;
  }

  async getTeamLinks(teamId: string, sinceSeqno: number): Promise<StoredLink[]> {
    const rows = await this.#db
      .selectFrom('team_links')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('seqno', '>', sinceSeqno)
      .orderBy('seqno')
      .execute();
    return rows.map(toLink);
  }

  /** @throws StorageError `STORAGE_NOT_FOUND` (`team`), `STORAGE_CONFLICT` (`chain`). */
  appendTeamLinks(input: {
    teamId: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void> {
    return appendChain(
      this.#log,
      TEAM_CHAIN,
      { id: input.teamId, expectedTailSeqno: input.expectedTailSeqno, links: input.links },
      async (trx) => {
        await writeTeamProjection(trx, input.teamId, input.projection);
        await upsertTeamBoxes(trx, input.teamId, input.keyBoxes);
        await insertTeamPrevs(trx, input.teamId, input.prevs);
      },
    );
  }

  async getTeamPrevs(teamId: string): Promise<TeamPrevRecord[]> {
    const rows = await this.#db
      .selectFrom('team_prevs')
      .select(['generation', 'prev'])
      .where('team_id', '=', teamId)
      .orderBy('generation')
      .execute();
    return rows.map((r) => ({ generation: r.generation, prev: r.prev }));
  }

  getMembers(teamId: string): Promise<TeamMemberRecord[]> {
    return this.#reads.getMembers(teamId);
  }

  getMemberRole(teamId: string, uid: string): Promise<TeamRole | null> {
    return this.#reads.getMemberRole(teamId, uid);
  }

  async listTeamsForUser(uid: string): Promise<TeamMembership[]> {
    const rows = await this.#db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.team_id', 'team_members.team_id')
      .selectAll('teams')
      .select('team_members.role')
      .where('team_members.uid', '=', uid)
      .orderBy('teams.name')
      .execute();
    return rows.map((r) => ({ team: toTeam(r), role: toRole(r.role) }));
  }

  putTeamKeyBoxes(teamId: string, boxes: readonly TeamKeyBoxRecord[]): Promise<void> {
    return upsertTeamBoxes(this.#db, teamId, boxes);
  }

  async getTeamKeyBoxes(
    teamId: string,
    uid: string,
    generation?: number,
  ): Promise<TeamKeyBoxRecord[]> {
    let q = this.#db
      .selectFrom('team_key_boxes')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('uid', '=', uid);
    if (generation !== undefined) q = q.where('generation', '=', generation);
    const rows = await q.orderBy('generation').execute();
    return rows.map((r) => ({
      generation: r.generation,
      uid: r.uid,
      receiverKid: r.receiver_kid,
      box: r.box,
    }));
  }

  async deleteTeam(
    teamId: string,
    expectedTailSeqno: number,
    nowMs: number,
  ): Promise<{ kvEntriesDeleted: number } | 'has_subteams'> {
    return this.#db.transaction().execute(async (trx) => {
      const child = await trx
        .selectFrom('teams')
        .select('team_id')
        .where('parent_id', '=', teamId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (child !== undefined) return 'has_subteams' as const;
      // Compare-and-swap on the tail, as for appends: a subteam announced (or a member changed)
      // since the caller checked moves the tail, so this deletion then fails instead.
      const res = await trx
        .updateTable('teams')
        .set({ deleted_at: nowMs })
        .where('team_id', '=', teamId)
        .where('tail_seqno', '=', expectedTailSeqno)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        const exists = await trx
          .selectFrom('teams')
          .select('team_id')
          .where('team_id', '=', teamId)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (!exists) throw storageError('STORAGE_NOT_FOUND', 'team', 'no such team');
        throw storageError(
          'STORAGE_CONFLICT',
          'chain',
          'the chain changed since it was read; refetch and retry',
        );
      }
      const kv = await trx
        .deleteFrom('kv_entries')
        .where('team_id', '=', teamId)
        .executeTakeFirst();
      await trx.deleteFrom('kv_team_seq').where('team_id', '=', teamId).execute();
      for (const table of ['team_key_boxes', 'team_prevs', 'team_members', 'team_links'] as const)
        await trx.deleteFrom(table).where('team_id', '=', teamId).execute();
      return { kvEntriesDeleted: Number(kv.numDeletedRows) };
    });
  }

  currentKeyGeneration(teamId: string): Promise<number> {
    return this.#reads.currentKeyGeneration(teamId);
  }
}
