// IPv4 addresses as unsigned 32-bit numbers (fast to compare and hash), with text conversion.

/** Parse dotted-quad text ("10.0.0.2") to an unsigned 32-bit number; throws on anything else. */
export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${text}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/** Format an unsigned 32-bit address as dotted-quad text. */
export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Parse "a.b.c.d/len" to address and prefix length; a bare address means /32. */
export function parseCidr(text: string): { ip: number; prefix: number } {
  const [addr, len] = text.split('/');
  const prefix = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || !/^\d+$/.test(len ?? '32')) throw new Error(`bad prefix length in ${text}`);
  return { ip: parseIp(addr!), prefix };
}

/** The netmask for a prefix length, as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Read an address from `buf` at `off` (network order). */
export function readIp(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Write an address into `buf` at `off` (network order). */
export function writeIp(buf: Uint8Array, off: number, ip: number): void {
  buf[off] = ip >>> 24;
  buf[off + 1] = (ip >>> 16) & 0xff;
  buf[off + 2] = (ip >>> 8) & 0xff;
  buf[off + 3] = ip & 0xff;
}

/** Format a 6-byte MAC as "aa:bb:cc:dd:ee:ff". */
export function macToString(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parse "aa:bb:cc:dd:ee:ff" to a 6-byte Buffer. */
export function parseMac(text: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${text}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}
