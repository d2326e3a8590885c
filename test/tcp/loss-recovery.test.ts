// Loss recovery rule by rule over fake time with a scripted peer: RFC 2018 receiver SACK blocks
// (the page 8–9 examples), D-SACK (RFC 2883), RFC 6675 SACK recovery (which segment goes next,
// how pipe evolves, rescue retransmission), RFC 3042 limited transmit, RFC 6582 NewReno partial
// ACKs, the RTO without a retransmission storm, Eifel undo (RFC 3522/4015), CUBIC's curve.
import t from 'tap';
import { CUBIC_BETA, CubicCongestionControl, cubicK, wCubic } from '../../lib/tcp/congestion.js';
import type { TcpConnection } from '../../lib/tcp/connection.js';
import type { RetransmitEvent } from '../../lib/tcp/retransmit-event.js';
import { SackScoreboard } from '../../lib/tcp/sack-scoreboard.js';
import { type Seq, seq, seqAdd } from '../../lib/wire/seq.js';
import { SeededRng } from '../../lib/rng.js';
import { type Out, sackSegs, ScriptedPeer, segAt } from '../helpers/tcp-peer.js';
import { B_IP, makeTcpNet } from '../helpers/tcp-net.js';

const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

/** A sender with SACK (no timestamps), MSS 1000, `n` bytes written; returns the first flight. */
function sender(n: number, config: Record<string, unknown> = {}, sack = true) {
  // RFC 6675's rules alone: RACK-TLP (on by default) is tested on its own below.
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno', rack: false, ...config } });
  const { conn } = p.handshakePassive(sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 });
  p.tcp.run((now) => conn.write(bytes(n), now));
  const first = p.drain();
  return { p, conn, first };
}

const idx = (p: ScriptedPeer, o: Out): number => (p.rel(o.seq) - 1) / 1000;

t.test('RFC 2018 §4 receiver, page 8–9 examples: 8 segments of 500 bytes from 5000', async (t) => {
  for (const ts of [false, true]) {
    const p = new ScriptedPeer();
    const opts = ts ? { mss: 1460, sackPermitted: true, ts: { val: 1, ecr: 0 } } : { mss: 1460, sackPermitted: true };
    const { conn } = p.handshakePassive(opts);
    p.collect(conn);
    const base = seqAdd(p.snd, -5000);
    const at = (n: number): Seq => seqAdd(base, n);
    const send = (n: number): Out => {
      p.send({ seq: at(n), payload: bytes(500), options: ts ? { ts: { val: p.tsNow(), ecr: p.lastTsSeen } } : {} });
      return p.drain().pop()!;
    };
    const blocks = (o: Out): Array<[number, number]> => (o.options.sack ?? []).map((b) => [p.prel(b.left) + 4999, p.prel(b.right) + 4999]);
    // Case 3: the 2nd, 4th, 6th and 8th segments are dropped.
    p.send({ seq: at(5000), payload: bytes(500) , options: ts ? { ts: { val: p.tsNow(), ecr: p.lastTsSeen } } : {}});
    p.advance(50);
    p.drain();
    let a = send(6000);
    t.same([p.prel(a.ack) + 4999, blocks(a)], [5500, [[6000, 6500]]], `${ts ? 'TS' : 'no TS'}: 6000 -> ACK 5500, 6000-6500`);
    a = send(7000);
    t.same(blocks(a), [[7000, 7500], [6000, 6500]], '7000 -> 7000-7500, 6000-6500');
    a = send(8000);
    t.same(blocks(a), [[8000, 8500], [7000, 7500], [6000, 6500]], '8000 -> 8000-8500, 7000-7500, 6000-6500 (most recent first)');
    // The 4th segment arrives out of order.
    a = send(6500);
    t.same(blocks(a), [[6000, 7500], [8000, 8500]], '6500 -> 6000-7500, 8000-8500');
    // The 2nd segment arrives: the ACK advances.
    a = send(5500);
    t.same([p.prel(a.ack) + 4999, blocks(a)], [7500, [[8000, 8500]]], '5500 -> ACK 7500, 8000-8500');
    // Five holes: at most 4 blocks, 3 with timestamps (RFC 2018 §3).
    for (const n of [9000, 10000, 11000, 12000]) a = send(n);
    t.equal(a.options.sack!.length, ts ? 3 : 4, `${ts ? 3 : 4} blocks at most ${ts ? 'beside timestamps' : 'without timestamps'}`);
    t.same(blocks(a)[0], [12000, 12500], 'the newest first');
  }
});

t.test('RFC 2018 case 2: the first segment dropped, one growing block', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, sackPermitted: true });
  p.collect(conn);
  const base = p.snd;
  for (let i = 1; i < 8; i++) {
    p.send({ seq: seqAdd(base, 500 * i), payload: bytes(500) });
    const a = p.drain().pop()!;
    t.same([a.ack, a.options.sack], [base, [{ left: seqAdd(base, 500), right: seqAdd(base, 500 * (i + 1)) }]]);
  }
});

t.test('RFC 2883 D-SACK: a duplicate below the ACK, and a duplicate inside an out-of-order block', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, sackPermitted: true });
  p.collect(conn);
  const base = p.snd;
  p.send({ payload: bytes(500) });
  p.send({ payload: bytes(500) });
  p.drain();
  // The same first segment again (its ACK was lost, the peer retransmitted).
  p.send({ seq: base, payload: bytes(500) });
  let a = p.next();
  t.same([a.ack, a.options.sack], [seqAdd(base, 1000), [{ left: base, right: seqAdd(base, 500) }]], 'D-SACK block below the cumulative ACK (§4.1.1)');
  // Out of order at 1500, then that segment again: D-SACK first, its containing block second (§4.1.2).
  p.send({ seq: seqAdd(base, 1500), payload: bytes(500) });
  p.drain();
  p.send({ seq: seqAdd(base, 1500), payload: bytes(500) });
  a = p.next();
  t.same(a.options.sack, [
    { left: seqAdd(base, 1500), right: seqAdd(base, 2000) },
    { left: seqAdd(base, 1500), right: seqAdd(base, 2000) },
  ]);
  t.equal(p.counters.get('tcp.tx.dsack'), 2);
  // The next ACK carries no D-SACK any more.
  p.send({ seq: seqAdd(base, 2500), payload: bytes(500) });
  t.same(p.next().options.sack, [
    { left: seqAdd(base, 2500), right: seqAdd(base, 3000) },
    { left: seqAdd(base, 1500), right: seqAdd(base, 2000) },
  ]);
});

t.test('RFC 6675 scoreboard: IsLost by 3 blocks or > 2 SMSS above, holes, pipe', async (t) => {
  const sb = new SackScoreboard();
  const s = (n: number) => seq(n);
  t.equal(sb.update([{ left: s(2000), right: s(3000) }], s(0), s(10000)), 1000);
  t.notOk(sb.isLost(s(0), 1000), 'one SMSS SACKed above: not lost');
  sb.update([{ left: s(4000), right: s(5000) }], s(0), s(10000));
  t.notOk(sb.isLost(s(0), 1000), 'two discontiguous, 2 SMSS: not lost');
  sb.update([{ left: s(6000), right: s(6500) }], s(0), s(10000));
  t.ok(sb.isLost(s(0), 1000), 'three discontiguous blocks above: lost');
  t.notOk(sb.isLost(s(3000), 1000), 'two blocks, 1500 bytes above 3000: not lost');
  t.same(sb.holes(s(0), 1000).map((h) => [h.start, h.end, h.lost]), [[0, 2000, true], [3000, 4000, false], [5000, 6000, false]]);
  // pipe = 10000 − 2500 SACKed − 2000 lost = 5500; a retransmission of [0, 1000) adds 1000.
  t.equal(sb.pipe(s(0), s(10000), s(0), 1000), 5500);
  t.equal(sb.pipe(s(0), s(10000), s(1000), 1000), 6500);
  t.equal(sb.update([{ left: s(2500), right: s(4500) }], s(0), s(10000)), 1000, 'only the new bytes count');
  t.equal(sb.update([{ left: s(20000), right: s(21000) }], s(0), s(10000)), 0, 'beyond SND.MAX: ignored');
  sb.ackTo(s(4700));
  t.same(sb.blocks.map((b) => [b.start, b.end]), [[4700, 5000], [6000, 6500]]);
});

t.test('RFC 3042 limited transmit, then RFC 6675 recovery: the lost segment first, pipe governs', async (t) => {
  const { p, conn, first } = sender(30_000);
  t.equal(first.length, 10);
  // Segment 0 is lost; the peer SACKs 1, 2, 3 ...
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 2]) } });
  let out = p.drain();
  t.same(out.map((o) => idx(p, o)), [10], 'first duplicate: one new segment (limited transmit)');
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 3]) } });
  out = p.drain();
  t.same(out.map((o) => idx(p, o)), [11], 'second duplicate: one more');
  t.equal(p.counters.get('tcp.tx.limitedTransmit'), 2);
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 4]) } });
  out = p.drain();
  t.same(out.map((o) => idx(p, o)), [0], 'third: fast retransmit of segment 0 only');
  t.equal(p.counters.get('tcp.recovery.sack'), 1);
  t.equal(p.counters.get('tcp.tx.retransmit.fast'), 1);
  let i = conn.info();
  // FlightSize 12000 -> ssthresh = cwnd = 6000; pipe = 12000 − 3000 SACKed − 1000 lost + 1000 retransmitted.
  t.same([i.recovery, i.ssthresh, i.cwnd, i.pipe], ['sack', 6000, 6000, 9000]);
  const pipes: number[] = [];
  const sent: number[][] = [];
  for (let k = 4; k < 9; k++) {
    p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, k + 1]) } });
    sent.push(p.drain().map((o) => idx(p, o)));
    pipes.push(conn.info().pipe);
  }
  // RFC 6937 PRR: while pipe > ssthresh, sending follows delivery times ssthresh / RecoverFS
  // (6000 / 12000): one new segment (NextSeg rule 2) per two delivered; the fast retransmit
  // counts as the first one out.
  t.same(pipes, [8000, 8000, 7000, 6000, 6000], 'pipe: each SACK takes a segment out, each send puts one in');
  t.same(sent, [[], [12], [], [], [13]], 'PRR: one segment per two SACKed');
  // The retransmission arrives: ACK up to 9 (1..8 SACKed earlier), everything below RecoveryPoint.
  p.send({ ack: segAt(p, 9) });
  i = conn.info();
  t.equal(i.recovery, 'sack', 'partial ACK: still recovering (RecoveryPoint = 12)');
  p.drain();
  p.send({ ack: segAt(p, 14) });
  i = conn.info();
  t.same([i.recovery, i.cwnd], ['none', 6000], 'RecoveryPoint acknowledged: recovery over, cwnd = ssthresh');
  t.equal(p.counters.get('tcp.tx.retransmit.rto'), 0);
});

t.test('RFC 8985 RACK: loss after RTT + reordering window, a lost retransmission resent, no RTO', async (t) => {
  const { p, conn } = sender(30_000, { rack: true });
  // All sent at 0; at 10 ms segment 0 is ACKed (SRTT 1.25 ms) and segment 2 SACKed: RACK.rtt = 10,
  // reo_wnd = min(min_RTT / 4, SRTT) = 1.25 ms; segment 1 is lost at 11.25 ms, not before.
  p.advanceTo(10);
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 3]) } });
  t.same(p.drain().map((o) => idx(p, o)), [10, 11], 'not lost yet (inside the reordering window); the window slid by one + limited transmit');
  p.advanceTo(11);
  t.equal(p.pending, 0);
  p.advanceTo(12);
  t.same(p.drain().map((o) => idx(p, o)), [1], 'the reorder timer at 11.25 ms: segment 1 lost, recovery, retransmitted');
  t.equal(p.counters.get('tcp.rack.lost'), 1);
  t.equal(conn.info().recovery, 'sack');
  // Segments 10 and 11 went out before the retransmission; one sent after it is SACKed at 40 ms.
  p.advanceTo(20);
  for (let k = 3; k <= 10; k++) p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, k + 1]) } });
  const newer = p.drain().map((o) => idx(p, o));
  t.ok(newer.length > 0 && newer.every((i) => i > 11), `new data after the retransmission (${newer.join(', ')})`);
  p.advanceTo(40);
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [newer[0]!, newer[0]! + 1], [2, 12]) } });
  const out = p.drain().map((o) => idx(p, o));
  t.equal(out[0], 1, `the retransmission of 1 was lost too: sent again first (${out.join(', ')})`);
  t.equal(p.counters.get('tcp.recovery.lostRetransmission'), 1);
  t.equal(p.counters.get('tcp.tx.retransmit.lost'), 1);
  t.equal(p.counters.get('tcp.rto.expired'), 0);
});

t.test('RFC 8985 §7 tail loss probe: the last segment again after 2 SRTT, then recovery instead of an RTO', async (t) => {
  const { p, conn } = sender(5000, { rack: true });
  // An RTT sample of 5 ms for the first segments; the last two (3 and 4) are lost.
  p.advanceTo(5);
  p.send({ ack: segAt(p, 3) });
  t.equal(conn.info().srtt, 0.625, 'srtt = 7/8 * 0 + 1/8 * 5');
  // PTO = max(10 ms, 2 SRTT + 2) after the ACK.
  p.advanceTo(14);
  t.equal(p.pending, 0);
  p.advanceTo(15);
  const probe = p.drain();
  t.same(probe.map((o) => idx(p, o)), [4], 'the probe at 15 ms: the last segment again');
  t.equal(p.counters.get('tcp.tx.tlp'), 1);
  // Its ACK (one RTT later) SACKs segment 4: RACK marks 3 lost, recovery retransmits it.
  p.advanceTo(20);
  p.send({ ack: segAt(p, 3), options: { sack: sackSegs(p, [4, 5]) } });
  t.same(p.drain().map((o) => idx(p, o)), [3], 'segment 3 recovered at 20 ms, not at the 205 ms RTO');
  t.equal(p.counters.get('tcp.rack.lost'), 1);
  p.send({ ack: segAt(p, 5) });
  t.equal(p.counters.get('tcp.rto.expired'), 0);
});

t.test('RFC 8985 §7.2: no probe timer once segments are SACKed (RACK.segs_sacked > 0): the reorder timer covers the holes', async (t) => {
  const { p, conn } = sender(5000, { rack: true });
  p.advanceTo(5);
  p.send({ ack: segAt(p, 1) });
  t.ok(Number.isFinite(conn.timers.tlp), 'an ACK of new data with nothing SACKed arms the PTO');
  // Segment 3 SACKed: 1 and 2 are holes, one SACKed segment is below DupThresh (no recovery yet).
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [3, 4]) } });
  t.equal(conn.info().recovery, 'none');
  t.equal(conn.timers.tlp, Infinity, 'no PTO with a segment SACKed');
  t.ok(Number.isFinite(conn.timers.rack), 'the RACK reorder timer is armed instead');
  p.advanceTo(20);
  t.equal(p.counters.get('tcp.rack.lost'), 2, 'RACK finds 1 and 2 lost');
  t.same(p.drain().map((o) => idx(p, o)), [1], 'recovery resends the first (PRR paces the rest)');
  t.equal(p.counters.get('tcp.tx.tlp'), 0, 'no probe');
  t.equal(conn.info().recovery, 'sack');
});

t.test('RFC 8985 §6.2 step 4: with no reordering seen, no reordering window once DupThresh segments are SACKed', async (t) => {
  for (const sacked of [2, 3]) {
    const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
    const { conn } = p.handshakePassive({ mss: 1000, sackPermitted: true });
    // RTT 10 ms (SRTT 1.25 ms, RACK's min RTT 10 ms: a window of min(10 / 4, 1.25) = 1.25 ms).
    p.tcp.run((now) => conn.write(bytes(1000), now));
    p.drain();
    p.advanceTo(10);
    p.send({ ack: conn.sndMax });
    p.tcp.run((now) => conn.write(bytes(10_000), now));
    p.drain();
    // One RTT later the ACK SACKs segment 8 and the first one or two after the hole at 1: the
    // other segments below 8 (sent before it) are lost once the reordering window has passed.
    p.advanceTo(20);
    p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [8, 9], [2, 1 + sacked]) } });
    const lost = 8 - sacked;
    if (sacked === 3) {
      t.equal(p.counters.get('tcp.rack.lost'), lost, `3 SACKed: the ${lost} segments lost at once, one RTT after they were sent`);
    } else {
      t.equal(p.counters.get('tcp.rack.lost'), 0, '2 SACKed: RACK waits the reordering window');
      t.equal(conn.timers.rack, 21.25);
      p.advanceTo(21.25);
      t.equal(p.counters.get('tcp.rack.lost'), lost, `then the reorder timer marks the ${lost} segments lost`);
    }
    t.equal(conn.info().recovery, 'sack');
  }
});

t.test('RFC 8985 §6.2 step 4: a D-SACK doubles the reordering window for the next 16 recoveries, then it is min RTT / 4 again', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
  const { listener } = p.passiveOpen({ mss: 1000, sackPermitted: true });
  let accepted: TcpConnection | undefined;
  listener.onConnection = (l) => {
    accepted = l.accept();
  };
  // A 100 ms handshake: SRTT 100 ms; RACK's min RTT will be 100 ms too (window 25 ms per step).
  p.advanceTo(100);
  p.send({ flags: 'A' });
  const conn = accepted!;
  const windows: number[] = [];
  p.tcp.onRetransmit = (e) => {
    if (e.cause === 'rack') windows.push(e.reorderWindowMs!);
  };
  // Each round: three segments; the second is SACKed after 100 ms, the reorder timer resends the
  // first (fast recovery), and an ACK of all ends recovery; the first round's resend draws a D-SACK.
  for (let round = 0; round <= 17; round++) {
    const t0 = p.clock.now();
    const first = conn.sndMax;
    p.tcp.run((now) => conn.write(bytes(3000), now));
    p.drain();
    p.advanceTo(t0 + 100);
    p.send({ ack: first, options: { sack: [{ left: seqAdd(first, 1000), right: seqAdd(first, 2000) }] } });
    p.advanceTo(t0 + 200);
    p.drain();
    p.send({ ack: conn.sndMax });
    if (round === 0) p.send({ ack: conn.sndMax, options: { sack: [{ left: first, right: seqAdd(first, 1000) }] } });
  }
  t.equal(p.counters.get('tcp.rx.dsack'), 1);
  t.equal(p.counters.get('tcp.recovery.sack'), 18);
  t.same(windows, [25, ...Array<number>(16).fill(50), 25], 'reo_wnd_mult 2 after the D-SACK, back to 1 after 16 recoveries without one');
});

t.test('RFC 8985 §7.2 TLP_calc_PTO: a PTO past the RTO expiry is cut to it; the probe goes in the RTO\'s place', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
  const { conn } = p.handshakePassive({ mss: 1000, sackPermitted: true });
  // An RTT sample of 8 ms: SRTT 1 ms, RTO 200 ms (the minimum).
  p.tcp.run((now) => conn.write(bytes(1000), now));
  p.drain();
  p.advanceTo(8);
  p.send({ ack: conn.sndMax });
  t.same([conn.info().srtt, conn.info().rto], [1, 200], 'srtt = 7/8 * 0 + 1/8 * 8');
  // Segment 1 starts the retransmission timer; segment 2 goes 195 ms later, when the PTO,
  // max(10 ms, 2 SRTT + 2), would end 5 ms after the RTO expiry.
  p.tcp.run((now) => conn.write(bytes(1000), now));
  const t0 = p.clock.now();
  p.drain();
  t.equal(conn.timers.rtx, t0 + 200, 'RTO due 200 ms after segment 1');
  p.advanceTo(t0 + 195);
  p.tcp.run((now) => conn.write(bytes(1000), now));
  t.same(p.drain().map((o) => idx(p, o)), [2]);
  t.equal(conn.timers.tlp, t0 + 200, 'PTO cut to the RTO expiry (not 195 + 10 ms)');
  const events: RetransmitEvent[] = [];
  p.tcp.onRetransmit = (e) => events.push(e);
  const cwnd = conn.info().cwnd;
  p.advanceTo(t0 + 200);
  const out = p.drain();
  t.same(out.map((o) => idx(p, o)), [2], 'the last segment (the probe), not segment 1 (an RTO)');
  t.match(events, [{ cause: 'tlp', ptoMs: 5 }], 'named a probe with its cut PTO');
  t.equal(p.counters.get('tcp.tx.tlp'), 1);
  t.equal(p.counters.get('tcp.rto.expired'), 0, 'no RTO');
  t.same([conn.info().recovery, conn.info().cwnd, conn.info().rto], ['none', cwnd, 200], 'no window cut, no backoff');
  // RFC 8985 §7.3: the probe rearms the RTO (not the PTO): segment 1 is resent by it 200 ms later.
  t.same([conn.timers.rtx, conn.timers.tlp], [t0 + 400, Infinity]);
  p.advanceTo(t0 + 400);
  t.same(p.drain().map((o) => idx(p, o)), [1], 'then the RTO');
  t.equal(p.counters.get('tcp.rto.expired'), 1);
});

t.test('RFC 6675 NextSeg rule 1 before rule 2: a second hole, once lost, goes before new data', async (t) => {
  const { p } = sender(30_000);
  // Segments 0 and 4 lost.
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 2]) } });
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 3]) } });
  p.drain();
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 4]) } });
  t.same(p.drain().map((o) => idx(p, o)), [0]);
  // SACKs of 5, 6, 7 ... make segment 4 lost (3 segments SACKed above it... > 2 SMSS).
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [5, 6], [1, 4]) } });
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [5, 7], [1, 4]) } });
  t.same(p.drain().map((o) => idx(p, o)), [12], 'segment 4 not lost yet (one SACKed above it... two): new data (rule 2)');
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [5, 8], [1, 4]) } });
  let out = p.drain();
  for (let k = 9; out.length === 0 && k < 13; k++) {
    p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [5, k], [1, 4]) } });
    out = p.drain();
  }
  t.same(out.map((o) => idx(p, o)), [4], 'segment 4 is lost now (3 SMSS SACKed above): the next segment PRR allows is 4 (rule 1), not new data');
  t.equal(p.counters.get('tcp.tx.retransmit.sack'), 1);
});

t.test('RFC 6675 rule 4: the rescue retransmission of the tail, once', async (t) => {
  const { p, conn } = sender(10_000);
  // Segments 0 and 9 lost; 1..8 SACKed.
  for (let k = 1; k <= 8; k++) p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, k + 1]) } });
  const out = p.drain();
  t.same(out.map((o) => idx(p, o)), [0], 'the first hole only; RescueRxt holds the rescue back');
  // Partial ACK: HighACK passes RescueRxt; segment 9 has nothing SACKed above it (not lost),
  // no new data, no rule-3 candidate: the rescue retransmission sends it.
  p.send({ ack: segAt(p, 9) });
  t.same(p.drain().map((o) => idx(p, o)), [9]);
  t.equal(p.counters.get('tcp.tx.retransmit.rescue'), 1);
  p.send({ ack: segAt(p, 9) });
  t.equal(p.pending, 0, 'only once per recovery');
  p.send({ ack: segAt(p, 10) });
  t.equal(conn.info().recovery, 'none');
});

t.test('RFC 6582 NewReno without SACK: partial ACKs retransmit the next hole at once, full ACK ends recovery', async (t) => {
  const { p, conn } = sender(10_000, {}, false);
  // Segments 0 and 5 lost: dupacks for 1..4.
  for (let k = 0; k < 3; k++) p.send({ ack: segAt(p, 0) });
  t.same(p.drain().map((o) => idx(p, o)), [0]);
  t.same([conn.info().recovery, conn.info().ssthresh, conn.info().cwnd], ['newreno', 5000, 8000], 'ssthresh + 3 SMSS');
  p.send({ ack: segAt(p, 0) });
  t.equal(conn.info().cwnd, 9000, 'inflated by one SMSS per duplicate');
  // Retransmission of 0 arrives: partial ACK up to 5.
  p.send({ ack: segAt(p, 5) });
  const out = p.drain();
  t.same(out.map((o) => idx(p, o)), [5], 'the next hole at once, no 3 duplicates needed');
  t.equal(p.counters.get('tcp.tx.retransmit.partialAck'), 1);
  t.equal(conn.info().cwnd, 9000 - 5000 + 1000, 'deflated by the ACKed amount, plus one SMSS');
  p.send({ ack: segAt(p, 10) });
  t.same([conn.info().recovery, conn.info().cwnd], ['none', 2000], 'full ACK: min(ssthresh, max(FlightSize, SMSS) + SMSS)');
  t.equal(p.counters.get('tcp.tx.retransmit.rto'), 0);
});

t.test('RTO with SACK: slow start from the first hole, nothing SACKed is sent again', async (t) => {
  const { p, conn } = sender(10_000);
  p.advanceTo(200);
  const r = p.drain();
  t.same(r.map((o) => idx(p, o)), [0], 'RTO: segment 0');
  t.equal(conn.info().cwnd, 1000);
  // The peer had 2..9: it ACKs 0 and SACKs 2..9; go-back-N sends segment 1 and skips the rest.
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 10]) } });
  t.same(p.drain().map((o) => idx(p, o)), [1]);
  t.ok(p.counters.get('tcp.tx.skippedSacked') >= 1);
  p.send({ ack: segAt(p, 10) });
  t.equal(p.pending, 0, 'no storm: 2 retransmissions in all');
  t.equal(conn.retransmissions, 2);
});

t.test('RFC 6675 pipe after an RTO: what the peer SACKed is not in flight, so new data goes out within cwnd', async (t) => {
  const { p } = sender(20_000);
  p.advanceTo(200);
  t.same(p.drain().map((o) => idx(p, o)), [0], 'RTO: segment 0');
  // Segment 0 arrives (cwnd 2 SMSS), 2..9 are SACKed: segment 1 is the only one in flight after
  // its go-back-N resend, so one new segment fits (FlightSize would count the SACKed 8000 too).
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 10]) } });
  t.same(p.drain().map((o) => idx(p, o)), [1, 10], 'go-back-N resends 1, then new data 10');
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 11]) } });
  t.same(p.drain().map((o) => idx(p, o)), [11], 'each segment SACKed lets one more out');
});

t.test('RFC 6298 §5.5 with RFC 8985 §7.2: a peer that never ACKs gets resends at 200, 400, 800 ms ... (no tail loss probe in RTO recovery)', async (t) => {
  // With SACK the first resend is the probe, its PTO (2 SRTT + 202 ms) cut to the RTO expiry
  // (RFC 8985 §7.2); it rearms the RTO unbacked-off (§7.3), so the first RTO comes 200 ms later.
  for (const sack of [true, false]) {
    // RACK-TLP on (the default); one small segment, so every resend leaves nothing else to send.
    const p = new ScriptedPeer();
    const { conn } = p.handshakePassive(sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 });
    p.advanceTo(10);
    p.tcp.run((now) => conn.write(bytes(500), now));
    p.drain();
    p.send({ ack: conn.sndMax });
    p.tcp.run((now) => conn.write(bytes(800), now));
    const sentAt = p.clock.now();
    p.drain();
    const times: number[] = [];
    p.stack.onSend = () => times.push(p.clock.now());
    p.advanceTo(6500);
    const gaps = times.map((x, k) => x - (k === 0 ? sentAt : times[k - 1]!));
    t.same(gaps, [...(sack ? [200] : []), 200, 400, 800, 1600, 3200], `${sack ? 'SACK: the probe, then' : 'no SACK:'} resend intervals double after each timeout`);
    t.equal(p.counters.get('tcp.tx.tlp'), sack ? 1 : 0, 'no probe during RTO recovery');
    t.equal(p.counters.get('tcp.rto.expired'), 5);
    t.equal(conn.info().recovery, 'rto');
    p.send({ ack: conn.sndMax });
    t.equal(conn.info().recovery, 'none', 'the ACK of everything outstanding at the timeout ends RTO recovery');
  }
});

t.test('RFC 2018 §8 reneging: SACKed data is kept; after an RTO the scoreboard is cleared and it is resent', async (t) => {
  const { p, conn } = sender(5000);
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 5]) } });
  p.drain();
  t.equal(conn.info().sackedBytes, 4000);
  t.equal(conn.info().sackHoles, 1);
  p.advanceTo(5000);
  p.drain();
  t.equal(conn.info().sackedBytes, 0, 'RTO clears the scoreboard');
  // The receiver reneged: it ACKs segment 0 only, no SACK: everything after is resent.
  p.send({ ack: segAt(p, 1) });
  const out = p.drain().map((o) => idx(p, o));
  t.same(out, [1, 2], 'slow start: the reneged data goes out again');
});

t.test('RFC 3522 / RFC 4015: a spurious RTO (Eifel, by timestamps) is undone', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
  const { conn } = p.handshakePassive({ mss: 1012, sackPermitted: true, ts: { val: 1, ecr: 0 } });
  p.advanceTo(10);
  p.tcp.run((now) => conn.write(bytes(10_000), now));
  const segs = p.drain();
  const tsOrig = segs[0]!.options.ts!.val;
  p.advanceTo(250);
  p.drain();
  t.equal(conn.info().cwnd, 1000);
  // The ACK of the originals (delayed, not lost) echoes their TSval.
  p.send({ ack: seqAdd(p.ourIss, 10_001), options: { ts: { val: p.tsNow(), ecr: tsOrig } } });
  t.equal(p.counters.get('tcp.rto.spurious'), 1);
  t.ok(conn.info().cwnd >= 10_000, `cwnd restored (${conn.info().cwnd})`);
});

t.test('RFC 8985 §6.2 after an RTO: a go-back-N retransmission RACK finds lost is resent at once, not at the next RTO', async (t) => {
  const { p, conn } = sender(20_000, { rack: true });
  // Segments 0 and 1 are lost; the tail loss probe (new segment 10) and then the RTO go out.
  p.advanceTo(211);
  t.same(p.drain().map((o) => idx(p, o)), [10, 0], 'TLP, then the RTO retransmits segment 0');
  t.equal(p.counters.get('tcp.rto.expired'), 1);
  // Segment 0 arrives, 2..10 are SACKed: go-back-N resends 1 (skipping the SACKed rest), and
  // with only that in the pipe, cwnd (2 SMSS) lets new segment 11 out.
  p.advanceTo(215);
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 11]) } });
  t.same(p.drain().map((o) => idx(p, o)), [1, 11], 'go-back-N: segment 1, then new data');
  p.advanceTo(226);
  t.equal(p.pending, 0, 'no tail loss probe in RTO recovery (RFC 8985 §7.2)');
  // Segment 11, sent after the retransmission of 1, is SACKed one RTT later: that retransmission
  // was lost. RFC 6675 §5.1 keeps fast recovery off below RecoveryPoint, but RACK's mark must
  // still get it resent now (within cwnd), not at the backed-off RTO 400 ms later.
  p.advanceTo(236);
  const events: RetransmitEvent[] = [];
  p.tcp.onRetransmit = (e) => events.push(e);
  p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [2, 12]) } });
  t.equal(p.counters.get('tcp.recovery.lostRetransmission'), 1);
  t.same(p.drain().map((o) => idx(p, o)), [1, 12], 'the lost retransmission of 1 goes out again at once (then new data: pipe 1 SMSS)');
  t.match(events, [{ cause: 'rack', afterRto: true }], 'announced as RACK after an RTO (the explainer does not call it fast)');
  t.equal(conn.info().recovery, 'rto', 'still RTO recovery, no second window cut');
  p.advanceTo(246);
  p.send({ ack: segAt(p, 12) });
  t.equal(conn.sndUna, segAt(p, 12), 'everything up to 12 acknowledged at 246 ms');
  t.equal(p.counters.get('tcp.rto.expired'), 1, 'with one RTO (the backed-off second one was due at 615 ms)');
});

t.test('RFC 4015 §3.2 undo keeps a transmission record for every outstanding segment: RFC 6675 NextSeg then retransmits each hole', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
  const { conn } = p.handshakePassive({ mss: 1012, sackPermitted: true, ts: { val: 1, ecr: 0 } });
  p.advanceTo(10);
  p.tcp.run((now) => conn.write(bytes(20_000), now));
  const segs = p.drain();
  t.equal(segs.length, 10);
  const tsOrig = segs[0]!.options.ts!.val;
  p.advanceTo(250);
  t.same(p.drain().map((o) => idx(p, o)), [10, 0], 'TLP, then the RTO');
  // The original of segment 0 arrived (Eifel: the ACK echoes its TSval): undo, resume at SND.MAX.
  p.send({ ack: segAt(p, 1), options: { ts: { val: p.tsNow(), ecr: tsOrig } } });
  t.equal(p.counters.get('tcp.rto.spurious'), 1);
  p.drain();
  const recs = conn.rtxq.segments;
  t.ok(recs.length > 0 && recs[0]!.start === conn.sndUna && recs[recs.length - 1]!.end === conn.sndMax, 'records cover SND.UNA..SND.MAX');
  t.ok(recs.every((r, i) => i === 0 || r.start === recs[i - 1]!.end), 'without gaps');
  // Segments 1 and 2 were really lost: 3..9 SACKed make both holes lost (RFC 6675 IsLost).
  p.advanceTo(255);
  p.send({ ack: segAt(p, 1), options: { ts: { val: p.tsNow(), ecr: tsOrig }, sack: sackSegs(p, [3, 10]) } });
  const out = p.drain().map((o) => idx(p, o));
  t.equal(conn.info().recovery, 'sack');
  t.same(out.slice(0, 2), [1, 2], `both holes retransmitted first (${out.join(', ')})`);
});

t.test('RFC 8985 §6.3 with RFC 6937: a segment the RACK timer marks lost in recovery is sent, not left to the RTO (simulation, 10 % loss)', async (t) => {
  // Seed 10 at 10 % loss hits it: the reorder timer marks a segment lost after PRR spent the last
  // ACK's quota, with one segment left in the pipe: nothing was sent and the RTO fired with it waiting.
  const DATA = new SeededRng(4242).bytes(1 << 20);
  for (const seed of [10]) {
    const net = makeTcpNet({ seed, faults: { loss: 0.1, delayMs: 10, bandwidthBps: 100e6, queueLimit: 100 }, tcp: { rcvBufSize: 65536, sndBufSize: 65536 } });
    let got = 0;
    let ended = false;
    net.b.tcp.listen(9).onConnection = (l) => {
      const s = l.accept();
      if (s === undefined) return;
      s.events.readable = () =>
        net.b.tcp.run((now) => {
          for (let b = s.read(now); b !== undefined; b = s.read(now)) got += b.length;
          if (s.readEnded && !ended) {
            ended = true;
            s.shutdown(now);
          }
        });
    };
    const c = net.a.tcp.connect({ host: B_IP, port: 9 });
    let off = 0;
    const pump = (): void =>
      net.a.tcp.run((now) => {
        while (off < DATA.length) {
          const n = c.write(DATA.subarray(off, Math.min(DATA.length, off + 16384)), now);
          if (n === 0) break;
          off += n;
        }
        if (off === DATA.length && !c.finQueued) c.shutdown(now);
      });
    c.events.established = pump;
    c.events.writable = pump;
    let rtos = 0;
    let waiting = 0;
    const onTimer = c.onTimer.bind(c);
    c.onTimer = (now: number) => {
      if (c.timers.rtx <= now && c.state !== 'SYN-SENT') {
        rtos++;
        const sacked = (r: { start: Seq; end: Seq }) => c.sack.blocks.some((b) => ((r.start - b.start) | 0) >= 0 && ((b.end - r.end) | 0) >= 0);
        if (c.rtxq.segments.some((r) => r.lost && !sacked(r))) waiting++;
      }
      onTimer(now);
    };
    while (!ended && net.clock.now() < 600_000) net.clock.advance(2);
    t.equal(got, DATA.length, `seed ${seed}: all data arrived`);
    t.ok(rtos > 0, `seed ${seed}: ${rtos} RTOs`);
    t.equal(waiting, 0, `seed ${seed}: no RTO while a segment RACK marked lost was still unsent`);
    await net.close();
  }
});

t.test('CUBIC (RFC 9438): the window follows W_cubic(t) = C(t − K)^3 + W_max after a reduction', async (t) => {
  const c = new CubicCongestionControl(10);
  const mss = 1000;
  c.init(mss, 0);
  // Grow to 100 segments in slow start, then a loss.
  while (c.cwnd < 100 * mss) c.onAck({ acked: mss, flight: c.cwnd, mss, now: 0, srtt: 100 });
  c.enterRecovery(c.cwnd, mss, 0);
  t.equal(c.ssthresh, Math.floor(100 * mss * CUBIC_BETA), 'ssthresh = beta_cubic * cwnd');
  c.exitRecovery(mss);
  t.equal(c.cwnd, 70 * mss);
  const k = cubicK(100, 70);
  t.ok(Math.abs(k - Math.cbrt((100 * (1 - CUBIC_BETA)) / 0.4)) < 1e-9, `K = cbrt(W_max (1 − beta) / C) = ${k.toFixed(3)} s`);
  // ACK every segment, one RTT (100 ms) carrying a window's worth, from t = 1 ms on.
  const rows: Array<[number, number, number, number]> = [];
  let now = 1;
  const start = now;
  while (now < start + 7000) {
    const perRtt = c.cwnd / mss;
    for (let j = 0; j < perRtt; j++) c.onAck({ acked: mss, flight: c.cwnd, mss, now: now + (100 * j) / perRtt, srtt: 100 });
    now += 100;
    const tt = (now - start) / 1000;
    rows.push([tt, c.cwnd / mss, wCubic(tt, k, 100), c.wEst]);
  }
  // The window tracks the curve: between W_cubic(t) and W_cubic(t + RTT) (its target, §4.4),
  // give or take a segment of ACK granularity — or W_est where that is higher (the Reno-friendly
  // region, §4.3: W_est grows by alpha_cubic, then 1, segment per RTT).
  const outside = rows.filter(([tt, w, , est]) => est <= wCubic(tt, k, 100) && (w < wCubic(tt, k, 100) - 1 || w > wCubic(tt + 0.1, k, 100) + 1));
  t.same(outside, [], 'W_cubic(t) − 1 ≤ cwnd ≤ W_cubic(t + RTT) + 1 at every RTT while W_cubic ≥ W_est');
  const friendly = rows.filter(([tt, , , est]) => est > wCubic(tt, k, 100));
  t.ok(friendly.length > 0 && friendly.every(([, w, , est]) => Math.abs(w - est) < 1e-6), `Reno-friendly region from t = ${friendly[0]?.[0]} s: cwnd = W_est`);
  const atK = rows.find(([tt]) => tt >= k)!;
  t.ok(Math.abs(atK[1] - 100) < 2, `at t = K the window is back at W_max (${atK[1].toFixed(1)})`);
  const late = rows[rows.length - 1]!;
  t.ok(late[1] > 110, `convex growth past W_max (${late[1].toFixed(1)} at t = ${late[0]} s)`);
  // Fast convergence: a loss below W_max sets W_max = cwnd (1 + beta) / 2.
  const c2 = new CubicCongestionControl(10);
  c2.init(mss, 0);
  c2.enterRecovery(0, mss, 0);
  c2.exitRecovery(mss);
  const before = c2.cwnd / mss;
  c2.enterRecovery(0, mss, 0);
  t.ok(Math.abs(c2.wMax! - (before * (1 + CUBIC_BETA)) / 2) < 1e-9, 'fast convergence (§4.7)');
});
