/**
 * The signed log's wire contract (DESIGN.md "The signed log"): the latest or a given root, a
 * consistency proof between two roots, a map proof for one chain at a root, and the changes of
 * a range of roots for auditors. Every route is public and read-only: anyone may audit.
 *
 * Formats (payload, hashes, proofs) are `@saltbox/identity`'s merkle-map / merkle-log /
 * merkle-root; these schemas only fix the JSON shapes.
 *
 * @packageDocumentation
 */
import { z } from 'zod';

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} hex digits`);

/**
 * Most IDs one batch proof request names: a keeper resolving 100 recipients asks once; the
 * query stays under 4 KiB (100 × 33 characters).
 */
export const LOG_MAX_PROOF_IDS = 100;

/** Most roots one changes page returns. */
export const LOG_MAX_CHANGES_PAGE = 1000;

/** A signed root as served. */
export const signedLogRootSchema = z.object({
  seqno: z.number().int().min(1),
  payloadJson: z.string().max(4096),
  kid: hex(35),
  sig: z.string().max(200),
  leafPath: z.array(hex(32)).max(64),
});
export type SignedLogRootWire = z.infer<typeof signedLogRootSchema>;

/** `GET …/log/consistency?from=m&to=n`. */
export const logConsistencyResponseSchema = z.object({
  from: z.number().int().min(1),
  to: z.number().int().min(1),
  proof: z.array(hex(32)).max(128),
});

/** A map proof (see identity's `MapProof`). */
export const mapProofSchema = z.object({
  siblings: z.array(hex(64)).max(256),
  leaf: z
    .object({
      key: hex(32),
      value: z
        .string()
        .regex(/^(?:[0-9a-f]{2})*$/)
        .max(400),
    })
    .nullable(),
});

/** `GET …/log/proof?id=…[&seqno=n]`: the root (latest when no seqno) and the map proof at it. */
export const logProofResponseSchema = z.object({
  root: signedLogRootSchema,
  proof: mapProofSchema,
});
export type LogProofResponse = z.infer<typeof logProofResponseSchema>;

/**
 * `GET …/log/proofs?ids=a,b,c[&seqno=n]`: one root (latest when no seqno) and a map proof at it
 * for each ID, in the order asked — what a client checks many cached or fetched chains with in
 * one request (DESIGN.md "The signed log").
 */
export const logProofsResponseSchema = z.object({
  root: signedLogRootSchema,
  proofs: z
    .array(z.object({ id: z.string().max(64), proof: mapProofSchema }))
    .max(LOG_MAX_PROOF_IDS),
});
export type LogProofsResponse = z.infer<typeof logProofsResponseSchema>;

/**
 * `GET …/log/changes?from=m&limit=k`: what each root changed, with the signed root itself, for
 * replaying the log (an auditor needs both: one request per page, not one per root).
 */
export const logChangesResponseSchema = z.object({
  roots: z.array(
    z.object({
      seqno: z.number().int().min(1),
      root: signedLogRootSchema,
      changes: z.array(
        z.object({
          id: z.string().max(64),
          tail: z.tuple([z.number().int().min(1), hex(32), hex(35).nullable()]),
        }),
      ),
    }),
  ),
});
export type LogChangesResponse = z.infer<typeof logChangesResponseSchema>;

/** Query of the proof route. */
export const logProofQuerySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a uid or team id'),
  seqno: z.coerce.number().int().min(1).optional(),
});

/** Query of the batch proof route: 1 to {@link LOG_MAX_PROOF_IDS} distinct IDs, comma-separated. */
export const logProofsQuerySchema = z.object({
  ids: z
    .string()
    .max(LOG_MAX_PROOF_IDS * 33)
    .transform((s) => s.split(','))
    .pipe(
      z
        .array(z.string().regex(/^[0-9a-f]{32}$/, 'must be uids or team ids'))
        .min(1)
        .max(LOG_MAX_PROOF_IDS)
        .refine((a) => new Set(a).size === a.length, 'must not repeat an id'),
    ),
  seqno: z.coerce.number().int().min(1).optional(),
});

/** Query of the consistency route. */
export const logConsistencyQuerySchema = z.object({
  from: z.coerce.number().int().min(1),
  to: z.coerce.number().int().min(1),
});

/** Query of the changes route. */
export const logChangesQuerySchema = z.object({
  from: z.coerce.number().int().min(1),
  limit: z.coerce.number().int().min(1).max(LOG_MAX_CHANGES_PAGE).default(100),
});
