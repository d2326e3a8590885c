// Hostile input (issue 2): a million random and mutated frames through the whole stack. Nothing
// may escape the ingress catch, no frame may hit an internal error, every frame must end in
// exactly one outcome counter, and the stack's tables must stay inside their limits. With
// offloads, the virtio_net_hdr in front of each frame is hostile too: random and mutated headers
// are refused by name or, once accepted, must not break the stack or the software segmentation
// that the capture and the trace use.
import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng, type Rng } from '../../lib/rng.js';
import { Stack } from '../../lib/stack.js';
import type { Link } from '../../lib/link/link.js';
import { parseIp, parseMac, writeIp } from '../../lib/wire/ip-address.js';
import { writeEthernetHeader, EtherType, BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { writeArp, ArpOp } from '../../lib/wire/arp.js';
import { writeIpv4Header, IpProto } from '../../lib/wire/ipv4.js';
import { buildIcmp, echoRest, IcmpType } from '../../lib/wire/icmp.js';
import { buildUdp } from '../../lib/wire/udp.js';
import { internetChecksum, pseudoHeaderSum, sumWords, finishChecksum } from '../../lib/wire/checksum.js';
import { VNET_HDR_LEN, isVnetRejection, parseVnetHeader } from '../../lib/link/vnet-header.js';
import { wireFrames } from '../../lib/link/gso.js';
import { Counters } from '../../lib/counters.js';

const FRAMES = Number(process.env.TAPSTACK_FUZZ_FRAMES ?? 1_000_000);
const OUR_MAC = parseMac('02:00:00:00:00:02');
const PEER_MAC = parseMac('02:00:00:00:00:01');
const OUR_IP = parseIp('10.0.0.2');
const PEER_IP = parseIp('10.0.0.1');

/** A link that only counts what the stack sends: the fuzz must not grow memory itself. */
class CountingLink implements Link {
  readonly mac = OUR_MAC;
  readonly mtu = 1500;
  sent = 0;
  fn: ((f: Buffer) => void) | undefined;
  send(): void {
    this.sent++;
  }
  onFrame(fn: (f: Buffer) => void): void {
    this.fn = fn;
  }
  async close(): Promise<void> {}
}

function ipFrame(protocol: number, payload: Buffer, o: { id?: number; off?: number; mf?: boolean; df?: boolean; src?: number } = {}): Buffer {
  const f = Buffer.alloc(14 + 20 + payload.length);
  writeEthernetHeader(f, 0, OUR_MAC, PEER_MAC, EtherType.IPv4);
  writeIpv4Header(f, 14, {
    src: o.src ?? PEER_IP, dst: OUR_IP, protocol, id: o.id ?? 1, ttl: 64, tos: 0,
    df: o.df ?? false, mf: o.mf ?? false, fragOffset: o.off ?? 0, totalLength: 20 + payload.length,
  } as Parameters<typeof writeIpv4Header>[2]);
  payload.copy(f, 34);
  return f;
}

/** Valid frames of every kind the stack understands: the seeds that mutations start from. */
function seeds(): Buffer[] {
  const arp = Buffer.alloc(42);
  writeEthernetHeader(arp, 0, BROADCAST_MAC, PEER_MAC, EtherType.ARP);
  writeArp(arp, 14, { op: ArpOp.request, senderMac: PEER_MAC, senderIp: PEER_IP, targetMac: Buffer.alloc(6), targetIp: OUR_IP });
  const echo = buildIcmp(IcmpType.echoRequest, 0, echoRest(7, 1), Buffer.alloc(56, 0xab));
  const bigEcho = buildIcmp(IcmpType.echoRequest, 0, echoRest(7, 2), Buffer.alloc(3000, 0xcd));
  const udp = buildUdp(40000, 7, Buffer.from('hello'), PEER_IP, OUR_IP);
  const udpClosed = buildUdp(40000, 9999, Buffer.from('x'), PEER_IP, OUR_IP);
  const tcpSyn = Buffer.alloc(20);
  tcpSyn.writeUInt16BE(40000, 0);
  tcpSyn.writeUInt16BE(80, 2);
  tcpSyn[12] = 5 << 4;
  tcpSyn[13] = 0x02;
  tcpSyn.writeUInt16BE(64240, 14);
  tcpSyn.writeUInt16BE(finishChecksum(sumWords(tcpSyn, 0, 20, pseudoHeaderSum(PEER_IP, OUR_IP, 6, 20))), 16);
  return [
    arp,
    ipFrame(IpProto.ICMP, echo),
    ipFrame(IpProto.ICMP, bigEcho.subarray(0, 1480), { id: 9, mf: true }),
    ipFrame(IpProto.ICMP, bigEcho.subarray(1480, 2960), { id: 9, off: 1480, mf: true }),
    ipFrame(IpProto.ICMP, bigEcho.subarray(2960), { id: 9, off: 2960 }),
    ipFrame(IpProto.UDP, udp),
    ipFrame(IpProto.UDP, udpClosed),
    ipFrame(IpProto.TCP, tcpSyn),
    ipFrame(99, Buffer.alloc(16)),
  ];
}

/** Recompute the IPv4 header checksum and the ICMP/UDP/TCP checksum where the frame still has room. */
function fixChecksums(f: Buffer): void {
  if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return;
  const ihl = (f[14]! & 0x0f) * 4;
  if (ihl < 20 || f.length < 14 + ihl) return;
  f.writeUInt16BE(0, 24);
  f.writeUInt16BE(internetChecksum(f, 14, 14 + ihl), 24);
  const total = Math.min(f.readUInt16BE(16), f.length - 14);
  const start = 14 + ihl;
  const end = 14 + total;
  if (end <= start) return;
  const proto = f[23]!;
  const src = f.readUInt32BE(26);
  const dst = f.readUInt32BE(30);
  if (proto === 1 && end - start >= 4) {
    f.writeUInt16BE(0, start + 2);
    f.writeUInt16BE(internetChecksum(f, start, end), start + 2);
  } else if (proto === 17 && end - start >= 8) {
    f.writeUInt16BE(0, start + 6);
    f.writeUInt16BE(finishChecksum(sumWords(f, start, end, pseudoHeaderSum(src, dst, 17, end - start))) || 0xffff, start + 6);
  } else if (proto === 6 && end - start >= 18) {
    f.writeUInt16BE(0, start + 16);
    f.writeUInt16BE(finishChecksum(sumWords(f, start, end, pseudoHeaderSum(src, dst, 6, end - start))), start + 16);
  }
}

/** One hostile frame: pure noise, or a seed flipped / truncated / extended / field-scrambled. */
function hostile(rng: Rng, pool: Buffer[]): Buffer {
  const kind = rng.u32() % 8;
  if (kind === 0) return rng.bytes(rng.u32() % 1600);
  const f = Buffer.from(pool[rng.u32() % pool.length]!);
  switch (kind) {
    case 1: // truncated anywhere
      return f.subarray(0, rng.u32() % f.length);
    case 2: // trailing garbage (Ethernet padding or worse)
      return Buffer.concat([f, rng.bytes(1 + (rng.u32() % 64))]);
    case 3: // header fields scrambled, checksums made right so the bad value reaches deeper layers
      if (f.length >= 34) {
        const field = rng.u32() % 6;
        if (field === 0) f[14] = (f[14]! & 0xf0) | (rng.u32() & 0x0f); // IHL
        if (field === 1) f.writeUInt16BE(rng.u32() & 0xffff, 16); // total length
        if (field === 2) f.writeUInt16BE(rng.u32() & 0xffff, 20); // flags + fragment offset
        if (field === 3) f[23] = rng.u32() & 0xff; // protocol
        if (field === 4) writeIp(f, 26, rng.u32() & 1 ? 0xffffffff : rng.u32()); // source
        if (field === 5 && f.length >= 38) f.writeUInt32BE(rng.u32(), 34); // transport ports / type
      }
      fixChecksums(f);
      return f;
    default: {
      // 1-8 random bytes flipped; half the time checksums are made right again
      const n = 1 + (rng.u32() % 8);
      for (let i = 0; i < n; i++) f[rng.u32() % f.length] ^= 1 + (rng.u32() % 255);
      if (rng.u32() & 1) fixChecksums(f);
      return f;
    }
  }
}

t.test(`${FRAMES.toLocaleString('en')} hostile frames: no escape, every frame counted, tables bounded`, async (t) => {
  const clock = new FakeClock();
  const rng = new SeededRng(20261121);
  const link = new CountingLink();
  const stack = new Stack({ link, clock, rng: new SeededRng(1), ip: OUR_IP, prefix: 24 });
  const pool = seeds();
  const before = process.memoryUsage().heapUsed;
  let maxReassembly = 0;
  let maxReassemblyBytes = 0;
  let maxArp = 0;
  for (let i = 0; i < FRAMES; i++) {
    link.fn!(hostile(rng, pool));
    if (i % 1000 === 999) {
      clock.advance(37); // timers run: ARP retries, reassembly timeouts, ICMP token refill
      maxReassembly = Math.max(maxReassembly, stack.reassembly.count);
      maxReassemblyBytes = Math.max(maxReassemblyBytes, stack.reassembly.bytes);
      maxArp = Math.max(maxArp, stack.arp.size);
    }
  }
  const c = stack.counters;
  t.equal(c.get('eth.rx.frames'), FRAMES, 'every frame was seen');
  t.equal(c.sum('rx.handled.') + c.sum('drop.'), FRAMES, 'every frame ended in exactly one outcome counter');
  t.equal(c.get('drop.internal'), 0, 'no frame reached an internal error');
  t.ok(c.sum('rx.handled.') > FRAMES / 20, `a good share got deep into the stack (${c.sum('rx.handled.')} handled)`);
  t.ok(maxReassembly <= 64, `reassembly table bounded (max ${maxReassembly})`);
  t.ok(maxReassemblyBytes <= 4 * 1024 * 1024 + 64 * 64, `reassembly memory bounded (max ${maxReassemblyBytes})`);
  t.ok(maxArp <= 256, `ARP cache bounded (max ${maxArp})`);
  const growth = process.memoryUsage().heapUsed - before;
  t.ok(growth < 96 * 1024 * 1024, `heap growth bounded (${(growth / 1048576).toFixed(1)} MiB)`);
  const drops = Object.entries(c.snapshot()).filter(([k]) => k.startsWith('drop.')).sort((a, b) => b[1] - a[1]);
  t.comment(`top drop reasons: ${drops.slice(0, 12).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  t.comment(`frames sent in reply: ${link.sent}`);
  await stack.close();
});

/** A virtio_net_hdr for `f`: plausible (plain, DATA_VALID, NEEDS_CSUM, GSO_TCPV4) or noise, then maybe mutated. */
function hostileVnet(rng: Rng, f: Buffer): Buffer {
  const h = Buffer.alloc(VNET_HDR_LEN);
  const kind = rng.u32() % 5;
  const proto = f.length >= 34 ? f[23]! : 0;
  if (kind === 0) rng.bytes(VNET_HDR_LEN).copy(h);
  if (kind === 1) h[0] = 2; // DATA_VALID
  if (kind >= 2) {
    h[0] = 1; // NEEDS_CSUM at the transport checksum
    h.writeUInt16LE(34, 6);
    h.writeUInt16LE(proto === 17 ? 6 : 16, 8);
  }
  if (kind === 3) {
    h[1] = 1; // GSO_TCPV4
    h.writeUInt16LE(54, 2);
    h.writeUInt16LE([48, 536, 1448, 65535][rng.u32() % 4]!, 4);
  }
  if (rng.u32() & 1) for (let i = 1 + (rng.u32() % 3); i > 0; i--) h[rng.u32() % VNET_HDR_LEN] = rng.u32() & 0xff;
  return Buffer.concat([h, f]);
}

t.test('hostile virtio_net_hdr in front of hostile frames: refused by name or handled, segmentation never throws', async (t) => {
  const n = Math.max(1000, Math.floor(FRAMES / 5));
  const clock = new FakeClock();
  const rng = new SeededRng(20261203);
  const link = new CountingLink();
  const stack = new Stack({ link, clock, rng: new SeededRng(2), ip: OUR_IP, prefix: 24 });
  const linkCounters = new Counters();
  const pool = seeds();
  let accepted = 0;
  let wire = 0;
  for (let i = 0; i < n; i++) {
    // As TapLink does: check the header, count a refusal, else hand the frame and its offload up.
    const packet = hostileVnet(rng, hostile(rng, pool));
    const o = parseVnetHeader(packet);
    if (isVnetRejection(o)) {
      linkCounters.inc(`link.rx.drop.vnet.${o.reason}`);
      continue;
    }
    const frame = packet.subarray(VNET_HDR_LEN);
    accepted++;
    wire += wireFrames(frame, o).length; // what the pcap writer and the tracer do
    link.fn!(frame);
    stack.input(frame, o);
    if (i % 1000 === 999) clock.advance(37);
  }
  const c = stack.counters;
  t.equal(linkCounters.sum('link.rx.drop.vnet.') + accepted, n, 'every header refused by name or accepted');
  t.equal(c.sum('rx.handled.') + c.sum('drop.'), 2 * accepted, 'every accepted frame (fed twice: without and with its offload) ended in one outcome');
  t.equal(c.get('drop.internal'), 0, 'no internal error');
  t.ok(wire >= accepted, 'segmentation gave at least one wire frame per accepted frame');
  const reasons = Object.keys(linkCounters.snapshot()).map((k) => k.slice('link.rx.drop.vnet.'.length));
  t.ok(reasons.length >= 6, `many distinct refusals (${reasons.join(' ')})`);
  await stack.close();
});
