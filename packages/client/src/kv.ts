/**
 * The encrypted team key-value store client (specs/keybase-kvstore.md §1.4, §2; DESIGN.md,
 * Encrypted key-value store). Values are sealed exactly as Keybase does — msgpack wrapper with
 * the metadata hash, signencrypt under the team's KV key by the writer's device key, the
 * `{e, n, v}` box in base64 — with every key operation inside the keystore.
 *
 * Every answer is checked before anything is returned (§2.5): the server must echo the team,
 * namespace and entry key asked for; the rollback cache (§2.6, persisted) must accept the
 * revision, generation and ciphertext; the box must parse, open under the team key of the
 * claimed generation, verify under the claimed writer's device key (taken from that writer's
 * verified sigchain), and carry the metadata of this team, entry, revision and writer. A
 * failure throws a coded {@link ClientError} and returns nothing.
 *
 * @packageDocumentation
 */
import { kidPublicKey } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import { encodeCanonicalMsgpack, fromBase64, toBase64 } from '@saltbox/identity';
import { decodeMsgpack } from '@saltbox/saltpack/encoding';
import {
  KV_CIPHERTEXT_VERSION,
  KV_DEFAULT_MAX_VALUE_BYTES,
  KV_MAX_NAME_BYTES,
  isStorableText,
  UNSTORABLE_TEXT_MESSAGE,
  utf8Length,
} from '@saltbox/protocol';
import type { KvChange, KvEntry } from '@saltbox/protocol';
import { ClientError, isClientError } from './errors.js';
import type { ApiClient } from './http.js';
import type { KvCacheKey, KvRollbackCache } from './kv-cache.js';
import type { UserLoader } from './users.js';

/** The keystore methods the KV client uses (in-process, agent or Worker). */
export type KvKeystore = Pick<KeystoreApi, 'sealKv' | 'openKv' | 'getPublicKeyBundle'>;

/** Who writes: the caller's user and device, as its verified chain says. */
export interface KvIdentity {
  uid: string;
  deviceId: string;
  /** The device's Ed25519 signing KID (held by the keystore). */
  signingKid: string;
  /** Eldest seqno of the user's current subchain (1: saltbox has no account resets). */
  eldestSeqno?: number;
}

/**
 * Finds a writer's device signing public key in the writer's VERIFIED chain (e.g. through
 * `UserLoader`), or returns null when the chain has no such device.
 */
export type KvWriterKeyLookup = (writer: {
  uid: string;
  deviceId: string;
  /** The team and key generation of the entry, for "was a writer of the team then" rules. */
  teamId: string;
  teamKeyGen: number;
}) => Promise<Uint8Array | null>;

/** Options of {@link KvClient}. */
export interface KvClientOptions {
  api: ApiClient;
  keystore: KvKeystore;
  me: KvIdentity;
  writerKey: KvWriterKeyLookup;
  /**
   * The rollback cache, or how to open it: opened on the first call that needs it (or by
   * {@link KvClient.ready}), so a process that never touches KV never reads its file.
   */
  cache: KvRollbackCache | (() => Promise<KvRollbackCache>);
  /**
   * Called when an entry needs a team key generation the keystore does not hold yet, or before
   * a write, so the caller can open newer team key boxes (the teams API). Optional.
   */
  refreshTeamKeys?: (teamId: string) => Promise<void>;
  /** Largest value in bytes (default 1 MiB, as the server's default). */
  maxValueBytes?: number;
}

/** A verified entry. `value` is null for a never-written (revision 0) or deleted entry. */
export interface KvValue {
  teamId: string;
  namespace: string;
  entryKey: string;
  revision: number;
  /** The value as UTF-8 text (Keybase's `entryValue`), or null. */
  value: string | null;
  /** The value's bytes, or null. */
  bytes: Uint8Array | null;
  /** The team key generation it was sealed with (0 when never written). */
  teamKeyGen: number;
  /** The verified writer (null when never written). */
  writer: { uid: string; deviceId: string } | null;
}

/** An entry id for {@link KvClient.getMany}. */
export interface KvEntryRef {
  namespace: string;
  entryKey: string;
}

/** A listing page: `next` is the cursor to pass as `after` for the following page, or null. */
export interface KvPageResult<T> {
  items: T[];
  next: string | null;
}

const SERVER_CODES: Record<
  string,
  | 'CLIENT_KV_WRONG_REVISION'
  | 'CLIENT_KV_BAD_GENERATION'
  | 'CLIENT_KV_NOT_FOUND'
  | 'CLIENT_KV_NOT_A_MEMBER'
  | 'CLIENT_KV_READ_ONLY'
  | 'CLIENT_KV_TOO_LARGE'
> = {
  KV_WRONG_REVISION: 'CLIENT_KV_WRONG_REVISION',
  KV_BAD_GENERATION: 'CLIENT_KV_BAD_GENERATION',
  KV_NOT_FOUND: 'CLIENT_KV_NOT_FOUND',
  KV_NOT_A_MEMBER: 'CLIENT_KV_NOT_A_MEMBER',
  KV_READ_ONLY: 'CLIENT_KV_READ_ONLY',
  PAYLOAD_TOO_LARGE: 'CLIENT_KV_TOO_LARGE',
};

/** Maps the server's KV error codes to the client's (the message is the server's). */
function mapServerError(e: unknown): unknown {
  if (!isClientError(e, 'CLIENT_HTTP')) return e;
  const server = e.details.serverCode;
  const code = typeof server === 'string' ? SERVER_CODES[server] : undefined;
  if (code === undefined) return e;
  const message = e.message.replace(/^server error [A-Z_]+: /, '');
  return new ClientError(code, message, e.details, { cause: e });
}

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw mapServerError(e);
  }
}

const invalid = (reason: string, message: string, extra: Record<string, string | number> = {}) =>
  new ClientError('CLIENT_KV_INVALID_ENTRY', message, { reason, ...extra });

function checkTeamId(teamId: string): void {
  if (!/^[0-9a-f]{32}$/.test(teamId))
    throw new ClientError('CLIENT_INVALID_ARGUMENT', 'team id must be 32 lowercase hex', {
      field: 'teamId',
    });
}

function checkNames(namespace: string, entryKey?: string): void {
  for (const [field, v] of [
    ['namespace', namespace],
    ['entryKey', entryKey],
  ] as const) {
    if (v === undefined) continue;
    if (v === '') throw new ClientError('CLIENT_INVALID_ARGUMENT', `${field} is empty`, { field });
    // The server's rule (protocol `isStorableText`, issue #12.5), checked before anything is
    // sealed or sent: a NUL or a lone surrogate names nothing both backends can store.
    if (!isStorableText(v))
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `${field} ${UNSTORABLE_TEXT_MESSAGE}`, {
        field,
      });
    if (utf8Length(v) > KV_MAX_NAME_BYTES)
      throw new ClientError(
        'CLIENT_KV_TOO_LARGE',
        `${field} is longer than ${KV_MAX_NAME_BYTES} bytes`,
        {
          field,
        },
      );
  }
}

/** Parses the base64 box `{e, n, v}` (spec §2.4). */
function parseBox(ciphertext: string): { sealed: Uint8Array; nonce: Uint8Array } {
  let box: unknown;
  try {
    box = decodeMsgpack(fromBase64(ciphertext));
  } catch {
    throw invalid('box', 'kv ciphertext is not a base64 msgpack box');
  }
  const get = (k: string): unknown => (box instanceof Map ? box.get(k) : undefined);
  const v = get('v');
  if (v !== 1) throw invalid('box', `unsupported secret box version: ${String(v)}`);
  const sealed = get('e');
  const nonce = get('n');
  if (!(sealed instanceof Uint8Array) || !(nonce instanceof Uint8Array))
    throw invalid('box', 'kv box is malformed');
  if (nonce.length !== 16) throw invalid('box', "bad packet nonce; can't decrypt");
  return { sealed, nonce };
}

/**
 * The KV client. One instance per device identity; safe for concurrent use.
 *
 * Revisions follow Keybase: the first write is 1, each write must be the current revision + 1;
 * `put`/`del` without a revision read the entry first (so a concurrent writer makes the write
 * fail with `CLIENT_KV_WRONG_REVISION` instead of being lost).
 */
export class KvClient {
  readonly #o: KvClientOptions;
  readonly #maxValue: number;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  #cache: Promise<KvRollbackCache> | undefined;

  constructor(options: KvClientOptions) {
    this.#o = options;
    this.#maxValue = options.maxValueBytes ?? KV_DEFAULT_MAX_VALUE_BYTES;
  }

  /** The rollback cache, opened once (a failed open is tried again on the next call). */
  #rollback(): Promise<KvRollbackCache> {
    const { cache } = this.#o;
    if (typeof cache !== 'function') return Promise.resolve(cache);
    this.#cache ??= cache().catch((e: unknown) => {
      this.#cache = undefined;
      throw e;
    });
    return this.#cache;
  }

  /**
   * Opens the rollback cache now rather than on the first call (to fail early).
   *
   * @throws ClientError `CLIENT_STORE` when it cannot be read or is corrupt.
   */
  async ready(): Promise<void> {
    await this.#rollback();
  }

  /**
   * Reads and verifies the current value of an entry.
   *
   * @throws ClientError `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_KV_ECHO_MISMATCH`, `CLIENT_KV_ROLLBACK`,
   *   `CLIENT_KV_INVALID_ENTRY`, `CLIENT_KV_NO_TEAM_KEY`, `CLIENT_KV_TOO_LARGE` (names),
   *   `CLIENT_INVALID_ARGUMENT`, `CLIENT_STORE`, and the transport codes (`CLIENT_NETWORK`,
   *   `CLIENT_HTTP`, `CLIENT_BAD_RESPONSE`, `CLIENT_SIGNER`).
   */
  async get(teamId: string, namespace: string, entryKey: string): Promise<KvValue> {
    checkTeamId(teamId);
    checkNames(namespace, entryKey);
    const entry = await mapped(
      this.#o.api.call('kvGet', {
        params: { teamId },
        query: { namespace, entryKey },
      }),
    );
    return this.#verified({ teamId, namespace, entryKey }, entry);
  }

  /**
   * Reads and verifies several entries of one team in one request (at most 100), in order. If
   * any entry fails verification, the whole call fails and returns nothing.
   *
   * @throws ClientError as {@link KvClient.get}.
   */
  async getMany(teamId: string, refs: readonly KvEntryRef[]): Promise<KvValue[]> {
    checkTeamId(teamId);
    for (const r of refs) checkNames(r.namespace, r.entryKey);
    if (refs.length === 0) return [];
    const res = await mapped(
      this.#o.api.call('kvBatchGet', {
        params: { teamId },
        body: { items: refs.map((r) => ({ namespace: r.namespace, entryKey: r.entryKey })) },
      }),
    );
    if (res.teamId !== teamId || res.entries.length !== refs.length)
      throw new ClientError('CLIENT_KV_ECHO_MISMATCH', 'batch answer does not match the request');
    const out: KvValue[] = [];
    for (let i = 0; i < refs.length; i++)
      out.push(await this.#verified({ teamId, ...refs[i]! }, res.entries[i]!));
    return out;
  }

  /**
   * Seals and writes a value. Without `revision`, reads the entry first and writes its
   * revision + 1; with one, the write succeeds only if it is exactly current + 1 (1 = create
   * only).
   *
   * @returns the revision written.
   * @throws ClientError `CLIENT_KV_WRONG_REVISION` (cache or server), `CLIENT_KV_BAD_GENERATION`,
   *   `CLIENT_KV_READ_ONLY`, `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_KV_TOO_LARGE`,
   *   `CLIENT_KV_NO_TEAM_KEY`, `CLIENT_KV_ECHO_MISMATCH`, `CLIENT_INVALID_ARGUMENT`, the read
   *   codes of {@link KvClient.get} when reading first, and the transport codes.
   */
  async put(
    teamId: string,
    namespace: string,
    entryKey: string,
    value: string | Uint8Array,
    options: { revision?: number } = {},
  ): Promise<{ revision: number }> {
    checkTeamId(teamId);
    checkNames(namespace, entryKey);
    const bytes = typeof value === 'string' ? this.#encoder.encode(value) : value;
    if (bytes.length > this.#maxValue)
      throw new ClientError(
        'CLIENT_KV_TOO_LARGE',
        `kv value is larger than ${this.#maxValue} bytes`,
        {
          field: 'value',
        },
      );
    const revision = await this.#nextRevision(teamId, namespace, entryKey, options.revision);
    const key: KvCacheKey = { teamId, namespace, entryKey };
    const generation = await this.#latestGeneration(teamId);
    const { me } = this.#o;
    const res = await this.#o.keystore.sealKv({
      items: [
        {
          teamId,
          generation,
          signerKid: me.signingKid,
          plaintext: bytes,
          entry: {
            namespace,
            entryKey,
            revision,
            writerUid: me.uid,
            writerEldestSeqno: me.eldestSeqno ?? 1,
            writerDeviceId: me.deviceId,
          },
        },
      ],
    });
    const item = res.items[0];
    if (item === undefined || 'error' in item)
      throw new ClientError('CLIENT_SIGNER', 'the keystore did not seal the value', {
        keystoreCode: item && 'error' in item ? item.error.code : null,
      });
    const ciphertext = toBase64(
      encodeCanonicalMsgpack({ e: item.result.sealed, n: item.result.nonce, v: 1 }),
    );
    (await this.#rollback()).checkForUpdate(key, revision);
    const written = await mapped(
      this.#o.api.call('kvPut', {
        params: { teamId },
        body: {
          namespace,
          entryKey,
          revision,
          teamKeyGen: generation,
          ciphertextVersion: KV_CIPHERTEXT_VERSION,
          ciphertext,
        },
      }),
    );
    this.#checkWriteEcho(key, revision, written);
    await (await this.#rollback()).put(key, ciphertext, generation, revision);
    return { revision };
  }

  /**
   * Deletes an entry (a tombstone at the next revision). Without `revision`, reads first.
   *
   * @returns the tombstone's revision.
   * @throws ClientError `CLIENT_KV_NOT_FOUND` (never written or already deleted),
   *   `CLIENT_KV_WRONG_REVISION`, `CLIENT_KV_READ_ONLY`, `CLIENT_KV_NOT_A_MEMBER`,
   *   `CLIENT_KV_ECHO_MISMATCH`, the read codes when reading first, and the transport codes.
   */
  async del(
    teamId: string,
    namespace: string,
    entryKey: string,
    options: { revision?: number } = {},
  ): Promise<{ revision: number }> {
    checkTeamId(teamId);
    checkNames(namespace, entryKey);
    const revision = await this.#nextRevision(teamId, namespace, entryKey, options.revision);
    const key: KvCacheKey = { teamId, namespace, entryKey };
    (await this.#rollback()).checkForUpdate(key, revision);
    const written = await mapped(
      this.#o.api.call('kvDelete', {
        params: { teamId },
        query: { namespace, entryKey, revision: String(revision) },
      }),
    );
    this.#checkWriteEcho(key, revision, written);
    await (await this.#rollback()).markDeleted(key, revision);
    return { revision };
  }

  /**
   * One page of the namespaces with a live entry (`__` names left out; not verified — the
   * server knows names and revisions, spec §1.4).
   *
   * @throws ClientError `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_KV_ECHO_MISMATCH`, transport codes.
   */
  async listNamespaces(
    teamId: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<KvPageResult<string>> {
    checkTeamId(teamId);
    const res = await mapped(
      this.#o.api.call('kvNamespaces', {
        params: { teamId },
        query: pageQuery(page),
      }),
    );
    if (res.teamId !== teamId) throw echo('teamId');
    return { items: res.namespaces, next: res.next };
  }

  /**
   * One page of a namespace's live entry keys with their revisions (`__` names left out; not
   * verified).
   *
   * @throws ClientError `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_KV_ECHO_MISMATCH`, transport codes.
   */
  async listEntryKeys(
    teamId: string,
    namespace: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<KvPageResult<{ entryKey: string; revision: number }>> {
    checkTeamId(teamId);
    checkNames(namespace);
    const res = await mapped(
      this.#o.api.call('kvKeys', {
        params: { teamId },
        query: { namespace, ...pageQuery(page) },
      }),
    );
    if (res.teamId !== teamId) throw echo('teamId');
    if (res.namespace !== namespace) throw echo('namespace');
    return { items: res.entryKeys, next: res.next };
  }

  /** Every page of {@link KvClient.listNamespaces}. */
  async listAllNamespaces(teamId: string): Promise<string[]> {
    const out: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await this.listNamespaces(teamId, after === undefined ? {} : { after });
      out.push(...p.items);
      if (p.next === null) return out;
      after = p.next;
    }
  }

  /** Every page of {@link KvClient.listEntryKeys}. */
  async listAllEntryKeys(
    teamId: string,
    namespace: string,
  ): Promise<{ entryKey: string; revision: number }[]> {
    const out: { entryKey: string; revision: number }[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await this.listEntryKeys(teamId, namespace, after === undefined ? {} : { after });
      out.push(...p.items);
      if (p.next === null) return out;
      after = p.next;
    }
  }

  /**
   * Change notifications for a team (optionally one namespace), by long poll: yields each change
   * (entry and its revision now) after the moment `watch` starts, until `signal` aborts. A
   * notification says only that an entry changed; read it with {@link KvClient.get} to verify.
   *
   * @throws ClientError `CLIENT_KV_NOT_A_MEMBER`, `CLIENT_KV_ECHO_MISMATCH`, transport codes
   *   (after the client's retries).
   */
  async *watch(
    teamId: string,
    options: { namespace?: string; signal?: AbortSignal; waitMs?: number; since?: number } = {},
  ): AsyncGenerator<KvChange & { cursor: number }> {
    checkTeamId(teamId);
    if (options.namespace !== undefined) checkNames(options.namespace);
    const poll = async (query: Record<string, string>) => {
      const res = await mapped(
        this.#o.api.call('kvChanges', {
          params: { teamId },
          query: {
            ...query,
            ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
          },
        }),
      );
      if (res.teamId !== teamId) throw echo('teamId');
      if (
        options.namespace !== undefined &&
        res.changes.some((c) => c.namespace !== options.namespace)
      )
        throw echo('namespace');
      return res;
    };
    const aborted = () => options.signal?.aborted === true;
    let cursor = options.since ?? (await poll({})).cursor;
    const waitMs = String(options.waitMs ?? 20_000);
    while (!aborted()) {
      const res = await poll({ since: String(cursor), waitMs });
      if (aborted()) return;
      for (const c of res.changes) yield { ...c, cursor: res.cursor };
      cursor = Math.max(cursor, res.cursor);
    }
  }

  async #nextRevision(
    teamId: string,
    namespace: string,
    entryKey: string,
    revision: number | undefined,
  ): Promise<number> {
    if (revision === undefined) return (await this.get(teamId, namespace, entryKey)).revision + 1;
    if (!Number.isSafeInteger(revision) || revision < 1)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'revision must be a positive integer');
    return revision;
  }

  async #latestGeneration(teamId: string): Promise<number> {
    await this.#o.refreshTeamKeys?.(teamId);
    const bundle = await this.#o.keystore.getPublicKeyBundle();
    let best = 0;
    for (const t of bundle.teams)
      if (t.teamId === teamId && t.generation > best) best = t.generation;
    if (best === 0)
      throw new ClientError('CLIENT_KV_NO_TEAM_KEY', 'no key of this team is held', { teamId });
    return best;
  }

  #checkWriteEcho(
    key: KvCacheKey,
    revision: number,
    res: { teamId: string; namespace: string; entryKey: string; revision: number },
  ): void {
    if (res.teamId !== key.teamId) throw echo('teamId');
    if (res.namespace !== key.namespace) throw echo('namespace');
    if (res.entryKey !== key.entryKey) throw echo('entryKey');
    if (res.revision !== revision)
      throw new ClientError(
        'CLIENT_KV_ECHO_MISMATCH',
        `kvstore write revision error. expected ${revision}, got ${res.revision}`,
        { field: 'revision' },
      );
  }

  /** Spec §2.5: echo checks, rollback cache, then the crypto; cache `put` last. */
  async #verified(key: KvCacheKey, e: KvEntry): Promise<KvValue> {
    if (e.teamId !== key.teamId) throw echo('teamId');
    if (e.namespace !== key.namespace) throw echo('namespace');
    if (e.entryKey !== key.entryKey) throw echo('entryKey');
    const cache = await this.#rollback();
    cache.check(key, e.ciphertext, e.teamKeyGen, e.revision);
    let bytes: Uint8Array | null = null;
    let writer: KvValue['writer'] = null;
    if (e.ciphertext !== null && e.ciphertext !== '') {
      if (e.formatVersion !== KV_CIPHERTEXT_VERSION)
        throw invalid('format', `unsupported format version ${e.formatVersion} isn't 1`);
      if (e.writer === null || e.revision < 1 || e.teamKeyGen < 1)
        throw invalid('format', 'a kv value without a writer, revision or generation');
      const { sealed, nonce } = parseBox(e.ciphertext);
      const signerPublicKey = await this.#o.writerKey({
        uid: e.writer.uid,
        deviceId: e.writer.deviceId,
        teamId: key.teamId,
        teamKeyGen: e.teamKeyGen,
      });
      if (signerPublicKey === null)
        throw invalid(
          'writer',
          "the writer was not a writer of the team at that key generation, or the writer's device is not in the writer's verified chain",
        );
      bytes = await this.#open(key, e, signerPublicKey, nonce, sealed);
      writer = { uid: e.writer.uid, deviceId: e.writer.deviceId };
    } else if (e.revision === 0 && e.teamKeyGen !== 0) {
      throw invalid('format', 'a never-written entry with a team key generation');
    }
    await cache.put(key, e.ciphertext, e.teamKeyGen, e.revision);
    return {
      teamId: key.teamId,
      namespace: key.namespace,
      entryKey: key.entryKey,
      revision: e.revision,
      value: bytes === null ? null : this.#decoder.decode(bytes),
      bytes,
      teamKeyGen: e.teamKeyGen,
      writer,
    };
  }

  async #open(
    key: KvCacheKey,
    e: KvEntry,
    signerPublicKey: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
  ): Promise<Uint8Array> {
    const request = {
      items: [
        {
          teamId: key.teamId,
          generation: e.teamKeyGen,
          signerPublicKey,
          nonce,
          sealed,
          // The metadata the READER expects: its own team and names, the claimed revision and
          // writer. A value moved anywhere else fails here (spec §2.5).
          entry: {
            namespace: key.namespace,
            entryKey: key.entryKey,
            revision: e.revision,
            writerUid: e.writer!.uid,
            writerEldestSeqno: e.writer!.eldestSeqno,
            writerDeviceId: e.writer!.deviceId,
          },
        },
      ],
    };
    let item = (await this.#o.keystore.openKv(request)).items[0];
    if (
      item !== undefined &&
      'error' in item &&
      item.error.code === 'KEYSTORE_UNKNOWN_KEY' &&
      this.#o.refreshTeamKeys
    ) {
      await this.#o.refreshTeamKeys(key.teamId);
      item = (await this.#o.keystore.openKv(request)).items[0];
    }
    if (item === undefined) throw invalid('open', 'the keystore gave no answer');
    if ('error' in item) {
      const code = item.error.code;
      if (code === 'KEYSTORE_UNKNOWN_KEY')
        throw new ClientError(
          'CLIENT_KV_NO_TEAM_KEY',
          'the team key generation of this entry is not held',
          {
            teamId: key.teamId,
            generation: e.teamKeyGen,
          },
        );
      if (code === 'KEYSTORE_KV_METADATA_MISMATCH')
        throw invalid('metadata', 'fingerprint of associated data did not match', {
          keystoreCode: code,
        });
      throw invalid('open', 'kv value does not open or verify', { keystoreCode: code });
    }
    return item.result.plaintext;
  }
}

function echo(field: string): ClientError {
  return new ClientError('CLIENT_KV_ECHO_MISMATCH', `the server answered for another ${field}`, {
    field,
  });
}

function pageQuery(page: { after?: string; limit?: number }): Record<string, string> {
  if (page.after !== undefined && !isStorableText(page.after))
    throw new ClientError('CLIENT_INVALID_ARGUMENT', `after ${UNSTORABLE_TEXT_MESSAGE}`, {
      field: 'after',
    });
  return {
    ...(page.after === undefined ? {} : { after: page.after }),
    ...(page.limit === undefined ? {} : { limit: String(page.limit) }),
  };
}

/**
 * A {@link KvWriterKeyLookup} over a {@link UserLoader}: loads the writer's chain verified
 * (pinned, cached), checks it is the writer's UID, and returns the Ed25519 key the verified
 * chain delegated to the named device — also when that device was revoked since, as Keybase
 * reads values by (uid, device_id) (specs/keybase-kvstore.md §2.1, §2.5): revoking a lost
 * laptop must not strand what it wrote (#14.6). The value must still open with the team key
 * and carry that key's signature over its metadata. What this cannot rule out: a stolen
 * device colluding with the server to present new values under team keys it held (KV writes
 * are not in the signed log). Rotating the team key after revoking a lost device keeps it
 * from reading new values; the rollback cache still refuses any value older than one seen.
 *
 * @param usernameOf - the username of a UID that wrote to `teamId` under `teamKeyGen`, null when
 *   unknown or not a writer then. Take it from the team's verified chain — everyone who ever
 *   held a role, not only the current members (`teamWriterAt`): a writer removed since must
 *   still name their values, or removing a member strands what they wrote.
 */
export function verifiedWriterKeys(
  loader: UserLoader,
  usernameOf: (
    uid: string,
    entry: { teamId: string; teamKeyGen: number },
  ) => string | null | Promise<string | null>,
): KvWriterKeyLookup {
  return async ({ uid, deviceId, teamId, teamKeyGen }) => {
    const username = await usernameOf(uid, { teamId, teamKeyGen });
    if (username === null) return null;
    let user = await loader.load(username);
    if (user.uid !== uid) return null;
    // The cached chain may predate the writer's device (added on another machine since).
    if (!user.keys.some((k) => k.deviceId === deviceId))
      user = await loader.load(username, { refresh: true });
    // A device revoked since it wrote still names its writes (Keybase reads by device too).
    const key = user.keys.find((k) => k.deviceId === deviceId && k.role === 'sibkey');
    return key === undefined ? null : kidPublicKey(key.kid);
  };
}
