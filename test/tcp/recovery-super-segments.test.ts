// TSO for loss recovery: with offloads on, RFC 6675 SACK recovery and RACK (RFC 8985) resend a
// contiguous run of lost segments as one super-segment — up to the next SACKed block, within
// what PRR / cwnd and the peer's window allow — that the link cuts at the MSS. The retransmit
// queue keeps one record per wire segment (its own send order and retransmitted mark), the
// onRetransmit event names each wire segment's cause, and without offloads the very same wire
// segments leave one frame each. The tail loss probe stays one segment (RFC 8985 §7.3).
import t from 'tap';
import type { RetransmitEvent } from '../../lib/tcp/retransmit-event.js';
import { sackSegs, ScriptedPeer, segAt } from '../helpers/tcp-peer.js';

/**
 * A SACK sender with MSS 1000 whose first 10 segments were acknowledged one by one at 0 ms, so
 * slow start has 20 segments (10..29) in flight, all sent at 0 ms.
 */
function sender(offload: boolean, config: Record<string, unknown> = {}) {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno', rack: false, offload, timestamps: false, ...config } });
  const events: RetransmitEvent[] = [];
  p.tcp.onRetransmit = (e) => events.push(e);
  const { conn } = p.handshakePassive({ mss: 1000, sackPermitted: true });
  p.tcp.run((now) => conn.write(Buffer.alloc(100_000, 0x61), now));
  for (let k = 1; k <= 10; k++) p.send({ ack: segAt(p, k) });
  p.drain();
  events.length = 0;
  const idx = (s: number): number => (p.rel(s as never) - 1) / 1000;
  /** Our frames since the last call as [first segment, segments, gso size]. */
  const frames = (): Array<[number, number, number]> => {
    const from = p.stack.sent.length - p.pending;
    const gso = p.stack.sent.slice(from).map((s) => s.gsoSize);
    return p.drain().map((o, k) => [idx(o.seq), o.len / 1000, gso[k]!]);
  };
  /** The onRetransmit events since the last call as [segment, len, cause, rule]. */
  const causes = () => events.splice(0).map((e) => [idx(e.seq), e.len, e.cause, e.rule ?? '']);
  return { p, conn, frames, causes };
}

/** Frames cut at the MSS, as the link does: the wire segments, by first segment index. */
const wire = (frames: Array<[number, number, number]>): number[] => frames.flatMap(([i, n]) => Array.from({ length: n }, (_, k) => i + k));

t.test('RFC 6675 NextSeg (1): a six-segment hole is the fast retransmit, then ONE super-segment up to the SACKed block', async (t) => {
  const on = sender(true);
  // Segments 10..15 lost; one ACK SACKs 16..29: IsLost(HighACK + 1), recovery starts.
  on.p.send({ ack: segAt(on.p, 10), options: { sack: sackSegs(on.p, [16, 30]) } });
  const f = on.frames();
  // ssthresh = 10 SMSS; PRR (RFC 6937, pipe 1 SMSS below ssthresh) allows 9 more: the other five
  // lost segments in one frame, then four new ones (NextSeg (2)), also in one frame.
  t.same(f, [[10, 1, 0], [11, 5, 1000], [30, 4, 1000]]);
  t.same(on.causes().slice(1), [11, 12, 13, 14, 15].map((i) => [i, 1000, 'sack', 'NextSeg (1)']), 'one onRetransmit per wire segment, each with its cause');
  t.equal(on.p.counters.get('tcp.tx.retransmit.sack'), 5, 'counted per wire segment');
  const recs = on.conn.rtxq.segments.filter((r) => on.p.rel(r.start) > 11_000 && on.p.rel(r.start) <= 16_000);
  t.same(recs.map((r) => on.p.rel(r.end) - on.p.rel(r.start)), [1000, 1000, 1000, 1000, 1000], 'still one record per MSS');
  t.ok(recs.every((r) => r.retransmitted && !r.lost), 'each marked retransmitted');
  t.ok(recs.every((r, k) => k === 0 || r.order === recs[k - 1]!.order + 1), 'each with its own transmission order (RACK)');
  const fresh = on.conn.rtxq.segments.filter((r) => on.p.rel(r.start) > 30_000);
  t.same(fresh.map((r) => on.p.rel(r.end) - on.p.rel(r.start)), [1000, 1000, 1000, 1000], 'the new data super-segment: one record per MSS');
  t.ok(fresh.every((r) => !r.retransmitted), 'as first transmissions');

  const off = sender(false);
  off.p.send({ ack: segAt(off.p, 10), options: { sack: sackSegs(off.p, [16, 30]) } });
  const g = off.frames();
  t.ok(g.every(([, n, gso]) => n === 1 && gso === 0), '--offload off: one MSS per frame');
  t.same(wire(g), wire(f), 'and the very same wire segments');
  t.same(off.causes(), [[10, 1000, 'sack', 'IsLost(HighACK + 1) (RFC 6675 §5 step 4)'], ...[11, 12, 13, 14, 15].map((i) => [i, 1000, 'sack', 'NextSeg (1)'])]);
});

t.test('a SACKed block inside the hole splits the run: one super-segment per hole', async (t) => {
  const on = sender(true);
  // 10..15 lost but 13, which the peer SACKs with 16..29.
  on.p.send({ ack: segAt(on.p, 10), options: { sack: sackSegs(on.p, [13, 14], [16, 30]) } });
  const f = on.frames();
  t.same(f.slice(0, 3), [[10, 1, 0], [11, 2, 1000], [14, 2, 1000]], 'segments 11–12, then 14–15: nothing SACKed is sent again');
  t.same(on.causes().slice(1).map(([i, , cause]) => [i, cause]), [[11, 'sack'], [12, 'sack'], [14, 'sack'], [15, 'sack']]);
  const off = sender(false);
  off.p.send({ ack: segAt(off.p, 10), options: { sack: sackSegs(off.p, [13, 14], [16, 30]) } });
  t.same(wire(off.frames()), wire(f), 'the same wire segments as without offloads');
});

t.test('what PRR / cwnd allows per ACK cuts a long hole into several super-segments (RFC 6675 §5, RFC 6937)', async (t) => {
  const runs: Record<string, Array<[number, number, number]>> = {};
  for (const offload of [true, false]) {
    const s = sender(offload);
    const f: Array<[number, number, number]> = [];
    // Segments 10..19 lost; the peer SACKs from 20 on, a few segments per ACK.
    for (const k of [21, 22, 23, 27, 30, 32]) {
      s.p.send({ ack: segAt(s.p, 10), options: { sack: sackSegs(s.p, [20, k]) } });
      f.push(...s.frames());
    }
    runs[String(offload)] = f;
  }
  // Two limited transmits (30, 31); the third duplicate ACK: fast retransmit of 10, and PRR's
  // slow-start side (pipe below ssthresh = 11 SMSS) lets as much out as each ACK delivered:
  // 1, then 4, 3 and 2 segments.
  t.same(runs['true'], [[30, 1, 0], [31, 1, 0], [10, 1, 0], [11, 1, 0], [12, 4, 1000], [16, 3, 1000], [19, 1, 0], [32, 1, 0]]);
  t.same(wire(runs['false']!), wire(runs['true']!), 'the same wire segments as without offloads');
  t.ok(runs['false']!.every(([, n]) => n === 1));
});

t.test('RFC 8985: contiguous segments RACK marked lost go as one super-segment, each wire segment announced as rack', async (t) => {
  const on = sender(true, { rack: true });
  // At 8 ms (before the 10 ms probe timeout) the peer SACKs 15..24: 10..14 were sent before 15
  // and are older than RACK.rtt + reo_wnd: lost. Recovery sends 10, then PRR lets 11..14 out together.
  on.p.advanceTo(8);
  on.p.send({ ack: segAt(on.p, 10), options: { sack: sackSegs(on.p, [15, 25]) } });
  t.equal(on.p.counters.get('tcp.rack.lost'), 5);
  t.same(on.frames(), [[10, 1, 0], [11, 4, 1000]]);
  t.same(on.causes().map(([i, len, cause]) => [i, len, cause]), [10, 11, 12, 13, 14].map((i) => [i, 1000, 'rack']));
  t.equal(on.p.counters.get('tcp.tx.retransmit.rack'), 4, 'per wire segment (the first is the recovery entry, counted as fast)');
});

t.test('after an RTO, go-back-N super-segments announce each wire segment (the timer names only the first)', async (t) => {
  const on = sender(true, { rack: true });
  on.p.advanceTo(400);
  const f = on.frames();
  t.equal(f[f.length - 1]![0], 10, 'the RTO resends segment 10');
  t.same(on.causes().map(([i, , cause]) => [i, cause]).slice(-1), [[10, 'rto']]);
  on.p.send({ ack: segAt(on.p, 11) });
  t.same(on.frames(), [[11, 2, 1000]], 'slow start: two segments, one frame');
  t.same(on.causes().map(([i, len, cause]) => [i, len, cause]), [[11, 1000, 'go-back-n'], [12, 1000, 'go-back-n']]);
  t.equal(on.p.counters.get('tcp.tx.retransmit.rto'), 3, 'counted per wire segment');
});

t.test('RFC 8985 §6.2 after an RTO: lost go-back-N retransmissions sent in two frames go back out as one', async (t) => {
  const f: Record<string, Array<[number, number, number]>> = {};
  for (const offload of [true, false]) {
    const p = new ScriptedPeer({ config: { congestionControl: 'newreno', offload, timestamps: false } });
    const { conn } = p.handshakePassive({ mss: 1000, sackPermitted: true });
    p.tcp.run((now) => conn.write(Buffer.alloc(100_000, 0x61), now));
    p.drain();
    const frames: Array<[number, number, number]> = [];
    const take = () => {
      const gso = p.stack.sent.slice(p.stack.sent.length - p.pending).map((s) => s.gsoSize);
      frames.push(...p.drain().map((o, k): [number, number, number] => [(p.rel(o.seq) - 1) / 1000, o.len / 1000, gso[k]!]));
    };
    // Segments 0..3 lost: the probe (new segment 10), the RTO (0); 0 arrives with 4..10: go-back-N
    // resends 1–2 (cwnd 2 SMSS), then 3 and new 11 once 1 is acknowledged. 2 and 3 are lost again.
    p.advanceTo(211);
    p.advanceTo(215);
    p.send({ ack: segAt(p, 1), options: { sack: sackSegs(p, [4, 11]) } });
    p.advanceTo(225);
    p.send({ ack: segAt(p, 2), options: { sack: sackSegs(p, [4, 11]) } });
    take();
    // 11, sent after both, is SACKed: RACK marks 2 and 3 lost, resent at once within cwnd.
    p.advanceTo(235);
    p.send({ ack: segAt(p, 2), options: { sack: sackSegs(p, [4, 12]) } });
    t.equal(p.counters.get('tcp.tx.retransmit.lost'), 2, 'two lost retransmissions resent');
    t.equal(conn.info().recovery, 'rto');
    take();
    f[String(offload)] = frames;
  }
  t.same(f['true'], [[10, 1, 0], [0, 1, 0], [1, 2, 1000], [3, 1, 0], [11, 1, 0], [2, 2, 1000], [12, 1, 0]]);
  t.same(wire(f['false']!), wire(f['true']!), 'the same wire segments as without offloads');
});

t.test('RFC 8985 §7.3: the tail loss probe stays one segment with offloads on', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno', offload: true, timestamps: false } });
  const { conn } = p.handshakePassive({ mss: 1000, sackPermitted: true });
  const first = p.stack.sent.length;
  p.tcp.run((now) => conn.write(Buffer.alloc(5000, 0x61), now));
  t.same(p.drain().map((o) => o.len), [5000], 'the data: one super-segment');
  t.equal(p.stack.sent[first]!.gsoSize, 1000);
  // Segments 3 and 4 lost; the probe at 15 ms (2 SRTT + 2, at least 10 ms) resends the last one.
  p.advanceTo(5);
  p.send({ ack: segAt(p, 3) });
  const at = p.stack.sent.length;
  p.advanceTo(15);
  const probe = p.drain();
  t.same(probe.map((o) => [p.rel(o.seq), o.len]), [[4001, 1000]], 'one segment: the last');
  t.equal(p.stack.sent[at]!.gsoSize, 0);
  t.equal(p.counters.get('tcp.tx.tlp'), 1);
});
