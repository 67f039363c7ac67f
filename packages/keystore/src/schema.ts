/**
 * Zod building blocks of the RPC table: byte strings, KIDs, IDs, generations and the
 * per-item `{result}` / `{error}` envelope of batch methods.
 *
 * Byte fields are zod codecs: their wire form (input side) is standard base64, their
 * TypeScript form (output side) is `Uint8Array`. `z.decode` turns wire JSON into typed values
 * on the receiving end, `z.encode` does the reverse on the sending end, so one schema gives both
 * the types and the JSON-RPC serialisation.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { fromBase64, toBase64 } from './bytes.js';

/** Bytes on the wire as base64; `length` pins an exact size. */
export function bytes(length?: number) {
  const out = z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be bytes' })
    .refine((b) => length === undefined || b.length === length, {
      message: `must be ${length} bytes`,
    });
  return z.codec(z.string(), out, {
    decode: (text, ctx) => {
      const b = fromBase64(text);
      if (b === null) {
        ctx.issues.push({ code: 'custom', message: 'invalid base64', input: text });
        return new Uint8Array(0);
      }
      return b;
    },
    encode: (b) => toBase64(b),
  });
}

/** A KID of an Ed25519 key (`0120…0a`). */
export const signingKidSchema = z.string().regex(/^0120[0-9a-f]{64}0a$/, 'not a signing kid');
/** A KID of an X25519 key (`0121…0a`). */
export const encryptionKidSchema = z
  .string()
  .regex(/^0121[0-9a-f]{64}0a$/, 'not an encryption kid');
/** A device ID: 16 bytes in hex ending in the device suffix `18`. */
export const deviceIdSchema = z.string().regex(/^[0-9a-f]{30}18$/, 'not a device id');
/** A team ID: 16 bytes in hex. */
export const teamIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'not a team id');
/** A key generation, from 1. */
export const generationSchema = z.number().int().min(1).max(0x7fffffff);

/** The most items one batch may carry; bounds memory per request on a shared agent. */
export const MAX_BATCH = 100_000;

/** A batch request's item list. */
export const batchOf = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_BATCH);

/** A per-item error, as it crosses a transport. */
export const itemErrorSchema = z.object({ code: z.string(), message: z.string() });

/** Per-item outcome of a batch method: exactly one of `result` or `error`. */
export const itemResult = <T extends z.ZodType>(result: T) =>
  z.union([z.object({ result }), z.object({ error: itemErrorSchema })]);

/** The kinds of device; `backup` is a paper key. */
export const deviceTypeSchema = z.enum(['desktop', 'mobile', 'bot', 'backup']);

/** Public facts about a device key pair held by the keystore. */
export const deviceInfoSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string(),
  type: deviceTypeSchema,
  signingKid: signingKidSchema,
  encryptionKid: encryptionKidSchema,
  /** False for keys held only in memory until the next lock (a oneshot paper key). */
  persistent: z.boolean(),
});

/** Which seed family a key box belongs to. */
export const seedRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('puk') }),
  z.object({ kind: z.literal('team'), teamId: teamIdSchema }),
]);

/** Public facts about one seed generation. */
export const generationInfoSchema = z.object({
  generation: generationSchema,
  signingKid: signingKidSchema,
  encryptionKid: encryptionKidSchema,
});
