/** Hand-rolled msgpack prefixes for payload packets, so 1 MiB boxes are written without a copy. */

/** msgpack array header for `n` elements (minimal form). */
export function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** msgpack bin header for `n` bytes (minimal form). */
export function binHeader(n: number): Uint8Array {
  if (n < 0x100) return Uint8Array.of(0xc4, n);
  if (n < 0x10000) return Uint8Array.of(0xc5, n >>> 8, n & 0xff);
  return Uint8Array.of(0xc6, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** msgpack bool. */
export const boolByte = (b: boolean): number => (b ? 0xc3 : 0xc2);

/** Encodes a list of 32-byte (or any) bins as a msgpack array of bins. */
export function binArray(items: readonly Uint8Array[]): Uint8Array {
  const head = arrayHeader(items.length);
  let n = head.length;
  for (const it of items) n += binHeader(it.length).length + it.length;
  const out = new Uint8Array(n);
  out.set(head);
  let o = head.length;
  for (const it of items) {
    const h = binHeader(it.length);
    out.set(h, o);
    o += h.length;
    out.set(it, o);
    o += it.length;
  }
  return out;
}
