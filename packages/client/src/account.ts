/**
 * User accounts end to end (DESIGN.md Identity; spec keybase-identity §3–§5): sign-up, login
 * with a paper key, adding devices and paper keys, listing and revoking devices. Every key is
 * made and used inside the keystore — this module builds links with `@saltbox/identity`'s
 * `sign…Link` builders, which ask the keystore for each signature (purpose `sigchain_link` or
 * `reverse_sig`), and wraps the keystore's seed boxes in tag-515 packets.
 *
 * Sign-up posts the eldest device's `eldest`, `subkey` and `per_user_key` (generation 1)
 * links, then delegates a paper key (a `backup` device: `sibkey` with its reverse signature and
 * `subkey` signed by the paper key itself, spec §5.3) with a PUK box for it. A revocation posts
 * `revoke` and the next `per_user_key` together, the new seed boxed to every remaining device
 * (spec §4.4), so a revoked device cannot read what is encrypted to the user afterwards.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  curve25519Kid,
  encodeEncryptionPacket,
  generatePaperKeyPhrase,
  isValidUsername,
  KID_TYPE,
  naclPublicKey,
  normalizeUsername,
  signEldestLink,
  signPerUserKeyLink,
  signPgpSibkeyLink,
  signRevokeLink,
  signSibkeyLink,
  signSubkeyLink,
  uidFromUsername,
} from '@saltbox/identity';
import type {
  BuiltLink,
  KidHex,
  LinkContext,
  LinkMerkleRoot,
  RemoteLinkSigner,
} from '@saltbox/identity';
import { isKeystoreError } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import { hasUnsafeDisplayCharacters } from '@saltbox/protocol';
import type { ChainLink, PukBox } from '@saltbox/protocol';
import type { AccountConfig, AccountDevice } from './account-config.js';
import { ClientError, isClientError } from './errors.js';
import { ApiClient, keystoreRequestSigner } from './http.js';
import type { RetryPolicy } from './http.js';
import { LogClient } from './log.js';
import type { LogPinStore } from './log.js';
import { openMyPukBoxes } from './puk.js';
import { MemoryChainCache, MemoryPinStore } from './pins.js';
import type { ChainCache, PinStore } from './pins.js';
import { UserLoader } from './users.js';
import type { VerifiedUser } from './users.js';

/** The keystore methods accounts use (the agent client and the in-process client both fit). */
export type AccountKeystore = Pick<
  KeystoreApi,
  | 'createDevice'
  | 'derivePaperKeyDevice'
  | 'getPublicKeyBundle'
  | 'sign'
  | 'createKeyBoxes'
  | 'openKeyBoxes'
  | 'pgpList'
  | 'pgpSignReverseSig'
>;

/** What every account operation needs. */
export interface AccountEnv {
  backend: CryptoBackend;
  keystore: AccountKeystore;
  /** Server base URL. */
  server: string;
  /** Pins and verified-chain cache (default: in memory). */
  pins?: PinStore;
  cache?: ChainCache;
  /** Where the server's log key and last verified root are pinned (default: in memory). */
  logPins?: LogPinStore;
  /**
   * How long a verified latest log root is reused (default `DEFAULT_LOG_FRESH_MS`, 3 s): the
   * bound on how stale a cached user or team may be while the server answers.
   */
  logFreshMs?: number;
  /** Injected `fetch` (tests) and retry policy. */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /** Unix ms; link `ctime`s are its seconds. */
  now?: () => number;
}

/** A device of a verified user, as `device list` shows it. */
export interface DeviceView {
  id: string;
  name: string | null;
  type: string | null;
  status: 'active' | 'revoked';
  /** Its keys, from the verified chain. */
  signingKid: KidHex | null;
  encryptionKid: KidHex | null;
  /** True for the device this account acts as. */
  current: boolean;
}

/** The paper key made by sign-up or `addPaperKey`: the phrase is shown once, never stored. */
export interface NewPaperKey {
  phrase: string;
  deviceId: string;
  /** The public name: the phrase's first two words (spec §5.1). */
  name: string;
}

type ChainDeviceType = 'desktop' | 'mobile';

/** A signer over a keystore key: each request goes to the keystore's batch `sign`. */
function keystoreLinkSigner(keystore: AccountKeystore, kid: KidHex): RemoteLinkSigner {
  return {
    kid,
    async sign(request) {
      const res = await keystore.sign({
        items: [{ kid, purpose: request.purpose, message: request.message }],
      });
      const item = res.items[0];
      if (item === undefined || 'error' in item)
        throw new ClientError('CLIENT_SIGNER', 'the keystore did not sign a chain link', {
          keystoreCode: item && 'error' in item ? item.error.code : null,
        });
      return item.result.signature;
    },
  };
}

const encPublicKey = (kid: KidHex): Uint8Array => naclPublicKey(kid, KID_TYPE.curve25519);

function apiFor(env: AccountEnv, signingKid?: KidHex): ApiClient {
  return new ApiClient({
    baseUrl: env.server,
    backend: env.backend,
    ...(signingKid === undefined
      ? {}
      : { signer: keystoreRequestSigner(env.keystore, signingKid) }),
    ...(env.fetch ? { fetch: env.fetch } : {}),
    ...(env.retry ? { retry: env.retry } : {}),
    ...(env.now ? { now: env.now } : {}),
  });
}

function checkUsername(username: string): string {
  if (!isValidUsername(username))
    throw new ClientError(
      'CLIENT_INVALID_ARGUMENT',
      'usernames are 2–16 of a-z, 0-9 and _ (no leading or double _)',
    );
  return normalizeUsername(username);
}

function checkDeviceName(name: string): string {
  const n = name.trim();
  // Control characters (C0, DEL, C1) and bidi overrides would garble or disguise every listing
  // that prints the name; the server refuses them too.
  if (n.length === 0 || n.length > 64 || hasUnsafeDisplayCharacters(n))
    throw new ClientError('CLIENT_INVALID_ARGUMENT', 'device names are 1–64 printable characters');
  return n;
}

/**
 * The PUK generation sign-up boxes: a new one, or generation 1 left by a sign-up that failed
 * after making it. Anything more means the keystore belongs to an account: the keystore names
 * PUK generations by number alone, so two users' generations would clash.
 */
async function signupGeneration(keystore: AccountKeystore): Promise<1 | 'new'> {
  const { puks } = await keystore.getPublicKeyBundle();
  if (puks.length === 0) return 'new';
  if (puks.length === 1 && puks[0]!.generation === 1) return 1;
  throw new ClientError(
    'CLIENT_ACCOUNT_CONFLICT',
    'this keystore already holds the keys of an account',
  );
}

/** Boxes of PUK generation `generation` (or a new one) from `senderKid` to `receivers`. */
async function pukBoxes(
  env: AccountEnv,
  generation: number | 'new',
  senderKid: KidHex,
  receivers: readonly KidHex[],
): Promise<{ generation: number; signingKid: KidHex; encryptionKid: KidHex; boxes: PukBox[] }> {
  const res = await env.keystore.createKeyBoxes({
    key: { kind: 'puk' },
    generation,
    senderKid,
    recipients: receivers.map((k) => ({ publicKey: encPublicKey(k) })),
  });
  return {
    generation: res.generation,
    signingKid: res.signingKid,
    encryptionKid: res.encryptionKid,
    boxes: res.boxes.map((b) => {
      const receiverKid = curve25519Kid(b.publicKey);
      return {
        generation: res.generation,
        receiverKid,
        box: encodeEncryptionPacket(env.backend, {
          senderKid,
          receiverKid,
          nonce: b.nonce,
          ciphertext: b.ciphertext,
        }),
      };
    }),
  };
}

/** Builds links one after another, each naming the previous one. */
class ChainWriter {
  readonly links: BuiltLink[] = [];
  readonly #base: { uid: string; username: string; eldestKid?: KidHex };
  #seqno: number;
  #prev: string | null;
  readonly #ctime: number;
  readonly #merkleRoot: LinkMerkleRoot | undefined;

  /**
   * @param merkleRoot - the log root every link names (spec §3.1): a revocation's is what
   *   later proves that the revoked key's team links came first (DESIGN.md "The signed log").
   */
  constructor(
    user: { uid: string; username: string; eldestKid?: KidHex },
    tail: { seqno: number; linkId: string } | null,
    now: number,
    merkleRoot: LinkMerkleRoot | undefined,
  ) {
    this.#base = user;
    this.#seqno = tail?.seqno ?? 0;
    this.#prev = tail?.linkId ?? null;
    this.#ctime = Math.floor(now / 1000);
    this.#merkleRoot = merkleRoot;
  }

  /** The context of the next link; `eldestKid` is left out of seqno 1 (spec §3.1). */
  next(eldestKid?: KidHex): LinkContext {
    const eldest = eldestKid ?? this.#base.eldestKid;
    return {
      uid: this.#base.uid,
      username: this.#base.username,
      seqno: this.#seqno + 1,
      prev: this.#prev,
      ...(this.#seqno > 0 && eldest !== undefined ? { eldestKid: eldest } : {}),
      ctime: this.#ctime,
      ...(this.#merkleRoot ? { merkleRoot: { ...this.#merkleRoot } } : {}),
    };
  }

  push(link: BuiltLink): void {
    this.links.push(link);
    this.#seqno += 1;
    this.#prev = link.linkId;
  }

  get chainLinks(): ChainLink[] {
    return this.links.map((l) => l.link as ChainLink);
  }
}

/**
 * Delegates a new device whose keys the keystore already holds: a `sibkey` link signed by
 * `by` with the new key's reverse signature, and a `subkey` link signed by the new key.
 */
async function delegateDevice(
  env: AccountEnv,
  writer: ChainWriter,
  by: KidHex,
  device: {
    deviceId: string;
    name: string;
    type: 'desktop' | 'mobile' | 'backup';
    signingKid: KidHex;
    encryptionKid: KidHex;
  },
): Promise<void> {
  const section = { id: device.deviceId, name: device.name, type: device.type };
  const newKey = keystoreLinkSigner(env.keystore, device.signingKid);
  writer.push(
    await signSibkeyLink(env.backend, writer.next(), keystoreLinkSigner(env.keystore, by), newKey, {
      ...section,
      kid: device.signingKid,
    }),
  );
  writer.push(
    await signSubkeyLink(env.backend, writer.next(), newKey, device.encryptionKid, {
      ...section,
      kid: device.encryptionKid,
    }),
  );
}

/** Result of {@link signup}. */
export interface SignupResult {
  config: AccountConfig;
  paperKey: NewPaperKey;
  /** The chain tail after the paper key was delegated. */
  seqno: number;
}

/**
 * Creates a user: a new device in the keystore (eldest key and encryption subkey), per-user
 * key generation 1, and a paper key delegated by that device with its own PUK box.
 *
 * The paper device is derived into the keystore without being persisted (it exists to sign its
 * own links); the phrase is returned to be shown once. `onCreated` runs once the server has
 * accepted the account, before the paper key is made: a caller saves the config there, so an
 * interruption in between (a kill, a lost connection) leaves a usable account, not a name
 * taken by keys nobody can use (its paper key can then be made with `addPaperKey`).
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` (username, device name),
 *   `CLIENT_ACCOUNT_CONFLICT` (the keystore holds another account), `CLIENT_HTTP`
 *   (`USERNAME_TAKEN`, …), `CLIENT_SIGNER` (keystore locked or refusing), `CLIENT_NETWORK`.
 */
export async function signup(
  env: AccountEnv,
  options: {
    username: string;
    deviceName: string;
    deviceType?: ChainDeviceType;
    /** An invite code, for a server that signs up by invitation. */
    invite?: string;
    /** Called with the account's config as soon as the server accepted it. */
    onCreated?: (config: AccountConfig) => Promise<void>;
  },
): Promise<SignupResult> {
  const username = checkUsername(options.username);
  const deviceName = checkDeviceName(options.deviceName);
  const type = options.deviceType ?? 'desktop';
  const generation = await signupGeneration(env.keystore);
  // The public directory answers before any key is made, so a taken name costs nothing.
  const taken = await apiFor(env).keybaseLookup([username]);
  if (Array.isArray(taken.them) && taken.them[0] !== null && taken.them[0] !== undefined)
    throw new ClientError('CLIENT_HTTP', `server error USERNAME_TAKEN: ${username} is taken`, {
      status: 409,
      serverCode: 'USERNAME_TAKEN',
    });
  const now = (env.now ?? Date.now)();
  const uid = uidFromUsername(env.backend, username);
  const device = await env.keystore.createDevice({ name: deviceName, type });
  const deviceSigner = keystoreLinkSigner(env.keystore, device.signingKid);
  const puk = await pukBoxes(env, generation, device.encryptionKid, [device.encryptionKid]);
  if (puk.generation !== 1)
    throw new ClientError('CLIENT_ACCOUNT_CONFLICT', 'the keystore already holds per-user keys');
  const log = new LogClient({
    api: apiFor(env),
    backend: env.backend,
    ...(env.logPins ? { pins: env.logPins } : {}),
  });
  const writer = new ChainWriter(
    { uid, username, eldestKid: device.signingKid },
    null,
    now,
    await log.linkMerkleRoot(),
  );
  const section = { id: device.deviceId, name: deviceName, type };
  writer.push(
    await signEldestLink(env.backend, writer.next(), deviceSigner, {
      ...section,
      kid: device.signingKid,
    }),
  );
  writer.push(
    await signSubkeyLink(env.backend, writer.next(), deviceSigner, device.encryptionKid, {
      ...section,
      kid: device.encryptionKid,
    }),
  );
  writer.push(
    await signPerUserKeyLink(env.backend, writer.next(), deviceSigner, {
      generation: 1,
      signing: keystoreLinkSigner(env.keystore, puk.signingKid),
      encryptionKid: puk.encryptionKid,
    }),
  );
  const api = apiFor(env, device.signingKid);
  await api.signup(
    {
      username,
      links: writer.chainLinks,
      pukBoxes: puk.boxes,
      ...(options.invite === undefined ? {} : { invite: options.invite }),
    },
    keystoreRequestSigner(env.keystore, device.signingKid),
  );
  const config: AccountConfig = {
    version: 1,
    server: env.server,
    username,
    uid,
    device: {
      id: device.deviceId,
      name: deviceName,
      type,
      signingKid: device.signingKid,
      encryptionKid: device.encryptionKid,
    },
    oneshot: false,
  };
  await options.onCreated?.(config);
  const account = new Account(env, config);
  const paperKey = await account.addPaperKey();
  const me = await account.me();
  return { config, paperKey, seqno: me.tail.seqno };
}

/** Result of {@link loginWithPaperKey}. */
export interface LoginResult {
  config: AccountConfig;
  /** PUK generations the keystore holds after opening the paper key's boxes. */
  generations: number[];
}

/**
 * Logs in with a paper key, like `keybase oneshot` (spec §5.4): derives the paper device in the
 * keystore, finds it among the user's verified devices, and opens the PUK boxes addressed to
 * it. Nothing is posted; the chain does not change.
 *
 * `options.persist` false keeps the paper device in the keystore's memory only (an agent);
 * true stores it (encrypted) so later processes can use it.
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` (username), `CLIENT_PAPER_KEY_UNKNOWN` (not a
 *   device of the user), `CLIENT_DEVICE_REVOKED` (the paper key was revoked),
 *   `CLIENT_ACCOUNT_CONFLICT`, `CLIENT_KEY_BOX_INVALID`, `CLIENT_SIGNER`, `CLIENT_NETWORK`, …;
 *   KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a malformed phrase.
 */
export async function loginWithPaperKey(
  env: AccountEnv,
  options: { username: string; phrase: string; persist: boolean },
): Promise<LoginResult> {
  const username = checkUsername(options.username);
  const bundle = await env.keystore.getPublicKeyBundle();
  // In memory first: a paper key is stored only once the chain shows it is this user's.
  const paper = await env.keystore.derivePaperKeyDevice({ phrase: options.phrase, persist: false });
  // A keystore with per-user keys belongs to an account; only that same account may log in
  // again (its paper device may already be there).
  const api = apiFor(env, paper.signingKid);
  const users = new UserLoader({
    api,
    backend: env.backend,
    pins: env.pins ?? new MemoryPinStore(),
    cache: env.cache ?? new MemoryChainCache(),
    log: new LogClient({
      api,
      backend: env.backend,
      ...(env.logPins ? { pins: env.logPins } : {}),
    }),
  });
  let me: VerifiedUser;
  try {
    me = await users.load(username, { refresh: true });
  } catch (e) {
    if (isClientError(e, 'CLIENT_HTTP')) {
      if (e.details.serverCode === 'UNKNOWN_KEY')
        throw new ClientError(
          'CLIENT_PAPER_KEY_UNKNOWN',
          `the paper key is not a device of ${username}`,
          { username },
        );
    }
    throw e;
  }
  const key = me.keys.find((k) => k.kid === paper.signingKid && k.role === 'sibkey');
  if (key === undefined || key.deviceId === null)
    throw new ClientError(
      'CLIENT_PAPER_KEY_UNKNOWN',
      `the paper key is not a device of ${username}`,
      { username },
    );
  if (key.status !== 'live')
    throw new ClientError('CLIENT_DEVICE_REVOKED', 'this paper key has been revoked', { username });
  const chainDevice = me.devices.find((d) => d.id === key.deviceId);
  const enc = me.keys.find((k) => k.deviceId === key.deviceId && k.role === 'subkey');
  if (enc?.kid !== paper.encryptionKid)
    throw new ClientError(
      'CLIENT_PAPER_KEY_UNKNOWN',
      'the paper key has no encryption key in the chain',
      { username },
    );
  if (bundle.puks.length > 0) {
    const held = new Set(bundle.puks.map((p) => `${p.generation}:${p.encryptionKid}`));
    const ours = me.perUserKeys.some((p) => held.has(`${p.generation}:${p.encryptionKid}`));
    if (!ours)
      throw new ClientError(
        'CLIENT_ACCOUNT_CONFLICT',
        'this keystore already holds the keys of another account',
      );
  }
  const generations = await openMyPukBoxes(env.backend, api, env.keystore, me);
  if (options.persist)
    await env.keystore.derivePaperKeyDevice({ phrase: options.phrase, persist: true });
  const config: AccountConfig = {
    version: 1,
    server: env.server,
    username,
    uid: me.uid,
    device: {
      id: key.deviceId,
      name: chainDevice?.name ?? paper.name,
      type: 'backup',
      signingKid: paper.signingKid,
      encryptionKid: paper.encryptionKid,
    },
    oneshot: !options.persist,
  };
  return { config, generations };
}

/**
 * A signed-in account: the configured user and device, acting through the keystore.
 */
export class Account {
  readonly config: AccountConfig;
  readonly api: ApiClient;
  readonly users: UserLoader;
  /** The server's signed log as this account checks it (shared with its team loaders). */
  readonly log: LogClient;
  readonly #env: AccountEnv;

  /**
   * @param env - backend, keystore, server and stores.
   * @param config - the account this home acts as.
   */
  constructor(env: AccountEnv, config: AccountConfig) {
    this.#env = env;
    this.config = config;
    this.api = apiFor(env, config.device.signingKid);
    this.log = new LogClient({
      api: this.api,
      backend: env.backend,
      ...(env.logPins ? { pins: env.logPins } : {}),
      ...(env.logFreshMs === undefined ? {} : { freshMs: env.logFreshMs }),
    });
    this.users = new UserLoader({
      api: this.api,
      backend: env.backend,
      pins: env.pins ?? new MemoryPinStore(),
      cache: env.cache ?? new MemoryChainCache(),
      log: this.log,
      ...(env.now ? { now: env.now } : {}),
    });
  }

  /** The keystore this account signs and boxes with (for feature modules such as teams). */
  get keystore(): AccountKeystore {
    return this.#env.keystore;
  }

  /** The crypto backend. */
  get backend(): CryptoBackend {
    return this.#env.backend;
  }

  /**
   * The account's own user, freshly fetched and verified.
   *
   * @throws ClientError `CLIENT_DEVICE_REVOKED` when the server refuses this device as revoked,
   *   and the codes of `UserLoader.load`.
   */
  async me(): Promise<VerifiedUser> {
    return this.users.load(this.config.username, { refresh: true });
  }

  /**
   * Opens the PUK boxes addressed to this device (new generations after another device rotated
   * the key).
   *
   * @returns the generations the keystore holds.
   * @throws ClientError as {@link Account.me}, and `CLIENT_KEY_BOX_INVALID`.
   */
  async syncPerUserKeys(me?: VerifiedUser): Promise<number[]> {
    const user = me ?? (await this.me());
    return openMyPukBoxes(this.#env.backend, this.api, this.#env.keystore, user);
  }

  /**
   * The user's devices from the verified chain, the current one marked.
   *
   * @throws ClientError as {@link Account.me}.
   */
  async devices(me?: VerifiedUser): Promise<DeviceView[]> {
    const user = me ?? (await this.me());
    return user.devices.map((d) => {
      const keys = user.keys.filter((k) => k.deviceId === d.id);
      return {
        id: d.id,
        name: d.name,
        type: d.type,
        status: d.status,
        signingKid: keys.find((k) => k.role === 'sibkey')?.kid ?? null,
        encryptionKid: keys.find((k) => k.role === 'subkey')?.kid ?? null,
        current: d.id === this.config.device.id,
      };
    });
  }

  /**
   * Every PUK generation announced by the chain, boxed to `receiverKid` from this device (the
   * keystore must hold them: {@link Account.syncPerUserKeys} runs first).
   */
  async #boxesFor(me: VerifiedUser, receiverKid: KidHex): Promise<PukBox[]> {
    const held = new Set(await this.syncPerUserKeys(me));
    const out: PukBox[] = [];
    for (const p of me.perUserKeys) {
      if (!held.has(p.generation)) continue;
      const r = await pukBoxes(this.#env, p.generation, this.config.device.encryptionKid, [
        receiverKid,
      ]);
      out.push(...r.boxes);
    }
    return out;
  }

  /** A writer after `me`'s tail whose links name the latest log root, asked for afresh. */
  async #writer(me: VerifiedUser): Promise<ChainWriter> {
    return new ChainWriter(
      { uid: me.uid, username: me.username, eldestKid: me.eldestKid },
      me.tail,
      (this.#env.now ?? Date.now)(),
      await this.log.linkMerkleRoot(),
    );
  }

  /**
   * Adds a device to this keystore and delegates it from the current device (`sibkey` with
   * reverse signature, `subkey`), boxing every PUK generation to it. The caller switches the
   * home's config to the returned device.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (name), `CLIENT_DEVICE_NAME_TAKEN` (an
   *   active device has it, case-insensitively), `CLIENT_DEVICE_REVOKED`, `CLIENT_HTTP`
   *   (`CHAIN_CONFLICT` when another device appended first), `CLIENT_SIGNER`, ….
   */
  async addDevice(options: { name: string; type?: ChainDeviceType }): Promise<AccountDevice> {
    const name = checkDeviceName(options.name);
    const type = options.type ?? 'desktop';
    const me = await this.me();
    // Checked before a key is made; the server refuses it too (DEVICE_NAME_TAKEN).
    if (
      me.devices.some(
        (d) => d.status === 'active' && d.name?.trim().toLowerCase() === name.toLowerCase(),
      )
    )
      throw new ClientError(
        'CLIENT_DEVICE_NAME_TAKEN',
        `${me.username} already has an active device named "${name}"`,
        { name },
      );
    const device = await this.#env.keystore.createDevice({ name, type });
    const writer = await this.#writer(me);
    await delegateDevice(this.#env, writer, this.config.device.signingKid, {
      ...device,
      name,
      type,
    });
    const boxes = await this.#boxesFor(me, device.encryptionKid);
    await this.api.appendLinks(me.username, { links: writer.chainLinks, pukBoxes: boxes });
    return {
      id: device.deviceId,
      name,
      type,
      signingKid: device.signingKid,
      encryptionKid: device.encryptionKid,
    };
  }

  /**
   * Publishes a PGP key the keystore holds (`pgpGenerate` / `pgpImport`) through the chain: a
   * `sibkey` link signed by this device naming the key's KID, fingerprint, key ID and full hash,
   * with the PGP key's reverse signature (made inside the keystore), appended together with the
   * armored public key. Afterwards the user's verified chain lists the key (`pgpKeys`), so
   * `format=pgp` encrypts to it.
   *
   * @param options - `kid` (or `fingerprint`) of the key; may be left out when the keystore
   *   holds exactly one PGP key.
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (no such PGP key in the keystore, or several
   *   and none chosen), `CLIENT_ACCOUNT_CONFLICT` (already published), `CLIENT_SIGNER`
   *   (the keystore refused a signature), `CLIENT_HTTP` (`CHAIN_CONFLICT`, `CHAIN_INVALID`,
   *   `KEY_IN_USE` when another user delegated the key), `CLIENT_NETWORK`, and the codes of
   *   {@link Account.me}.
   */
  async publishPgpKey(
    options: { kid?: string; fingerprint?: string } = {},
  ): Promise<{ kid: KidHex; fingerprint: string; seqno: number }> {
    const keystore = this.#env.keystore;
    const { keys } = await keystore.pgpList();
    const wanted = options.kid ?? options.fingerprint?.toLowerCase().replace(/\s/g, '');
    const matches =
      wanted === undefined
        ? keys
        : keys.filter((k) => k.kid === wanted || k.fingerprint === wanted || k.keyId === wanted);
    if (matches.length !== 1)
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        matches.length === 0
          ? "no such pgp key in the keystore: run 'saltbox pgp gen' or 'saltbox pgp import'"
          : 'the keystore holds several pgp keys: name one by fingerprint',
      );
    const key = matches[0]!;
    const me = await this.me();
    if (me.keys.some((k) => k.kid === key.kid))
      throw new ClientError(
        'CLIENT_ACCOUNT_CONFLICT',
        'this pgp key is already delegated by the chain',
        { kid: key.kid },
      );
    const writer = await this.#writer(me);
    const link = await signPgpSibkeyLink(
      this.#env.backend,
      writer.next(),
      keystoreLinkSigner(keystore, this.config.device.signingKid),
      {
        armoredPublicKey: key.armoredPublicKey,
        async signReverse(message) {
          try {
            return (await keystore.pgpSignReverseSig({ kid: key.kid, message })).signature;
          } catch (e) {
            throw new ClientError(
              'CLIENT_SIGNER',
              'the keystore did not sign the pgp reverse signature',
              { keystoreCode: isKeystoreError(e) ? e.code : null },
              { cause: e },
            );
          }
        },
      },
    );
    writer.push(link);
    const tail = await this.api.appendLinks(me.username, {
      links: writer.chainLinks,
      pgpBundles: [key.armoredPublicKey],
    });
    return { kid: key.kid, fingerprint: key.fingerprint, seqno: tail.seqno };
  }

  /**
   * Makes a new paper key and delegates it (spec §5.3). The paper device is held by the
   * keystore in memory only; the phrase is returned once.
   *
   * @throws ClientError as {@link Account.addDevice}.
   */
  async addPaperKey(): Promise<NewPaperKey> {
    const me = await this.me();
    const phrase = generatePaperKeyPhrase(this.#env.backend);
    const paper = await this.#env.keystore.derivePaperKeyDevice({ phrase, persist: false });
    const writer = await this.#writer(me);
    await delegateDevice(this.#env, writer, this.config.device.signingKid, {
      ...paper,
      type: 'backup',
    });
    const boxes = await this.#boxesFor(me, paper.encryptionKid);
    await this.api.appendLinks(me.username, { links: writer.chainLinks, pukBoxes: boxes });
    return { phrase, deviceId: paper.deviceId, name: paper.name };
  }

  /**
   * Revokes a device (by ID or name) and rotates the per-user key: a `revoke` link listing the
   * device's keys and a `per_user_key` link for the next generation, posted together with the
   * new seed boxed to every remaining live device (paper keys included).
   *
   * @returns the new PUK generation.
   * @throws ClientError `CLIENT_DEVICE_NOT_FOUND` (no such active device, or the name is
   *   ambiguous), `CLIENT_INVALID_ARGUMENT` (revoking the device this home acts as),
   *   `CLIENT_HTTP` (`CHAIN_CONFLICT`), `CLIENT_SIGNER`, ….
   */
  async revokeDevice(which: string): Promise<{ device: DeviceView; generation: number }> {
    const me = await this.me();
    const active = (await this.devices(me)).filter((d) => d.status === 'active');
    const byId = active.filter((d) => d.id === which);
    const matches = byId.length > 0 ? byId : active.filter((d) => d.name === which);
    if (matches.length !== 1)
      throw new ClientError(
        'CLIENT_DEVICE_NOT_FOUND',
        matches.length === 0
          ? 'no active device has that name or id'
          : 'several active devices have that name; use the device id',
        { matches: matches.length },
      );
    const target = matches[0]!;
    if (target.current)
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        'a device cannot revoke itself; revoke it from another device or with a paper key',
      );
    const latest = me.perUserKeys[me.perUserKeys.length - 1]?.generation ?? 0;
    const held = await this.syncPerUserKeys(me);
    // A generation made by an earlier attempt that never reached the server is reused, so a
    // retry cannot skip a number (the keystore makes held-latest + 1 for 'new').
    const next = held.includes(latest + 1) ? latest + 1 : 'new';
    const targetKeys = me.keys
      .filter((k) => k.deviceId === target.id && k.status === 'live')
      .map((k) => k.kid);
    const receivers = me.subkeys.filter((k) => !targetKeys.includes(k));
    const puk = await pukBoxes(this.#env, next, this.config.device.encryptionKid, receivers);
    if (puk.generation !== latest + 1)
      throw new ClientError(
        'CLIENT_KEY_BOX_INVALID',
        'the keystore made another per-user key generation than the chain needs',
        { expected: latest + 1, made: puk.generation },
      );
    const signer = keystoreLinkSigner(this.#env.keystore, this.config.device.signingKid);
    const writer = await this.#writer(me);
    writer.push(
      await signRevokeLink(
        this.#env.backend,
        writer.next(),
        signer,
        { kids: targetKeys },
        { id: target.id, kid: target.signingKid ?? targetKeys[0]!, status: 2 },
      ),
    );
    writer.push(
      await signPerUserKeyLink(this.#env.backend, writer.next(), signer, {
        generation: puk.generation,
        signing: keystoreLinkSigner(this.#env.keystore, puk.signingKid),
        encryptionKid: puk.encryptionKid,
      }),
    );
    await this.api.appendLinks(me.username, { links: writer.chainLinks, pukBoxes: puk.boxes });
    return { device: { ...target, status: 'revoked' }, generation: puk.generation };
  }
}
