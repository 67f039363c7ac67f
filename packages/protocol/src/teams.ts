/**
 * Wire schemas of the team routes (DESIGN.md, Teams; spec keybase-identity §6). Team links are
 * Keybase's v2 team links in the simple `sig/get` form; a post that introduces or hands out a
 * per-team-key generation carries Keybase's `per_team_key` section of `sig/multi` (camelCase
 * here, like the rest of saltbox's API): the sender's device encryption KID, the 20-byte nonce
 * prefix, the `prev` secretbox on a rotation, and one box per member as Keybase's base64
 * msgpack `[1, per_user_key_seqno, nonce_counter, ctext]`.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import {
  chainLinkSchema,
  kidSchema,
  linkIdSchema,
  storableTextSchema,
  uidSchema,
} from './schemas.js';

/** A team ID: 16 bytes as 32 lowercase hex (suffix 24/2e root, 25/2f subteam). */
export const teamIdSchema = z.string().regex(/^[0-9a-f]{30}(?:24|2e|25|2f)$/, 'not a team id');

/**
 * A team reference in a path (`/teams/:team/…`): a team ID or a team name, as text both
 * backends store as given (issue #12.5); an unknown or unreadable one is `TEAM_NOT_FOUND`.
 */
export const teamRefSchema = storableTextSchema.min(1).max(1024);

/** The roles a member can hold (`none` removes, in links only). */
export const teamRoleSchema = z.enum(['owner', 'admin', 'writer', 'reader']);
/** A member's role. */
export type TeamRoleName = z.infer<typeof teamRoleSchema>;

const base64 = (maxChars: number) =>
  z
    .string()
    .min(1)
    .max(maxChars)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');

/**
 * The `per_team_key` section of a team post (Keybase's `sig/multi`, spec §6.2): the seed of
 * `generation` boxed by the posting device to each member's current PUK.
 */
export const perTeamKeyPostSchema = z.strictObject({
  generation: z.number().int().min(1),
  /** The posting device's Curve25519 KID: the sender of every box. */
  encryptingKid: kidSchema,
  /** Base64 of the 20-byte nonce prefix; member boxes use counters 1, 2, 3… (0 is `prev`'s). */
  noncePrefix: base64(28),
  /** On a rotation: seed g−1 secretboxed under seed g (`[1, nonce, sealed]`, base64 msgpack). */
  prev: base64(1024).optional(),
  /** UID → base64 msgpack `[1, per_user_key_seqno, nonce_counter, ctext]`. */
  boxes: z.record(uidSchema, base64(256)),
});
/** A `per_team_key` post section. */
export type PerTeamKeyPost = z.infer<typeof perTeamKeyPostSchema>;

/**
 * `POST /api/v1/teams`: create a root team, an implicit team, or a subteam. A subteam's
 * `team.subteam_head` comes with the parent's `team.new_subteam` link (`parentLinks`), so the
 * server checks both before storing either.
 */
export const createTeamRequestSchema = z.strictObject({
  /** Exactly one link: `team.root` (seqno 1) or `team.subteam_head`. */
  links: z.array(chainLinkSchema).length(1),
  /** Generation 1, boxed to every member named by the first link. */
  perTeamKey: perTeamKeyPostSchema,
  /** For a subteam: the parent's `team.new_subteam` link, appended to the parent first. */
  parentLinks: z.array(chainLinkSchema).length(1).optional(),
});
/** Team creation body. */
export type CreateTeamRequest = z.input<typeof createTeamRequestSchema>;

/** Reply to a team creation or append: the new tail. */
export const teamTailSchema = z.object({
  teamId: teamIdSchema,
  name: z.string(),
  seqno: z.number().int(),
  linkId: linkIdSchema,
});
/** A team chain tail. */
export type TeamTail = z.infer<typeof teamTailSchema>;

/**
 * Reply to `DELETE /api/v1/teams/:team`: the team is gone (chain, members, keys, KV entries);
 * its name and ID stay reserved, so a later team of that name is never taken for this one.
 */
export const teamDeletedSchema = z.object({
  teamId: teamIdSchema,
  name: z.string(),
  /** How many KV entries (tombstones included) were erased with the team. */
  kvEntriesDeleted: z.number().int().nonnegative(),
});
/** A team deletion reply. */
export type TeamDeleted = z.infer<typeof teamDeletedSchema>;

/**
 * `POST /api/v1/teams/:team/chain`: append `team.change_membership` / `team.rotate_key` links.
 * A new per-team-key generation (required whenever a member is removed) or a new member needs
 * `perTeamKey`.
 */
export const appendTeamLinksRequestSchema = z.strictObject({
  links: z.array(chainLinkSchema).min(1).max(32),
  perTeamKey: perTeamKeyPostSchema.optional(),
});
/** Team append body. */
export type AppendTeamLinksRequest = z.input<typeof appendTeamLinksRequestSchema>;

/** `GET /api/v1/teams/:team/chain?since=N` query. */
export const teamChainQuerySchema = z.strictObject({
  since: z.coerce.number().int().min(0).default(0),
});

/** Reply to a team chain fetch (members, ancestors' members and parent admins only). */
export const teamChainResponseSchema = z.object({
  teamId: teamIdSchema,
  name: z.string(),
  parentId: teamIdSchema.nullable(),
  implicit: z.boolean(),
  links: z.array(chainLinkSchema),
  /**
   * UID → username for every user the whole chain names (signers and members), so a client can
   * load their user chains; it checks each against `SHA-256(username)` itself.
   */
  usernames: z.record(uidSchema, z.string()),
});
/** A team chain reply. */
export type TeamChainResponse = z.infer<typeof teamChainResponseSchema>;

/** A member's seed box as the server returns it (Keybase's `team/get` `box`, spec §6.2). */
export const teamKeyBoxSchema = z.object({
  generation: z.number().int().min(1),
  /** Base64 of the full 24-byte nonce. */
  nonce: z.string(),
  /** The sender's Curve25519 KID (the posting device's encryption key). */
  senderKid: kidSchema,
  /** Base64 of the 48-byte ciphertext. */
  ctext: z.string(),
  /** Seqno of the member's `per_user_key` link whose key opens the box. */
  perUserKeySeqno: z.number().int().min(1),
});
/** A member's team key box. */
export type TeamKeyBoxWire = z.infer<typeof teamKeyBoxSchema>;

/** `GET /api/v1/teams/:team/key-boxes?generation=g` query. */
export const teamKeyBoxesQuerySchema = z.strictObject({
  generation: z.coerce.number().int().min(1).optional(),
});

/** Reply: the caller's boxes (by generation) and every `prev` (entry g holds seed g−1). */
export const teamKeyBoxesResponseSchema = z.object({
  teamId: teamIdSchema,
  boxes: z.array(teamKeyBoxSchema),
  prevs: z.array(z.object({ generation: z.number().int().min(2), prev: z.string() })),
});
/** A team key box reply. */
export type TeamKeyBoxesResponse = z.infer<typeof teamKeyBoxesResponseSchema>;

/** `GET /api/v1/teams?implicit=true` query: implicit teams are listed only when asked. */
export const teamListQuerySchema = z.strictObject({
  implicit: z.enum(['true', 'false']).default('false'),
});

/** One team of the caller. */
export const teamSummarySchema = z.object({
  teamId: teamIdSchema,
  name: z.string(),
  parentId: teamIdSchema.nullable(),
  implicit: z.boolean(),
  role: teamRoleSchema,
});
/** Reply to a team list: the caller's teams by name (the server's projection, unverified). */
export const teamListResponseSchema = z.object({ teams: z.array(teamSummarySchema) });
/** A team list reply. */
export type TeamListResponse = z.infer<typeof teamListResponseSchema>;
