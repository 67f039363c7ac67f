/**
 * Generated passwords from the platform CSPRNG (`crypto.getRandomValues`). Every character is
 * drawn uniformly from the chosen alphabet by rejection sampling (a 32-bit draw at or above the
 * largest multiple of the alphabet size is drawn again), so no character is likelier than
 * another; a password missing one of the chosen sets is drawn again whole, which keeps the
 * result uniform over the passwords that contain each set.
 *
 * @packageDocumentation
 */
import { WebError } from './errors.js';

/** The character sets a password can draw from. */
export const CHARACTER_SETS = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  symbols: '!#$%&()*+,-./:;<=>?@[]^_{|}~',
} as const;

/** One of {@link CHARACTER_SETS}. */
export type CharacterSet = keyof typeof CHARACTER_SETS;

/** What to generate. */
export interface PasswordOptions {
  length: number;
  sets: readonly CharacterSet[];
}

/** The shortest and longest password the generator makes. */
export const PASSWORD_LENGTH = { min: 8, max: 128, default: 24 } as const;

/** Fills an array with random 32-bit words (the platform CSPRNG; tests pass their own). */
export type RandomWords = (out: Uint32Array<ArrayBuffer>) => void;

const platformRandom: RandomWords = (out) => {
  crypto.getRandomValues(out);
};

/**
 * A uniform integer in `[0, n)` from 32-bit words, by rejection: a word at or above the largest
 * multiple of `n` below 2^32 is discarded (taking it modulo `n` would favour small results).
 */
export function uniformIndex(n: number, random: RandomWords = platformRandom): number {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32)
    throw new WebError('WEB_INVALID_INPUT', 'alphabet size out of range');
  const limit = Math.floor(2 ** 32 / n) * n;
  const word = new Uint32Array(1);
  for (;;) {
    random(word);
    if (word[0]! < limit) return word[0]! % n;
  }
}

/**
 * A password of `length` characters drawn from the union of `sets`, containing at least one
 * character of each set.
 *
 * @throws WebError `WEB_INVALID_INPUT` for no set, an unknown set, or a length outside
 *   {@link PASSWORD_LENGTH} (or shorter than the number of sets).
 */
export function generatePassword(
  options: PasswordOptions,
  random: RandomWords = platformRandom,
): string {
  const sets = [...new Set(options.sets)];
  if (sets.length === 0)
    throw new WebError('WEB_INVALID_INPUT', 'choose at least one character set');
  for (const s of sets)
    if (!Object.hasOwn(CHARACTER_SETS, s))
      throw new WebError('WEB_INVALID_INPUT', 'unknown character set');
  const { length } = options;
  if (!Number.isInteger(length) || length < PASSWORD_LENGTH.min || length > PASSWORD_LENGTH.max)
    throw new WebError(
      'WEB_INVALID_INPUT',
      `password length must be ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max}`,
    );
  const alphabet = sets.map((s) => CHARACTER_SETS[s]).join('');
  for (;;) {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[uniformIndex(alphabet.length, random)]!;
    // The alphabets are ASCII, so characters and UTF-16 code units are the same thing.
    if (sets.every((s) => Array.from(out).some((c) => CHARACTER_SETS[s].includes(c)))) return out;
  }
}
