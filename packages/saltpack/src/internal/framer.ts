/**
 * Frames a byte stream into top-level MessagePack objects without decoding them, so payload
 * packets can be handed to the crypto in one piece whatever the input chunking (down to one
 * byte at a time). A Saltpack message is a plain concatenation of msgpack objects (§2).
 */
import { msgpackObjectEnd, MsgpackError } from '../msgpack.js';

const INITIAL_CAPACITY = 64 * 1024;

export class ObjectFramer {
  private buf = new Uint8Array(INITIAL_CAPACITY);
  private start = 0;
  private end = 0;
  /** Absolute buffer length needed before scanning again can make progress. */
  private want = 0;

  /** Bytes received but not yet returned as objects. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Appends input bytes. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const needed = Math.max(live + chunk.length, this.want - this.start);
      if (needed <= this.buf.length && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(needed, this.buf.length * 2));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.want -= this.start;
      this.end = live;
      this.start = 0;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /**
   * Returns the next complete object's raw bytes, or `null` if more input is needed. The bytes
   * are a view into the framer's buffer, valid until the next {@link ObjectFramer.push}: callers
   * copy what they keep. Reusing one buffer (instead of handing each 1 MiB packet its own)
   * keeps garbage, and so peak memory, down.
   *
   * @param maxBytes - refuse objects longer than this (hostile length fields)
   * @throws MsgpackError when the bytes cannot start a msgpack object, or the object is too big.
   */
  next(maxBytes: number): Uint8Array | null {
    if (this.end === this.start || this.end < this.want) return null;
    const r = msgpackObjectEnd(this.buf, this.start, this.end);
    if (r < 0) {
      this.want = -r;
      if (this.want - this.start > maxBytes)
        throw new MsgpackError('msgpack object too large', this.start);
      return null;
    }
    if (r - this.start > maxBytes) throw new MsgpackError('msgpack object too large', this.start);
    this.want = 0;
    const obj = this.buf.subarray(this.start, r);
    this.start = r;
    return obj;
  }
}
