// Ethernet frames for link-layer tests: recognisable, numbered, any size.

/** A broadcast-less test frame: dst, src, EtherType 0x88b5 (local experimental), then `id` as a
 *  32-bit number and filler bytes up to `size` bytes in total (at least 18). */
export function testFrame(id: number, size = 64, dst = '02:00:00:00:00:0b', src = '02:00:00:00:00:0a'): Buffer {
  if (size < 18) throw new RangeError('a test frame is at least 18 bytes');
  const f = Buffer.alloc(size);
  Buffer.from(dst.split(':').map((h) => parseInt(h, 16))).copy(f, 0);
  Buffer.from(src.split(':').map((h) => parseInt(h, 16))).copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(id >>> 0, 14);
  for (let i = 18; i < size; i++) f[i] = (id + i) & 0xff;
  return f;
}

/** The id written by `testFrame`. */
export function frameId(frame: Buffer): number {
  return frame.readUInt32BE(14);
}
