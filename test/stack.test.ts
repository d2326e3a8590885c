import t from 'tap';
import { FakeClock } from './../lib/clock.js';
import { Counters } from '../lib/counters.js';
import { SeededRng } from '../lib/rng.js';
import { Stack } from '../lib/stack.js';
import { internetChecksum } from '../lib/wire/checksum.js';
import { WireError } from '../lib/wire/wire-error.js';
import { DropRuleLink } from '../lib/link/drop-rule-link.js';
import { FakeLink } from './helpers/fake-link.js';
import { LINUX_ARP_REQUEST, LINUX_PING, LINUX_STACK_MAC, LINUX_TCP_SYN, LINUX_UDP } from './helpers/linux-frames.js';
import { STACK_IP, STACK_MAC, accounted, arpFrame, echoRequest, fragmentFrames, ipFrame, makeStack, udpFrame } from './helpers/net-fixtures.js';

t.test('options are validated; the path MTU is clamped to the link MTU', async (t) => {
  const link = new FakeLink();
  const base = { link, clock: new FakeClock(), rng: new SeededRng(1), ip: '10.0.0.2', arp: { gratuitousCount: 0 } };
  t.throws(() => new Stack({ ...base, prefix: 33 }), RangeError);
  t.throws(() => new Stack({ ...base, prefix: 24, pathMtu: 67 }), RangeError);
  const s = new Stack({ ...base, prefix: 24, pathMtu: 9000 });
  t.equal(s.pathMtu, 1500);
  t.equal(s.broadcast, 0x0a0000ff);
  t.equal(s.mask, 0xffffff00);
  t.same(s.mac, link.mac);
  t.ok(s.isBroadcast(0xffffffff));
  t.ok(s.isBroadcast(0xe0000001));
  t.notOk(s.isBroadcast(0x0a000001));
});

t.test('one catch: a throwing protocol handler never escapes and is counted', async (t) => {
  const { stack, link, counters } = makeStack();
  let mode: 'wire' | 'bug' = 'wire';
  stack.registerProtocol(6, {
    receive: () => {
      if (mode === 'wire') throw new WireError('tcp.badChecksum');
      throw new Error('a bug');
    },
  });
  link.inject(ipFrame(Buffer.alloc(20), { protocol: 6 }));
  mode = 'bug';
  link.inject(ipFrame(Buffer.alloc(20), { protocol: 6 }));
  t.equal(counters.get('drop.tcp.badChecksum'), 1);
  t.equal(counters.get('drop.internal'), 1);
  t.same(accounted(counters), { frames: 2, outcomes: 2 });
  // A UDP receiver that throws is contained the same way.
  stack.udp.bind(7, () => {
    throw new Error('user bug');
  });
  link.inject(udpFrame(1, 7, Buffer.from('x')));
  t.equal(counters.get('drop.internal'), 2);
});

t.test('a read batch of the link reaches the transports bracketed, through a pass-through decorator', async (t) => {
  const link = new FakeLink(STACK_MAC);
  const clock = new FakeClock(1000);
  const counters = new Counters();
  const stack = new Stack({ link: new DropRuleLink(link, []), clock, rng: new SeededRng(1), ip: STACK_IP, prefix: 24, counters, arp: { gratuitousCount: 0 } });
  const calls: string[] = [];
  stack.registerProtocol(6, {
    receive: (_src, _dst, payload) => void calls.push(`rx ${payload.length}`),
    batchStart: () => void calls.push('start'),
    batchEnd: () => {
      calls.push('end');
      throw new Error('a bug');
    },
  });
  link.injectBatch([ipFrame(Buffer.alloc(20), { protocol: 6 }), ipFrame(Buffer.alloc(24), { protocol: 6 })]);
  link.inject(ipFrame(Buffer.alloc(28), { protocol: 6 }));
  t.same(calls, ['start', 'rx 20', 'rx 24', 'end', 'rx 28'], 'a frame alone is no batch');
  t.equal(counters.get('drop.internal'), 1, 'a throwing batch end is contained and counted');
});

t.test('hostile input: random and mutated frames never throw, stay bounded, and are all accounted for', async (t) => {
  // The stack has the captured MAC so the real Linux frames are delivered; the made-up ones are addressed to it too.
  const link = new FakeLink(LINUX_STACK_MAC);
  const clock = new FakeClock();
  const counters = new Counters();
  const stack = new Stack({ link, clock, rng: new SeededRng(7), ip: '10.0.0.2', prefix: 24, counters, pathMtu: 1400, reassembly: { maxBytes: 256 * 1024 } });
  stack.udp.bind(7, () => {});
  stack.registerProtocol(6, { receive: () => {} });
  const rng = new SeededRng(42);
  const templates = [
    LINUX_ARP_REQUEST, LINUX_PING, LINUX_UDP, LINUX_TCP_SYN,
    arpFrame({ op: 2 }), ...fragmentFrames(echoRequest(1, 1, Buffer.alloc(3000)), 1480, { id: 5 }, LINUX_STACK_MAC),
    ipFrame(Buffer.alloc(40), { protocol: 6 }, LINUX_STACK_MAC), udpFrame(1, 9, Buffer.alloc(30), {}, LINUX_STACK_MAC), ipFrame(Buffer.alloc(10), { protocol: 99 }, LINUX_STACK_MAC),
  ];
  // Unmutated, every template reaches its protocol (none dropped, e.g. as eth.notForUs): only the
  // datagram to closed port 9 and protocol 99 end in a drop, their intended outcome.
  for (const f of templates) link.inject(Buffer.from(f));
  t.equal(counters.get('drop.udp.noPort'), 1);
  t.equal(counters.get('drop.ip.unknownProtocol'), 1);
  t.equal(counters.sum('drop.'), 2, 'no other template is dropped');
  t.equal(counters.sum('rx.handled.'), templates.length - 2, 'every other template is handled');
  const N = 30_000;
  for (let i = 0; i < N; i++) {
    let f: Buffer;
    const kind = rng.u32() % 4;
    if (kind === 0) {
      f = rng.bytes(rng.u32() % 120);
    } else {
      f = Buffer.from(templates[rng.u32() % templates.length]!);
      const flips = 1 + (rng.u32() % 4);
      for (let k = 0; k < flips; k++) f[rng.u32() % f.length] = rng.u32() & 0xff;
      if (kind === 2) f = f.subarray(0, rng.u32() % (f.length + 1));
      // Often repair the IP header checksum so the deeper layers see the mutations.
      if (kind === 3 && f.length >= 34 && f[12] === 8 && f[13] === 0) {
        f.writeUInt16BE(0, 24);
        const hl = Math.min(Math.max(20, (f[14]! & 15) * 4), f.length - 14);
        f.writeUInt16BE(internetChecksum(f, 14, 14 + hl), 24);
      }
    }
    link.inject(f);
    if (i % 1000 === 0) clock.advance(1000);
    if (link.sent.length > 1000) link.take();
  }
  t.same(accounted(counters), { frames: templates.length + N, outcomes: templates.length + N });
  t.equal(counters.get('drop.internal'), 0, 'no internal errors');
  t.ok(stack.reassembly.bytes <= 256 * 1024);
  t.ok(stack.arp.size <= 256);
  t.ok(counters.sum('rx.handled.') > 100, 'many mutated frames still went deep');
  clock.advance(120_000);
  t.equal(stack.reassembly.count, 0, 'reassemblies expire');
  await stack.close();
  t.equal(clock.pending, 0);
});

t.test('datagrams to our own address loop back without touching the link', async (t) => {
  const { stack, link, clock, counters } = makeStack();
  const got: string[] = [];
  const srv = stack.udp.bind(7, (m, r) => {
    got.push(`${m} from ${r.address}:${r.port}`);
    srv.send(Buffer.from('pong'), r.port, r.ip);
  });
  const cli = stack.udp.bind(5000, (m) => void got.push(`${m}`));
  cli.send(Buffer.from('ping'), 7, '10.0.0.2');
  t.same(got, [], 'not re-entrant: delivered from a timer');
  clock.advance(0);
  t.same(got, ['ping from 10.0.0.2:5000', 'pong']);
  cli.send(Buffer.alloc(4000), 9, stack.ip); // fragmented, reassembled, then port unreachable to ourselves
  clock.advance(0);
  clock.advance(0);
  t.equal(counters.get('ip.reasm.completed'), 1);
  t.equal(counters.get('rx.handled.icmp.unreachable'), 1);
  t.equal(link.take().length, 0);
  t.same(accounted(counters), { frames: counters.get('eth.rx.frames'), outcomes: counters.get('eth.rx.frames') });
  stack.sendIp(stack.ip, 17, Buffer.alloc(8));
  await stack.close();
  t.equal(clock.pending, 0);
});
