// The per-connection segment history behind the teaching site's ladder (issue 11): bounded (the
// first 8 kept, then a ring of the latest 56), relative numbers from each side's ISN, windows
// scaled as the receiver reads them, and recorded by a real connection on both ways.
import t from 'tap';
import { SegmentHistory } from '../../lib/tcp/segment-history.js';
import { TCP_FLAGS } from '../../lib/wire/tcp.js';
import { seq } from '../../lib/wire/seq.js';
import { connect, createServer, type Socket } from '../../lib/socket/index.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

const { SYN, ACK, PSH } = TCP_FLAGS;

t.test('relative numbers, scaled windows, options; the first 8 and the latest 56 of any number', async (t) => {
  const h = new SegmentHistory();
  const iss = seq(0xfffffff0); // our ISN near the wrap: relative numbers still count from 0
  const irs = seq(1000);
  h.record(false, 100, irs, seq(0), SYN, 0, 64240, { mss: 1460, sackPermitted: true, ts: { val: 1, ecr: 0 }, wscale: 7 });
  h.record(true, 100.5, iss, seq(1001), SYN | ACK, 0, 65535, { mss: 1460, wscale: 3 });
  h.record(false, 101, seq(1001), seq(0xfffffff1), ACK, 0, 502, {});
  h.record(false, 102, seq(1001), seq(0xfffffff1), PSH | ACK, 77, 502, { sack: [{ left: seq(1), right: seq(2) }] });
  let v = h.view(iss, irs, 7, 3);
  t.equal(v.omitted, 0);
  t.same(v.tail, []);
  t.same(v.head.map((s) => [s.dir, s.seq, s.ack, s.len, s.win]), [
    ['in', 0, 0, 0, 64240],
    ['out', 0, 1, 0, 65535],
    ['in', 1, 1, 0, 502 * 128],
    ['in', 1, 1, 77, 502 * 128],
  ], 'relative seq/ack from each ISN across the wrap; SYN windows unscaled, later ones × 2^shift');
  t.match(v.head[0], { t: 0, mss: 1460, wscale: 7, sackPerm: true, ts: true, sackBlocks: 0 });
  t.match(v.head[1], { t: 0.5, mss: 1460, wscale: 3, sackPerm: false, ts: false });
  t.equal(v.head[3]!.sackBlocks, 1);
  t.notOk('mss' in v.head[2]!, 'no MSS option, no field');

  t.equal(h.capacity, 8, 'a short history holds room for the first 8 only');
  for (let i = 0; i < 100; i++) {
    h.record(true, 200 + i, seq(iss + 1 + i), seq(1078), ACK, 1, 100, {});
    if (i === 5) t.equal(h.capacity, 16, 'room doubles as it fills');
  }
  t.equal(h.capacity, 64, 'and stops at 8 + 56');
  v = h.view(iss, irs, 7, 3);
  t.equal(v.head.length, 8, 'the first 8 stay');
  t.equal(v.tail.length, 56, 'then the latest 56');
  t.equal(v.omitted, 104 - 64, 'and how many between were overwritten');
  t.equal(v.tail[55]!.seq, 100, 'the newest last');
  t.equal(v.tail[0]!.seq, 45, 'the oldest kept first');
});

t.test('a real connection records its handshake and data both ways, only when its server asks', async (t) => {
  const net = makeTcpNet({ faults: { delayMs: 1 } });
  t.teardown(() => net.close());
  let served: Socket | undefined;
  createServer(net.b.tcp, { segmentHistory: true }, (s) => {
    served = s;
    s.on('data', (d: Buffer) => s.write(d));
  }).listen(7);
  let plain: Socket | undefined;
  createServer(net.b.tcp, (s) => (plain = s)).listen(9);
  const c = connect(net.a.tcp, { host: B_IP, port: 7 });
  let echoed = '';
  c.on('data', (d: Buffer) => (echoed += d.toString()));
  c.write('hello');
  await settle(net.clock, () => echoed === 'hello');
  await settle(net.clock, () => net.a.tcp.core.connections().next().value?.info().sndUna === net.a.tcp.core.connections().next().value?.info().sndNxt);
  const v = served!.segmentHistory()!;
  const rows = v.head.map((s) => `${s.dir} ${s.flags & SYN ? 'S' : ''}${s.flags & ACK ? 'A' : ''} ${s.seq} ${s.ack} ${s.len}`);
  // tapstack's client sends its first data with the handshake's ACK.
  t.same(rows.slice(0, 3), ['in S 0 0 0', 'out SA 0 1 0', 'in A 1 1 5'], 'SYN, SYN-ACK, ACK with the data');
  t.ok(rows.includes('out A 1 6 5'), `the echo: Seq=1 Ack=6 Len=5 (${rows.join(' | ')})`);
  t.match(v.head[0], { mss: 1460, sackPerm: true, ts: true });

  connect(net.a.tcp, { host: B_IP, port: 9 });
  await settle(net.clock, () => plain !== undefined);
  t.equal(plain!.segmentHistory(), undefined, 'a server without segmentHistory keeps none');
});

t.test('a super-segment is recorded as the pieces the wire carries, PSH and FIN on the last', async (t) => {
  const h = new SegmentHistory();
  h.record(true, 0, seq(101), seq(1), ACK | PSH | TCP_FLAGS.FIN, 3000, 100, {}, 1448);
  const v = h.view(seq(100), seq(0), 0, 0);
  t.same(v.head.map((s) => [s.seq, s.len, s.flags]), [
    [1, 1448, ACK],
    [1449, 1448, ACK],
    [2897, 104, ACK | PSH | TCP_FLAGS.FIN],
  ]);
});
