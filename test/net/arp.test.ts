import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import { SeededRng } from '../../lib/rng.js';
import { Stack } from '../../lib/stack.js';
import { ArpOp } from '../../lib/wire/arp.js';
import { isBroadcastMac } from '../../lib/wire/ethernet.js';
import { connect, createServer } from '../../lib/socket/index.js';
import { A_IP, B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';
import { ipToString, macToString, parseIp, parseMac } from '../../lib/wire/ip-address.js';
import { FakeLink } from '../helpers/fake-link.js';
import { accounted, arpFrame, decode, echoRequest, makeStack, PEER_IP, PEER_MAC, STACK_IP, STACK_MAC } from '../helpers/net-fixtures.js';

const OTHER_MAC = parseMac('02:00:00:00:00:09');

t.test('answers a request for our IP and learns the sender (RFC 826)', async (t) => {
  const { stack, link, counters } = makeStack();
  link.inject(arpFrame());
  const [reply, ...rest] = link.take();
  t.equal(rest.length, 0);
  const d = decode(reply!);
  t.same(d.eth.dst, PEER_MAC, 'unicast to the asker');
  t.same(d.eth.src, STACK_MAC);
  t.match(d.arp, { op: ArpOp.reply, senderIp: STACK_IP, targetIp: PEER_IP });
  t.same(d.arp!.senderMac, STACK_MAC);
  t.same(d.arp!.targetMac, PEER_MAC);
  t.same(stack.arp.lookup(PEER_IP), PEER_MAC, 'the asker was learned');
  t.equal(counters.get('rx.handled.arp.request'), 1);
  t.same(accounted(counters), { frames: 1, outcomes: 1 });
});

t.test('ignores requests for other addresses (counted) and does not learn from them', async (t) => {
  const { stack, link, counters } = makeStack();
  link.inject(arpFrame({ targetIp: parseIp('10.0.0.3') }));
  t.equal(link.take().length, 0);
  t.equal(counters.get('drop.arp.notForUs'), 1);
  t.equal(stack.arp.lookup(PEER_IP), undefined);
  // ...but an entry we already have is updated from any packet (the merge flag).
  learn(link);
  link.inject(arpFrame({ senderMac: OTHER_MAC, targetIp: parseIp('10.0.0.3') }));
  t.same(stack.arp.lookup(PEER_IP), OTHER_MAC);
  t.equal(counters.get('rx.handled.arp.update'), 1);
  t.same(accounted(counters), { frames: 3, outcomes: 3 });
});

t.test('odd senders: conflict, our own MAC, a group MAC, probes', async (t) => {
  const { stack, link, counters } = makeStack();
  link.inject(arpFrame({ senderIp: STACK_IP }));
  link.inject(arpFrame({ senderMac: STACK_MAC }));
  link.inject(arpFrame({ senderMac: parseMac('01:00:5e:00:00:01') }, undefined, PEER_MAC));
  t.equal(counters.get('drop.arp.conflict'), 1);
  t.equal(counters.get('drop.arp.fromSelf'), 1);
  t.equal(counters.get('drop.arp.badSenderMac'), 1);
  t.equal(link.take().length, 1, 'the conflict is met by one defence (RFC 5227 §2.4)');
  // RFC 5227 probe (sender 0.0.0.0) for our address: answered (that defends it), nothing learned.
  link.inject(arpFrame({ senderIp: 0 }));
  const [r] = link.take();
  t.match(decode(r!).arp, { op: 2, targetIp: 0 });
  t.equal(stack.arp.size, 0);
  t.same(accounted(counters), { frames: 4, outcomes: 4 });
});

t.test('the first packet to an unknown neighbour waits for the reply and is then sent', async (t) => {
  const { stack, link, counters } = makeStack();
  t.ok(stack.sendIp(PEER_IP, 1, echoRequest(1, 1, Buffer.from('first'))));
  t.ok(stack.sendIp(PEER_IP, 1, echoRequest(1, 2, Buffer.from('second'))));
  const [req, ...more] = link.take();
  t.equal(more.length, 0, 'one request for two packets');
  const d = decode(req!);
  t.ok(isBroadcastMac(d.eth.dst));
  t.match(d.arp, { op: ArpOp.request, senderIp: STACK_IP, targetIp: PEER_IP });
  link.inject(arpFrame({ op: ArpOp.reply, senderIp: PEER_IP, targetIp: STACK_IP, targetMac: STACK_MAC }, STACK_MAC));
  const sent = link.take().map(decode);
  t.equal(sent.length, 2);
  t.same(sent.map((s) => s.icmp!.seq), [1, 2], 'in order');
  t.same(sent[0]!.eth.dst, PEER_MAC);
  t.equal(sent[0]!.icmp!.body.toString(), 'first');
  t.equal(counters.get('rx.handled.arp.reply'), 1);
});

t.test('retries at exactly 1 s intervals, 3 requests, then drops the queue (counted)', async (t) => {
  const { stack, link, clock, counters } = makeStack();
  const t0 = clock.now();
  stack.sendIp(PEER_IP, 1, echoRequest(1, 1, Buffer.alloc(8)));
  t.equal(link.take().length, 1, 'request at t0');
  clock.advanceTo(t0 + 999);
  t.equal(link.take().length, 0, 'nothing at 999 ms');
  clock.advanceTo(t0 + 1000);
  t.equal(decode(link.take()[0]!).arp?.targetIp, PEER_IP, 'second request at 1000 ms');
  stack.sendIp(PEER_IP, 1, echoRequest(1, 2, Buffer.alloc(8)));
  t.equal(link.take().length, 0, 'queued without a new request');
  clock.advanceTo(t0 + 1999);
  t.equal(link.take().length, 0);
  clock.advanceTo(t0 + 2000);
  t.equal(link.take().length, 1, 'third request at 2000 ms');
  clock.advanceTo(t0 + 2999);
  t.equal(counters.get('arp.resolve.failed'), 0);
  clock.advanceTo(t0 + 3000);
  t.equal(link.take().length, 0, 'no fourth request');
  t.equal(counters.get('arp.resolve.failed'), 1);
  t.equal(counters.get('arp.queue.dropped'), 2);
  t.equal(counters.get('arp.tx.request'), 3);
  t.equal(stack.arp.size, 0);
  t.equal(clock.pending, 0, 'no timer left');
  // A late reply does not resurrect anything; a new packet starts over.
  stack.sendIp(PEER_IP, 1, echoRequest(1, 3, Buffer.alloc(8)));
  t.equal(link.take().length, 1);
});

t.test('the pending queue is bounded per neighbour (oldest dropped)', async (t) => {
  const { stack, link, counters } = makeStack({ arp: { gratuitousCount: 0, maxQueuedFrames: 4 } });
  for (let i = 0; i < 6; i++) stack.sendIp(PEER_IP, 1, echoRequest(1, i, Buffer.alloc(8)));
  link.take();
  t.equal(counters.get('arp.queue.overflow'), 2);
  link.inject(arpFrame({ op: 2, targetMac: STACK_MAC }, STACK_MAC));
  t.same(link.take().map((f) => decode(f).icmp!.seq), [2, 3, 4, 5]);
});

t.test('a large fragmented datagram to an unknown neighbour is queued whole', async (t) => {
  const { stack, link } = makeStack();
  stack.sendIp(PEER_IP, 17, Buffer.alloc(65000));
  t.equal(link.take().length, 1);
  link.inject(arpFrame({ op: 2, targetMac: STACK_MAC }, STACK_MAC));
  t.equal(link.take().length, 44, 'all 44 fragments (65,000 bytes in 1,480-byte pieces)');
});

t.test('entries expire after 60 s; used entries are refreshed by a unicast request before that', async (t) => {
  const { stack, link, clock, counters } = makeStack();
  const t0 = clock.now();
  learn(link);
  clock.advanceTo(t0 + 54_999);
  stack.sendIp(PEER_IP, 1, echoRequest(1, 1, Buffer.alloc(8)));
  t.equal(link.take().length, 1, 'still fresh: just the packet');
  clock.advanceTo(t0 + 55_000);
  stack.sendIp(PEER_IP, 1, echoRequest(1, 2, Buffer.alloc(8)));
  const [probe, pkt] = link.take().map(decode);
  t.match(probe!.arp, { op: 1, targetIp: PEER_IP });
  t.same(probe!.eth.dst, PEER_MAC, 'unicast refresh');
  t.equal(pkt!.icmp!.seq, 2, 'the packet still goes out on the known MAC');
  clock.advanceTo(t0 + 55_500);
  stack.sendIp(PEER_IP, 1, echoRequest(1, 3, Buffer.alloc(8)));
  t.equal(link.take().length, 1, 'no second refresh within a second');
  t.equal(counters.get('arp.tx.refresh'), 1);
  clock.advanceTo(t0 + 60_000);
  t.equal(stack.arp.lookup(PEER_IP), undefined, 'expired at 60 s');
  stack.sendIp(PEER_IP, 1, echoRequest(1, 4, Buffer.alloc(8)));
  const [req] = link.take().map(decode);
  t.ok(isBroadcastMac(req!.eth.dst), 'expired: resolved again, the packet queued');
  t.equal(counters.get('arp.cache.expired'), 1);
  link.inject(arpFrame({ op: 2, targetMac: STACK_MAC }, STACK_MAC));
  t.same(link.take().map((f) => decode(f).icmp?.seq), [4], 'the queued packet goes out after the reply');
});

t.test('a reply refreshes an entry (expiry restarts)', async (t) => {
  const { stack, link, clock } = makeStack();
  const t0 = clock.now();
  learn(link);
  clock.advanceTo(t0 + 50_000);
  link.inject(arpFrame({ op: 2, targetMac: STACK_MAC }, STACK_MAC));
  clock.advanceTo(t0 + 109_999);
  t.same(stack.arp.lookup(PEER_IP), PEER_MAC);
  clock.advanceTo(t0 + 110_000);
  t.equal(stack.arp.lookup(PEER_IP), undefined);
});

t.test('the cache is bounded: the oldest entry is evicted', async (t) => {
  const { stack, link, counters } = makeStack({ arp: { gratuitousCount: 0, maxEntries: 4 } });
  for (let i = 1; i <= 5; i++) {
    link.inject(arpFrame({ senderIp: parseIp(`10.0.0.${10 + i}`), senderMac: parseMac(`02:00:00:00:01:0${i}`) }));
  }
  t.equal(stack.arp.size, 4);
  t.equal(counters.get('arp.cache.evicted'), 1);
  t.equal(stack.arp.lookup(parseIp('10.0.0.11')), undefined, 'the oldest went');
  t.same(stack.arp.entries().map((e) => e.ip), ['10.0.0.12', '10.0.0.13', '10.0.0.14', '10.0.0.15']);
  t.equal(macToString(stack.arp.lookup(parseIp('10.0.0.15'))!), '02:00:00:00:01:05');
});

t.test('gratuitous ARP at start, 3 times 1 s apart; close cancels it', async (t) => {
  const link = new FakeLink();
  const clock = new FakeClock(0);
  const counters = new Counters();
  const stack = new Stack({ link, clock, rng: new SeededRng(1), ip: '10.0.0.2', prefix: 24, counters });
  const at = (): number[] => link.take().map((f) => {
    const a = decode(f).arp!;
    t.equal(ipToString(a.senderIp), '10.0.0.2');
    t.equal(a.targetIp, a.senderIp);
    return clock.now();
  });
  t.same(at(), [0], 'immediately');
  clock.advanceTo(999);
  t.same(at(), []);
  clock.advanceTo(1000);
  t.same(at(), [1000]);
  clock.advanceTo(2000);
  t.same(at(), [2000]);
  clock.advanceTo(10_000);
  t.same(at(), [], 'three in all');
  t.equal(counters.get('arp.tx.gratuitous'), 3);

  const link2 = new FakeLink();
  const clock2 = new FakeClock(0);
  const s2 = new Stack({ link: link2, clock: clock2, rng: new SeededRng(1), ip: '10.0.0.2', prefix: 24 });
  await s2.close();
  t.equal(clock2.pending, 0, 'close cancels the announcements');
  t.ok(link2.closed);
  await stack.close();
});

t.test('a packet to an off-link address goes to the gateway, or is dropped without one', async (t) => {
  const { stack, link, counters } = makeStack();
  t.notOk(stack.sendIp(parseIp('192.168.1.1'), 17, Buffer.alloc(8)));
  t.equal(counters.get('ip.tx.noRoute'), 1);
  const g = makeStack({ gateway: '10.0.0.1' });
  g.stack.sendIp(parseIp('192.168.1.1'), 17, Buffer.alloc(8));
  t.equal(decode(g.link.take()[0]!).arp?.targetIp, PEER_IP, 'resolves the gateway');
  t.equal(link.take().length, 0);
});

function learn(link: FakeLink): void {
  link.inject(arpFrame());
  link.take();
}


t.test('all queues together are bounded too (many unresolved neighbours)', async (t) => {
  const { stack, link, counters } = makeStack({ arp: { gratuitousCount: 0, maxQueuedBytesTotal: 10_000 } });
  for (let i = 10; i < 20; i++) stack.sendIp(parseIp(`10.0.0.${i}`), 17, Buffer.alloc(1400));
  t.ok(stack.arp.queuedBytes <= 10_000);
  t.equal(counters.get('arp.queue.overflow'), 4, '6 frames of 1,434 bytes fit');
  link.inject(arpFrame({ op: 2, senderIp: parseIp('10.0.0.10'), targetMac: STACK_MAC }, STACK_MAC));
  t.equal(stack.arp.queuedBytes, 5 * 1434, 'a flush returns its bytes');
  await stack.close();
  t.equal(stack.arp.queuedBytes, 0);
});

t.test('a neighbour announcing itself is handled, not dropped; it updates a known entry', async (t) => {
  const { stack, link, counters } = makeStack();
  link.inject(arpFrame({ senderIp: PEER_IP, targetIp: PEER_IP }));
  t.equal(counters.get('rx.handled.arp.announcement'), 1);
  t.equal(stack.arp.lookup(PEER_IP), undefined, 'not learned (RFC 826: only when we are the target)');
  learn(link);
  link.inject(arpFrame({ senderIp: PEER_IP, targetIp: PEER_IP, senderMac: OTHER_MAC }));
  t.same(stack.arp.lookup(PEER_IP), OTHER_MAC);
  t.equal(link.take().length, 0);
});

t.test('senders no neighbour can have are neither cached nor answered (counted)', async (t) => {
  const { stack, link, counters } = makeStack();
  const bad = ['10.0.0.255', '255.255.255.255', '224.0.0.1', '240.1.2.3', '127.0.0.1', '10.0.0.0', '192.168.1.5'];
  for (const ip of bad) link.inject(arpFrame({ senderIp: parseIp(ip) }));
  t.equal(link.take().length, 0, 'no reply');
  t.equal(stack.arp.size, 0, 'nothing cached');
  t.equal(counters.get('drop.arp.badSenderIp'), bad.length);
  t.same(accounted(counters), { frames: bad.length, outcomes: bad.length });
  // A /31 has no network or broadcast address (RFC 3021): both ends are neighbours.
  const p2p = makeStack({ ip: '10.0.0.0', prefix: 31 });
  p2p.link.inject(arpFrame({ senderIp: parseIp('10.0.0.1'), targetIp: parseIp('10.0.0.0') }));
  t.equal(p2p.link.take().length, 1, 'a /31 peer is answered');
});

t.test('our address claimed by someone else: one announcement per DEFEND_INTERVAL (RFC 5227 §2.4)', async (t) => {
  const { link, clock, counters } = makeStack();
  const t0 = clock.now();
  link.inject(arpFrame({ senderIp: STACK_IP, senderMac: OTHER_MAC, targetIp: STACK_IP }));
  const [garp, ...more] = link.take().map(decode);
  t.equal(more.length, 0);
  t.ok(isBroadcastMac(garp!.eth.dst), 'broadcast');
  t.match(garp!.arp, { op: ArpOp.request, senderIp: STACK_IP, targetIp: STACK_IP });
  t.same(garp!.arp!.senderMac, STACK_MAC, 'our MAC for our address');
  clock.advanceTo(t0 + 9_999);
  link.inject(arpFrame({ senderIp: STACK_IP, senderMac: OTHER_MAC }));
  t.equal(link.take().length, 0, 'not again within 10 s');
  clock.advanceTo(t0 + 10_000);
  link.inject(arpFrame({ senderIp: STACK_IP, senderMac: OTHER_MAC }));
  t.equal(link.take().length, 1, 'defended again after 10 s');
  t.equal(counters.get('arp.tx.defend'), 2);
  t.equal(counters.get('arp.defend.suppressed'), 1);
  t.equal(counters.get('drop.arp.conflict'), 3);
});

t.test('replies to strangers are rate-limited; known neighbours are always answered', async (t) => {
  const { stack, link, clock, counters } = makeStack({ arp: { gratuitousCount: 0, strangerReplyBurst: 5, strangerRepliesPerSecond: 5 } });
  learn(link);
  const stranger = (i: number): Buffer => arpFrame({ senderIp: parseIp(`10.0.0.${100 + i}`), senderMac: parseMac(`02:00:00:00:02:${(16 + i).toString(16)}`) });
  for (let i = 0; i < 10; i++) link.inject(stranger(i));
  t.equal(link.take().length, 4, 'the burst left after the first neighbour: 4 replies');
  t.equal(counters.get('drop.arp.rateLimited'), 6);
  t.equal(stack.arp.size, 5, 'a stranger not answered is not cached either');
  link.inject(arpFrame());
  t.equal(link.take().length, 1, 'the known neighbour is answered with the bucket empty');
  clock.advance(1000);
  for (let i = 10; i < 20; i++) link.inject(stranger(i));
  t.equal(link.take().length, 5, '5 more a second later');
});

t.test('a full cache keeps the neighbours TCP confirmed over new strangers', async (t) => {
  const { stack, link, clock, counters } = makeStack({ arp: { gratuitousCount: 0, maxEntries: 4 } });
  learn(link);
  stack.confirmNeighbour(PEER_IP);
  for (let i = 1; i <= 10; i++) link.inject(arpFrame({ senderIp: parseIp(`10.0.0.${10 + i}`), senderMac: parseMac(`02:00:00:00:01:${(16 + i).toString(16)}`) }));
  t.same(stack.arp.lookup(PEER_IP), PEER_MAC, 'the confirmed neighbour stays');
  t.equal(stack.arp.size, 4);
  t.same(stack.arp.entries().map((e) => e.ip).sort(), [ipToString(PEER_IP), '10.0.0.18', '10.0.0.19', '10.0.0.20'].sort(), 'strangers evict strangers');
  // Off-link sources confirm the gateway they came through.
  const g = makeStack({ gateway: '10.0.0.1', arp: { gratuitousCount: 0, maxEntries: 1 } });
  learn(g.link);
  g.stack.confirmNeighbour(parseIp('192.168.9.9'));
  g.link.inject(arpFrame({ senderIp: parseIp('10.0.0.50'), senderMac: OTHER_MAC }));
  t.same(g.stack.arp.lookup(PEER_IP), PEER_MAC, 'the gateway was confirmed by traffic from beyond it');
  t.equal(g.counters.get('arp.cache.full'), 1, 'every entry in use: the stranger is answered, not cached');
  t.equal(g.link.take().length, 1);
  // Confirmation lasts the reachable time; after it the entry is a stranger like any other.
  clock.advance(60_000);
  link.inject(arpFrame({ op: 2, senderIp: parseIp('10.0.0.30'), senderMac: OTHER_MAC, targetMac: STACK_MAC }, STACK_MAC));
  t.equal(stack.arp.lookup(PEER_IP), undefined, 'an old confirmation protects nothing');
  t.ok(counters.get('arp.cache.evicted') >= 7);
});

t.test('TCP forward progress confirms the neighbour: no refresh probe, the entry stays fresh', async (t) => {
  const net = makeTcpNet();
  createServer(net.b.tcp, (s) => s.pipe(s)).listen(7);
  const c = connect(net.a.tcp, { host: B_IP, port: 7 });
  let echoed = 0;
  c.on('data', (d: Buffer) => (echoed += d.length));
  await settle(net.clock, () => c.readyState === 'open');
  const ageOf = (): number => net.a.stack.arp.entries().find((e) => e.ip === B_IP)!.ageMs;
  net.clock.advance(50_000);
  t.ok(ageOf() >= 45_000, 'not refreshed since the start-up announcements');
  c.write(Buffer.from('hello'));
  await settle(net.clock, () => echoed === 5);
  t.ok(ageOf() < 1000, 'the acknowledged data confirmed it');
  t.ok(net.b.stack.arp.entries().find((e) => e.ip === A_IP)!.ageMs < 1000, 'the data received confirmed it on the other side');
  net.clock.advance(9_000);
  c.write(Buffer.from('again'));
  await settle(net.clock, () => echoed === 10);
  t.equal(net.a.counters.get('arp.tx.refresh'), 0, 'no unicast probe was needed');
  c.destroy();
  await net.close();
});
