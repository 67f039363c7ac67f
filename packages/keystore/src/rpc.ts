/**
 * The RPC table: the single declaration of the keystore API.
 *
 * Each entry maps a method name to its request and response schema. Everything else is derived
 * from this object at runtime or by type mapping — the {@link KeystoreApi} interface, the
 * in-process client, the JSON-RPC client proxy and the serving dispatcher — so the runtime
 * method set and the declared type cannot drift apart (the failure xmtp-js shipped in 13.x,
 * specs/keystore-and-secrets-providers.md §1.9). Adding a method is one entry here plus its
 * implementation in `keystore.ts`; the compiler then points at every place that must follow.
 *
 * Evolution rule: adding a method or an optional request field is non-breaking; changing a
 * response shape is breaking, so add a new method instead.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { SIGNING_PURPOSES } from './purposes.js';
import {
  batchOf,
  bytes,
  deviceIdSchema,
  deviceInfoSchema,
  encryptionKidSchema,
  generationInfoSchema,
  generationSchema,
  itemResult,
  seedRefSchema,
  signingKidSchema,
  teamIdSchema,
} from './schema.js';

/** One table entry. `privileged` methods hand out secrets; remote servers refuse them by default. */
export interface RpcEntry {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
  readonly privileged?: boolean;
}

const empty = z.object({});
const stateSchema = z.enum(['uninitialized', 'locked', 'unlocked']);

/** The KV entry a value is sealed for (keybase-kvstore §2.3 metadata minus the key; the team is the item's). */
const kvEntryMetadataSchema = z.object({
  namespace: z.string().max(4096),
  entryKey: z.string().max(4096),
  revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  writerUid: z.string().regex(/^[0-9a-f]{32}$/),
  writerEldestSeqno: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  writerDeviceId: z.string().regex(/^[0-9a-f]{32}$/),
});

/** Public facts about a held PGP key (never its secret). */
const pgpKeyInfoSchema = z.object({
  kid: z.string(),
  fingerprint: z.string(),
  keyId: z.string(),
  fullHash: z.string(),
  armoredPublicKey: z.string(),
  userIds: z.array(z.string()),
  created: z.number().int(),
});

/** The keystore API, method → request and response schema. */
export const rpcTable = {
  /** Lifecycle state; never needs the passphrase. */
  status: {
    request: empty,
    response: z.object({
      state: stateSchema,
      /** Format version of the stored keystore (0 when uninitialised). */
      formatVersion: z.number().int(),
      /** Auto-lock after this many idle milliseconds, or null for never. */
      idleLockMs: z.number().int().nullable(),
      /** How many keys are loaded (zero while locked). */
      counts: z.object({ devices: z.number(), puks: z.number(), teams: z.number() }),
    }),
  },
  /** Derives the storage key from the passphrase and loads every key into memory. */
  unlock: {
    request: z.object({
      passphrase: z.string().min(1).max(4096),
      /** Create an empty keystore under this passphrase if the store holds none. */
      create: z.boolean().optional(),
    }),
    response: z.object({ state: stateSchema }),
  },
  /** Drops every secret from memory. */
  lock: { request: empty, response: z.object({ state: stateSchema }) },
  /** Generates a device: a fresh Ed25519 sibkey and Curve25519 subkey, persisted. */
  createDevice: {
    request: z.object({
      name: z.string().min(1).max(64),
      type: z.enum(['desktop', 'mobile', 'bot']),
    }),
    response: deviceInfoSchema,
  },
  /** Derives a paper-key (`backup`) device from its phrase (scrypt, Keybase's layout). */
  derivePaperKeyDevice: {
    request: z.object({
      phrase: z.string().max(1024),
      /** The device ID the user's chain gives this paper key; random when absent. */
      deviceId: deviceIdSchema.optional(),
      /** False keeps the keys in memory only until the next lock (`keybase oneshot`). */
      persist: z.boolean().optional(),
    }),
    response: deviceInfoSchema,
  },
  /** Every public key held: devices, PUK generations, team generations. */
  getPublicKeyBundle: {
    request: empty,
    response: z.object({
      devices: z.array(deviceInfoSchema),
      puks: z.array(generationInfoSchema),
      teams: z.array(generationInfoSchema.extend({ teamId: teamIdSchema })),
    }),
  },
  /** Signs with a held signing key; the purpose fixes the domain separation (`purposes.ts`). */
  sign: {
    request: z.object({
      items: batchOf(
        z.object({
          kid: signingKidSchema,
          purpose: z.enum(SIGNING_PURPOSES),
          message: bytes(),
        }),
      ),
    }),
    response: z.object({ items: z.array(itemResult(z.object({ signature: bytes(64) }))) }),
  },
  /**
   * NaCl box of 32 zero bytes from a held X25519 key to `peer`: Saltpack's MAC-key halves and
   * signcryption derived keys. Only Saltpack's nonce shapes are allowed (see README).
   */
  boxBatch: {
    request: z.object({
      items: batchOf(z.object({ kid: encryptionKidSchema, peer: bytes(32), nonce: bytes(24) })),
    }),
    response: z.object({ items: z.array(itemResult(z.object({ box: bytes(48) }))) }),
  },
  /**
   * Opens Saltpack payload-key boxes addressed to a held X25519 key; `plaintext` is null when
   * the box does not open (not ours), as Saltpack's keyring contract expects.
   */
  unboxBatch: {
    request: z.object({
      items: batchOf(
        z.object({ kid: encryptionKidSchema, peer: bytes(32), nonce: bytes(24), box: bytes(48) }),
      ),
    }),
    response: z.object({
      items: z.array(itemResult(z.object({ plaintext: bytes(32).nullable() }))),
    }),
  },
  /**
   * Boxes a PUK or team seed generation (a new one, or an existing one for new recipients) to
   * the given X25519 public keys, with the `prev` secretbox when a new generation is made.
   */
  createKeyBoxes: {
    request: z.object({
      key: seedRefSchema,
      generation: z.union([z.literal('new'), generationSchema]),
      /**
       * With `'new'`: the newest generation the caller's VERIFIED chain announces (0 for none).
       * The new seed is then that + 1 and its `prev` seals that generation; a seed held for
       * that + 1 (made by an earlier call whose post never reached the chain) is replaced.
       * Without it, the new generation follows the newest one held.
       */
      chainGeneration: z.number().int().min(0).max(0x7fffffff).optional(),
      /** The held device encryption key that sends the boxes. */
      senderKid: encryptionKidSchema,
      recipients: batchOf(z.object({ publicKey: bytes(32) })),
    }),
    response: generationInfoSchema.extend({
      /** Team boxes: the shared 20-byte nonce prefix (counters from 1); null for PUK boxes. */
      noncePrefix: bytes(20).nullable(),
      boxes: z.array(z.object({ publicKey: bytes(32), nonce: bytes(24), ciphertext: bytes(48) })),
      /**
       * The previous generation's seed secretboxed under this one, in Keybase's upload form
       * (base64 of msgpack `[1, nonce, sealed]`); null when there is no previous generation.
       */
      prev: z.string().nullable(),
    }),
  },
  /** Opens received seed boxes (and their `prev` chains) and saves the seeds. */
  openKeyBoxes: {
    request: z.object({
      items: batchOf(
        z.object({
          key: seedRefSchema,
          generation: generationSchema,
          receiverKid: encryptionKidSchema,
          senderPublicKey: bytes(32),
          nonce: bytes(24),
          ciphertext: bytes(48),
          /**
           * `prev` strings as the server returns them: the entry for generation g holds seed
           * g−1, secretboxed under seed g.
           */
          prevs: z
            .array(z.object({ generation: generationSchema, prev: z.string().max(1024) }))
            .max(100_000)
            .optional(),
          /** KIDs the verified chain announces per generation; a mismatch rejects the item. */
          expected: z
            .array(
              z.object({
                generation: generationSchema,
                signingKid: signingKidSchema.optional(),
                encryptionKid: encryptionKidSchema.optional(),
              }),
            )
            .max(100_000)
            .optional(),
        }),
      ),
    }),
    response: z.object({
      items: z.array(itemResult(z.object({ generations: z.array(generationSchema) }))),
    }),
  },
  /** Keybase's KV entry sealing with a team generation's KV key, signed by a device key. */
  sealKv: {
    request: z.object({
      items: batchOf(
        z.object({
          teamId: teamIdSchema,
          generation: generationSchema,
          signerKid: signingKidSchema,
          readerKeyMask: bytes(32).optional(),
          /** Fresh random when absent; tests pin it for known answers. */
          nonce: bytes(16).optional(),
          /**
           * With `entry`, the value; the keystore seals Keybase's wrapper `{a, m, v}` around it,
           * `a` hashing the entry's metadata and the KV key (keybase-kvstore §2.3).
           */
          plaintext: bytes(),
          entry: kvEntryMetadataSchema.optional(),
        }),
      ),
    }),
    response: z.object({
      items: z.array(itemResult(z.object({ nonce: bytes(16), sealed: bytes() }))),
    }),
  },
  /** Opens and verifies KV entries sealed by {@link rpcTable.sealKv}'s construction. */
  openKv: {
    request: z.object({
      items: batchOf(
        z.object({
          teamId: teamIdSchema,
          generation: generationSchema,
          signerPublicKey: bytes(32),
          readerKeyMask: bytes(32).optional(),
          nonce: bytes(16),
          sealed: bytes(),
          /**
           * The entry the reader expects: the wrapper is checked against it and only the value
           * is returned (`KEYSTORE_KV_METADATA_MISMATCH` when it was sealed for another).
           */
          entry: kvEntryMetadataSchema.optional(),
        }),
      ),
    }),
    response: z.object({ items: z.array(itemResult(z.object({ plaintext: bytes() }))) }),
  },
  /**
   * Generates a PGP key (Ed25519 primary, Curve25519 ECDH subkey; `pgp-keys.ts`) and stores it.
   * Answers public facts only.
   */
  pgpGenerate: {
    request: z.object({ userId: z.string().min(1).max(256) }),
    response: pgpKeyInfoSchema,
  },
  /**
   * Imports an armored PGP secret key (its passphrase, if any, removes the protection; the
   * store encrypts it at rest). Answers public facts only.
   */
  pgpImport: {
    request: z.object({
      armoredSecretKey: z.string().min(1).max(262_144),
      passphrase: z.string().max(4096).optional(),
    }),
    response: pgpKeyInfoSchema,
  },
  /** The PGP keys held (public facts). */
  pgpList: { request: empty, response: z.object({ keys: z.array(pgpKeyInfoSchema) }) },
  /**
   * The PGP reverse signature of the `sibkey` link delegating the held key `kid` (spec
   * keybase-identity §3.6): an armored attached signature over `message`, which must be that
   * link's canonical JSON with the slot null (anything else is `KEYSTORE_REFUSED`).
   */
  pgpSignReverseSig: {
    request: z.object({ kid: z.string().regex(/^01[0-9a-f]{66}0a$/), message: bytes() }),
    response: z.object({ signature: z.string() }),
  },
  /** Decrypts an OpenPGP message (binary or armored) addressed to a held PGP key. */
  pgpDecrypt: {
    request: z.object({ ciphertext: bytes() }),
    response: z.object({ plaintext: bytes(), kid: z.string() }),
  },
  /** Privileged: every secret, for backup. Needs the passphrase again; remote servers refuse. */
  exportSecrets: {
    privileged: true,
    request: z.object({ passphrase: z.string().min(1).max(4096) }),
    response: z.object({
      format: z.literal('saltbox-keystore-export-1'),
      devices: z.array(
        deviceInfoSchema.extend({ signingSeed: bytes(32), encryptionSecret: bytes(32) }),
      ),
      puks: z.array(z.object({ generation: generationSchema, seed: bytes(32) })),
      teams: z.array(
        z.object({ teamId: teamIdSchema, generation: generationSchema, seed: bytes(32) }),
      ),
    }),
  },
} as const satisfies Record<string, RpcEntry>;

/** The table's type. */
export type RpcTable = typeof rpcTable;
/** A method name. */
export type KeystoreMethod = keyof RpcTable;
/** The typed request of a method (bytes as `Uint8Array`). */
export type RequestOf<M extends KeystoreMethod> = z.output<RpcTable[M]['request']>;
/** The typed response of a method. */
export type ResponseOf<M extends KeystoreMethod> = z.output<RpcTable[M]['response']>;

/** True when `T` has no required property (`z.object({})` gives an index signature of never). */
type OptionalRequest<T> = string extends keyof T
  ? true
  : { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T] extends never
    ? true
    : false;

/**
 * The keystore interface, mapped from the table: one async method per entry. Methods whose
 * request has no required field may be called without an argument.
 */
export type KeystoreApi = {
  [M in KeystoreMethod]: OptionalRequest<RequestOf<M>> extends true
    ? (request?: RequestOf<M>) => Promise<ResponseOf<M>>
    : (request: RequestOf<M>) => Promise<ResponseOf<M>>;
};

/** Every method name, read from the runtime table (not from the type). */
export const KEYSTORE_METHODS = Object.keys(rpcTable) as KeystoreMethod[];

/** True when `name` is a method of the table. */
export function isKeystoreMethod(name: string): name is KeystoreMethod {
  return Object.hasOwn(rpcTable, name);
}

/** The per-item outcome type of batch responses. */
export type ItemResult<T> = { result: T } | { error: { code: string; message: string } };
