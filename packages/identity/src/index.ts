/**
 * Keybase's identity formats for saltbox: IDs, canonical JSON and msgpack, tag-514/515 packets,
 * v1/v2 sigchain links, user and team chain verifiers, and the PUK/PTK/paper-key derivations.
 *
 * Pure format code: no I/O, no private-key storage. Crypto comes from the
 * `@saltbox/saltpack` {@link CryptoBackend} passed in.
 *
 * @packageDocumentation
 */
export type { CryptoBackend } from '@saltbox/saltpack';
export * from './errors.js';
export { fromBase64, fromBase64Url, hexToBytes, toBase64, toBase64Url, toHex } from './encoding.js';
export * from './ids.js';
export * from './names.js';
export * from './nacl-key-pair.js';
export * from './paper-key.js';
export * from './per-user-key.js';
export * from './team-keys.js';
export { openVersionedSecretbox, sealVersionedSecretbox } from './secretbox-envelope.js';
export { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
export * from './canonical-json.js';
export * from './packets.js';
export * from './link-types.js';
export * from './outer-link.js';
export * from './pgp.js';
export * from './key-family.js';
export { importChainLink, jget, jstr, readPgpSignedOuterLink } from './chain-link.js';
export type { ImportedLink, ImportOptions, ServerChainLink } from './chain-link.js';
export * from './user-chain.js';
export * from './builders.js';
export * from './lookup.js';
export * from './team-chain.js';
export * from './team-chain-keys.js';
export * from './team-rules.js';
export * from './team-link-signer.js';
export {
  decodeChainTail,
  encodeChainTail,
  MAP_EMPTY_HASH,
  MAP_HASH_BYTES,
  mapKey,
  mapLeafHash,
  mapNodeHash,
  mapPrefix,
  MemoryMap,
  proveMap,
  runMapRead,
  runMapReadAsync,
  updateMap,
  verifyMapProof,
} from './merkle-map.js';
export type { ChainTail, MapNode, MapProof, MapRead } from './merkle-map.js';
export {
  appendLogLeaf,
  logConsistencyProof,
  logInclusionPath,
  logLeafHash,
  logNodeHash,
  logRootHash,
  MemoryLog,
  runLogRead,
  runLogReadAsync,
  verifyLogConsistency,
  verifyLogInclusion,
} from './merkle-log.js';
export type { LogNodeRef, LogRead } from './merkle-log.js';
export * from './merkle-root.js';
