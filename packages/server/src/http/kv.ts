/**
 * The encrypted key-value store's routes (specs/keybase-kvstore.md §1.4, §1.7; DESIGN.md,
 * Encrypted key-value store): entry get / put / delete, batch get, paginated listings and change
 * notifications by long poll, each authorised by the caller's role in the team's member
 * projection (readers read; writers, admins and owners also write). The server stores
 * ciphertexts it cannot open; the writer it records is the authenticated device.
 *
 * @packageDocumentation
 */
import type { Context } from 'hono';
import { KV_MAX_NAME_BYTES, kvMaxCiphertextChars, utf8Length } from '@saltbox/protocol';
import type {
  KvChangesResponse,
  KvEntry,
  KvKeysResponse,
  KvNamespacesResponse,
  KvWriteResponse,
} from '@saltbox/protocol';
import { fail } from '../errors.js';
import type { ChangeFeed } from '../storage/notify.js';
import type { KvEntryRecord, KvWriterRecord, Storage, TeamRole } from '../storage/types.js';
import type { AppEnv } from './env.js';
import type { Router } from './route.js';

/** What the KV routes need from the application. */
export interface KvRouteDeps {
  storage: Storage;
  /** Largest plaintext value in bytes; the ciphertext limit follows (`kvMaxCiphertextChars`). */
  maxValueBytes: number;
  /**
   * How often a waiting change poll rechecks storage even without a notification (default: the
   * feed's `safetyPollMs`; notifications, not this timer, wake polls).
   */
  pollIntervalMs?: number;
}

const WRITE_ROLES: ReadonlySet<TeamRole> = new Set(['writer', 'admin', 'owner']);

/**
 * Change polls waiting on a team, woken by the storage's change feed (`storage/notify.ts`:
 * every committed write to the team, from any server process on PostgreSQL) or by stop.
 */
class ChangeWaiters {
  readonly #feed: ChangeFeed;
  readonly #stops = new Set<() => void>();
  #stopped = false;

  constructor(feed: ChangeFeed) {
    this.#feed = feed;
  }

  /** True after {@link ChangeWaiters.stop}. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolves after `ms`, on a write to `teamId`, or on stop. */
  wait(teamId: string, ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        this.#stops.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.#feed.subscribe(teamId, done);
      this.#stops.add(done);
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const done of [...this.#stops]) done();
  }
}

function toWire(
  teamId: string,
  namespace: string,
  entryKey: string,
  r: KvEntryRecord | null,
): KvEntry {
  if (r === null)
    return {
      teamId,
      namespace,
      entryKey,
      revision: 0,
      ciphertext: null,
      formatVersion: 0,
      teamKeyGen: 0,
      writer: null,
    };
  return {
    teamId,
    namespace,
    entryKey,
    revision: r.revision,
    ciphertext: r.ciphertext,
    formatVersion: r.formatVersion,
    teamKeyGen: r.teamKeyGen,
    writer: r.writer,
  };
}

/** Refuses names over 255 UTF-8 bytes with a 413 that says which one. */
function checkNames(names: Record<string, string | undefined>): void {
  for (const [field, value] of Object.entries(names))
    if (value !== undefined && utf8Length(value) > KV_MAX_NAME_BYTES)
      throw fail('PAYLOAD_TOO_LARGE', `${field} is longer than ${KV_MAX_NAME_BYTES} bytes`);
}

/**
 * Registers the KV routes on `app`. Returns `stop`, which answers every waiting change poll at
 * once (call it before closing the HTTP server, or open polls would hold it open).
 */
export function registerKvRoutes(r: Router, deps: KvRouteDeps): { stop: () => void } {
  const { storage } = deps;
  const waiters = new ChangeWaiters(storage.changes);
  const pollMs = deps.pollIntervalMs ?? storage.changes.safetyPollMs;
  const maxCiphertext = kvMaxCiphertextChars(deps.maxValueBytes);
  // The JSON around the ciphertext is small; names are capped at 255 bytes (escaped ≤ 6×).
  const putBodyLimit = maxCiphertext + 8 * 1024;
  const small = { maxBodyBytes: 64 * 1024 };

  /** The caller's role in the team, refusing non-members and (for writes) readers. */
  const access = async (
    c: Context<AppEnv>,
    teamId: string,
    write: boolean,
  ): Promise<{ teamId: string; writer: KvWriterRecord }> => {
    const key = c.get('auth')!.key!;
    const role = (await storage.teams.getMemberRole(teamId, key.uid)) ?? undefined;
    // The same answer for an unknown team and a team the caller is not in.
    if (role === undefined) throw fail('KV_NOT_A_MEMBER', 'you are not a member of this team');
    if (write && !WRITE_ROLES.has(role))
      throw fail('KV_READ_ONLY', 'readers of this team cannot write its kv store');
    if (key.deviceId === null) throw fail('FORBIDDEN', 'only device keys may use the kv store');
    // saltbox users have no account resets: every eldest key is at seqno 1.
    return { teamId, writer: { uid: key.uid, eldestSeqno: 1, deviceId: key.deviceId } };
  };

  r.route('kvGet', small, async (c, { params, query: q }) => {
    const { teamId } = await access(c, params.teamId, false);
    checkNames({ namespace: q.namespace, entryKey: q.entryKey });
    const r = await storage.kv.get(teamId, q.namespace, q.entryKey);
    return c.json(toWire(teamId, q.namespace, q.entryKey, r));
  });

  r.route('kvPut', { maxBodyBytes: putBodyLimit }, async (c, { params, body: req }) => {
    const { teamId, writer } = await access(c, params.teamId, true);
    checkNames({ namespace: req.namespace, entryKey: req.entryKey });
    if (req.ciphertext.length > maxCiphertext)
      throw fail(
        'PAYLOAD_TOO_LARGE',
        `kv value is larger than ${deps.maxValueBytes} bytes (ciphertext over ${maxCiphertext} characters)`,
      );
    // Only the team's current key generation (issue #12.2): a generation that does not exist
    // yet would make the entry unwritable for everyone (the storage refuses a put under an
    // older generation than the entry's), and an older one is what a removed member holds.
    const current = await storage.teams.currentKeyGeneration(teamId);
    if (req.teamKeyGen !== current)
      throw fail(
        'KV_BAD_GENERATION',
        `team key generation ${req.teamKeyGen} is not the team's current one (${current})`,
      );
    const { revision } = await storage.kv.put({
      currentTeamKeyGen: current,
      teamId,
      namespace: req.namespace,
      entryKey: req.entryKey,
      revision: req.revision,
      ciphertext: req.ciphertext,
      formatVersion: req.ciphertextVersion,
      teamKeyGen: req.teamKeyGen,
      writer,
    });
    const res: KvWriteResponse = {
      teamId,
      namespace: req.namespace,
      entryKey: req.entryKey,
      revision,
    };
    return c.json(res);
  });

  r.route('kvDelete', small, async (c, { params, query: q }) => {
    const { teamId, writer } = await access(c, params.teamId, true);
    checkNames({ namespace: q.namespace, entryKey: q.entryKey });
    const { revision } = await storage.kv.del({
      teamId,
      namespace: q.namespace,
      entryKey: q.entryKey,
      revision: q.revision,
      writer,
    });
    const res: KvWriteResponse = { teamId, namespace: q.namespace, entryKey: q.entryKey, revision };
    return c.json(res);
  });

  r.route('kvBatchGet', small, async (c, { params, body: req }) => {
    const { teamId } = await access(c, params.teamId, false);
    for (const i of req.items) checkNames({ namespace: i.namespace, entryKey: i.entryKey });
    const rows = await storage.kv.getMany(teamId, req.items);
    return c.json({
      teamId,
      entries: req.items.map((i, n) => toWire(teamId, i.namespace, i.entryKey, rows[n] ?? null)),
    });
  });

  r.route('kvNamespaces', small, async (c, { params, query: q }) => {
    const { teamId } = await access(c, params.teamId, false);
    const names = await storage.kv.listNamespaces(teamId, { after: q.after, limit: q.limit + 1 });
    const more = names.length > q.limit;
    const page = names.slice(0, q.limit);
    const res: KvNamespacesResponse = {
      teamId,
      namespaces: page,
      next: more ? page[page.length - 1]! : null,
    };
    return c.json(res);
  });

  r.route('kvKeys', small, async (c, { params, query: q }) => {
    const { teamId } = await access(c, params.teamId, false);
    checkNames({ namespace: q.namespace });
    const keys = await storage.kv.listEntryKeys(teamId, q.namespace, {
      after: q.after,
      limit: q.limit + 1,
    });
    const more = keys.length > q.limit;
    const page = keys.slice(0, q.limit);
    const res: KvKeysResponse = {
      teamId,
      namespace: q.namespace,
      entryKeys: page,
      next: more ? page[page.length - 1]!.entryKey : null,
    };
    return c.json(res);
  });

  r.route('kvChanges', small, async (c, { params, query: q }) => {
    const { teamId } = await access(c, params.teamId, false);
    checkNames({ namespace: q.namespace });
    if (q.since === undefined) {
      const res: KvChangesResponse = {
        teamId,
        changes: [],
        cursor: await storage.kv.cursor(teamId),
      };
      return c.json(res);
    }
    const deadline = Date.now() + q.waitMs;
    for (let woken = false; ; woken = true) {
      // Membership is checked again on every wake (issue #12.4): a poll may wait 25 s, and a
      // member removed meanwhile must not learn the names written after the removal.
      if (woken) await access(c, teamId, false);
      const changes = await storage.kv.changes(teamId, {
        since: q.since,
        namespace: q.namespace,
        limit: q.limit,
      });
      const left = deadline - Date.now();
      if (changes.length > 0 || left <= 0 || waiters.stopped || c.req.raw.signal.aborted) {
        // With a namespace filter, the cursor still moves past other namespaces' changes seen.
        const cursor = changes.length > 0 ? changes[changes.length - 1]!.changeSeq : q.since;
        const res: KvChangesResponse = {
          teamId,
          changes: changes.map((x) => ({
            namespace: x.namespace,
            entryKey: x.entryKey,
            revision: x.revision,
            deleted: x.deleted,
          })),
          cursor,
        };
        return c.json(res);
      }
      await waiters.wait(teamId, Math.min(left, pollMs));
    }
  });

  return {
    stop: () => {
      waiters.stop();
    },
  };
}
