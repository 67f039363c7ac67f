/**
 * Verification of attached and detached signatures, versions 2 and 1 (specs/saltpack.md §5).
 * As in the reference, the version is validated before the mode.
 */
import { defaultBackend } from './backend/index.js';
import type { PayloadEngine } from './engine.js';
import type { CryptoBackend } from './backend/types.js';
import { DETACHED_SIGNATURE_PREFIX, MODE } from './constants.js';
import type { Version } from './constants.js';
import { badPacket, badSignature, SaltpackError } from './errors.js';
import { checkMajor, checkMode, decodeHeader, fieldBytes, decodePacketList } from './header.js';
import type { RawHeader } from './header.js';
import { concatBytes } from './internal/bytes.js';
import { deferred } from './internal/deferred.js';
import { createOpenStream, runThrough, streamOf } from './internal/streams.js';
import type { ParsedPacket } from './internal/streams.js';
import type { SigningKeyring } from './keyring.js';
import { decodeMsgpackAt, MsgpackError } from './msgpack.js';
import type { MsgpackValue } from './msgpack.js';
import { attachedSignatureInput, attachedSignatureInputOn } from './sign.js';

/** Who signed a message. */
export interface SignerInfo {
  version: Version;
  /** The signer's Ed25519 public key. */
  signerPublicKey: Uint8Array;
}

/** Options of the verification functions. */
export interface VerifyOptions {
  /** Decides which signers to accept; absent → every signer (inspect the result yourself). */
  keyring?: SigningKeyring;
  /** Accepted major versions (default 1 and 2). */
  majorVersions?: readonly number[];
  /** Crypto backend; defaults to {@link defaultBackend}. */
  backend?: CryptoBackend;
  /**
   * Where attached verification hashes its chunks (an engine with `hash`); in this thread by
   * default. Chunks are still released in order, each only once its signature verified.
   */
  engine?: PayloadEngine;
}

/** A verifying transform plus the signer once the header is read. */
export interface VerifyStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Resolves after the header is processed; rejects with the header's error. */
  signer: Promise<SignerInfo>;
}

async function checkSignatureHeader(
  header: RawHeader,
  mode: number,
  options: VerifyOptions,
): Promise<SignerInfo> {
  checkMajor(header, options.majorVersions ?? [1, 2]);
  checkMode(header, mode as 1 | 2);
  const signerPublicKey = fieldBytes(header.fields[0], 'sender public key');
  if (signerPublicKey.length !== 32)
    throw new SaltpackError('bad_header', 'signer public key must be 32 bytes');
  if (options.keyring?.acceptSigner && !(await options.keyring.acceptSigner(signerPublicKey))) {
    throw new SaltpackError('no_sender_key', 'the signer key is not accepted by the keyring');
  }
  return { version: header.version, signerPublicKey };
}

/**
 * A TransformStream from an attached signature to the signed message; each chunk is released
 * only after its signature verifies.
 */
export function createVerifyStream(options: VerifyOptions = {}): VerifyStream {
  let backend: CryptoBackend;
  let header: RawHeader;
  let info: SignerInfo;
  const pendingSigner = deferred<SignerInfo>();
  const signer = pendingSigner.promise;
  const transform = createOpenStream({
    async header(object) {
      backend = options.backend ?? (await defaultBackend());
      header = decodeHeader(backend, object);
      info = await checkSignatureHeader(header, MODE.attachedSigning, options);
      pendingSigner.resolve(info);
    },
    packet(object, k): ParsedPacket {
      const seqno = k + 1;
      const list = decodePacketList(object, seqno);
      const v1 = header.version[0] === 1;
      let final: boolean | null = null;
      let sigValue: MsgpackValue | undefined;
      let chunkValue: MsgpackValue | undefined;
      if (v1) [sigValue, chunkValue] = list;
      else {
        const flag = list[0];
        if (typeof flag !== 'boolean') throw badPacket(seqno, 'final flag is not a boolean');
        final = flag;
        [, sigValue, chunkValue] = list;
      }
      if (sigValue !== null && sigValue !== undefined && !(sigValue instanceof Uint8Array)) {
        throw badPacket(seqno, 'signature is not bytes');
      }
      if (chunkValue !== null && chunkValue !== undefined && !(chunkValue instanceof Uint8Array)) {
        throw badPacket(seqno, 'payload chunk is not bytes');
      }
      const signature = sigValue ?? new Uint8Array(0);
      const chunk = chunkValue ?? new Uint8Array(0); // nil reads as empty (§5 quirk)
      const isFinal = v1 ? chunk.length === 0 : final === true;
      const check = (input: Uint8Array, sig: Uint8Array): void => {
        if (!backend.ed25519Verify(sig, input, info.signerPublicKey)) throw badSignature(seqno);
        if (!v1 && chunk.length === 0 && !(k === 0 && isFinal)) {
          throw new SaltpackError(
            'unexpected_empty_block',
            `in packet ${seqno}: unexpected empty payload chunk`,
            {
              packetSeqno: seqno,
            },
          );
        }
      };
      const engineHash = options.engine?.hash?.bind(options.engine);
      if (engineHash) {
        // Chunk and signature are copied now (the framer's buffer is reused by the next
        // input); the chunk is released once it verified.
        const copy = chunk.slice();
        const sig = signature.slice();
        return {
          final: isFinal,
          output: attachedSignatureInputOn(engineHash, header.hash, k, final, copy).then(
            (input) => {
              check(input, sig);
              return copy;
            },
          ),
        };
      }
      check(attachedSignatureInput(backend, header.hash, k, final, chunk), signature);
      // The chunk is a view into the framer's buffer, which the next input overwrites.
      return { final: isFinal, output: chunk.slice() };
    },
    fail: pendingSigner.reject,
  });
  return { readable: transform.readable, writable: transform.writable, signer };
}

/**
 * Verifies an attached signature and returns the signed message. Returns nothing unless every
 * packet verifies.
 *
 * @throws SaltpackError `SALTPACK_BAD_SIGNATURE`, `SALTPACK_TRUNCATED`, `SALTPACK_MALFORMED` or
 *   `SALTPACK_UNKNOWN_SENDER`.
 */
export async function verify(
  signed: Uint8Array,
  options: VerifyOptions = {},
): Promise<{ message: Uint8Array; signer: SignerInfo }> {
  const stream = createVerifyStream(options);
  const message = await runThrough(stream, signed);
  return { message, signer: await stream.signer };
}

/**
 * Verifies a detached signature over a message given as bytes or a stream. As in the reference,
 * bytes after the signature object are not examined.
 *
 * @throws SaltpackError `SALTPACK_BAD_SIGNATURE`, `SALTPACK_MALFORMED`, `SALTPACK_TRUNCATED` or
 *   `SALTPACK_UNKNOWN_SENDER`.
 */
export async function verifyDetached(
  signature: Uint8Array,
  message: Uint8Array | ReadableStream<Uint8Array>,
  options: VerifyOptions = {},
): Promise<SignerInfo> {
  const backend = options.backend ?? (await defaultBackend());
  if (signature.length === 0)
    throw new SaltpackError('failed_to_read_header_bytes', 'failed to read header bytes');
  let headerEnd: number;
  try {
    const first = decodeMsgpackAt(signature, 0);
    headerEnd = first.end;
  } catch (cause) {
    throw new SaltpackError(
      'failed_to_read_header_bytes',
      'failed to read header bytes',
      {},
      { cause },
    );
  }
  const header: RawHeader = decodeHeader(backend, signature.subarray(0, headerEnd));
  const info = await checkSignatureHeader(header, MODE.detachedSigning, options);
  let sig: MsgpackValue;
  try {
    sig = decodeMsgpackAt(signature, headerEnd).value;
  } catch (cause) {
    // A cut anywhere in the signature object is truncation, like a cut packet elsewhere (§3.4).
    if (
      cause instanceof MsgpackError &&
      (headerEnd >= signature.length || cause.message.includes('unexpected end'))
    ) {
      throw new SaltpackError(
        'unexpected_eof',
        'signature truncated: the signature object is incomplete',
        {},
        { cause },
      );
    }
    throw new SaltpackError(
      'bad_packet',
      'malformed signature packet',
      { packetSeqno: 1 },
      { cause },
    );
  }
  if (sig !== null && !(sig instanceof Uint8Array)) throw badPacket(1, 'signature is not bytes');
  const hasher = backend.createSha512().update(header.hash);
  const input = message instanceof Uint8Array ? streamOf(message) : message;
  const reader = input.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  const signed = concatBytes(DETACHED_SIGNATURE_PREFIX, hasher.digest());
  if (!backend.ed25519Verify(sig ?? new Uint8Array(0), signed, info.signerPublicKey))
    throw badSignature();
  return info;
}
