/**
 * What the keystore persists: one record per secret, JSON inside the encrypted store.
 *
 * | record name | contents |
 * | --- | --- |
 * | `key/device/<deviceId>` | device name and type, Ed25519 seed, X25519 secret |
 * | `key/puk/<generation>` | a per-user-key seed |
 * | `key/team/<teamId>/<generation>` | a per-team-key seed |
 * | `key/pgp/<fingerprint>` | a PGP secret key (armored, no passphrase) and its published public key |
 *
 * Only seeds are stored for NaCl keys; every derived key is recomputed on unlock, so a record
 * cannot hold a public key that disagrees with its secret. A PGP record keeps the armored public
 * key as published, because its exact text is what the chain's `full_hash` names; unlock
 * checks that it is the secret key's.
 *
 * @packageDocumentation
 */
import { utf8 } from '@saltbox/saltpack/encoding';
import { z } from 'zod';
import { corrupt } from './errors.js';
import { bytes, deviceIdSchema, generationSchema, teamIdSchema } from './schema.js';

const deviceRecord = z.object({
  v: z.literal(1),
  kind: z.literal('device'),
  deviceId: deviceIdSchema,
  name: z.string(),
  type: z.enum(['desktop', 'mobile', 'bot', 'backup']),
  signingSeed: bytes(32),
  encryptionSecret: bytes(32),
});
const pukRecord = z.object({
  v: z.literal(1),
  kind: z.literal('puk'),
  generation: generationSchema,
  seed: bytes(32),
});
const teamRecord = z.object({
  v: z.literal(1),
  kind: z.literal('team'),
  teamId: teamIdSchema,
  generation: generationSchema,
  seed: bytes(32),
});
const pgpRecord = z.object({
  v: z.literal(1),
  kind: z.literal('pgp'),
  fingerprint: z.string().regex(/^[0-9a-f]{40}$/),
  armoredSecretKey: z.string(),
  armoredPublicKey: z.string(),
});
const recordSchema = z.discriminatedUnion('kind', [deviceRecord, pukRecord, teamRecord, pgpRecord]);

/** A decoded record. */
export type KeyRecord = z.output<typeof recordSchema>;
/** A decoded device record. */
export type DeviceRecord = z.output<typeof deviceRecord>;
/** A decoded PGP key record. */
export type PgpRecord = z.output<typeof pgpRecord>;
/** A decoded PUK or team seed record. */
export type SeedRecord = z.output<typeof pukRecord> | z.output<typeof teamRecord>;

/** The prefix under which every key record lives. */
export const KEY_PREFIX = 'key/';

/** The record name of a key record. */
export function recordName(r: KeyRecord): string {
  switch (r.kind) {
    case 'device':
      return `${KEY_PREFIX}device/${r.deviceId}`;
    case 'puk':
      return `${KEY_PREFIX}puk/${r.generation}`;
    case 'team':
      return `${KEY_PREFIX}team/${r.teamId}/${r.generation}`;
    case 'pgp':
      return `${KEY_PREFIX}pgp/${r.fingerprint}`;
  }
}

/** Serialises a record. */
export function encodeRecord(r: KeyRecord): Uint8Array {
  return utf8(JSON.stringify(z.encode(recordSchema, r)));
}

/**
 * Parses a record and checks that it is stored under its own name.
 *
 * @throws KeystoreError `KEYSTORE_CORRUPT` when it does not parse or sits under another name.
 */
export function decodeRecord(name: string, bytes: Uint8Array): KeyRecord {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw corrupt('stored key record is damaged', { record: name });
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success || recordName(parsed.data) !== name) {
    throw corrupt('stored key record is damaged', { record: name });
  }
  return parsed.data;
}
