/**
 * Saltpack with keystore keys, without exporting them: adapters that turn a keystore (any
 * transport) into the key handles `@saltbox/saltpack` takes — {@link BoxSecretKey},
 * {@link SigningSecretKey}, {@link BoxKeyring}.
 *
 * Only the per-message work crosses the boundary (payload-key unboxes, MAC-key halves,
 * signcryption derived keys, signatures over Saltpack's prefixed inputs); payload chunks are
 * sealed and opened by the caller at full speed.
 *
 * Round trips: `boxBatch` maps to one `boxBatch` call; single `box`/`unbox`/`sign` calls made in
 * the same tick (e.g. under `Promise.all`) are coalesced into one batch call, so a header for
 * 1000 recipients costs one round trip, not 1000.
 *
 * @packageDocumentation
 */
import type { BoxKeyring, BoxRequest, BoxSecretKey, SigningSecretKey } from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { KeystoreError, refused } from './errors.js';
import { kidPublicKey } from './derive.js';
import type { SigningPurpose } from './purposes.js';
import type { ItemResult, KeystoreApi, RequestOf } from './rpc.js';

type Batchable = 'boxBatch' | 'unboxBatch' | 'sign';
type ItemOf<M extends Batchable> = RequestOf<M>['items'][number];

/**
 * Collects items enqueued in the same tick and sends them as one batch call; each caller gets
 * its own item's result or error.
 */
class Coalescer<M extends Batchable, R> {
  readonly #send: (items: ItemOf<M>[]) => Promise<{ items: ItemResult<R>[] }>;
  #queue: { item: ItemOf<M>; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];

  constructor(send: (items: ItemOf<M>[]) => Promise<{ items: ItemResult<R>[] }>) {
    this.#send = send;
  }

  /** Queues several items as one call (keeps them together and in order). */
  many(items: ItemOf<M>[]): Promise<R[]> {
    return Promise.all(items.map((i) => this.one(i)));
  }

  one(item: ItemOf<M>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#queue.length === 0) queueMicrotask(() => void this.#flush());
      this.#queue.push({ item, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    try {
      const res = await this.#send(batch.map((b) => b.item));
      batch.forEach((b, i) => {
        const r = res.items[i];
        if (!r) b.reject(new KeystoreError('KEYSTORE_TRANSPORT', 'batch response is short'));
        else if ('error' in r) b.reject(KeystoreError.fromJSON(r.error));
        else b.resolve(r.result);
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}

const coalescers = new WeakMap<
  KeystoreApi,
  {
    box: Coalescer<'boxBatch', { box: Uint8Array }>;
    unbox: Coalescer<'unboxBatch', { plaintext: Uint8Array | null }>;
    sign: Coalescer<'sign', { signature: Uint8Array }>;
  }
>();

function batchersOf(keystore: KeystoreApi) {
  let b = coalescers.get(keystore);
  if (!b) {
    b = {
      box: new Coalescer((items) => keystore.boxBatch({ items })),
      unbox: new Coalescer((items) => keystore.unboxBatch({ items })),
      sign: new Coalescer((items) => keystore.sign({ items })),
    };
    coalescers.set(keystore, b);
  }
  return b;
}

const isZero32 = (b: Uint8Array): boolean => b.length === 32 && b.every((x) => x === 0);

/**
 * A Saltpack box-key handle for the keystore's X25519 key `kid` (a device, PUK or team
 * encryption key).
 *
 * `box` serves only boxes of 32 zero bytes (the only kind Saltpack makes with a long-term
 * key); anything else is refused locally with `KEYSTORE_REFUSED`. Errors from the keystore
 * (locked, refused nonce, transport) propagate as {@link KeystoreError}s.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` when `kid` is not an encryption KID.
 */
export function keystoreBoxKey(keystore: KeystoreApi, kid: string): BoxSecretKey {
  if (!kid.startsWith('0121')) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'not an encryption kid', { kid });
  }
  const batch = batchersOf(keystore);
  const check = (plaintext: Uint8Array) => {
    if (!isZero32(plaintext)) throw refused('keystore keys only box 32 zero bytes', { kid });
  };
  return {
    publicKey: kidPublicKey(kid),
    async box(peer, nonce, plaintext) {
      check(plaintext);
      return (await batch.box.one({ kid, peer, nonce })).box;
    },
    async boxBatch(requests: readonly BoxRequest[]) {
      for (const r of requests) check(r.plaintext);
      const out = await batch.box.many(
        requests.map((r) => ({ kid, peer: r.peer, nonce: r.nonce })),
      );
      return out.map((o) => o.box);
    },
    async unbox(peer, nonce, box) {
      // Saltpack's payload-key boxes are always 48 bytes; anything else cannot be ours.
      if (box.length !== 48) return null;
      return (await batch.unbox.one({ kid, peer, nonce, box })).plaintext;
    },
  };
}

/**
 * A Saltpack signing handle for the keystore's Ed25519 key `kid`. Signs with purpose
 * `saltpack`, so the keystore checks the input carries one of Saltpack's prefixes.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` when `kid` is not a signing KID.
 */
export function keystoreSigningKey(
  keystore: KeystoreApi,
  kid: string,
  purpose: SigningPurpose = 'saltpack',
): SigningSecretKey {
  if (!kid.startsWith('0120')) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'not a signing kid', { kid });
  }
  const batch = batchersOf(keystore);
  return {
    publicKey: kidPublicKey(kid),
    async sign(message) {
      return (await batch.sign.one({ kid, purpose, message })).signature;
    },
  };
}

/** Which of the keystore's encryption keys a keyring offers. */
export interface KeystoreKeyringOptions {
  /** Default: every kind (devices, PUK generations, team generations). */
  kinds?: readonly ('device' | 'puk' | 'team')[];
  /** Only these teams' keys (when `team` is among the kinds). */
  teamIds?: readonly string[];
  /** Decides whether to accept a sender (Saltpack's `acceptSender`); default accepts all. */
  acceptSender?: (publicKey: Uint8Array) => boolean | Promise<boolean>;
}

/**
 * A Saltpack decryption keyring over the keystore's encryption keys, read once from
 * `getPublicKeyBundle` (build a new keyring after keys change).
 *
 * @throws KeystoreError `KEYSTORE_LOCKED` (or a transport error) from the bundle call.
 */
export async function keystoreKeyring(
  keystore: KeystoreApi,
  options: KeystoreKeyringOptions = {},
): Promise<BoxKeyring> {
  const kinds = new Set(options.kinds ?? ['device', 'puk', 'team']);
  const bundle = await keystore.getPublicKeyBundle();
  const kids = [
    ...(kinds.has('device') ? bundle.devices.map((d) => d.encryptionKid) : []),
    // Newest generations first: they are the likeliest recipients.
    ...(kinds.has('puk') ? [...bundle.puks].reverse().map((p) => p.encryptionKid) : []),
    ...(kinds.has('team')
      ? [...bundle.teams]
          .filter((t) => !options.teamIds || options.teamIds.includes(t.teamId))
          .reverse()
          .map((t) => t.encryptionKid)
      : []),
  ];
  const keys = kids.map((kid) => keystoreBoxKey(keystore, kid));
  const ring: BoxKeyring = {
    lookupBoxSecretKey(publicKeys) {
      for (let i = 0; i < publicKeys.length; i++) {
        const key = keys.find((k) => bytesEqual(k.publicKey, publicKeys[i]!));
        if (key) return { index: i, key };
      }
      return null;
    },
    allBoxSecretKeys: () => keys,
  };
  if (options.acceptSender) ring.acceptSender = options.acceptSender;
  return ring;
}
