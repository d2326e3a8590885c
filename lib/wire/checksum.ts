// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words, computed over whole
// buffers (DESIGN.md hot path) and folded once at the end.

/** The unfolded 32-bit-ish partial sum of `buf[start, end)` added to `initial`. */
export function sumWords(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  // Two words per step keeps the loop short; the partial sum stays below 2^53.
  for (; i + 3 < end; i += 4) sum += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!);
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  // RFC 1071 §4.1: an odd trailing byte is padded with a zero byte.
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Fold a partial sum to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The Internet checksum of `buf[start, end)`; 0 when verifying a region that includes its checksum field. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return finishChecksum(sumWords(buf, start, end, initial));
}

/** Partial sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768) for TCP and UDP checksums. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
