/**
 * zod schemas of every `/api/v1` request and response. The inferred types are the TypeScript
 * types of the wire, so the server's handlers and the client's calls cannot drift apart.
 *
 * Requests are strict (unknown fields are refused: a typo must not be silently ignored);
 * responses are parsed loosely by clients (a newer server may add fields).
 *
 * @packageDocumentation
 */
import { z } from 'zod';

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `expected ${n} hex`);

/** A NUL, or a lone surrogate (with the `u` flag a paired surrogate is one code point, not Cs). */
const UNSTORABLE = /[\0\p{Cs}]/u;

/**
 * True when `s` can be stored and read back exactly on every backend, so names compare the
 * same on SQLite and PostgreSQL (issue #12.5): well-formed UTF-16 (a lone surrogate has no
 * UTF-8 form: SQLite kept an entry no one could name again, PostgreSQL turned it into U+FFFD and
 * let two names collide) and no NUL (PostgreSQL text cannot hold one).
 */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/** What a name that fails {@link isStorableText} is told. */
export const UNSTORABLE_TEXT_MESSAGE = 'must be valid unicode text without nul characters';

/**
 * A name from a path, query or body (namespace, entry key, username, team reference, listing
 * cursor): text that {@link isStorableText}. Every such name goes through this, so every route
 * refuses the same strings with `VALIDATION_FAILED` (400) on both backends.
 */
export const storableTextSchema = z.string().refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/** A KID: 35 bytes as 70 lowercase hex (spec keybase-identity §2.1). */
export const kidSchema = hex(70);
/** A UID: 16 bytes as 32 lowercase hex. */
export const uidSchema = hex(32);
/** A device ID: 16 bytes as 32 lowercase hex. */
export const deviceIdSchema = hex(32);
/** A link ID: SHA-256 as 64 hex. */
export const linkIdSchema = hex(64);
/** A sig ID: 66 hex (SHA-256 and a one-byte suffix). */
export const sigIdSchema = hex(66);

/**
 * A username as sent by a client. The rule itself (Keybase's: 2–16 of `a-z0-9_`, no leading or
 * double underscore) is checked by the server with `@saltbox/identity`'s `isValidUsername` so
 * the error code is `INVALID_USERNAME`, not a generic validation failure.
 */
export const usernameSchema = storableTextSchema.min(1).max(64);

/** A sigchain link in the simple `sig/get` form (spec keybase-identity §3.9). */
export const chainLinkSchema = z.object({
  seqno: z.number().int().min(1),
  prev: linkIdSchema.nullable(),
  sig: z.string().min(1).max(16384),
  payload_json: z.string().min(2).max(65536),
  kid: kidSchema,
  sig_version: z.union([z.literal(1), z.literal(2)]),
  sig_id: sigIdSchema.optional(),
  payload_hash: linkIdSchema.optional(),
  ctime: z.number().int().optional(),
});
/** A sigchain link. */
export type ChainLink = z.infer<typeof chainLinkSchema>;

/**
 * A per-user-key seed boxed to one device encryption key: a base64 tag-515 encryption packet
 * (spec keybase-identity §4.2) that names its sender KID and nonce itself.
 */
export const pukBoxSchema = z.object({
  generation: z.number().int().min(1),
  /** The Curve25519 device subkey (or paper key) the seed is boxed to. */
  receiverKid: kidSchema,
  /** Base64 of the tag-515 packet. */
  box: z.string().min(1).max(4096),
});
/** A PUK box. */
export type PukBox = z.infer<typeof pukBoxSchema>;

/** `POST /api/v1/users`: register a user with their first device. */
export const signupRequestSchema = z.strictObject({
  username: usernameSchema,
  /** Exactly the `eldest` link (seqno 1), the device `subkey` link (2) and PUK generation 1 (3). */
  links: z.array(chainLinkSchema).length(3),
  /** The PUK generation-1 seed boxed to the device's encryption subkey (and any paper key). */
  pukBoxes: z.array(pukBoxSchema).max(16).default([]),
  /** An invite code from the server's operator, when the server signs up by invitation. */
  invite: z.string().min(1).max(128).optional(),
});
/** Sign-up request body. */
export type SignupRequest = z.input<typeof signupRequestSchema>;

/** Reply to a sign-up or an append: the new chain tail. */
export const chainTailSchema = z.object({
  uid: uidSchema,
  username: z.string(),
  seqno: z.number().int(),
  linkId: linkIdSchema,
});
/** The new chain tail. */
export type ChainTail = z.infer<typeof chainTailSchema>;

/**
 * An armored PGP public key, as a user's `all_bundles` lists it (spec keybase-identity §1.3).
 * Its trimmed SHA-256 is the `full_hash` a link names.
 */
export const pgpBundleSchema = z.string().min(1).max(65536);

/** `POST /api/v1/users/:username/chain`: append links (and, with a PUK rotation, its boxes). */
export const appendLinksRequestSchema = z.strictObject({
  links: z.array(chainLinkSchema).min(1).max(32),
  pukBoxes: z.array(pukBoxSchema).max(64).default([]),
  /**
   * The armored public keys that `sibkey` links among `links` delegate (a PGP KID names a key
   * only by hash; the verifier needs the key). Each must be named by a link's `full_hash`.
   */
  pgpBundles: z.array(pgpBundleSchema).max(4).default([]),
});
/** Append request body. */
export type AppendLinksRequest = z.input<typeof appendLinksRequestSchema>;

/** `GET /api/v1/users/:username/chain?since=N` query: links with seqno greater than `since`. */
export const chainQuerySchema = z.strictObject({
  since: z.coerce.number().int().min(0).default(0),
});

/** Reply to a chain fetch. */
export const chainResponseSchema = z.object({
  uid: uidSchema,
  username: z.string(),
  links: z.array(chainLinkSchema),
  /**
   * Armored PGP public keys the chain delegates (every stored version), for the verifier's key
   * family; absent when there are none. Clients trust a bundle only through a verified link
   * naming its KID and full hash.
   */
  pgpBundles: z.array(z.string()).optional(),
});
/** A chain fetch reply. */
export type ChainResponse = z.infer<typeof chainResponseSchema>;

/** `PUT /api/v1/users/:username/puk-boxes`. */
export const putPukBoxesRequestSchema = z.strictObject({
  boxes: z.array(pukBoxSchema).min(1).max(64),
});
/** PUK box upload body. */
export type PutPukBoxesRequest = z.infer<typeof putPukBoxesRequestSchema>;

/** `GET /api/v1/me/puk-boxes?generation=g` query (all generations when absent). */
export const pukBoxesQuerySchema = z.strictObject({
  generation: z.coerce.number().int().min(1).optional(),
});

/** Reply to a PUK box fetch: the boxes addressed to the calling device's keys. */
export const pukBoxesResponseSchema = z.object({ boxes: z.array(pukBoxSchema) });
/** A PUK box fetch reply. */
export type PukBoxesResponse = z.infer<typeof pukBoxesResponseSchema>;

/** `GET /api/v1/me`: who the signing key belongs to. */
export const whoamiResponseSchema = z.object({
  uid: uidSchema,
  username: z.string(),
  deviceId: deviceIdSchema.nullable(),
  kid: kidSchema,
});
/** A whoami reply. */
export type WhoamiResponse = z.infer<typeof whoamiResponseSchema>;

/**
 * `GET /api/v1/keys/:kid`: the user whose chain delegated a device or paper key (what a
 * Saltpack sender or signer key is). A claim only: clients believe it once the named user's
 * chain, verified by them, contains the key.
 */
export const keyOwnerResponseSchema = z.object({
  kid: kidSchema,
  uid: uidSchema,
  username: z.string(),
});
/** A key-owner reply. */
export type KeyOwnerResponse = z.infer<typeof keyOwnerResponseSchema>;

/** A device as the server's projection of the verified chain describes it. */
export const deviceSchema = z.object({
  id: deviceIdSchema,
  name: z.string().nullable(),
  type: z.string().nullable(),
  status: z.enum(['active', 'revoked']),
});

/** A key as the server's projection of the verified chain describes it. */
export const keySchema = z.object({
  kid: kidSchema,
  role: z.enum(['sibkey', 'subkey']),
  status: z.enum(['live', 'revoked']),
  deviceId: deviceIdSchema.nullable(),
});

/** A per-user key generation (public KIDs only). */
export const perUserKeySchema = z.object({
  generation: z.number().int().min(1),
  seqno: z.number().int().min(1),
  signingKid: kidSchema,
  encryptionKid: kidSchema,
});

/**
 * A user in a saltbox lookup. A convenience only: clients verify the chain before trusting any
 * key (DESIGN.md, Identity).
 */
export const lookupUserSummarySchema = z.object({
  uid: uidSchema,
  username: z.string(),
  eldestKid: kidSchema,
  tail: z.object({ seqno: z.number().int(), linkId: linkIdSchema }),
  keys: z.array(keySchema),
  devices: z.array(deviceSchema),
  perUserKeys: z.array(perUserKeySchema),
});
/** A user in a saltbox lookup. */
export type LookupUserSummary = z.infer<typeof lookupUserSummarySchema>;

/** `GET /api/v1/users/lookup?usernames=a,b` query. */
export const usersLookupQuerySchema = z.strictObject({
  usernames: storableTextSchema.min(1).max(4096),
});

/** Reply to a saltbox lookup: one entry per requested name, null when unknown. */
export const usersLookupResponseSchema = z.object({
  users: z.array(lookupUserSummarySchema.nullable()),
});
/** A saltbox lookup reply. */
export type UsersLookupResponse = z.infer<typeof usersLookupResponseSchema>;

/** Most usernames one lookup may ask for. */
export const MAX_LOOKUP_USERNAMES = 100;

/** `GET /healthz` reply. */
export const healthResponseSchema = z.object({ status: z.literal('ok') });

/** The error body of every failed response. */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
