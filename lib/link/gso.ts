// Software segmentation and checksum completion: what a wire would carry for a frame with
// offloads (lib/link/link.ts `Offload`). A TCP super-frame becomes one frame per gso_size bytes
// of payload, as the kernel's tcp_gso_segment cuts it (RFC 9293 §3.1 / RFC 791 §3.1): each with
// its own IP total length, identification (+1 per segment) and header checksum, TCP sequence
// number and checksum, FIN and PSH only on the last piece, CWR only on the first (RFC 3168
// §6.1.2); a partial checksum is completed. The pcap writer, the tracer and the fault link use it
// so that captures, traces and induced loss see one MSS-sized segment per frame.
import type { Offload } from './link.js';
import { finishChecksum, internetChecksum, pseudoHeaderSum, sumWords } from '../wire/checksum.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { IpProto } from '../wire/ipv4.js';

const FIN = 0x01;
const PSH = 0x08;
const CWR = 0x80;

/** The wire frames `frame` (continued by `rest`, if given) stands for: itself when `o` asks for
 *  nothing, else fresh copies. */
export function wireFrames(frame: Buffer, o: Offload | undefined, rest?: readonly Buffer[]): Buffer[] {
  if (rest !== undefined && rest.length > 0) frame = Buffer.concat([frame, ...rest]);
  if (o === undefined || (o.csumStart < 0 && o.gsoSize === 0)) return [frame];
  const ip = ETH_HEADER_LEN;
  const ihl = (frame[ip]! & 0x0f) * 4;
  const l4 = ip + ihl;
  const proto = frame[ip + 9]!;
  if (proto !== IpProto.TCP || o.gsoSize === 0) {
    const copy = Buffer.from(frame);
    if (o.csumStart >= 0) completeChecksum(copy, ip, ihl, proto);
    return [copy];
  }
  const thl = (frame[l4 + 12]! >> 4) * 4;
  const hdrs = l4 + thl;
  const payload = frame.length - hdrs;
  if (payload <= o.gsoSize) {
    const copy = Buffer.from(frame);
    completeChecksum(copy, ip, ihl, proto);
    return [copy];
  }
  const id = frame.readUInt16BE(ip + 4);
  const seq0 = frame.readUInt32BE(l4 + 4);
  const flags = frame[l4 + 13]!;
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < payload; off += o.gsoSize, i++) {
    const n = Math.min(o.gsoSize, payload - off);
    const last = off + n === payload;
    const seg = Buffer.allocUnsafe(hdrs + n);
    frame.copy(seg, 0, 0, hdrs);
    frame.copy(seg, hdrs, hdrs + off, hdrs + off + n);
    seg.writeUInt16BE(ihl + thl + n, ip + 2);
    seg.writeUInt16BE((id + i) & 0xffff, ip + 4);
    seg.writeUInt16BE(0, ip + 10);
    seg.writeUInt16BE(internetChecksum(seg, ip, l4), ip + 10);
    seg.writeUInt32BE((seq0 + off) >>> 0, l4 + 4);
    seg[l4 + 13] = flags & ~(last ? 0 : FIN | PSH) & ~(i === 0 ? 0 : CWR);
    completeChecksum(seg, ip, ihl, proto);
    out.push(seg);
  }
  return out;
}

/** Compute the TCP or UDP checksum of `f` in place over its pseudo-header and the whole segment. */
function completeChecksum(f: Buffer, ip: number, ihl: number, proto: number): void {
  const l4 = ip + ihl;
  const at = l4 + (proto === IpProto.TCP ? 16 : 6);
  const end = Math.min(f.length, ip + f.readUInt16BE(ip + 2));
  f.writeUInt16BE(0, at);
  const sum = sumWords(f, l4, end, pseudoHeaderSum(f.readUInt32BE(ip + 12), f.readUInt32BE(ip + 16), proto, end - l4));
  let c = finishChecksum(sum);
  // RFC 768: a computed UDP checksum of zero is sent as all ones (zero means "none").
  if (c === 0 && proto === IpProto.UDP) c = 0xffff;
  f.writeUInt16BE(c, at);
}
