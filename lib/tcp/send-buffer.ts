// The send buffer: bytes the application wrote that are not yet acknowledged, stored in fixed-size
// chunks so any byte range (for first transmission or retransmission) is found in O(1). Chunks
// come from a shared pool and go back to it as soon as they are acknowledged: an idle connection
// holds none.
import { CHUNK, releaseChunk, takeChunk } from './chunk-pool.js';

/** Unacknowledged + unsent application bytes; offset 0 is the oldest unacknowledged byte. */
export class SendBuffer {
  readonly #chunks: Buffer[] = [];
  /** Offset of byte 0 inside `#chunks[0]`. */
  #head = 0;
  #length = 0;

  /** @param capacity the most bytes held at once (SO_SNDBUF). */
  constructor(readonly capacity: number) {}

  /** Chunks held now (0 when everything written was acknowledged). */
  get chunks(): number {
    return this.#chunks.length;
  }

  /** Bytes held (sent-but-unacked plus unsent). */
  get length(): number {
    return this.#length;
  }

  /** Room left for `write`. */
  get free(): number {
    return Math.max(0, this.capacity - this.#length);
  }

  /** Copy as much of `data` as fits; returns the number of bytes taken. */
  write(data: Uint8Array): number {
    const n = Math.min(this.free, data.length);
    let done = 0;
    while (done < n) {
      const end = this.#head + this.#length;
      const idx = Math.floor(end / CHUNK);
      if (idx === this.#chunks.length) this.#chunks.push(takeChunk());
      const off = end % CHUNK;
      const take = Math.min(CHUNK - off, n - done);
      this.#chunks[idx]!.set(data.subarray(done, done + take), off);
      done += take;
      this.#length += take;
    }
    return n;
  }

  /** Copy bytes [offset, offset+len) into `target` at `targetOff`. */
  copyOut(offset: number, len: number, target: Buffer, targetOff: number): void {
    if (offset < 0 || offset + len > this.#length) throw new RangeError(`send buffer range ${offset}+${len} of ${this.#length}`);
    let pos = this.#head + offset;
    let done = 0;
    while (done < len) {
      const chunk = this.#chunks[Math.floor(pos / CHUNK)]!;
      const off = pos % CHUNK;
      const take = Math.min(CHUNK - off, len - done);
      chunk.copy(target, targetOff + done, off, off + take);
      done += take;
      pos += take;
    }
  }

  /**
   * Views of bytes [offset, offset+len), one per chunk they span, appended to `out` (no copy:
   * valid until those bytes are consumed).
   */
  views(offset: number, len: number, out: Buffer[]): void {
    if (offset < 0 || offset + len > this.#length) throw new RangeError(`send buffer range ${offset}+${len} of ${this.#length}`);
    let pos = this.#head + offset;
    let done = 0;
    while (done < len) {
      const off = pos % CHUNK;
      const take = Math.min(CHUNK - off, len - done);
      out.push(this.#chunks[Math.floor(pos / CHUNK)]!.subarray(off, off + take));
      done += take;
      pos += take;
    }
  }

  /** Drop the `n` oldest bytes (they were acknowledged). */
  consume(n: number): void {
    const k = Math.min(n, this.#length);
    this.#length -= k;
    this.#head += k;
    while (this.#head >= CHUNK) {
      releaseChunk(this.#chunks.shift()!);
      this.#head -= CHUNK;
    }
    if (this.#length === 0) {
      // Nothing left to send or resend: the chunks go back to the pool (copyOut copies, so no
      // segment still points into them).
      this.#head = 0;
      for (const c of this.#chunks) releaseChunk(c);
      this.#chunks.length = 0;
    }
  }
}
