// Two Stacks joined by the memory wire (lib/link/memory-wire.ts), driven by a FakeClock.
import t from 'tap';
import { FakeClock } from '../lib/clock.js';
import { Counters } from '../lib/counters.js';
import { MemoryWire, type MemoryWireOptions } from '../lib/link/memory-wire.js';
import { TracerLink } from '../lib/link/tracer.js';
import { SeededRng } from '../lib/rng.js';
import { Stack } from '../lib/stack.js';
import { parseIp } from '../lib/wire/ip-address.js';
import { echoRequest } from './helpers/net-fixtures.js';

const A = parseIp('10.0.0.1');
const B = parseIp('10.0.0.2');

function pair(o: Partial<MemoryWireOptions> = {}, pathMtuB?: number, trace?: string[]): { a: Stack; b: Stack; clock: FakeClock; wire: MemoryWire } {
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(3), delayMs: 1, ...o });
  const linkA = trace === undefined ? wire.a : new TracerLink(wire.a, (l) => void trace.push(l), { clock });
  const a = new Stack({ link: linkA, clock, rng: new SeededRng(1), ip: A, prefix: 24, counters: new Counters() });
  const b = new Stack({ link: wire.b, clock, rng: new SeededRng(2), ip: B, prefix: 24, counters: new Counters(), ...(pathMtuB === undefined ? {} : { pathMtu: pathMtuB }) });
  return { a, b, clock, wire };
}

t.test('UDP both ways, the first datagram waits for ARP, large ones fragment and reassemble', async (t) => {
  const { a, b, clock } = pair();
  clock.advance(3000); // gratuitous ARPs done (and learned by neither: they target no one)
  const atB: string[] = [];
  const echo = b.udp.bind(7, (m, r) => {
    atB.push(`${m.length}`);
    echo.send(m, r.port, r.ip);
  });
  const atA: Buffer[] = [];
  const s = a.udp.bind(0, (m) => void atA.push(m));
  s.send(Buffer.from('first'), 7, B);
  const big = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i & 0xff));
  s.send(big, 7, '10.0.0.2');
  clock.advance(100);
  t.same(atB, ['5', '20000']);
  t.equal(atA.length, 2);
  t.equal(atA[0]!.toString(), 'first');
  t.same(atA[1], big);
  t.equal(a.counters.get('arp.tx.request'), 1);
  t.equal(b.counters.get('arp.tx.request'), 0, 'B learned A from its request');
  for (const st of [a, b]) {
    const c = st.counters;
    t.equal(c.get('eth.rx.frames'), c.sum('rx.handled.') + c.sum('drop.'));
    t.equal(c.sum('drop.'), 0, 'nothing dropped');
  }
  await a.close();
  await b.close();
  t.equal(clock.pending, 0);
});

t.test('a narrower path at B: A\'s DF datagram gets frag needed, A\'s handler learns the MTU', async (t) => {
  const { a, b, clock } = pair({}, 1000);
  const learned: [number, number][] = [];
  a.registerProtocol(99, { receive: () => {}, pathMtu: (dst, mtu) => void learned.push([dst, mtu]) });
  const got: number[] = [];
  b.registerProtocol(99, { receive: (_s, _d, p) => void got.push(p.length) });
  a.sendIp(B, 99, Buffer.alloc(1200), { df: true });
  clock.advance(100);
  t.same(learned, [[B, 1000]]);
  t.same(got, []);
  a.sendIp(B, 99, Buffer.alloc(980), { df: true });
  a.sendIp(B, 99, Buffer.alloc(1200));
  clock.advance(100);
  t.same(got, [980, 1200], 'fits, or fragmented without DF');
  t.equal(b.counters.get('drop.ip.exceedsPathMtu'), 1);
  await a.close();
  await b.close();
});

t.test('with loss, ARP retries still get the first packet through; the tracer sees both ways', async (t) => {
  const trace: string[] = [];
  const { a, b, clock } = pair({ loss: 0.3 }, undefined, trace);
  clock.advance(3000);
  let n = 0;
  b.udp.bind(9, () => n++);
  const s = a.udp.bind(1234, () => {});
  for (let i = 0; i < 20; i++) {
    s.send(Buffer.from(`m${i}`), 9, B);
    clock.advance(1000);
  }
  t.ok(n > 5 && n < 20, `some (${n}) but not all datagrams arrive`);
  t.ok(trace.some((l) => /^\d+\.\d{6} TX ARP who-has 10\.0\.0\.2 tell 10\.0\.0\.1$/.test(l)), 'ARP request traced');
  t.ok(trace.some((l) => / RX ARP 10\.0\.0\.2 is-at 02:00:00:00:00:0b$/.test(l)), 'ARP reply traced');
  t.ok(trace.some((l) => / TX 10\.0\.0\.1:1234 > 10\.0\.0\.2:9 UDP len=2$/.test(l)), 'UDP traced');
  void echoRequest;
  await a.close();
  await b.close();
});
