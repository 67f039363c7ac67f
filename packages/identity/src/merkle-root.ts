/**
 * Signed roots of the log (DESIGN.md "The signed log"; Keybase's `merkle/root` in spec §7).
 *
 * A root's payload is the canonical JSON object with the fields `ctime`, `log` (hex SHA-256
 * history root), `map` (hex SHA-512 map root), `prev` (the previous root's `hash_meta`, null for
 * root 1), `seqno`, `type` ("saltbox_log_root") and `version` (1),
 * where `log` covers roots 1 … seqno (this one included) as {@link logLeafData}. Its
 * `hash_meta` is SHA-256 of the payload bytes, as Keybase's short root hash, and it is what
 * every new sigchain link names in `merkle_root` (spec §3.1) together with `seqno`, `ctime` and
 * `hash` (the map root).
 *
 * The server signs `"saltbox log root v1\0" ‖ payload` with its Ed25519 root key: the prefix
 * keeps a root signature from ever being valid as anything else the key could be asked to sign.
 *
 * @packageDocumentation
 */
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson, parseJson } from './canonical-json.js';
import { fromBase64, hexToBytes, toBase64, toHex } from './encoding.js';
import { fail } from './errors.js';
import { ed25519Kid, naclPublicKey, KID_TYPE } from './ids.js';
import type { KidHex } from './ids.js';
import { MAP_HASH_BYTES } from './merkle-map.js';
import { logLeafHash, verifyLogConsistency, verifyLogInclusion } from './merkle-log.js';

const SIGNATURE_PREFIX = utf8('saltbox log root v1\0');
const ROOT_TYPE = 'saltbox_log_root';

/** A root's content. */
export interface LogRootBody {
  seqno: number;
  /** Unix seconds. */
  ctime: number;
  /** Hex SHA-512 root of the map of chain tails. */
  map: string;
  /** Hex SHA-256 root of the history of roots 1 … seqno. */
  log: string;
  /** `hash_meta` of root seqno − 1; null for root 1. */
  prev: string | null;
}

/** A root as the server serves it. */
export interface SignedLogRoot {
  /** The exact payload bytes that were signed, as a string. */
  payloadJson: string;
  /** The root key's KID. */
  kid: KidHex;
  /** Base64 Ed25519 signature. */
  sig: string;
  /**
   * The inclusion path (hex) of this root's own leaf, the last of its `log`: it binds the
   * signed `map` to the history, so two roots with one `log` cannot carry different maps.
   */
  leafPath: string[];
}

/** A root whose signature and shape were checked. */
export interface VerifiedLogRoot extends LogRootBody {
  /** SHA-256 of the payload (hex): what links name in `merkle_root.hash_meta`. */
  hashMeta: string;
  signed: SignedLogRoot;
}

/** What a sigchain link records of the root its signer saw (spec §3.1 `merkle_root`). */
export interface LinkMerkleRoot {
  ctime: number;
  seqno: number;
  hash: string;
  hash_meta: string;
}

/** The payload of a root. */
export function logRootPayload(body: LogRootBody): string {
  return canonicalJson({
    ctime: body.ctime,
    log: body.log,
    map: body.map,
    prev: body.prev,
    seqno: body.seqno,
    type: ROOT_TYPE,
    version: 1,
  });
}

/** The history-tree leaf of a root: what the next roots' `log` commits to. */
export function logLeafData(body: Pick<LogRootBody, 'seqno' | 'map' | 'ctime'>): Uint8Array {
  return utf8(canonicalJson({ ctime: body.ctime, map: body.map, seqno: body.seqno }));
}

/** `hash_meta` of a payload. */
export function logRootHashMeta(backend: CryptoBackend, payloadJson: string): string {
  return toHex(backend.sha256(utf8(payloadJson)));
}

/** Signs a root with the root key (a 64-byte NaCl Ed25519 secret key). */
export function signLogRoot(
  backend: CryptoBackend,
  body: LogRootBody,
  secretKey: Uint8Array,
  leafPath: readonly Uint8Array[],
): SignedLogRoot {
  const payloadJson = logRootPayload(body);
  const sig = backend.ed25519Sign(concatBytes(SIGNATURE_PREFIX, utf8(payloadJson)), secretKey);
  return {
    payloadJson,
    kid: ed25519Kid(secretKey.subarray(32)),
    sig: toBase64(sig),
    leafPath: leafPath.map(toHex),
  };
}

function hexField(v: unknown, bytes: number): string {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-f]*$/.test(v))
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root has a malformed hash');
  return v;
}

function intField(v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root has a malformed number');
  return v;
}

/**
 * Checks a served root: signed by `pinnedKid` over exactly its payload, well formed.
 *
 * @throws IdentityError `IDENTITY_LOG_ROOT_INVALID` when it is not.
 */
export function verifyLogRoot(
  backend: CryptoBackend,
  signed: SignedLogRoot,
  pinnedKid: KidHex,
): VerifiedLogRoot {
  if (typeof signed.payloadJson !== 'string' || typeof signed.sig !== 'string')
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root is malformed');
  if (signed.kid !== pinnedKid)
    throw fail(
      'IDENTITY_LOG_ROOT_INVALID',
      'log root is signed by another key than the pinned one',
      {
        kid: typeof signed.kid === 'string' ? signed.kid : undefined,
      },
    );
  let sig: Uint8Array;
  try {
    sig = fromBase64(signed.sig);
  } catch {
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root signature is malformed');
  }
  const publicKey = naclPublicKey(pinnedKid, KID_TYPE.ed25519);
  const message = concatBytes(SIGNATURE_PREFIX, utf8(signed.payloadJson));
  if (!backend.ed25519Verify(sig, message, publicKey))
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root signature does not verify');
  let p: unknown;
  try {
    p = parseJson(signed.payloadJson);
  } catch {
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root payload is not json');
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root payload is not an object');
  const o = p as Record<string, unknown>;
  if (o.type !== ROOT_TYPE || o.version !== 1)
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root payload has an unknown type or version');
  const body: LogRootBody = {
    seqno: intField(o.seqno, 1),
    ctime: intField(o.ctime, 0),
    map: hexField(o.map, MAP_HASH_BYTES),
    log: hexField(o.log, 32),
    prev: o.prev === null ? null : hexField(o.prev, 32),
  };
  if ((body.seqno === 1) !== (body.prev === null))
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root has a wrong prev for its seqno');
  if (logRootPayload(body) !== signed.payloadJson)
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root payload is not canonical');
  let leafPath: Uint8Array[];
  try {
    if (!Array.isArray(signed.leafPath)) throw new Error('not a list');
    leafPath = signed.leafPath.map((h) => hexToBytes(hexField(h, 32)));
  } catch {
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root leaf path is malformed');
  }
  const leaf = logLeafHash(backend, logLeafData(body));
  if (
    !verifyLogInclusion(backend, body.seqno - 1, body.seqno, leaf, leafPath, hexToBytes(body.log))
  )
    throw fail('IDENTITY_LOG_ROOT_INVALID', 'log root map is not the last entry of its history');
  return { ...body, hashMeta: logRootHashMeta(backend, signed.payloadJson), signed };
}

/**
 * Checks that `newer` extends `older` (RFC 9162 consistency of their histories; `prev` when
 * they are adjacent). Equal seqnos must be the same root.
 *
 * @throws IdentityError `IDENTITY_LOG_INCONSISTENT` on a rollback (newer is older) or a fork.
 */
export function verifyLogRootsConsistent(
  backend: CryptoBackend,
  older: VerifiedLogRoot,
  newer: VerifiedLogRoot,
  proof: readonly string[],
): void {
  if (newer.seqno < older.seqno)
    throw fail('IDENTITY_LOG_INCONSISTENT', 'the server rolled the log back', {
      seqno: newer.seqno,
    });
  if (newer.seqno === older.seqno) {
    if (newer.hashMeta !== older.hashMeta)
      throw fail('IDENTITY_LOG_INCONSISTENT', 'the server shows two different roots at one seqno', {
        seqno: newer.seqno,
      });
    return;
  }
  if (newer.seqno === older.seqno + 1 && newer.prev !== older.hashMeta)
    throw fail('IDENTITY_LOG_INCONSISTENT', 'the new root does not follow the one pinned', {
      seqno: newer.seqno,
    });
  let hashes: Uint8Array[];
  try {
    hashes = proof.map((h) => hexToBytes(hexField(h, 32)));
  } catch {
    throw fail('IDENTITY_LOG_INCONSISTENT', 'log consistency proof is malformed');
  }
  if (
    !verifyLogConsistency(
      backend,
      older.seqno,
      newer.seqno,
      hexToBytes(older.log),
      hexToBytes(newer.log),
      hashes,
    )
  )
    throw fail('IDENTITY_LOG_INCONSISTENT', 'the log does not extend the root pinned earlier', {
      seqno: newer.seqno,
    });
}

/** What a new link records in `merkle_root` for a root its signer saw. */
export function linkMerkleRoot(root: VerifiedLogRoot): LinkMerkleRoot {
  return { ctime: root.ctime, seqno: root.seqno, hash: root.map, hash_meta: root.hashMeta };
}
