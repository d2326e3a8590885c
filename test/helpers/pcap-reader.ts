// A tiny classic-libpcap reader for tests: parses the global header and every record of a
// capture (either byte order, microsecond or nanosecond magic) and rejects anything malformed.

/** The pcap global header fields. */
export interface PcapHeader {
  magic: number;
  littleEndian: boolean;
  nanoseconds: boolean;
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  linktype: number;
}

/** One captured frame. */
export interface PcapRecord {
  tsSec: number;
  /** Microseconds (or nanoseconds for a nanosecond capture). */
  tsFrac: number;
  inclLen: number;
  origLen: number;
  data: Buffer;
}

/** Parse a whole pcap file; throws on a bad magic, a truncated record or incl_len > snaplen. */
export function readPcap(file: Buffer): { header: PcapHeader; records: PcapRecord[] } {
  if (file.length < 24) throw new Error(`pcap: ${file.length} bytes, shorter than the global header`);
  const raw = file.readUInt32LE(0);
  let le: boolean;
  let ns = false;
  if (raw === 0xa1b2c3d4) le = true;
  else if (raw === 0xd4c3b2a1) le = false;
  else if (raw === 0xa1b23c4d) (le = true), (ns = true);
  else if (raw === 0x4d3cb2a1) (le = false), (ns = true);
  else throw new Error(`pcap: bad magic 0x${raw.toString(16)}`);
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const u16 = (o: number) => (le ? file.readUInt16LE(o) : file.readUInt16BE(o));
  const header: PcapHeader = {
    magic: u32(0),
    littleEndian: le,
    nanoseconds: ns,
    versionMajor: u16(4),
    versionMinor: u16(6),
    thiszone: le ? file.readInt32LE(8) : file.readInt32BE(8),
    sigfigs: u32(12),
    snaplen: u32(16),
    linktype: u32(20),
  };
  const records: PcapRecord[] = [];
  let o = 24;
  while (o < file.length) {
    if (o + 16 > file.length) throw new Error(`pcap: truncated record header at ${o}`);
    const inclLen = u32(o + 8);
    const rec = { tsSec: u32(o), tsFrac: u32(o + 4), inclLen, origLen: u32(o + 12) };
    if (inclLen > header.snaplen) throw new Error(`pcap: incl_len ${inclLen} > snaplen ${header.snaplen} at ${o}`);
    if (rec.origLen < inclLen) throw new Error(`pcap: orig_len ${rec.origLen} < incl_len ${inclLen} at ${o}`);
    if (rec.tsFrac >= (ns ? 1e9 : 1e6)) throw new Error(`pcap: fraction ${rec.tsFrac} out of range at ${o}`);
    if (o + 16 + inclLen > file.length) throw new Error(`pcap: truncated record data at ${o}`);
    records.push({ ...rec, data: file.subarray(o + 16, o + 16 + inclLen) });
    o += 16 + inclLen;
  }
  return { header, records };
}
