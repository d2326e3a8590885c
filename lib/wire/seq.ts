// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4, RFC 1982). Seq is a branded number so
// that only this file adds or compares sequence numbers (DESIGN.md).

/** A TCP sequence number: an unsigned 32-bit integer compared modulo 2^32. */
export type Seq = number & { readonly __brand: 'Seq' };

/** Brand a raw unsigned 32-bit value (from the wire or an ISN) as a Seq. */
export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

/** `a + n` modulo 2^32 (n may be negative). */
export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** The signed distance `b - a` in (-2^31, 2^31]: positive when b is after a. */
export function seqDiff(b: Seq, a: Seq): number {
  return (b - a) | 0;
}

/** a < b modulo 2^32. */
export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b modulo 2^32. */
export function seqLe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b modulo 2^32. */
export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

/** a >= b modulo 2^32. */
export function seqGe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of a and b. */
export function seqMax(a: Seq, b: Seq): Seq {
  return seqGt(a, b) ? a : b;
}

/** The earlier of a and b. */
export function seqMin(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? a : b;
}

/** lo <= x < hi modulo 2^32 (RFC 9293 §3.4's "=<" / "<" window tests). */
export function seqInRange(x: Seq, lo: Seq, hi: Seq): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
