import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import { Reassembler } from '../../lib/net/reassembly.js';
import { internetChecksum } from '../../lib/wire/checksum.js';
import { EtherType } from '../../lib/wire/ethernet.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { accounted, decode, echoRequest, ethFrame, fragmentFrames, ipFrame, ipPacket, learnPeer, makeStack, PEER_IP, STACK_IP } from '../helpers/net-fixtures.js';

const payload = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

/** A registered protocol 99 that records what it receives. */
function sink(stack: ReturnType<typeof makeStack>['stack']): Buffer[] {
  const got: Buffer[] = [];
  stack.registerProtocol(99, { receive: (_s, _d, p) => void got.push(Buffer.from(p)) });
  return got;
}

t.test('each validation failure is a counted drop, and every frame has one outcome', async (t) => {
  const { link, counters } = makeStack();
  const good = ipPacket(echoRequest(1, 1, Buffer.alloc(8)));
  const mut = (f: (b: Buffer) => void, fixSum = true): Buffer => {
    const b = Buffer.from(good);
    f(b);
    if (fixSum) {
      b.writeUInt16BE(0, 10);
      b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
    }
    return ethFrame(b);
  };
  link.inject(Buffer.alloc(10));
  link.inject(ethFrame(good.subarray(0, 19)));
  link.inject(mut((b) => (b[0] = 0x55)));
  link.inject(mut((b) => (b[0] = 0x43)));
  link.inject(mut((b) => b.writeUInt16BE(good.length + 1, 2)));
  link.inject(mut((b) => (b[8] = 1), false));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { dst: parseIp('10.0.0.3') }));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { src: parseIp('224.0.0.1') }));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { src: STACK_IP }));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { src: parseIp('127.0.0.1') }));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { src: 0 }));
  link.inject(ipFrame(echoRequest(1, 1, Buffer.alloc(8)), { dst: parseIp('10.0.0.255') }));
  link.inject(ethFrame(good, EtherType.IPv4, Buffer.from('020000000077', 'hex')));
  link.inject(ethFrame(good, EtherType.IPv4, Buffer.from('01005e000001', 'hex')));
  link.inject(ethFrame(Buffer.alloc(40), EtherType.IPv6));
  t.same(
    Object.fromEntries(Object.entries(counters.snapshot()).filter(([k]) => k.startsWith('drop.'))),
    {
      'drop.eth.truncated': 1,
      'drop.ip.truncated': 1,
      'drop.ip.badVersion': 1,
      'drop.ip.badIhl': 1,
      'drop.ip.badTotalLength': 1,
      'drop.ip.badChecksum': 1,
      'drop.ip.notForUs': 2,
      'drop.ip.badSource': 4,
      'drop.eth.notForUs': 2,
      'drop.eth.unsupportedType': 1,
    },
  );
  t.equal(link.take().length, 0, 'nothing answered');
  t.same(accounted(counters), { frames: 15, outcomes: 15 });
});

t.test('Ethernet padding after the IP total length is ignored', async (t) => {
  const { stack, link } = makeStack();
  const got = sink(stack);
  link.inject(Buffer.concat([ipFrame(Buffer.from([1, 2, 3]), { protocol: 99 }), Buffer.alloc(20)]));
  t.same(got, [Buffer.from([1, 2, 3])]);
});

t.test('reassembly: in order, out of order, with an exact duplicate', async (t) => {
  const { stack, link, counters } = makeStack();
  const got = sink(stack);
  const data = payload(4000);
  const frags = fragmentFrames(data, 1480, { protocol: 99, id: 1 });
  t.equal(frags.length, 3);
  for (const f of frags) link.inject(f);
  t.equal(got.length, 1);
  t.same(got[0], data);

  const rev = fragmentFrames(data, 512, { protocol: 99, id: 2 }).reverse();
  for (const f of rev) link.inject(f);
  t.same(got[1], data, 'reverse order');

  const mixed = fragmentFrames(data, 1000, { protocol: 99, id: 3 });
  for (const i of [2, 0, 2, 3, 1]) link.inject(mixed[i]!);
  t.same(got[2], data, 'with a duplicate');
  t.equal(counters.get('drop.ip.reasm.duplicate'), 1);
  t.equal(counters.get('ip.reasm.completed'), 3);
  t.equal(stack.reassembly.count, 0);
  t.equal(stack.reassembly.bytes, 0, 'memory returned');
  t.same(accounted(counters), { frames: 3 + 8 + 5, outcomes: 16 });
});

t.test('overlapping fragments drop the whole datagram', async (t) => {
  const { stack, link, counters } = makeStack();
  const got = sink(stack);
  const data = payload(3000);
  link.inject(ipFrame(data.subarray(0, 1480), { protocol: 99, id: 9, mf: true }));
  link.inject(ipFrame(data.subarray(1472, 2952), { protocol: 99, id: 9, mf: true, fragOffset: 1472 }));
  t.equal(counters.get('drop.ip.reasm.overlap'), 1);
  t.equal(stack.reassembly.count, 0, 'discarded');
  // The rest of it cannot complete a datagram any more.
  link.inject(ipFrame(data.subarray(2952), { protocol: 99, id: 9, fragOffset: 2952 }));
  t.equal(got.length, 0);
  // Overlap with a fragment's tail, and a zero-length last fragment inside data, both count.
  link.inject(ipFrame(data.subarray(0, 16), { protocol: 99, id: 10, mf: true }));
  link.inject(ipFrame(data.subarray(8, 24), { protocol: 99, id: 10, mf: true, fragOffset: 8 }));
  t.equal(counters.get('drop.ip.reasm.overlap'), 2);
});

t.test('inconsistent lengths drop the datagram; MF fragments must be multiples of 8', async (t) => {
  const { link, counters } = makeStack();
  link.inject(ipFrame(payload(100), { protocol: 99, id: 1, fragOffset: 800 }));
  link.inject(ipFrame(payload(100), { protocol: 99, id: 1, fragOffset: 1600 }));
  link.inject(ipFrame(payload(100), { protocol: 99, id: 2, fragOffset: 800 }));
  link.inject(ipFrame(payload(96), { protocol: 99, id: 2, fragOffset: 896, mf: true }));
  link.inject(ipFrame(payload(100), { protocol: 99, id: 3, mf: true }));
  link.inject(ipFrame(payload(0), { protocol: 99, id: 3, mf: true }));
  t.equal(counters.get('drop.ip.reasm.inconsistent'), 2);
  t.equal(counters.get('drop.ip.reasm.badFragmentLength'), 2);
});

t.test('timeout at exactly 30 s: time exceeded (code 1) only when the first fragment arrived', async (t) => {
  const { stack, link, clock, counters } = makeStack();
  learnPeer(link);
  const t0 = clock.now();
  const msg = echoRequest(7, 7, payload(3000));
  const frags = fragmentFrames(msg, 1480, { id: 42 });
  link.inject(frags[0]!);
  link.inject(frags[2]!);
  clock.advanceTo(t0 + 10_000);
  link.inject(fragmentFrames(msg, 1480, { id: 43 })[1]!); // no first fragment: silent expiry
  clock.advanceTo(t0 + 29_999);
  t.equal(link.take().length, 0);
  t.equal(stack.reassembly.count, 2);
  clock.advanceTo(t0 + 30_000);
  const [te] = link.take().map(decode);
  t.match(te!.icmp, { type: 11, code: 1 });
  t.equal(te!.ip!.dst, PEER_IP);
  const q = te!.icmp!.body;
  t.same([q.readUInt16BE(4), q.readUInt16BE(6), q[9]], [42, 0x2000, 1], 'quotes the first fragment\'s header (id, MF, ICMP)');
  t.same(te!.icmp!.body.subarray(20, 28), msg.subarray(0, 8), '...and its first data bytes');
  t.ok(te!.ip!.totalLength <= 576);
  t.equal(stack.reassembly.count, 1);
  clock.advanceTo(t0 + 40_000);
  t.equal(link.take().length, 0, 'no ICMP without the first fragment');
  t.equal(counters.get('ip.reasm.timeout'), 2);
  t.equal(counters.get('icmp.tx.error.11.1'), 1);
  t.equal(stack.reassembly.count, 0);
  t.equal(stack.reassembly.bytes, 0);
  t.equal(clock.pending, 0);
});

t.test('"ping of death": fragments reaching past 65,535 bytes are dropped', async (t) => {
  const { stack, link, counters } = makeStack();
  link.inject(ipFrame(payload(1480), { protocol: 99, id: 5, mf: true }));
  link.inject(ipFrame(payload(16), { protocol: 99, id: 5, fragOffset: 65520 })); // 20 + 65520 + 16 > 65535
  t.equal(counters.get('drop.ip.reasm.tooBig'), 1);
  t.equal(stack.reassembly.count, 0, 'the partial datagram is discarded too');
  // The largest legal datagram is fine: 20 + 65512 + 3 = 65535.
  const got = sink(stack);
  const big = payload(65515);
  for (const f of fragmentFrames(big, 1480, { protocol: 99, id: 6 })) link.inject(f);
  t.equal(got[0]?.length, 65515);
});

t.test('limits: concurrent reassemblies and total memory; when full the oldest is evicted', async (t) => {
  const { stack, link, counters } = makeStack();
  const got = sink(stack);
  for (let id = 0; id < 65; id++) link.inject(ipFrame(payload(8), { protocol: 99, id, mf: true }));
  t.equal(stack.reassembly.count, 64, 'never more than 64 at once');
  t.equal(counters.get('ip.reasm.evicted'), 1, 'the 65th evicted the oldest');
  // A flood of fragments that never complete does not lock a real datagram out.
  link.inject(ipFrame(payload(8), { protocol: 99, id: 64, fragOffset: 8 }));
  t.equal(got.length, 1, 'the newest datagram still completes');
  link.inject(ipFrame(payload(8), { protocol: 99, id: 0, fragOffset: 8 }));
  t.equal(got.length, 1, 'the evicted one cannot complete');

  const m = makeStack({ reassembly: { maxBytes: 10_000 } });
  m.link.inject(ipFrame(payload(4000), { protocol: 99, id: 1, mf: true }));
  m.link.inject(ipFrame(payload(4000), { protocol: 99, id: 2, mf: true }));
  m.link.inject(ipFrame(payload(4000), { protocol: 99, id: 3, mf: true }));
  t.equal(m.counters.get('ip.reasm.evicted'), 1, 'memory full: the oldest made room');
  t.equal(m.stack.reassembly.count, 2);
  t.ok(m.stack.reassembly.bytes <= 10_000);
  // One datagram alone larger than the budget cannot be kept.
  m.link.inject(ipFrame(payload(4000), { protocol: 99, id: 2, fragOffset: 4000, mf: true }));
  m.link.inject(ipFrame(payload(4000), { protocol: 99, id: 2, fragOffset: 8000, mf: true }));
  t.equal(m.counters.get('drop.ip.reasm.noMemory'), 1, 'a datagram bigger than the whole budget is refused');
  t.ok(m.stack.reassembly.bytes <= 10_000);
});

t.test('fragmentation on output: 8-byte offsets, MF, copied header, and it reassembles', async (t) => {
  const { stack, link, counters } = makeStack();
  learnPeer(link);
  const data = payload(4000, 3);
  t.ok(stack.sendIp(PEER_IP, 99, data, { tos: 0x10, ttl: 9 }));
  const frames = link.take();
  const ips = frames.map((f) => decode(f).ip!);
  t.same(ips.map((p) => [p.fragOffset, p.mf, p.payload.length]), [[0, true, 1480], [1480, true, 1480], [2960, false, 1040]]);
  for (const p of ips) {
    t.match(p, { id: ips[0]!.id, df: false, ttl: 9, tos: 0x10, protocol: 99, src: STACK_IP, dst: PEER_IP });
    t.ok(p.totalLength <= 1500);
  }
  t.equal(counters.get('ip.tx.fragments'), 3);
  const r = new Reassembler(new FakeClock(), new Counters(), () => {});
  let out;
  for (const p of [ips[1]!, ips[2]!, ips[0]!]) out = r.add(p);
  t.same(typeof out === 'object' ? out.payload : out, data);

  // The next datagram gets the next id; DF with more than the MTU is refused and counted.
  stack.sendIp(PEER_IP, 99, Buffer.alloc(10));
  t.equal(decode(link.take()[0]!).ip!.id, (ips[0]!.id + 1) & 0xffff);
  t.notOk(stack.sendIp(PEER_IP, 99, Buffer.alloc(1481), { df: true }));
  t.ok(stack.sendIp(PEER_IP, 99, Buffer.alloc(1480), { df: true }));
  t.same(link.take().map((f) => decode(f).ip!.df), [true]);
  t.equal(counters.get('ip.tx.tooBigDf'), 1);
  t.throws(() => stack.sendIp(PEER_IP, 99, Buffer.alloc(65516)), RangeError);
});

t.test('output fragments to the path MTU when it is below the link MTU', async (t) => {
  const { stack, link } = makeStack({ pathMtu: 1000 });
  t.equal(stack.pathMtu, 1000);
  t.equal(stack.mtu, 1500);
  learnPeer(link);
  stack.sendIp(PEER_IP, 99, payload(2000));
  t.same(link.take().map((f) => decode(f).ip!.payload.length), [976, 976, 48]);
});
