/**
 * The encrypted key-value store's wire contract (specs/keybase-kvstore.md §1.7, adapted to
 * saltbox's camelCase JSON): entry get/put/del, batch get, paginated listings and change
 * notifications, plus the size limits both sides enforce.
 *
 * Namespaces and entry keys are cleartext to the server; `ciphertext` is the base64 of the
 * msgpack box `{e, n, v}` (spec §2.4) that only team members can open.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { deviceIdSchema, storableTextSchema, uidSchema } from './schemas.js';

/** Longest namespace or entry key, in UTF-8 bytes. */
export const KV_MAX_NAME_BYTES = 255;
/** Default largest value (plaintext bytes); servers and clients may be configured otherwise. */
export const KV_DEFAULT_MAX_VALUE_BYTES = 1 << 20;
/** The only ciphertext format version (spec §2.4). */
export const KV_CIPHERTEXT_VERSION = 1;
/** Most entries one batch get may ask for. */
export const KV_MAX_BATCH = 100;
/** Most names one listing page returns. */
export const KV_MAX_PAGE = 1000;
/** Longest a change long-poll may wait, in milliseconds. */
export const KV_MAX_WAIT_MS = 25_000;

/**
 * The longest base64 ciphertext a value of `maxValueBytes` can seal to: the msgpack wrapper
 * (≤ 80 bytes around the value), 80 bytes per 1 MiB chunk (plus the final short one), and the
 * box map (≤ 32 bytes around the sealed bytes), then base64's 4/3.
 */
export function kvMaxCiphertextChars(maxValueBytes: number): number {
  const chunks = Math.floor((maxValueBytes + 80) / (1 << 20)) + 1;
  const sealed = maxValueBytes + 80 + 80 * chunks;
  return 4 * Math.ceil((sealed + 32) / 3);
}

const utf8 = new TextEncoder();

/** UTF-8 length of a string. */
export function utf8Length(s: string): number {
  return utf8.encode(s).length;
}

/** A team ID: 16 bytes as 32 lowercase hex. */
export const kvTeamIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex');

/**
 * A namespace or entry key: non-empty text without NUL or lone surrogates (`isStorableText`,
 * issue #12.5). The 255-byte limit is checked by the server so that it answers
 * `PAYLOAD_TOO_LARGE` (413), not a generic validation failure; the schema only caps the string
 * far above it.
 */
export const kvNameSchema = storableTextSchema.min(1).max(4096);

/**
 * Largest revision and team key generation: the storage's `integer` columns (32-bit on
 * PostgreSQL, where a larger number is a database error, not a coded refusal).
 */
export const KV_MAX_COUNTER = 2_147_483_647;

/** The writer of an entry, as the server recorded it from the authenticated device. */
export const kvWriterSchema = z.object({
  uid: uidSchema,
  eldestSeqno: z.number().int().min(1),
  deviceId: deviceIdSchema,
});
/** An entry's writer. */
export type KvWriter = z.infer<typeof kvWriterSchema>;

/**
 * One entry as the server stores it. A never-written entry is revision 0 with a null ciphertext,
 * generation 0 and no writer; a deleted one keeps its tombstone revision and generation.
 */
export const kvEntrySchema = z.object({
  teamId: kvTeamIdSchema,
  namespace: z.string(),
  entryKey: z.string(),
  revision: z.number().int().min(0),
  ciphertext: z.string().nullable(),
  formatVersion: z.number().int().min(0),
  teamKeyGen: z.number().int().min(0),
  writer: kvWriterSchema.nullable(),
});
/** A stored entry. */
export type KvEntry = z.infer<typeof kvEntrySchema>;

/** `GET …/kv/teams/:teamId/entry?namespace=&entryKey=`. */
export const kvGetQuerySchema = z.strictObject({
  namespace: kvNameSchema,
  entryKey: kvNameSchema,
});

/** `POST …/kv/teams/:teamId/entry`: write revision `current + 1` (1 for a new entry). */
export const kvPutRequestSchema = z.strictObject({
  namespace: kvNameSchema,
  entryKey: kvNameSchema,
  revision: z.number().int().min(1).max(KV_MAX_COUNTER),
  /** Must be the team's current generation; the server refuses any other (issue #12.2). */
  teamKeyGen: z.number().int().min(1).max(KV_MAX_COUNTER),
  ciphertextVersion: z.literal(KV_CIPHERTEXT_VERSION),
  ciphertext: z.string().min(1),
});
/** A put request body. */
export type KvPutRequest = z.infer<typeof kvPutRequestSchema>;

/** `DELETE …/kv/teams/:teamId/entry?namespace=&entryKey=&revision=`: a tombstone. */
export const kvDeleteQuerySchema = z.strictObject({
  namespace: kvNameSchema,
  entryKey: kvNameSchema,
  revision: z.coerce.number().int().min(1).max(KV_MAX_COUNTER),
});

/** Reply to a put or a delete: the entry id and the revision written. */
export const kvWriteResponseSchema = z.object({
  teamId: kvTeamIdSchema,
  namespace: z.string(),
  entryKey: z.string(),
  revision: z.number().int().min(1),
});
/** A write reply. */
export type KvWriteResponse = z.infer<typeof kvWriteResponseSchema>;

/** `POST …/kv/teams/:teamId/entries/batch`. */
export const kvBatchGetRequestSchema = z.strictObject({
  items: z
    .array(z.strictObject({ namespace: kvNameSchema, entryKey: kvNameSchema }))
    .min(1)
    .max(KV_MAX_BATCH),
});
/** A batch get request. */
export type KvBatchGetRequest = z.infer<typeof kvBatchGetRequestSchema>;

/** Reply to a batch get: one entry per item, in request order. */
export const kvBatchGetResponseSchema = z.object({
  teamId: kvTeamIdSchema,
  entries: z.array(kvEntrySchema),
});

const pageQuery = {
  /** Names strictly after this one (the previous page's `next`). */
  after: storableTextSchema.max(4096).optional(),
  limit: z.coerce.number().int().min(1).max(KV_MAX_PAGE).default(KV_MAX_PAGE),
};

/** `GET …/kv/teams/:teamId/namespaces`: namespaces with a live entry, `__` names left out. */
export const kvListNamespacesQuerySchema = z.strictObject(pageQuery);

/** Reply to a namespace listing; `next` is the cursor of the following page, or null. */
export const kvNamespacesResponseSchema = z.object({
  teamId: kvTeamIdSchema,
  namespaces: z.array(z.string()),
  next: z.string().nullable(),
});
/** A namespace listing page. */
export type KvNamespacesResponse = z.infer<typeof kvNamespacesResponseSchema>;

/** `GET …/kv/teams/:teamId/keys?namespace=`: live entry keys, `__` names left out. */
export const kvListKeysQuerySchema = z.strictObject({ namespace: kvNameSchema, ...pageQuery });

/** Reply to an entry-key listing. */
export const kvKeysResponseSchema = z.object({
  teamId: kvTeamIdSchema,
  namespace: z.string(),
  entryKeys: z.array(z.object({ entryKey: z.string(), revision: z.number().int().min(1) })),
  next: z.string().nullable(),
});
/** An entry-key listing page. */
export type KvKeysResponse = z.infer<typeof kvKeysResponseSchema>;

/**
 * `GET …/kv/teams/:teamId/changes?since=&namespace=&waitMs=`: a long poll. Without `since` the
 * answer is the current cursor and no changes; with it, the entries changed after that cursor
 * (the latest revision of each), waiting up to `waitMs` for one to happen.
 */
export const kvChangesQuerySchema = z.strictObject({
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  namespace: kvNameSchema.optional(),
  waitMs: z.coerce.number().int().min(0).max(KV_MAX_WAIT_MS).default(0),
  limit: z.coerce.number().int().min(1).max(KV_MAX_PAGE).default(KV_MAX_PAGE),
});

/** One change: the entry and the revision it is at now. */
export const kvChangeSchema = z.object({
  namespace: z.string(),
  entryKey: z.string(),
  revision: z.number().int().min(1),
  deleted: z.boolean(),
});
/** A change notification. */
export type KvChange = z.infer<typeof kvChangeSchema>;

/** Reply to a change poll: the changes and the cursor to poll from next. */
export const kvChangesResponseSchema = z.object({
  teamId: kvTeamIdSchema,
  changes: z.array(kvChangeSchema),
  cursor: z.number().int().min(0),
});
/** A change poll reply. */
export type KvChangesResponse = z.infer<typeof kvChangesResponseSchema>;
