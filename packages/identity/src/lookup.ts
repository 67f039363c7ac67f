/**
 * Keybase's `GET /_/api/1.0/user/lookup.json` response (spec §1.2–§1.3): a zod schema that reads
 * replies from saltbox or keybase.io, and builders the server uses to answer in that shape.
 *
 * Unknown fields pass through (keybase.io sends more than saltbox reads). Only what the reference
 * client reads is required: `id`, `basics.username`, `basics.status`, `public_keys.all_bundles`.
 * `per_user_keys` is saltbox's extension (spec §1.3). A lookup is a convenience: clients trust
 * only verified chains.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import type { PerUserKeyInfo } from './user-chain.js';

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const kid = hex(70);

/** The API status object. */
export const lookupStatusSchema = z.looseObject({
  code: z.number().int(),
  name: z.string(),
  desc: z.string().optional(),
  fields: z.record(z.string(), z.unknown()).optional(),
});

/** saltbox's `per_user_keys` extension entry. */
export const lookupPerUserKeySchema = z.object({
  generation: z.number().int().min(1),
  seqno: z.number().int().min(1),
  signing_kid: kid,
  encryption_kid: kid,
});

/** One user object of `them`. */
export const lookupUserSchema = z.looseObject({
  id: hex(32),
  basics: z.looseObject({
    username: z.string(),
    username_cased: z.string().optional(),
    status: z.number().int(),
    ctime: z.number().int().optional(),
    mtime: z.number().int().optional(),
    id_version: z.number().int().optional(),
    track_version: z.number().int().optional(),
    last_id_change: z.number().int().optional(),
    eldest_seqno: z.number().int().optional(),
    passphrase_generation: z.number().int().optional(),
    salt: z.string().optional(),
  }),
  public_keys: z.looseObject({
    all_bundles: z.array(z.string()),
    sibkeys: z.array(z.string()).optional(),
    subkeys: z.array(z.string()).optional(),
    families: z.record(z.string(), z.array(z.string())).optional(),
    eldest_kid: z.string().optional(),
    eldest_key_fingerprint: z.string().optional(),
    pgp_public_keys: z.array(z.string()).optional(),
    primary: z.looseObject({ kid: z.string() }).optional(),
  }),
  sigs: z
    .looseObject({
      last: z
        .looseObject({ sig_id: z.string(), seqno: z.number().int(), payload_hash: z.string() })
        .optional(),
    })
    .optional(),
  per_user_keys: z.array(lookupPerUserKeySchema).optional(),
});

/** A reply to `usernames=` (array with null for unknown names) or `uid=` (a single object). */
export const lookupResponseSchema = z.looseObject({
  status: lookupStatusSchema,
  them: z.union([z.array(lookupUserSchema.nullable()), lookupUserSchema]).optional(),
  csrf_token: z.string().optional(),
});

/** A parsed user object. */
export type LookupUser = z.infer<typeof lookupUserSchema>;
/** A parsed response. */
export type LookupResponse = z.infer<typeof lookupResponseSchema>;

/** What the server knows about a user, to answer a lookup. */
export interface LookupUserInput {
  uid: string;
  username: string;
  /** 0 live, 216 deleted. */
  status?: number;
  /** Every KID ever delegated (NaCl as KID hex, PGP as armored bundles), revoked included. */
  allBundles: readonly string[];
  sibkeys?: readonly string[];
  subkeys?: readonly string[];
  eldestKid?: string;
  ctime?: number;
  lastSig?: { sigId: string; seqno: number; linkId: string };
  perUserKeys?: readonly PerUserKeyInfo[];
  /** Armored PGP public keys of the user's live PGP sibkeys (`public_keys.pgp_public_keys`). */
  pgpPublicKeys?: readonly string[];
}

/** Builds one user object of `them`. */
export function buildLookupUser(u: LookupUserInput): LookupUser {
  return {
    id: u.uid,
    basics: {
      username: u.username,
      status: u.status ?? 0,
      ...(u.ctime === undefined ? {} : { ctime: u.ctime, mtime: u.ctime }),
    },
    public_keys: {
      all_bundles: [...u.allBundles],
      ...(u.sibkeys ? { sibkeys: [...u.sibkeys] } : {}),
      ...(u.subkeys ? { subkeys: [...u.subkeys] } : {}),
      ...(u.eldestKid ? { eldest_kid: u.eldestKid } : {}),
      ...(u.pgpPublicKeys ? { pgp_public_keys: [...u.pgpPublicKeys] } : {}),
    },
    ...(u.lastSig
      ? {
          sigs: {
            last: {
              sig_id: u.lastSig.sigId,
              seqno: u.lastSig.seqno,
              payload_hash: u.lastSig.linkId,
            },
          },
        }
      : {}),
    ...(u.perUserKeys
      ? {
          per_user_keys: u.perUserKeys.map((p) => ({
            generation: p.generation,
            seqno: p.seqno,
            signing_kid: p.signingKid,
            encryption_kid: p.encryptionKid,
          })),
        }
      : {}),
  };
}

/** Builds a `usernames=` reply: one entry per requested name, null where not found. */
export function buildLookupResponse(users: readonly (LookupUserInput | null)[]): LookupResponse {
  return {
    status: { code: 0, name: 'OK' },
    them: users.map((u) => (u === null ? null : buildLookupUser(u))),
  };
}
