import t from 'tap';
import { UdpError, type UdpRemoteInfo } from '../../lib/net/udp.js';
import { startUdpEcho } from '../../lib/net/udp-echo.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { LINUX_ARP_REQUEST, LINUX_HOST_MAC, LINUX_STACK_MAC, LINUX_UDP } from '../helpers/linux-frames.js';
import { accounted, decode, learnPeer, makeStack, PEER_IP, STACK_IP, udpFrame } from '../helpers/net-fixtures.js';

/** The `code` of the UdpError `fn` throws. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof UdpError ? e.code : String(e);
  }
  return 'no error';
}

t.test('an echo service on port 7 answers the Linux datagram with a checksummed reply', async (t) => {
  // The stack has the captured MAC, so the kernel's frames, unmodified, are for it.
  const { stack, link, counters } = makeStack({ mac: LINUX_STACK_MAC });
  learnPeer(link, LINUX_ARP_REQUEST); // the kernel's own ARP request teaches its MAC
  const seen: UdpRemoteInfo[] = [];
  const echo = stack.udp.bind(7, (msg, rinfo) => {
    seen.push(rinfo);
    echo.send(msg, rinfo.port, rinfo.address);
  });
  t.equal(echo.port, 7);
  link.inject(LINUX_UDP);
  t.same(seen, [{ address: '10.0.0.1', family: 'IPv4', port: 58885, size: 6, ip: PEER_IP, dst: STACK_IP }]);
  const [r, ...more] = link.take().map(decode);
  t.equal(more.length, 0);
  t.same(r!.eth.dst, LINUX_HOST_MAC);
  t.same(r!.eth.src, LINUX_STACK_MAC);
  t.match(r!.ip, { src: STACK_IP, dst: PEER_IP, protocol: 17, df: false });
  t.match(r!.udp, { srcPort: 7, dstPort: 58885, length: 14 });
  t.not(r!.udp!.checksum, 0, 'always sent with a checksum (decode verified it)');
  t.equal(r!.udp!.payload.toString(), 'hello\n');
  t.equal(counters.get('rx.handled.udp'), 1);
  t.equal(counters.get('udp.tx.datagrams'), 1);
  t.same(accounted(counters), { frames: 2, outcomes: 2 });
});

t.test('the message is a copy the receiver may keep', async (t) => {
  const { stack, link } = makeStack();
  let kept: Buffer | undefined;
  stack.udp.bind(9000, (m) => (kept = m));
  const f = udpFrame(1, 9000, Buffer.from('abc'));
  link.inject(f);
  f.fill(0);
  t.equal(kept?.toString(), 'abc');
});

t.test('bad checksum dropped and counted; checksum 0 accepted as "none"', async (t) => {
  const { stack, link, counters } = makeStack();
  const got: string[] = [];
  stack.udp.bind(7, (m) => void got.push(m.toString()));
  const bad = udpFrame(1, 7, Buffer.from('bad'));
  bad[bad.length - 1] ^= 1;
  link.inject(bad);
  const none = udpFrame(1, 7, Buffer.from('none'));
  none.writeUInt16BE(0, 14 + 20 + 6);
  link.inject(none);
  t.same(got, ['none']);
  t.equal(counters.get('drop.udp.badChecksum'), 1);
  t.equal(counters.get('udp.rx.noChecksum'), 1);
  const short = udpFrame(1, 7, Buffer.from('abc'));
  short.writeUInt16BE(99, 14 + 20 + 4);
  link.inject(short);
  t.equal(counters.get('drop.udp.badLength'), 1);
  t.same(accounted(counters), { frames: 3, outcomes: 3 });
});

t.test('nothing bound: ICMP port unreachable quoting the datagram', async (t) => {
  const { link, counters } = makeStack();
  learnPeer(link);
  const f = udpFrame(5000, 9, Buffer.from('knock'));
  link.inject(f);
  const [u] = link.take().map(decode);
  t.match(u!.icmp, { type: 3, code: 3 });
  t.same(u!.icmp!.body, f.subarray(14), 'IP header + whole (short) datagram');
  t.equal(counters.get('drop.udp.noPort'), 1);
});

t.test('bind: EADDRINUSE, close frees the port, ephemeral ports, send after close', async (t) => {
  const { stack, link } = makeStack();
  const s = stack.udp.bind(5353, () => {});
  t.equal(codeOf(() => stack.udp.bind(5353, () => {})), 'EADDRINUSE');
  t.throws(() => stack.udp.bind(70000, () => {}), RangeError);
  s.close();
  s.close();
  t.ok(s.closed);
  t.equal(codeOf(() => s.send(Buffer.from('x'), 1, PEER_IP)), 'ERR_SOCKET_DGRAM_NOT_RUNNING');
  const again = stack.udp.bind(5353, () => {});
  t.equal(stack.udp.socket(5353), again);
  const eph = stack.udp.bind(0, () => {});
  t.ok(eph.port >= 49152 && eph.port <= 65535);
  t.not(stack.udp.bind(0, () => {}).port, eph.port);
  t.equal(codeOf(() => eph.send(Buffer.alloc(65508), 9, PEER_IP)), 'EMSGSIZE');
  t.throws(() => eph.send(Buffer.alloc(1), 0, PEER_IP), RangeError);
  learnPeer(link);
  eph.send(Buffer.alloc(65507), 9, '10.0.0.1');
  t.equal(link.take().length, 45, 'the largest datagram goes out in 45 fragments');
});

t.test('broadcasts are delivered to a bound port, never answered with an error', async (t) => {
  const { stack, link, counters } = makeStack();
  const got: string[] = [];
  stack.udp.bind(67, (m, r) => void got.push(`${m} from ${r.address}`));
  link.inject(udpFrame(68, 67, Buffer.from('a'), { dst: parseIp('255.255.255.255') }, BROADCAST_MAC));
  link.inject(udpFrame(68, 67, Buffer.from('b'), { dst: parseIp('10.0.0.255') }, BROADCAST_MAC));
  link.inject(udpFrame(68, 67, Buffer.from('c'), { src: 0, dst: parseIp('255.255.255.255') }, BROADCAST_MAC));
  t.same(got, ['a from 10.0.0.1', 'b from 10.0.0.1', 'c from 0.0.0.0']);
  // Sending to the broadcast needs no ARP.
  const s = stack.udp.bind(0, () => {});
  s.send(Buffer.from('hi'), 68, parseIp('10.0.0.255'));
  const [b] = link.take().map(decode);
  t.same(b!.eth.dst, BROADCAST_MAC);
  t.equal(b!.udp!.payload.toString(), 'hi');
  t.equal(counters.get('rx.handled.udp'), 3);
});

t.test('close() closes sockets, cancels timers, closes the link', async (t) => {
  const { stack, link, clock } = makeStack();
  const s = stack.udp.bind(7, () => {});
  stack.sendIp(PEER_IP, 17, Buffer.alloc(8)); // arms an ARP retry
  link.inject(udpFrame(1, 9, Buffer.alloc(1), { mf: true })); // arms the reassembly timer
  t.ok(clock.pending > 0);
  await stack.close();
  t.equal(clock.pending, 0);
  t.ok(s.closed);
  t.ok(link.closed);
  link.inject(udpFrame(1, 7, Buffer.alloc(1)));
  t.equal(stack.counters.get('drop.closed'), 1);
  t.notOk(stack.sendIp(PEER_IP, 17, Buffer.alloc(8)));
  await stack.close();
});

t.test('the echo service answers unicast datagrams and ignores broadcast ones (no amplification)', async (t) => {
  const { stack, link, counters } = makeStack();
  learnPeer(link);
  startUdpEcho(stack, stack.udp);
  link.inject(udpFrame(5000, 7, Buffer.from('to all'), { dst: parseIp('10.0.0.255') }, BROADCAST_MAC));
  link.inject(udpFrame(5000, 7, Buffer.from('to all'), { dst: 0xffffffff }, BROADCAST_MAC));
  link.inject(udpFrame(5000, 7, Buffer.from('to a group'), { dst: parseIp('224.0.0.1') }, BROADCAST_MAC));
  t.equal(link.take().length, 0, 'no answer to a broadcast');
  t.equal(counters.get('udp.echo.broadcastIgnored'), 2, 'both broadcasts counted (the multicast one is not for us at all)');
  link.inject(udpFrame(5000, 7, Buffer.from('to me')));
  const [r] = link.take().map(decode);
  t.equal(r?.udp?.payload.toString(), 'to me', 'a unicast datagram is echoed');
  t.same(accounted(counters), { frames: 5, outcomes: 5 });
});
