import t from 'tap';
import { Reassembler } from '../../lib/net/reassembly.js';
import { Counters } from '../../lib/counters.js';
import { FakeClock } from '../../lib/clock.js';
import { buildIcmp } from '../../lib/wire/icmp.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { parseIcmp } from '../../lib/wire/icmp.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { LINUX_ARP_REQUEST, LINUX_HOST_MAC, LINUX_PING, LINUX_STACK_MAC } from '../helpers/linux-frames.js';
import { accounted, decode, echoRequest, fragmentFrames, ipFrame, ipPacket, learnPeer, makeStack, PEER_IP, STACK_IP, udpFrame, udpTo } from '../helpers/net-fixtures.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';

const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 5) & 0xff));

t.test('echo reply to the iputils request: same id, seq and data; DF clear', async (t) => {
  // The stack has the captured MAC, so the kernel's frames, unmodified, are for it.
  const { link, counters } = makeStack({ mac: LINUX_STACK_MAC });
  learnPeer(link, LINUX_ARP_REQUEST); // the kernel's own ARP request teaches its MAC
  link.inject(LINUX_PING);
  const [r, ...more] = link.take().map(decode);
  t.equal(more.length, 0);
  t.same(r!.eth.dst, LINUX_HOST_MAC);
  t.same(r!.eth.src, LINUX_STACK_MAC);
  t.match(r!.ip, { src: STACK_IP, dst: PEER_IP, protocol: 1, df: false, mf: false, totalLength: 84 });
  t.match(r!.icmp, { type: 0, code: 0, id: 0x71bd, seq: 1 });
  t.same(r!.icmp!.body, parseIcmp(parseIpv4(LINUX_PING.subarray(14)).payload).body);
  t.equal(counters.get('rx.handled.icmp.echoRequest'), 1);
  t.same(accounted(counters), { frames: 2, outcomes: 2 });
});

t.test('ping -s 65000: reassemble the 65,028-byte request, answer in fragments that reassemble', async (t) => {
  const { link, counters } = makeStack();
  learnPeer(link);
  const data = bytes(65000);
  const req = echoRequest(0x77, 3, data);
  const frags = fragmentFrames(req, 1480, { id: 999 });
  t.equal(frags.length, 44);
  for (const f of frags) link.inject(f);
  const out = link.take().map((f) => decode(f).ip!);
  t.equal(out.length, 44);
  const r = new Reassembler(new FakeClock(), new Counters(), () => {});
  let whole: ReturnType<Reassembler['add']> = '';
  for (const p of out) {
    t.ok(p.totalLength <= 1500);
    whole = r.add(p);
  }
  t.equal(typeof whole, 'object');
  if (typeof whole === 'object') {
    t.equal(whole.payload.length + 20, 65028);
    const m = parseIcmp(whole.payload);
    t.match(m, { type: 0, id: 0x77, seq: 3 });
    t.same(m.body, data);
  }
  t.equal(counters.get('rx.handled.ip.fragment'), 43);
  t.equal(counters.get('rx.handled.icmp.echoRequest'), 1);
});

t.test('protocol unreachable quotes the header and data, never beyond 576 bytes', async (t) => {
  const { link, counters } = makeStack();
  learnPeer(link);
  const small = ipPacket(bytes(12), { protocol: 99 });
  link.inject(ipFrame(bytes(12), { protocol: 99 }));
  const [u] = link.take().map(decode);
  t.match(u!.icmp, { type: 3, code: 2 });
  t.same(u!.icmp!.body, small, 'the whole small datagram quoted');
  link.inject(ipFrame(bytes(1000), { protocol: 99 }));
  const [big] = link.take().map(decode);
  t.equal(big!.ip!.totalLength, 576);
  t.same(big!.icmp!.body, ipPacket(bytes(1000), { protocol: 99 }).subarray(0, 548));
  t.equal(counters.get('drop.ip.unknownProtocol'), 2);
});

t.test('a registered protocol receives instead', async (t) => {
  const { stack, link, counters } = makeStack();
  const got: [number, number, string][] = [];
  stack.registerProtocol(99, { receive: (s, d, p) => void got.push([s, d, p.toString()]) });
  link.inject(ipFrame(Buffer.from('hey'), { protocol: 99 }));
  t.same(got, [[PEER_IP, STACK_IP, 'hey']]);
  t.equal(counters.get('rx.handled.proto.99'), 1);
  t.throws(() => stack.registerProtocol(99, { receive: () => {} }));
  t.throws(() => stack.registerProtocol(1, { receive: () => {} }));
  t.throws(() => stack.registerProtocol(17, { receive: () => {} }));
});

t.test('emulated path MTU: DF packets above it get frag needed (RFC 1191) and are not delivered', async (t) => {
  const { link, counters } = makeStack({ pathMtu: 1400 });
  learnPeer(link);
  // ping -M do -s 1400: 1428-byte DF packet.
  link.inject(ipFrame(echoRequest(1, 1, bytes(1400)), { df: true }));
  const [e, ...rest] = link.take().map(decode);
  t.equal(rest.length, 0, 'no echo reply');
  t.match(e!.icmp, { type: 3, code: 4, nextHopMtu: 1400 });
  t.equal(e!.icmp!.body.readUInt16BE(2), 1428, 'quotes the offending header');
  t.equal(counters.get('drop.ip.exceedsPathMtu'), 1);
  // ping -M do -s 1372: exactly 1400 bytes, answered.
  link.inject(ipFrame(echoRequest(1, 2, bytes(1372)), { df: true }));
  const [ok] = link.take().map(decode);
  t.match(ok!.icmp, { type: 0, seq: 2 });
  t.equal(ok!.ip!.totalLength, 1400);
  // Without DF a big packet is delivered (as if the router fragmented it); the reply is fragmented to 1400.
  link.inject(ipFrame(echoRequest(1, 3, bytes(1400))));
  t.same(link.take().map((f) => decode(f).ip!.totalLength), [1396, 52]);
});

t.test('ICMP errors are rate limited: burst 10, then one per 10 ms (100/s)', async (t) => {
  const { link, clock, counters } = makeStack();
  learnPeer(link);
  const probe = (): number => {
    link.inject(udpFrame(5000, 9, Buffer.from('x')));
    return link.take().length;
  };
  let sent = 0;
  for (let i = 0; i < 15; i++) sent += probe();
  t.equal(sent, 10, 'the burst');
  t.equal(counters.get('icmp.tx.rateLimited'), 5);
  clock.advance(9);
  t.equal(probe(), 0, 'not yet at 9 ms');
  clock.advance(1);
  t.equal(probe(), 1, 'one token at 10 ms');
  t.equal(probe(), 0);
  clock.advance(1000);
  sent = 0;
  for (let i = 0; i < 15; i++) sent += probe();
  t.equal(sent, 10, 'refilled to the burst, not beyond');
  t.equal(counters.get('drop.udp.noPort'), 33, 'every probe still counted as a drop');
  // Echo replies are not rate limited.
  for (let i = 0; i < 20; i++) link.inject(ipFrame(echoRequest(1, i, bytes(8))));
  t.equal(link.take().length, 20);
});

t.test('never an ICMP error about an ICMP error, a broadcast, a non-first fragment or 0.0.0.0', async (t) => {
  const { link, clock, counters } = makeStack({ pathMtu: 576 });
  learnPeer(link);
  // An ICMP error too big for the path: no frag-needed about it.
  const quoted = ipPacket(udpTo(9, 5000, bytes(600), STACK_IP, PEER_IP), { src: STACK_IP, dst: PEER_IP, protocol: 17 });
  link.inject(ipFrame(buildIcmp(3, 3, 0, quoted), { df: true }));
  t.equal(counters.get('icmp.tx.suppressed.aboutError'), 1);
  // A UDP broadcast to a closed port, and a unicast in a link-layer broadcast frame.
  link.inject(udpFrame(5000, 9, Buffer.from('x'), { dst: parseIp('10.0.0.255') }, BROADCAST_MAC));
  link.inject(udpFrame(5000, 9, Buffer.from('x'), { dst: parseIp('255.255.255.255') }, BROADCAST_MAC));
  link.inject(udpFrame(5000, 9, Buffer.from('x'), {}, BROADCAST_MAC));
  t.equal(counters.get('icmp.tx.suppressed.broadcast'), 3);
  // From 0.0.0.0.
  link.inject(udpFrame(68, 9, Buffer.from('x'), { src: 0 }));
  t.equal(counters.get('icmp.tx.suppressed.badSource'), 1);
  // A non-first fragment over the path MTU with DF (odd, but possible).
  link.inject(ipFrame(bytes(800), { df: true, fragOffset: 800, protocol: 17 }));
  t.equal(counters.get('icmp.tx.suppressed.fragment'), 1);
  // Reassembly that never saw fragment 0 times out silently (checked in ipv4.test.ts too).
  clock.advance(31_000);
  t.equal(link.take().length, 0, 'nothing sent at all');
  t.equal(counters.get('icmp.tx.rateLimited'), 0, 'suppressed by rule, not by the rate limit');
  t.same(accounted(counters), { frames: 7, outcomes: 7 });
});

t.test('errors received about datagrams we sent go to the protocol that sent them', async (t) => {
  const { stack, link, counters } = makeStack();
  const calls: unknown[] = [];
  stack.registerProtocol(6, {
    receive: () => {},
    pathMtu: (dst, mtu, q) => void calls.push(['pmtu', dst, mtu, q.readUInt16BE(0)]),
    unreachable: (dst, code, q) => void calls.push(['unreach', dst, code, q.length]),
  });
  const tcpHead = Buffer.from([0xc0, 0x01, 0x00, 0x50, 0, 0, 0, 1]);
  const ours = ipPacket(tcpHead, { src: STACK_IP, dst: PEER_IP, protocol: 6, df: true });
  link.inject(ipFrame(buildIcmp(3, 4, 1400, ours)));
  link.inject(ipFrame(buildIcmp(3, 3, 0, ours)));
  // An old router sending MTU 0 (RFC 1191 §5): the next plateau below the quoted length.
  const big = Buffer.from(ours);
  big.writeUInt16BE(1500, 2);
  link.inject(ipFrame(buildIcmp(3, 4, 0, big)));
  t.same(calls, [['pmtu', PEER_IP, 1400, 0xc001], ['unreach', PEER_IP, 3, 8], ['pmtu', PEER_IP, 1492, 0xc001]]);
  // Not about something we sent; too short to tell; time exceeded.
  link.inject(ipFrame(buildIcmp(3, 4, 1400, ipPacket(tcpHead, { src: parseIp('10.0.0.7'), dst: PEER_IP, protocol: 6 }))));
  link.inject(ipFrame(buildIcmp(3, 4, 1400, ours.subarray(0, 12))));
  link.inject(ipFrame(buildIcmp(11, 0, 0, ours)));
  link.inject(ipFrame(buildIcmp(13, 0, 0, Buffer.alloc(12))));
  const bad = buildIcmp(3, 4, 1400, ours);
  bad[9] ^= 1;
  link.inject(ipFrame(bad));
  link.inject(ipFrame(Buffer.alloc(4)));
  t.equal(calls.length, 3);
  t.equal(counters.get('rx.handled.icmp.fragNeeded'), 2);
  t.equal(counters.get('rx.handled.icmp.unreachable'), 1);
  t.equal(counters.get('drop.icmp.notOurs'), 1);
  t.equal(counters.get('drop.icmp.badQuote'), 1);
  t.equal(counters.get('rx.handled.icmp.timeExceeded'), 1);
  t.equal(counters.get('drop.icmp.unsupportedType'), 1);
  t.equal(counters.get('drop.icmp.badChecksum'), 1);
  t.equal(counters.get('drop.icmp.truncated'), 1);
  t.equal(link.take().length, 0, 'never answered');
  t.same(accounted(counters), { frames: 9, outcomes: 9 });
});
