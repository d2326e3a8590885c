// TcpLayer.onRetransmit: each retransmitted segment is announced, before it goes to IP, with the
// cause the core decided on (issue 11): RTO with its value, go-back-N after it, fast retransmit
// (NewReno and SACK), RFC 6582 partial ACKs, RFC 6675 NextSeg rules and the rescue, RACK with
// its reordering window, the tail loss probe with its PTO, and the SYN's timer.
import t from 'tap';
import type { RetransmitEvent } from '../../lib/tcp/retransmit-event.js';
import { sackSegs, ScriptedPeer, segAt } from '../helpers/tcp-peer.js';

const bytes = (n: number): Buffer => Buffer.alloc(n, 0x61);

/** A sender with MSS 1000, `n` bytes written, recording every onRetransmit event. */
function sender(n: number, config: Record<string, unknown> = {}, sack = true) {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno', rack: false, ...config } });
  const events: RetransmitEvent[] = [];
  /** How many segments had gone to IP when each event came. */
  const sentBefore: number[] = [];
  const seqs: number[] = [];
  p.tcp.onRetransmit = (e) => {
    sentBefore.push(p.stack.sent.length);
    seqs.push(e.seq);
    events.push(e);
  };
  /** Every event came before its segment went to IP: the next segment sent is the one it names. */
  const announcedFirst = (): boolean => sentBefore.every((at, k) => p.stack.sent[at]?.payload.readUInt32BE(4) === seqs[k]);
  const { conn } = p.handshakePassive(sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 });
  p.tcp.run((now) => conn.write(bytes(n), now));
  p.drain();
  /** The events as [segment index, cause, rule] since the last call. */
  const take = () => events.splice(0).map((e) => ({ i: (e.seq - segAt(p, 0)) / 1000, ...e }));
  return { p, conn, take, announcedFirst };
}

t.test('an RTO after silence names the timer and its value; go-back-N follows; the next RTO is backed off', async (t) => {
  const { p, take, announcedFirst } = sender(10_000);
  p.advanceTo(199);
  t.same(take(), [], 'nothing before the RTO');
  p.advanceTo(200);
  const [rto] = take();
  t.match(rto, { i: 0, cause: 'rto', rtoMs: 200, len: 1000, local: { ip: '10.0.0.2', port: 80 }, remote: { ip: '10.0.0.1', port: 40000 } });
  p.drain();
  // The first segment's retransmission is ACKed: go-back-N goes on with segments 1 and 2.
  p.send({ ack: segAt(p, 1) });
  const gbn = take();
  t.same(gbn.map((e) => [e.i, e.cause]), [[1, 'go-back-n'], [2, 'go-back-n']]);
  t.equal(gbn[0]!.rtoMs, undefined, 'no timer value on go-back-N');
  p.drain();
  p.advance(400);
  t.match(take(), [{ i: 1, cause: 'rto', rtoMs: 400 }], 'RFC 6298 §5.5: the next timeout is the doubled one');
  t.ok(announcedFirst(), 'each event came before its segment went to IP and names it');
});

t.test('NewReno: three duplicate ACKs are a fast retransmit, a partial ACK resends the next hole', async (t) => {
  const { p, take } = sender(10_000, {}, false);
  for (let k = 0; k < 3; k++) p.send({ ack: segAt(p, 0) });
  t.match(take(), [{ i: 0, cause: 'fast', len: 1000, rule: /RFC 6582/ }]);
  p.send({ ack: segAt(p, 5) });
  t.match(take(), [{ i: 5, cause: 'fast', rule: /partial ACK/ }]);
});

t.test('SACK: DupThresh starts recovery (fast), NextSeg (1) fills a lost hole, the rescue goes once', async (t) => {
  const { p, take } = sender(30_000);
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 2]) } });
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 3]) } });
  t.same(take(), [], 'limited transmit sends new data, no retransmission');
  p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [1, 4]) } });
  t.match(take(), [{ i: 0, cause: 'fast', rule: /RFC 6675/ }]);
  // Segment 4 lost too: once 3 segments above it are SACKed it IsLost, NextSeg rule (1).
  for (let k = 6; k < 13; k++) p.send({ ack: segAt(p, 0), options: { sack: sackSegs(p, [5, k], [1, 4]) } });
  t.match(
    take().filter((e) => e.i === 4),
    [{ cause: 'sack', rule: 'NextSeg (1)' }],
  );

  const r = sender(10_000);
  for (let k = 1; k <= 8; k++) r.p.send({ ack: segAt(r.p, 0), options: { sack: sackSegs(r.p, [1, k + 1]) } });
  t.match(r.take(), [{ i: 0, cause: 'fast' }]);
  r.p.send({ ack: segAt(r.p, 9) });
  t.match(r.take(), [{ i: 9, cause: 'rescue', rule: 'NextSeg (4)' }]);
});

t.test('RACK-TLP: the probe names its PTO; the loss its ACK reveals names the reordering window', async (t) => {
  const { p, take } = sender(5000, { rack: true });
  p.advanceTo(5);
  p.send({ ack: segAt(p, 3) });
  p.advanceTo(15);
  t.match(take(), [{ i: 4, cause: 'tlp', ptoMs: 10, len: 1000 }], 'PTO = max(10 ms, 2 SRTT + 2)');
  p.drain();
  p.advanceTo(20);
  p.send({ ack: segAt(p, 3), options: { sack: sackSegs(p, [4, 5]) } });
  const [e] = take();
  t.match(e, { i: 3, cause: 'rack' });
  t.ok(typeof e!.reorderWindowMs === 'number' && e!.reorderWindowMs >= 0, `reorder window ${e!.reorderWindowMs} ms`);
});

t.test('a SYN resent by its timer is an RTO of the initial 1 s (RFC 6298 §2.1)', async (t) => {
  const p = new ScriptedPeer();
  const events: RetransmitEvent[] = [];
  p.tcp.onRetransmit = (e) => events.push(e);
  const { syn } = p.activeOpen();
  p.advanceTo(1000);
  t.equal(p.next().flags, 'S');
  t.match(events, [{ cause: 'rto', rtoMs: 1000, seq: syn.seq, len: 0, remote: { ip: '10.0.0.1', port: 40000 } }]);
});
