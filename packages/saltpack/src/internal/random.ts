/** Randomness helpers: an unbiased bounded draw and the recipient shuffle (§1). */
import type { RandomSource } from '../backend/types.js';

/** Unbiased uniform integer in [0, bound) from 32-bit draws (multiply-and-reject). */
export function randomBelow(random: RandomSource, bound: number): number {
  if (bound <= 1) return 0;
  const threshold = 2 ** 32 % bound;
  for (;;) {
    const b = random.randomBytes(4);
    const x = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const m = x * bound;
    if (m % 2 ** 32 >= threshold) return Math.floor(m / 2 ** 32);
  }
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(random: RandomSource, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomBelow(random, i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}
