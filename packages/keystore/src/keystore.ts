/**
 * The keystore itself: key material in memory while unlocked, every operation of the RPC table,
 * persistence through an encrypted byte store. Transports wrap an instance of this class; it
 * never does I/O other than through its {@link ByteStore}.
 *
 * @packageDocumentation
 */
import type { CryptoBackend, LocalBoxKey } from '@saltbox/saltpack';
import { boxKeyFromSecret, defaultBackend } from '@saltbox/saltpack';
import { constantTimeEqual } from '@saltbox/saltpack/encoding';
import {
  KeystoreError,
  invalidArgument,
  lockedError,
  toKeystoreError,
  unknownKey,
} from './errors.js';
import type { SeedKeys, SeedKind } from './derive.js';
import {
  encryptionKid,
  newDeviceId,
  openPrev,
  paperKeyFromPhrase,
  sealPrev,
  seedKeys,
  signingKid,
  teamNonce,
} from './derive.js';
import { unwrapKvValue, wrapKvValue } from './kv-entry.js';
import { openKvEntry, sealKvEntry } from './kv-seal.js';
import { checkPayloadKeyNonce, checkZeroBoxNonce, seedBoxNonce } from './nonce-policy.js';
import { generatePgpKey, importPgpKey, pgpDecrypt, pgpEntry, pgpReverseSig } from './pgp-keys.js';
import type { PgpEntry, PgpKeyMaterial } from './pgp-keys.js';
import type { SigningKeyKind } from './purposes.js';
import { signPayload } from './purposes.js';
import type { KeyRecord, SeedRecord } from './records.js';
import { KEY_PREFIX, decodeRecord, encodeRecord, recordName } from './records.js';
import type { ItemResult, KeystoreApi, RequestOf, ResponseOf } from './rpc.js';
import type { ByteStore } from './store/byte-store.js';
import type { EncryptedStore } from './store/encrypted.js';
import { encryptedStore } from './store/encrypted.js';
import type { Argon2idFunction, KdfChoice } from './store/passphrase.js';
import {
  FORMAT_VERSION,
  META_RECORD,
  createMeta,
  openMeta,
  parseMeta,
} from './store/passphrase.js';

/** Options of {@link openKeystore}. */
export interface KeystoreOptions {
  /** Where the encrypted keystore lives (file, IndexedDB, memory). */
  store: ByteStore;
  /** The crypto backend; the platform default when absent. */
  backend?: CryptoBackend;
  /** The KDF used when `unlock({create: true})` makes a new keystore; scrypt by default. */
  kdf?: KdfChoice;
  /** Needed to open a keystore created with Argon2id. */
  argon2id?: Argon2idFunction;
  /** Lock after this many milliseconds without a call; null or absent never locks by itself. */
  idleLockMs?: number | null;
  /**
   * Serve Saltpack v1 MAC-key boxes, whose nonce is arbitrary (`nonce-policy.ts`). Off by
   * default: it turns `boxBatch` into an oracle for boxes sent to this keystore's keys.
   */
  legacySaltpackV1?: boolean;
}

/**
 * Opens a keystore over a byte store. It starts locked (or uninitialised); call `unlock`.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` when no crypto backend loads.
 */
export async function openKeystore(options: KeystoreOptions): Promise<LocalKeystore> {
  const backend = options.backend ?? (await defaultBackend());
  return new LocalKeystore(options, backend);
}

interface SigningEntry {
  kind: SigningKeyKind;
  secretKey: Uint8Array;
}

interface BoxEntry {
  kind: SigningKeyKind;
  key: LocalBoxKey;
}

interface DeviceEntry {
  info: ResponseOf<'createDevice'>;
  secrets: { signingSeed: Uint8Array; encryptionSecret: Uint8Array };
}

interface SeedEntry {
  generation: number;
  seed: Uint8Array;
  signingKid: string;
  encryptionKid: string;
  /** Team generations only: the KV application key before the reader key mask. */
  kvKey?: Uint8Array;
}

interface Unlocked {
  store: EncryptedStore;
  devices: Map<string, DeviceEntry>;
  puks: Map<number, SeedEntry>;
  teams: Map<string, Map<number, SeedEntry>>;
  signing: Map<string, SigningEntry>;
  boxing: Map<string, BoxEntry>;
  /** PGP keys by KID. */
  pgp: Map<string, PgpEntry>;
}

/** A simple FIFO mutex: state changes and writes happen one at a time. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

const ZERO32 = new Uint8Array(32);

/** Runs `fn` on each item and collects `{result}` or `{error}`; one bad item never fails the batch. */
async function mapItems<I, R>(
  items: readonly I[],
  fn: (item: I, index: number) => R | Promise<R>,
): Promise<ItemResult<R>[]> {
  const out: ItemResult<R>[] = new Array<ItemResult<R>>(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      out[i] = { result: await fn(items[i]!, i) };
    } catch (e) {
      const err = toKeystoreError(e);
      out[i] = { error: { code: err.code, message: err.message } };
    }
  }
  return out;
}

function xor32(a: Uint8Array, mask: Uint8Array | undefined): Uint8Array {
  if (!mask) return a;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = a[i]! ^ mask[i]!;
  return out;
}

/**
 * The in-process keystore. Implements every method of the RPC table ({@link KeystoreApi});
 * `close` (not an RPC method) locks and stops the idle timer.
 */
export class LocalKeystore implements KeystoreApi {
  readonly #base: ByteStore;
  readonly #backend: CryptoBackend;
  readonly #options: KeystoreOptions;
  readonly #mutex = new Mutex();
  #state: Unlocked | null = null;
  #formatVersion = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** Use {@link openKeystore}; the constructor is public for callers that have a backend. */
  constructor(options: KeystoreOptions, backend: CryptoBackend) {
    this.#base = options.store;
    this.#backend = backend;
    this.#options = options;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * See the `status` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_STORAGE` when the store cannot be read.
   */
  async status(): Promise<ResponseOf<'status'>> {
    const s = this.#state;
    let state: ResponseOf<'status'>['state'] = 'unlocked';
    if (!s) state = (await this.#isInitialized()) ? 'locked' : 'uninitialized';
    return {
      state,
      formatVersion: state === 'uninitialized' ? 0 : this.#formatVersion || FORMAT_VERSION,
      idleLockMs: this.#options.idleLockMs ?? null,
      counts: {
        devices: s?.devices.size ?? 0,
        puks: s?.puks.size ?? 0,
        teams: s ? [...s.teams.values()].reduce((n, m) => n + m.size, 0) : 0,
      },
    };
  }

  /**
   * See the `unlock` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_WRONG_PASSPHRASE`, `KEYSTORE_UNINITIALIZED` (no keystore and
   *   no `create`), `KEYSTORE_CORRUPT` (damaged meta or key record; nothing is written),
   *   `KEYSTORE_UNSUPPORTED_VERSION`.
   */
  unlock(request: RequestOf<'unlock'>): Promise<ResponseOf<'unlock'>> {
    return this.#mutex.run(async () => {
      this.#touch();
      const metaBytes = await this.#base.get(META_RECORD);
      let key: Uint8Array;
      if (metaBytes === null) {
        if ((await this.#base.list(KEY_PREFIX)).length > 0) {
          // Key records without their meta record: never start over on top of them.
          throw new KeystoreError('KEYSTORE_CORRUPT', 'keystore meta record is missing', {
            record: META_RECORD,
          });
        }
        if (!request.create) {
          throw new KeystoreError('KEYSTORE_UNINITIALIZED', 'no keystore exists in this store');
        }
        const made = await createMeta(this.#backend, request.passphrase, this.#options.kdf);
        await this.#base.set(META_RECORD, made.record);
        key = made.key;
        this.#formatVersion = FORMAT_VERSION;
      } else {
        const meta = parseMeta(metaBytes);
        key = await openMeta(this.#backend, meta, request.passphrase, this.#options.argon2id);
        this.#formatVersion = meta.version;
      }
      if (this.#state) {
        // Already unlocked: the passphrase was checked above, nothing to reload.
        key.fill(0);
        return { state: 'unlocked' as const };
      }
      const store = encryptedStore(this.#base, key, this.#backend);
      key.fill(0);
      try {
        this.#state = await this.#load(store);
      } catch (e) {
        store.close();
        throw e;
      }
      return { state: 'unlocked' as const };
    });
  }

  /** See the `lock` entry of the RPC table (`rpc.ts`). */
  lock(): Promise<ResponseOf<'lock'>> {
    return this.#mutex.run(() => {
      this.#wipe();
      return Promise.resolve({ state: 'locked' as const });
    });
  }

  /** Locks and stops the idle timer (not an RPC method: the owner of the instance calls it). */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    await this.lock();
  }

  // ---------------------------------------------------------------- keys

  /**
   * See the `createDevice` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`; `KEYSTORE_STORAGE` when the write fails.
   */
  createDevice(request: RequestOf<'createDevice'>): Promise<ResponseOf<'createDevice'>> {
    return this.#mutex.run(async () => {
      const s = this.#unlocked();
      const record: KeyRecord = {
        v: 1,
        kind: 'device',
        deviceId: newDeviceId(this.#backend),
        name: request.name,
        type: request.type,
        signingSeed: this.#backend.randomBytes(32),
        encryptionSecret: this.#backend.randomBytes(32),
      };
      await s.store.set(recordName(record), encodeRecord(record));
      return this.#addDevice(s, record, true).info;
    });
  }

  /**
   * See the `derivePaperKeyDevice` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a malformed phrase; `KEYSTORE_LOCKED`.
   */
  derivePaperKeyDevice(
    request: RequestOf<'derivePaperKeyDevice'>,
  ): Promise<ResponseOf<'derivePaperKeyDevice'>> {
    return this.#mutex.run(async () => {
      this.#unlocked();
      const paper = await paperKeyFromPhrase(this.#backend, request.phrase);
      const s = this.#unlocked();
      const kid = signingKid(this.#backend.ed25519KeyPairFromSeed(paper.signingSeed).publicKey);
      const persist = request.persist ?? true;
      const existing = [...s.devices.values()].find((d) => d.info.signingKid === kid);
      if (existing) {
        // A oneshot paper device asked for again with persist stores it now, under the same
        // device ID: a login checks a paper key before keeping it (`keybase oneshot` first).
        if (persist && !existing.info.persistent) {
          const kept: KeyRecord = {
            v: 1,
            kind: 'device',
            deviceId: existing.info.deviceId,
            name: existing.info.name,
            type: 'backup',
            signingSeed: existing.secrets.signingSeed,
            encryptionSecret: existing.secrets.encryptionSecret,
          };
          await s.store.set(recordName(kept), encodeRecord(kept));
          existing.info = { ...existing.info, persistent: true };
        }
        return existing.info;
      }
      const record: KeyRecord = {
        v: 1,
        kind: 'device',
        deviceId: request.deviceId ?? newDeviceId(this.#backend),
        name: paper.name,
        type: 'backup',
        signingSeed: paper.signingSeed,
        encryptionSecret: paper.encryptionSecret,
      };
      if (persist) await s.store.set(recordName(record), encodeRecord(record));
      return this.#addDevice(s, record, persist).info;
    });
  }

  /**
   * See the `getPublicKeyBundle` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`.
   */
  getPublicKeyBundle(): Promise<ResponseOf<'getPublicKeyBundle'>> {
    const s = this.#unlocked();
    const gen = (e: SeedEntry) => ({
      generation: e.generation,
      signingKid: e.signingKid,
      encryptionKid: e.encryptionKid,
    });
    return Promise.resolve({
      devices: [...s.devices.values()].map((d) => ({ ...d.info })),
      puks: [...s.puks.values()].sort((a, b) => a.generation - b.generation).map(gen),
      teams: [...s.teams.entries()].flatMap(([teamId, gens]) =>
        [...gens.values()]
          .sort((a, b) => a.generation - b.generation)
          .map((e) => ({ teamId, ...gen(e) })),
      ),
    });
  }

  // ---------------------------------------------------------------- operations

  /**
   * See the `sign` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item (as `{error}`): `KEYSTORE_UNKNOWN_KEY`,
   *   `KEYSTORE_REFUSED` (purpose not allowed for the key kind), `KEYSTORE_INVALID_ARGUMENT`
   *   (message shape).
   */
  async sign(request: RequestOf<'sign'>): Promise<ResponseOf<'sign'>> {
    const s = this.#unlocked();
    const items = await mapItems(request.items, (item) => {
      const key = s.signing.get(item.kid);
      if (!key) throw unknownKey({ kid: item.kid });
      const payload = signPayload(item.purpose, key.kind, item.message);
      return { signature: this.#backend.ed25519Sign(payload, key.secretKey) };
    });
    return { items };
  }

  /**
   * See the `boxBatch` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item: `KEYSTORE_REFUSED` (nonce shape),
   *   `KEYSTORE_UNKNOWN_KEY`.
   */
  async boxBatch(request: RequestOf<'boxBatch'>): Promise<ResponseOf<'boxBatch'>> {
    const s = this.#unlocked();
    const legacy = this.#options.legacySaltpackV1 ?? false;
    const items = await mapItems(request.items, (item) => {
      checkZeroBoxNonce(item.nonce, legacy);
      const key = s.boxing.get(item.kid);
      if (!key) throw unknownKey({ kid: item.kid });
      return { box: key.key.box(item.peer, item.nonce, ZERO32) as Uint8Array };
    });
    return { items };
  }

  /**
   * See the `unboxBatch` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item: `KEYSTORE_REFUSED` (nonce shape),
   *   `KEYSTORE_UNKNOWN_KEY`.
   */
  async unboxBatch(request: RequestOf<'unboxBatch'>): Promise<ResponseOf<'unboxBatch'>> {
    const s = this.#unlocked();
    const items = await mapItems(request.items, (item) => {
      checkPayloadKeyNonce(item.nonce);
      const key = s.boxing.get(item.kid);
      if (!key) throw unknownKey({ kid: item.kid });
      if (item.box.length !== 48) throw invalidArgument('payload key box must be 48 bytes');
      return { plaintext: key.key.unbox(item.peer, item.nonce, item.box) as Uint8Array | null };
    });
    return { items };
  }

  /**
   * See the `createKeyBoxes` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_UNKNOWN_KEY` (sender, or the generation to box, or the
   *   previous generation of a new one, is not held); `KEYSTORE_LOCKED`.
   */
  createKeyBoxes(request: RequestOf<'createKeyBoxes'>): Promise<ResponseOf<'createKeyBoxes'>> {
    return this.#mutex.run(async () => {
      const s = this.#unlocked();
      const sender = s.boxing.get(request.senderKid);
      if (sender?.kind !== 'device') throw unknownKey({ kid: request.senderKid });
      const team = request.key.kind === 'team' ? request.key.teamId : null;
      const gens = team === null ? s.puks : (s.teams.get(team) ?? new Map<number, SeedEntry>());
      let entry: SeedEntry;
      let prev: ResponseOf<'createKeyBoxes'>['prev'] = null;
      const noncePrefix = team === null ? null : seedBoxNonce(this.#backend, 20);
      if (request.generation === 'new') {
        const latest = request.chainGeneration ?? Math.max(0, ...gens.keys());
        if (latest > 0 && !gens.has(latest))
          throw unknownKey({ generation: latest, teamId: team ?? undefined });
        const generation = latest + 1;
        // A seed held for this number never reached the chain (the caller says the chain ends
        // at `latest`): replace it, and drop its key handles.
        const orphan = gens.get(generation);
        if (orphan) this.#dropSeedHandles(s, orphan);
        const seed = this.#backend.randomBytes(32);
        const record: SeedRecord =
          team === null
            ? { v: 1, kind: 'puk', generation, seed }
            : { v: 1, kind: 'team', teamId: team, generation, seed };
        const older = gens.get(latest);
        if (older) prev = sealPrev(this.#backend, record.kind, seed, older.seed, noncePrefix);
        await s.store.set(recordName(record), encodeRecord(record));
        entry = this.#addSeed(s, record, seedKeys(this.#backend, record.kind, seed));
      } else {
        const held = gens.get(request.generation);
        if (!held) throw unknownKey({ generation: request.generation, teamId: team ?? undefined });
        entry = held;
      }
      const boxes = request.recipients.map((r, i) => {
        const nonce =
          noncePrefix === null ? seedBoxNonce(this.#backend, 24) : teamNonce(noncePrefix, i + 1);
        return {
          publicKey: r.publicKey,
          nonce,
          ciphertext: sender.key.box(r.publicKey, nonce, entry.seed) as Uint8Array,
        };
      });
      return {
        generation: entry.generation,
        signingKid: entry.signingKid,
        encryptionKid: entry.encryptionKid,
        noncePrefix,
        boxes,
        prev,
      };
    });
  }

  /**
   * See the `openKeyBoxes` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item: `KEYSTORE_UNKNOWN_KEY` (receiver not held
   *   or of the wrong kind), `KEYSTORE_DECRYPTION_FAILED`, `KEYSTORE_KEY_MISMATCH`,
   *   `KEYSTORE_CONFLICT`, `KEYSTORE_STORAGE`.
   */
  openKeyBoxes(request: RequestOf<'openKeyBoxes'>): Promise<ResponseOf<'openKeyBoxes'>> {
    return this.#mutex.run(async () => {
      const s = this.#unlocked();
      const items = await mapItems(request.items, (item) => this.#openKeyBox(s, item));
      return { items };
    });
  }

  /**
   * See the `sealKv` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item: `KEYSTORE_UNKNOWN_KEY` (signer not a held
   *   device key, or team generation not held).
   */
  async sealKv(request: RequestOf<'sealKv'>): Promise<ResponseOf<'sealKv'>> {
    const s = this.#unlocked();
    const items = await mapItems(request.items, (item) => {
      const signer = s.signing.get(item.signerKid);
      if (signer?.kind !== 'device') throw unknownKey({ kid: item.signerKid });
      const key = this.#kvKey(s, item.teamId, item.generation, item.readerKeyMask);
      const nonce = item.nonce ?? this.#backend.randomBytes(16);
      const plaintext = item.entry
        ? wrapKvValue(this.#backend, key, { ...item.entry, teamId: item.teamId }, item.plaintext)
        : item.plaintext;
      return {
        nonce,
        sealed: sealKvEntry(this.#backend, key, signer.secretKey, nonce, plaintext),
      };
    });
    return { items };
  }

  /**
   * See the `openKv` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`. Per item: `KEYSTORE_UNKNOWN_KEY`,
   *   `KEYSTORE_DECRYPTION_FAILED` (truncated, wrong key, bad signature, bad wrapper),
   *   `KEYSTORE_KV_METADATA_MISMATCH` (sealed for another entry than `entry`).
   */
  async openKv(request: RequestOf<'openKv'>): Promise<ResponseOf<'openKv'>> {
    const s = this.#unlocked();
    const items = await mapItems(request.items, (item) => {
      const key = this.#kvKey(s, item.teamId, item.generation, item.readerKeyMask);
      const opened = openKvEntry(this.#backend, key, item.signerPublicKey, item.nonce, item.sealed);
      return {
        plaintext: item.entry
          ? unwrapKvValue(this.#backend, key, { ...item.entry, teamId: item.teamId }, opened)
          : opened,
      };
    });
    return { items };
  }

  /**
   * See the `pgpGenerate` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` (malformed user ID), `KEYSTORE_LOCKED`,
   *   `KEYSTORE_STORAGE`.
   */
  async pgpGenerate(request: RequestOf<'pgpGenerate'>): Promise<ResponseOf<'pgpGenerate'>> {
    this.#unlocked();
    const material = await generatePgpKey(request.userId);
    return this.#storePgp(material);
  }

  /**
   * See the `pgpImport` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` (not armored pgp, a public key, an
   *   algorithm without a Keybase KID type), `KEYSTORE_WRONG_PASSPHRASE` (wrong, or none for a
   *   protected key), `KEYSTORE_CONFLICT` (already held), `KEYSTORE_LOCKED`.
   */
  async pgpImport(request: RequestOf<'pgpImport'>): Promise<ResponseOf<'pgpImport'>> {
    this.#unlocked();
    const material = await importPgpKey(request.armoredSecretKey, request.passphrase);
    return this.#storePgp(material);
  }

  /**
   * See the `pgpList` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_LOCKED`.
   */
  pgpList(): Promise<ResponseOf<'pgpList'>> {
    const s = this.#unlocked();
    const keys = [...s.pgp.values()]
      .map((e) => ({ ...e.info, userIds: [...e.info.userIds] }))
      .sort((a, b) => a.created - b.created || a.fingerprint.localeCompare(b.fingerprint));
    return Promise.resolve({ keys });
  }

  /**
   * See the `pgpSignReverseSig` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_UNKNOWN_KEY`, `KEYSTORE_REFUSED` (not the delegating link),
   *   `KEYSTORE_LOCKED`.
   */
  async pgpSignReverseSig(
    request: RequestOf<'pgpSignReverseSig'>,
  ): Promise<ResponseOf<'pgpSignReverseSig'>> {
    const s = this.#unlocked();
    const entry = s.pgp.get(request.kid);
    if (!entry) throw unknownKey({ kid: request.kid });
    return { signature: await pgpReverseSig(entry, request.message) };
  }

  /**
   * See the `pgpDecrypt` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` (not an OpenPGP message),
   *   `KEYSTORE_DECRYPTION_FAILED` (no held key is a recipient, or it does not authenticate),
   *   `KEYSTORE_LOCKED`.
   */
  async pgpDecrypt(request: RequestOf<'pgpDecrypt'>): Promise<ResponseOf<'pgpDecrypt'>> {
    const s = this.#unlocked();
    return pgpDecrypt([...s.pgp.values()], request.ciphertext);
  }

  /** Stores new PGP key material and publishes it in memory. */
  #storePgp(material: PgpKeyMaterial): Promise<ResponseOf<'pgpImport'>> {
    return this.#mutex.run(async () => {
      const s = this.#unlocked();
      const entry = await pgpEntry(this.#backend, material);
      if (s.pgp.has(entry.info.kid))
        throw new KeystoreError('KEYSTORE_CONFLICT', 'this pgp key is already in the keystore', {
          kid: entry.info.kid,
        });
      const record: KeyRecord = { v: 1, kind: 'pgp', ...material };
      await s.store.set(recordName(record), encodeRecord(record));
      s.pgp.set(entry.info.kid, entry);
      return { ...entry.info, userIds: [...entry.info.userIds] };
    });
  }

  /**
   * See the `exportSecrets` entry of the RPC table (`rpc.ts`).
   *
   * @throws KeystoreError `KEYSTORE_WRONG_PASSPHRASE`; `KEYSTORE_LOCKED`.
   */
  exportSecrets(request: RequestOf<'exportSecrets'>): Promise<ResponseOf<'exportSecrets'>> {
    return this.#mutex.run(async () => {
      const s = this.#unlocked();
      const metaBytes = await this.#base.get(META_RECORD);
      if (metaBytes === null) throw new KeystoreError('KEYSTORE_CORRUPT', 'meta record missing');
      const key = await openMeta(
        this.#backend,
        parseMeta(metaBytes),
        request.passphrase,
        this.#options.argon2id,
      );
      key.fill(0);
      return {
        format: 'saltbox-keystore-export-1' as const,
        devices: [...s.devices.values()].map((d) => ({
          ...d.info,
          signingSeed: d.secrets.signingSeed.slice(),
          encryptionSecret: d.secrets.encryptionSecret.slice(),
        })),
        puks: [...s.puks.values()]
          .sort((a, b) => a.generation - b.generation)
          .map((e) => ({ generation: e.generation, seed: e.seed.slice() })),
        teams: [...s.teams.entries()].flatMap(([teamId, gens]) =>
          [...gens.values()]
            .sort((a, b) => a.generation - b.generation)
            .map((e) => ({
              teamId,
              generation: e.generation,
              seed: e.seed.slice(),
            })),
        ),
      };
    });
  }

  // ---------------------------------------------------------------- internals

  async #isInitialized(): Promise<boolean> {
    return (await this.#base.get(META_RECORD)) !== null;
  }

  #unlocked(): Unlocked {
    this.#touch();
    if (!this.#state) throw lockedError();
    return this.#state;
  }

  /** Restarts the idle timer; the timer never keeps a Node process alive. */
  #touch(): void {
    const ms = this.#options.idleLockMs;
    if (ms === undefined || ms === null) return;
    clearTimeout(this.#idleTimer);
    const timer = setTimeout(() => void this.lock(), ms);
    (timer as { unref?: () => void }).unref?.();
    this.#idleTimer = timer;
  }

  #wipe(): void {
    const s = this.#state;
    this.#state = null;
    if (!s) return;
    s.store.close();
    for (const d of s.devices.values()) d.secrets.signingSeed.fill(0);
    for (const d of s.devices.values()) d.secrets.encryptionSecret.fill(0);
    for (const k of s.signing.values()) k.secretKey.fill(0);
    for (const k of s.boxing.values()) k.key.secretKey.fill(0);
    // OpenPGP.js key objects cannot be wiped in place; dropping them is what can be done.
    s.pgp.clear();
    const seeds = [...s.puks.values(), ...[...s.teams.values()].flatMap((m) => [...m.values()])];
    for (const e of seeds) {
      e.seed.fill(0);
      e.kvKey?.fill(0);
    }
  }

  async #load(store: EncryptedStore): Promise<Unlocked> {
    const s: Unlocked = {
      store,
      devices: new Map(),
      puks: new Map(),
      teams: new Map(),
      signing: new Map(),
      boxing: new Map(),
      pgp: new Map(),
    };
    for (const name of await store.list(KEY_PREFIX)) {
      const bytes = await store.get(name);
      if (bytes === null) continue; // deleted between list and get
      const record = decodeRecord(name, bytes);
      if (record.kind === 'device') this.#addDevice(s, record, true);
      else if (record.kind === 'pgp') {
        let entry: PgpEntry;
        try {
          entry = await pgpEntry(this.#backend, record);
        } catch (e) {
          throw new KeystoreError(
            'KEYSTORE_CORRUPT',
            'stored key record is damaged',
            {
              record: name,
            },
            { cause: e },
          );
        }
        if (entry.info.fingerprint !== record.fingerprint)
          throw new KeystoreError('KEYSTORE_CORRUPT', 'stored key record is damaged', {
            record: name,
          });
        s.pgp.set(entry.info.kid, entry);
      } else this.#addSeed(s, record, seedKeys(this.#backend, record.kind, record.seed));
    }
    return s;
  }

  #addDevice(
    s: Unlocked,
    r: Extract<KeyRecord, { kind: 'device' }>,
    persistent: boolean,
  ): DeviceEntry {
    const signing = this.#backend.ed25519KeyPairFromSeed(r.signingSeed);
    const box = boxKeyFromSecret(this.#backend, r.encryptionSecret);
    const entry: DeviceEntry = {
      info: {
        deviceId: r.deviceId,
        name: r.name,
        type: r.type,
        signingKid: signingKid(signing.publicKey),
        encryptionKid: encryptionKid(box.publicKey),
        persistent,
      },
      secrets: { signingSeed: r.signingSeed, encryptionSecret: r.encryptionSecret },
    };
    s.devices.set(r.deviceId, entry);
    s.signing.set(entry.info.signingKid, { kind: 'device', secretKey: signing.secretKey });
    s.boxing.set(entry.info.encryptionKid, { kind: 'device', key: box });
    return entry;
  }

  /** Publishes a seed generation in memory (its record is already written). */
  /** Forgets the key handles of a seed about to be replaced (its record is overwritten). */
  #dropSeedHandles(s: Unlocked, e: SeedEntry): void {
    s.signing.delete(e.signingKid);
    s.boxing.delete(e.encryptionKid);
  }

  #addSeed(s: Unlocked, r: SeedRecord, keys: SeedKeys): SeedEntry {
    const entry: SeedEntry = {
      generation: r.generation,
      seed: r.seed,
      signingKid: keys.signingKid,
      encryptionKid: keys.encryptionKid,
    };
    if (keys.kvKey) entry.kvKey = keys.kvKey;
    if (r.kind === 'puk') {
      s.puks.set(r.generation, entry);
    } else {
      let gens = s.teams.get(r.teamId);
      if (!gens) {
        gens = new Map<number, SeedEntry>();
        s.teams.set(r.teamId, gens);
      }
      gens.set(r.generation, entry);
    }
    s.signing.set(keys.signingKid, { kind: r.kind, secretKey: keys.signingSecretKey });
    const box = boxKeyFromSecret(this.#backend, keys.encryptionSecret);
    keys.encryptionSecret.fill(0); // the handle keeps its own copy
    s.boxing.set(keys.encryptionKid, { kind: r.kind, key: box });
    return entry;
  }

  #kvKey(
    s: Unlocked,
    teamId: string,
    generation: number,
    mask: Uint8Array | undefined,
  ): Uint8Array {
    const e = s.teams.get(teamId)?.get(generation);
    if (!e?.kvKey) throw unknownKey({ teamId, generation });
    return xor32(e.kvKey, mask);
  }

  async #openKeyBox(
    s: Unlocked,
    item: RequestOf<'openKeyBoxes'>['items'][number],
  ): Promise<{ generations: number[] }> {
    const team = item.key.kind === 'team' ? item.key.teamId : null;
    const receiver = s.boxing.get(item.receiverKid);
    // PUK seeds are boxed to devices, team seeds to PUKs (keybase-identity §4.2, §6.2).
    if (receiver?.kind !== (team === null ? 'device' : 'puk')) {
      throw unknownKey({ kid: item.receiverKid });
    }
    const top = receiver.key.unbox(
      item.senderPublicKey,
      item.nonce,
      item.ciphertext,
    ) as Uint8Array | null;
    if (top?.length !== 32) {
      throw new KeystoreError('KEYSTORE_DECRYPTION_FAILED', 'key box does not open', {
        generation: item.generation,
      });
    }
    const kind: SeedKind = team === null ? 'puk' : 'team';
    const seeds = new Map<number, Uint8Array>([[item.generation, top]]);
    const prevs = [...(item.prevs ?? [])].sort((a, b) => b.generation - a.generation);
    for (const p of prevs) {
      if (p.generation > item.generation || p.generation < 2) continue;
      const seed = seeds.get(p.generation);
      if (!seed) break; // a gap in the chain: stop at what could be opened
      seeds.set(p.generation - 1, openPrev(this.#backend, kind, seed, p.prev, p.generation));
    }
    const gens = team === null ? s.puks : s.teams.get(team);
    const fresh: { record: SeedRecord; keys: SeedKeys }[] = [];
    const replaced: SeedEntry[] = [];
    for (const [generation, seed] of seeds) {
      const record: SeedRecord =
        team === null
          ? { v: 1, kind: 'puk', generation, seed }
          : { v: 1, kind: 'team', teamId: team, generation, seed };
      const keys = seedKeys(this.#backend, kind, seed);
      const expect = item.expected?.find((x) => x.generation === generation);
      const mismatch =
        expect !== undefined &&
        ((expect.signingKid !== undefined && expect.signingKid !== keys.signingKid) ||
          (expect.encryptionKid !== undefined && expect.encryptionKid !== keys.encryptionKid));
      if (mismatch) {
        throw new KeystoreError(
          'KEYSTORE_KEY_MISMATCH',
          'opened seed does not match the expected keys',
          { generation },
        );
      }
      const held = gens?.get(generation);
      // A held seed that does not derive the verified chain's KIDs (while the opened one does)
      // was made for a post that never reached the chain: the chain's seed replaces it.
      const orphaned =
        held !== undefined &&
        expect !== undefined &&
        ((expect.signingKid !== undefined && expect.signingKid !== held.signingKid) ||
          (expect.encryptionKid !== undefined && expect.encryptionKid !== held.encryptionKid));
      if (held && orphaned) {
        replaced.push(held);
        fresh.push({ record, keys });
        continue;
      }
      if (held) {
        keys.signingSecretKey.fill(0);
        keys.encryptionSecret.fill(0);
        if (!constantTimeEqual(held.seed, seed)) {
          throw new KeystoreError(
            'KEYSTORE_CONFLICT',
            'a different seed is held for this generation',
            { generation },
          );
        }
        continue;
      }
      fresh.push({ record, keys });
    }
    // Write everything first, then publish in memory: a failed write leaves no half state.
    for (const f of fresh) await s.store.set(recordName(f.record), encodeRecord(f.record));
    for (const r of replaced) this.#dropSeedHandles(s, r);
    for (const f of fresh) this.#addSeed(s, f.record, f.keys);
    return { generations: [...seeds.keys()].sort((a, b) => a - b) };
  }
}
