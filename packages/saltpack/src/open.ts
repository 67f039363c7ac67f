/**
 * Opening whatever arrives: encrypted or signcrypted, armored or binary (what `saltbox decrypt`
 * and the secrets provider need, since a ciphertext must say by itself how to open it), and
 * attached signatures armored or binary.
 */
import { createDearmorStream } from './armor/armor.js';
import type { ArmorFrame } from './armor/armor.js';
import { looksArmored, peekHeader } from './classify.js';
import { MODE } from './constants.js';
import { createDecryptStream } from './decrypt.js';
import type { DecryptOptions, MessageKeyInfo } from './decrypt.js';
import { deferred } from './internal/deferred.js';
import { createRoutedStream } from './internal/route.js';
import type { StreamPair } from './internal/route.js';
import { runThrough } from './internal/streams.js';
import { createSigncryptOpenStream } from './signcrypt.js';
import type { SigncryptInfo, SigncryptOpenOptions } from './signcrypt.js';
import { createVerifyStream } from './verify.js';
import type { SignerInfo, VerifyOptions } from './verify.js';

/** How an encrypted message was opened. */
export type OpenedInfo =
  | { kind: 'encryption'; info: MessageKeyInfo; brand: string | null }
  | { kind: 'signcryption'; info: SigncryptInfo; brand: string | null };

/** Options of {@link createOpenEncryptedStream}: the union of decryption and signcryption keys. */
export type OpenEncryptedOptions = DecryptOptions &
  Omit<SigncryptOpenOptions, 'keyring' | 'backend'>;

/** An opening stream plus what opened it once the header is read. */
export interface OpenEncryptedStream extends StreamPair {
  info: Promise<OpenedInfo>;
}

/** Runs `decide` for an armored or binary message, dearmoring first when needed. */
function armoredOrBinary(
  expectedType: 'ENCRYPTED MESSAGE' | 'SIGNED MESSAGE',
  binary: () => StreamPair,
  onFrame: (frame: Promise<ArmorFrame> | null) => void,
): StreamPair {
  return createRoutedStream((prefix, ended) => {
    const armored = looksArmored(prefix);
    if (armored === null && !ended) return null;
    if (!armored) {
      onFrame(null);
      return binary();
    }
    const dearmor = createDearmorStream({ expectedType });
    onFrame(dearmor.frame);
    return { writable: dearmor.writable, readable: dearmor.readable.pipeThrough(binary()) };
  });
}

/**
 * Opens an encrypted (mode 0) or signcrypted (mode 3) message, armored or binary, choosing
 * from its first bytes. Chunks are released only once authenticated.
 */
export function createOpenEncryptedStream(options: OpenEncryptedOptions): OpenEncryptedStream {
  const result = deferred<OpenedInfo>();
  let frame: Promise<ArmorFrame> | null = null;
  const brand = async (): Promise<string | null> => (frame ? (await frame).brand : null);
  const binary = (): StreamPair =>
    createRoutedStream((prefix, ended) => {
      const peek = ended && prefix.length === 0 ? null : peekHeader(prefix);
      if (peek === null && !ended) return null;
      if (peek?.mode === MODE.signcryption) {
        const s = createSigncryptOpenStream(options);
        s.info.then(async (info) => {
          result.resolve({ kind: 'signcryption', info, brand: await brand() });
        }, result.reject);
        return s;
      }
      const s = createDecryptStream(options);
      s.info.then(async (info) => {
        result.resolve({ kind: 'encryption', info, brand: await brand() });
      }, result.reject);
      return s;
    });
  const pair = armoredOrBinary('ENCRYPTED MESSAGE', binary, (f) => {
    frame = f;
    f?.catch(result.reject);
  });
  // A failure before any inner stream exists still settles `info`, through the readable.
  return {
    readable: withErrorHook(pair.readable, result.reject),
    writable: pair.writable,
    info: result.promise,
  };
}

function withErrorHook(
  readable: ReadableStream<Uint8Array>,
  onError: (e: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = readable.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (e) {
          onError(e);
          throw e;
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * Opens a whole encrypted or signcrypted message (armored text or binary bytes). Returns
 * nothing unless every chunk authenticates.
 *
 * @throws SaltpackError with the codes of decryption, signcryption opening and dearmoring.
 */
export async function openEncrypted(
  message: Uint8Array | string,
  options: OpenEncryptedOptions,
): Promise<{ plaintext: Uint8Array } & OpenedInfo> {
  const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message;
  const stream = createOpenEncryptedStream(options);
  const plaintext = await runThrough(stream, bytes);
  return { plaintext, ...(await stream.info) };
}

/** A verifying stream for attached signatures, armored or binary. */
export interface VerifyAnyStream extends StreamPair {
  signer: Promise<SignerInfo & { brand: string | null }>;
}

/**
 * Verifies an attached signature, armored or binary, choosing from its first bytes.
 */
export function createVerifyAnyStream(options: VerifyOptions = {}): VerifyAnyStream {
  const result = deferred<SignerInfo & { brand: string | null }>();
  let frame: Promise<ArmorFrame> | null = null;
  const binary = (): StreamPair => {
    const s = createVerifyStream(options);
    s.signer.then(async (info) => {
      result.resolve({ ...info, brand: frame ? (await frame).brand : null });
    }, result.reject);
    return s;
  };
  const pair = armoredOrBinary('SIGNED MESSAGE', binary, (f) => {
    frame = f;
    f?.catch(result.reject);
  });
  return {
    readable: withErrorHook(pair.readable, result.reject),
    writable: pair.writable,
    signer: result.promise,
  };
}
