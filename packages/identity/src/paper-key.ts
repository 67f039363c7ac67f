/**
 * Paper keys (spec §5): Keybase's 13-word backup-device phrases and their scrypt derivation.
 *
 * A paper key is a device of type `backup` whose two keys come from the phrase alone: no salt,
 * no server half, no HMAC step (spec §5.2). The phrase is a secret; nothing here logs it or puts
 * it in an error message.
 *
 * @packageDocumentation
 */
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend, RandomSource } from '@saltbox/saltpack';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fail } from './errors.js';
import { naclKeyPairs } from './nacl-key-pair.js';
import type { NaclKeyPairs } from './nacl-key-pair.js';

/** Words in a freshly generated phrase: ceil((117 + 22 + 4) / 11) = 13 (spec §5.1). */
export const PAPER_KEY_WORDS = 13;
/** Words a user may type when the two-word prefix is already known (`PaperKeyNoPrefixLen`). */
export const PAPER_KEY_NO_PREFIX_WORDS = 11;
/** The phrase version carried in the low nibble of SHA-256(last word)[31] (`PaperKeyVersion`). */
export const PAPER_KEY_VERSION = 0;
/** scrypt parameters of the paper-key stream (spec §5.2). */
export const PAPER_KEY_SCRYPT = { N: 32768, r: 8, p: 1, length: 128 } as const;

const MAX_TRIES = 1000;
const WORD_INDEX = new Map<string, number>(wordlist.map((w, i) => [w, i]));

/** The keys of a paper device. The secret halves go straight to the keystore. */
export interface PaperKeys extends NaclKeyPairs {
  /** The paper device's public name: the first two words (spec §5.1). */
  deviceName: string;
}

/** A validated, normalised phrase. */
export interface PaperKeyPhrase {
  /** The normalised phrase: lowercase words separated by single spaces. */
  phrase: string;
  /** Its words. */
  words: readonly string[];
  /** The first two words: the paper device's name. */
  prefix: string;
  /** The version nibble of the last word. */
  version: number;
}

/** Lowercase, trim, collapse whitespace to single spaces (spec §5.1, "Normalization"). */
export function normalizePaperKeyPhrase(phrase: string): string {
  return phrase.toLowerCase().trim().split(/\s+/).filter(Boolean).join(' ');
}

/** The version nibble of a phrase's last word: `SHA-256(word)[31] & 0x0f`. */
export function paperKeyWordVersion(backend: CryptoBackend, word: string): number {
  return backend.sha256(utf8(word))[31]! & 0x0f;
}

/**
 * Generates a fresh 13-word phrase: each word drawn uniformly and independently, the whole
 * phrase redrawn until the last word carries version 0 (spec §5.1).
 *
 * @param backend - supplies SHA-256 and (unless `random` is given) the CSPRNG.
 * @param random - an injectable randomness source, for reproducible tests.
 * @throws IdentityError `IDENTITY_BAD_PAPER_KEY` if no valid phrase appears in 1000 tries
 *   (probability about e^-60 with a working CSPRNG; a constant source triggers it).
 */
export function generatePaperKeyPhrase(
  backend: CryptoBackend,
  random: RandomSource = backend,
): string {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    // 2^16 is a multiple of 2048, so masking two random bytes to 11 bits is exactly uniform.
    const bytes = random.randomBytes(2 * PAPER_KEY_WORDS);
    const words: string[] = [];
    for (let i = 0; i < PAPER_KEY_WORDS; i++) {
      const index = ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!) & 0x7ff;
      words.push(wordlist[index]!);
    }
    if (paperKeyWordVersion(backend, words[words.length - 1]!) === PAPER_KEY_VERSION)
      return words.join(' ');
  }
  throw fail('IDENTITY_BAD_PAPER_KEY', 'could not generate a paper key with the right version');
}

/**
 * Normalises and validates a phrase: at least 13 words, every word in the BIP-39 English list,
 * version nibble 0. When `expectedPrefix` (the device's two-word name) is given, an 11-word
 * phrase is completed with it, as Keybase lets users omit the public prefix.
 *
 * @throws IdentityError `IDENTITY_BAD_PAPER_KEY` on too few words, an unknown word, a prefix that
 *   does not match `expectedPrefix`, or the wrong version. The message never repeats the words.
 */
export function parsePaperKeyPhrase(
  backend: CryptoBackend,
  phrase: string,
  expectedPrefix?: string,
): PaperKeyPhrase {
  let words = normalizePaperKeyPhrase(phrase).split(' ').filter(Boolean);
  const prefix = expectedPrefix === undefined ? undefined : normalizePaperKeyPhrase(expectedPrefix);
  if (prefix !== undefined && words.length === PAPER_KEY_NO_PREFIX_WORDS)
    words = [...prefix.split(' '), ...words];
  if (words.length < PAPER_KEY_WORDS)
    throw fail(
      'IDENTITY_BAD_PAPER_KEY',
      `paper key has ${words.length} words; at least ${PAPER_KEY_WORDS} needed`,
    );
  const unknown = words.filter((w) => !WORD_INDEX.has(w)).length;
  if (unknown > 0)
    throw fail('IDENTITY_BAD_PAPER_KEY', `paper key has ${unknown} word(s) not in the word list`);
  const actualPrefix = words.slice(0, 2).join(' ');
  if (prefix !== undefined && prefix !== actualPrefix)
    throw fail('IDENTITY_BAD_PAPER_KEY', 'paper key does not belong to the expected device');
  const version = paperKeyWordVersion(backend, words[words.length - 1]!);
  if (version !== PAPER_KEY_VERSION)
    throw fail('IDENTITY_BAD_PAPER_KEY', `paper key version ${version} is unsupported`);
  return { phrase: words.join(' '), words, prefix: actualPrefix, version };
}

/**
 * Derives a paper device's keys: scrypt(phrase, salt = empty, N = 32768, r = 8, p = 1,
 * 128 bytes); bytes 32..63 are the Ed25519 seed and 64..95 the X25519 secret (spec §5.2).
 *
 * @throws IdentityError `IDENTITY_BAD_PAPER_KEY` when the phrase does not validate
 *   (see {@link parsePaperKeyPhrase}).
 */
export async function derivePaperKeys(
  backend: CryptoBackend,
  phrase: string | PaperKeyPhrase,
): Promise<PaperKeys> {
  const parsed = typeof phrase === 'string' ? parsePaperKeyPhrase(backend, phrase) : phrase;
  const stream = await backend.scrypt(utf8(parsed.phrase), new Uint8Array(0), PAPER_KEY_SCRYPT);
  try {
    return {
      ...naclKeyPairs(backend, stream.subarray(32, 64), stream.slice(64, 96)),
      deviceName: parsed.prefix,
    };
  } finally {
    // The unused slots (passphrase-hash and LKS halves) and the copied seeds are wiped.
    stream.fill(0);
  }
}
