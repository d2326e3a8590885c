// Offloads through the whole stack (issue 9): two Stacks over a link pair that carries super-frames
// as they are, with their offload, as the kernel hands a local sender's TSO frames to a tap reader.
// TCP builds super-segments (gso size = the MSS, only the pseudo-header sum in the checksum, RFC
// 9293 §3.1 left to the link); the receiving stack takes each merged super-frame whole (GRO'd
// input, its NEEDS_CSUM checksum trusted) and the bytes arrive exact; whole super-frames lost on
// the way are mended by SACK recovery (RFC 6675). Single frames: a partial checksum is trusted only
// with its offload, and a merged super-frame meets the path MTU by its gso size (RFC 1191).
import t from 'tap';
import { createHash } from 'node:crypto';
import { FakeClock } from '../lib/clock.js';
import { Counters } from '../lib/counters.js';
import type { Link, Offload } from '../lib/link/link.js';
import { wireFrames } from '../lib/link/gso.js';
import { SeededRng } from '../lib/rng.js';
import { Stack } from '../lib/stack.js';
import { TcpLayer } from '../lib/tcp/tcp-layer.js';
import { finishChecksum, pseudoHeaderSum, sumWords } from '../lib/wire/checksum.js';
import { parseEthernet } from '../lib/wire/ethernet.js';
import { parseIpv4 } from '../lib/wire/ipv4.js';
import { parseTcp } from '../lib/wire/tcp.js';
import { parseMac } from '../lib/wire/ip-address.js';
import { DST_MAC, superFrame } from './helpers/super-frame.js';
import { learnPeer, makeStack, udpFrame } from './helpers/net-fixtures.js';

/** One end of the pair: what it is given arrives at the other end 1 ms later, unless `lose` says no. */
class OffloadEnd implements Link {
  readonly offload = true;
  readonly mtu = 1500;
  readonly sent: { frame: Buffer; offload: Offload | undefined }[] = [];
  peer!: OffloadEnd;
  #fn: ((frame: Buffer, offload?: Offload) => void) | undefined;

  constructor(
    readonly mac: Buffer,
    readonly clock: FakeClock,
    readonly lose: (frame: Buffer, offload: Offload | undefined) => boolean = () => false,
  ) {}

  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    const f = Buffer.concat([frame, ...(rest ?? [])]);
    const o = offload && { ...offload };
    this.sent.push({ frame: f, offload: o });
    if (!this.lose(f, o)) this.clock.setTimer(this.clock.now() + 1, () => this.peer.#fn?.(f, o));
  }

  onFrame(fn: (frame: Buffer, offload?: Offload) => void): void {
    this.#fn = fn;
  }

  async close(): Promise<void> {}
}

const TRANSFER = 2 << 20;
const DATA = new SeededRng(99).bytes(TRANSFER);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** 2 MiB from A (10.0.0.1) to B (10.0.0.2) over the pair, on fake time. */
async function transfer(lose?: (frame: Buffer, offload: Offload | undefined) => boolean) {
  const clock = new FakeClock(0);
  const aEnd = new OffloadEnd(parseMac('02:00:00:00:00:0a'), clock, lose);
  const bEnd = new OffloadEnd(parseMac('02:00:00:00:00:0b'), clock);
  aEnd.peer = bEnd;
  bEnd.peer = aEnd;
  const host = (link: OffloadEnd, ip: string, seed: number) => {
    const counters = new Counters();
    const rng = new SeededRng(seed);
    const stack = new Stack({ link, clock, rng, ip, prefix: 24, counters });
    return { stack, tcp: new TcpLayer(stack, { rng }), counters };
  };
  const a = host(aEnd, '10.0.0.1', 1);
  const b = host(bEnd, '10.0.0.2', 2);
  const got: Buffer[] = [];
  let ended = false;
  b.tcp.listen(9).onConnection = (l) => {
    const s = l.accept();
    if (s === undefined) return;
    s.events.readable = () =>
      b.tcp.run((now) => {
        for (let d = s.read(now); d !== undefined; d = s.read(now)) got.push(Buffer.from(d));
        if (s.readEnded) ended = true;
      });
  };
  const c = a.tcp.connect({ host: '10.0.0.2', port: 9 });
  let off = 0;
  const pump = (): void =>
    a.tcp.run((now) => {
      while (off < TRANSFER) {
        const n = c.write(DATA.subarray(off, Math.min(TRANSFER, off + 65536)), now);
        if (n === 0) break;
        off += n;
      }
      if (off === TRANSFER && !c.finQueued) c.shutdown(now);
    });
  c.events.established = pump;
  c.events.writable = pump;
  while (!ended && clock.now() < 600_000) clock.advance(1);
  const result = { a, b, aEnd, bEnd, got: Buffer.concat(got), mss: c.mss };
  a.tcp.close();
  b.tcp.close();
  await a.stack.close();
  await b.stack.close();
  return result;
}

/** The TCP segment of an Ethernet frame, checksums verified (throws on a bad one). */
const wireSegment = (f: Buffer) => {
  const ip = parseIpv4(parseEthernet(f).payload);
  return { ip, tcp: parseTcp(ip.payload, ip.src, ip.dst, true) };
};

t.test('2 MiB over a link with offloads: super-segments out, merged super-frames in, the same bytes', async (t) => {
  const { a, b, aEnd, bEnd, got, mss } = await transfer();
  t.equal(got.length, TRANSFER, 'every byte arrived');
  t.equal(sha(got), sha(DATA), 'sha256 equal');
  const supers = aEnd.sent.filter((s) => (s.offload?.gsoSize ?? 0) > 0);
  t.ok(supers.length > 0 && supers.length < TRANSFER / mss / 4, `the data left as super-segments (${supers.length} for ${Math.ceil(TRANSFER / mss)} MSS)`);
  let wire = 0;
  const wrong = new Set<string>();
  for (const s of supers) {
    if (s.offload!.gsoSize !== mss) wrong.add(`gso size ${s.offload!.gsoSize}, not the effective MSS ${mss}`);
    const ip = parseIpv4(parseEthernet(s.frame).payload); // throws on a bad IP header checksum
    if (ip.totalLength !== s.frame.length - 14) wrong.add('not one IP datagram');
    const l4 = ip.payload;
    // NEEDS_CSUM: the field holds the pseudo-header sum, which the ones' complement sum of the
    // segment (RFC 1071) completes on the way out.
    if (l4.readUInt16BE(16) !== (~finishChecksum(pseudoHeaderSum(ip.src, ip.dst, 6, l4.length)) & 0xffff)) wrong.add('TCP checksum field is not the pseudo-header sum');
    const pieces = wireFrames(s.frame, s.offload);
    if (!pieces.every((f) => f.length <= 1514)) wrong.add('a wire frame over 1514 bytes');
    for (const f of pieces) wireSegment(f); // throws on a bad checksum
    wire += pieces.length;
  }
  t.same([...wrong], [], 'each: gso size = the effective MSS, one datagram, only the pseudo-header sum; cut into valid wire frames of at most 1514 bytes');
  // The receiver took each merged super-frame as one segment: far fewer segments and ACKs than
  // the wire frames they stand for (RFC 5681 §4.2: an ACK at least every second full segment).
  t.ok(b.counters.get('tcp.rx.segments') < wire / 4, `B handled ${b.counters.get('tcp.rx.segments')} segments for ${wire} wire frames`);
  const acks = bEnd.sent.length;
  t.ok(acks < wire / 4, `B sent ${acks} frames back`);
  t.equal(a.counters.sum('tcp.tx.retransmit.'), 0, 'nothing resent');
});

t.test('whole super-frames lost: SACK recovery mends the holes, the same bytes', async (t) => {
  let n = 0;
  const lost: number[] = [];
  // Every 9th data super-frame from A, the first 60 of them (bounded so the test stays quick).
  const lose = (_f: Buffer, o: Offload | undefined): boolean => {
    if ((o?.gsoSize ?? 0) === 0 || lost.length >= 60 || ++n % 9 !== 0) return false;
    lost.push(n);
    return true;
  };
  const { a, got } = await transfer(lose);
  t.ok(lost.length >= 5, `${lost.length} super-frames lost`);
  t.equal(sha(got), sha(DATA), 'sha256 equal');
  const k = a.counters;
  t.ok(k.get('tcp.recovery.sack') > 0, `SACK recovery entered ${k.get('tcp.recovery.sack')} times (RFC 6675)`);
  t.ok(k.get('tcp.rx.sackBlocks') > 0, 'driven by the receiver\'s SACK blocks');
  t.ok(k.get('tcp.tx.retransmit.rto') <= k.sum('tcp.tx.retransmit.') / 4, `mostly without the RTO (${k.get('tcp.tx.retransmit.rto')} of ${k.sum('tcp.tx.retransmit.')})`);
});

t.test('a partial checksum is trusted with its offload only', async (t) => {
  const { stack, counters } = makeStack();
  const heard: string[] = [];
  stack.udp.bind(7, (msg) => heard.push(msg.toString()));
  const frame = udpFrame(40000, 7, Buffer.from('partial'));
  // What the kernel hands a tap reader for its own datagram: the pseudo-header sum, NEEDS_CSUM.
  const l4 = 34;
  frame.writeUInt16BE(~finishChecksum(sumWords(frame, 26, 34, 17 + frame.readUInt16BE(l4 + 4))) & 0xffff, l4 + 6);
  stack.input(frame);
  t.equal(counters.get('drop.udp.badChecksum'), 1, 'without an offload: a bad checksum, dropped');
  stack.input(frame, { csumStart: l4, csumOffset: 6, csumValid: false, gsoSize: 0 });
  t.same(heard, ['partial'], 'with NEEDS_CSUM: the kernel completes it on the wire, so it is delivered');
  stack.input(udpFrame(40000, 7, Buffer.from('valid')), { csumStart: -1, csumOffset: 0, csumValid: true, gsoSize: 0 });
  t.same(heard, ['partial', 'valid'], 'DATA_VALID: delivered');
});

t.test('a merged super-frame meets the path MTU by its gso size, not its length', async (t) => {
  const { stack, link, counters } = makeStack({ mac: DST_MAC, pathMtu: 1400 });
  const tcp = new TcpLayer(stack, { rng: new SeededRng(3) });
  t.teardown(() => tcp.close());
  learnPeer(link);
  // To a closed port: a delivered segment is answered with a RST (RFC 9293 §3.10.7.1).
  const fits = superFrame({ payload: Buffer.alloc(10 * 1348, 1), dstPort: 4444 }, 1348);
  stack.input(fits.frame, fits.offload);
  t.equal(counters.get('drop.ip.exceedsPathMtu'), 0, '1348-byte pieces fit 1400 with 52 bytes of headers');
  t.equal(counters.get('tcp.tx.rst.closedPort'), 1, 'delivered to TCP, checksum trusted');
  stack.input(fits.frame);
  t.equal(counters.get('drop.ip.exceedsPathMtu'), 1, 'the same frame without its offload is one 13.5 KB datagram: too big');
  const tooBig = superFrame({ payload: Buffer.alloc(10 * 1448, 1), dstPort: 4444 }, 1448);
  link.take();
  stack.input(tooBig.frame, tooBig.offload);
  t.equal(counters.get('drop.ip.exceedsPathMtu'), 2, '1448-byte pieces make 1500-byte packets: refused');
  const icmp = link.take().map((f) => parseIpv4(parseEthernet(f).payload)).filter((p) => p.protocol === 1);
  t.equal(icmp.length, 1, 'with one ICMP frag-needed');
  t.equal(icmp[0]?.payload.readUInt16BE(6), 1400, 'naming next-hop MTU 1400 (RFC 1191 §4)');
});
