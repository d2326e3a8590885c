// The send buffer: bytes the application wrote that are not yet acknowledged, stored in fixed-size
// chunks so any byte range (for first transmission or retransmission) is found in O(1). Chunks
// come from a shared pool and go back to it as soon as they are acknowledged: an idle connection
// holds none.
//
// A large write may be borrowed instead of copied: whole chunk-sized, chunk-aligned pieces of the
// application's buffer are held as views (a 4 MiB response is then never copied into the send
// buffer, issue 9). The application must not touch a borrowed buffer until `returnBorrowed()`,
// which copies what is still held into pooled chunks; the socket calls it before the write's
// callback, so node:net's rule (a buffer is free again once its write completed) still holds.
import { CHUNK, releaseChunk, takeChunk } from './chunk-pool.js';

/**
 * The stack-wide allowance for autotuned growth (Linux's tcp_mem, in spirit): what all send
 * buffers together may hold beyond their starting size. Without it, peers that read fast and then
 * stop could make every connection keep `sndBufMaxSize` of unsent data.
 */
export class SendMemoryBudget {
  /** Bytes of growth handed out now. */
  granted = 0;

  constructor(readonly bytes: number) {}

  /** Up to `want` bytes of growth (fewer, or none, when the budget is spent). */
  take(want: number): number {
    const n = Math.max(0, Math.min(want, this.bytes - this.granted));
    this.granted += n;
    return n;
  }

  /** Growth handed back by a send buffer that is done. */
  give(n: number): void {
    this.granted -= n;
  }
}

/** Unacknowledged + unsent application bytes; offset 0 is the oldest unacknowledged byte. */
export class SendBuffer {
  readonly #chunks: Buffer[] = [];
  /** Offset of byte 0 inside `#chunks[0]`. */
  #head = 0;
  #length = 0;
  /** The views of application buffers among `#chunks` (never pooled); undefined when none. */
  #borrowed: Set<Buffer> | undefined;

  #capacity: number;
  readonly #initial: number;
  readonly #maxCapacity: number;
  readonly #budget: SendMemoryBudget | undefined;

  /**
   * @param capacity the most bytes held at once at first (SO_SNDBUF).
   * @param maxCapacity how far `grow` may take it (autotuning; 0 or less than `capacity`: fixed).
   * @param budget the stack-wide allowance growth is taken from (none: unlimited).
   */
  constructor(capacity: number, maxCapacity = 0, budget?: SendMemoryBudget) {
    this.#capacity = capacity;
    this.#initial = capacity;
    this.#maxCapacity = Math.max(capacity, maxCapacity);
    this.#budget = budget;
  }

  /** The most bytes held at once now. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Autotuning: let the buffer hold up to `bytes` (never more than its ceiling; it never shrinks).
   * Whole bytes only: CUBIC's cwnd is fractional, and a fractional room would cut writes mid-byte.
   */
  grow(bytes: number): void {
    if (bytes <= this.#capacity) return;
    const want = Math.min(Math.floor(bytes), this.#maxCapacity) - this.#capacity;
    this.#capacity += this.#budget === undefined ? want : this.#budget.take(want);
  }

  /** The connection is gone: its growth goes back to the budget. */
  returnGrowth(): void {
    this.#budget?.give(this.#capacity - this.#initial);
    this.#capacity = this.#initial;
  }

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
    return Math.max(0, this.#capacity - this.#length);
  }

  /**
   * Take as much of `data` as fits; returns the number of bytes taken. With `borrow`, whole
   * chunk-aligned pieces are held as views of `data` rather than copied; then, when the room left
   * is less than a chunk, the rest is left for a later write (so the next piece starts aligned).
   */
  write(data: Uint8Array, borrow = false): number {
    const n = Math.min(this.free, data.length);
    // Waiting for a whole chunk's room is only safe when acknowledgements will make it.
    const whole = borrow && this.#capacity >= 2 * CHUNK;
    let done = 0;
    while (done < n) {
      const end = this.#head + this.#length;
      const idx = Math.floor(end / CHUNK);
      const off = end % CHUNK;
      if (idx === this.#chunks.length) {
        if (whole && data.length - done >= CHUNK) {
          if (n - done < CHUNK) break;
          const view = Buffer.from(data.buffer, data.byteOffset + done, CHUNK);
          (this.#borrowed ??= new Set()).add(view);
          this.#chunks.push(view);
          done += CHUNK;
          this.#length += CHUNK;
          continue;
        }
        this.#chunks.push(takeChunk());
      }
      const take = Math.min(CHUNK - off, n - done);
      this.#chunks[idx]!.set(data.subarray(done, done + take), off);
      done += take;
      this.#length += take;
    }
    return done;
  }

  /** Copy every borrowed piece still held into a pooled chunk: the application's buffers are its own again. */
  returnBorrowed(): void {
    const lent = this.#borrowed;
    if (lent === undefined) return;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i]!;
      if (!lent.has(c)) continue;
      const own = takeChunk();
      c.copy(own);
      this.#chunks[i] = own;
    }
    this.#borrowed = undefined;
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
      this.#release(this.#chunks.shift()!);
      this.#head -= CHUNK;
    }
    if (this.#length === 0) {
      // Nothing left to send or resend: the chunks go back to the pool (segments are built
      // synchronously, so no view of them is still in use).
      this.#head = 0;
      for (const c of this.#chunks) this.#release(c);
      this.#chunks.length = 0;
    }
  }

  /** A chunk is done with: pooled if it is ours, forgotten if it was borrowed. */
  #release(c: Buffer): void {
    const lent = this.#borrowed;
    if (lent === undefined || !lent.delete(c)) releaseChunk(c);
    else if (lent.size === 0) this.#borrowed = undefined;
  }
}
