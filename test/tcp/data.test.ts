import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { PEER, ScriptedPeer } from '../helpers/tcp-peer.js';

const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

t.test('RFC 9293 §3.8.6.3 delayed ACK: nothing at 39 ms, the ACK at 40 ms', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'PA', payload: 'hello' });
  t.equal(sink.data().toString(), 'hello');
  p.advanceTo(39);
  t.equal(p.pending, 0);
  p.advanceTo(40);
  const a = p.next();
  t.equal(a.flags, 'A');
  t.equal(a.ack, p.snd);
  t.equal(p.counters.get('tcp.tx.delayedAck'), 1);
});

t.test('RFC 1122 §4.2.3.2: an ACK at least every second full-sized segment', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.collect(conn);
  p.send({ payload: bytes(536) });
  t.equal(p.pending, 0, 'first full segment: delayed');
  p.send({ payload: bytes(536) });
  const a = p.next();
  t.equal(a.ack, p.snd, 'second full segment: ACKed at once');
  t.equal(p.counters.get('tcp.tx.delayedAck'), 0);
  p.advanceTo(100);
  t.equal(p.pending, 0, 'no delayed ACK left armed');
});

t.test('RFC 5681 §4.2 / RFC 2018: out-of-order data is ACKed at once with a SACK block; the gap fill too', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, sackPermitted: true });
  const sink = p.collect(conn);
  const base = p.snd;
  p.send({ seq: seqAdd(base, 100), payload: bytes(100, 0x62) });
  const dup = p.next();
  t.equal(dup.ack, base, 'duplicate ACK for the hole');
  t.same(dup.options.sack, [{ left: seqAdd(base, 100), right: seqAdd(base, 200) }]);
  t.equal(p.counters.get('tcp.rx.outOfOrder'), 1);
  p.send({ seq: seqAdd(base, 300), payload: bytes(100, 0x63) });
  t.same(p.next().options.sack, [
    { left: seqAdd(base, 300), right: seqAdd(base, 400) },
    { left: seqAdd(base, 100), right: seqAdd(base, 200) },
  ], 'RFC 2018 §4: the most recent block first');
  p.send({ seq: base, payload: bytes(100, 0x61) });
  const fill = p.next();
  t.equal(fill.ack, seqAdd(base, 200), 'gap filled: cumulative ACK jumps');
  t.same(fill.options.sack, [{ left: seqAdd(base, 300), right: seqAdd(base, 400) }]);
  t.equal(sink.data().toString(), 'a'.repeat(100) + 'b'.repeat(100));
  p.send({ seq: seqAdd(base, 200), payload: bytes(100, 0x7a) });
  t.equal(p.next().ack, seqAdd(base, 400));
  t.equal(sink.data().length, 400);
  t.equal(p.counters.get('tcp.rx.gapFilled'), 2);
});

t.test('sending: MSS-sized segments, PSH on the last, cwnd = IW10 (RFC 6928)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1000 });
  p.tcp.run((now) => conn.write(bytes(25_000), now));
  const segs = p.drain();
  t.equal(segs.length, 10, 'IW = min(10*MSS, max(2*MSS, 14600)) = 10000 bytes');
  t.same(segs.map((s) => s.len), Array(10).fill(1000));
  t.equal(p.rel(segs[0]!.seq), 1);
  t.equal(segs[9]!.flags, 'A');
  // ACK 2 segments: slow start grows cwnd by min(acked, 2 SMSS) per ACK (RFC 3465 ABC, L = 2).
  p.send({ ack: seqAdd(p.ourIss, 2001) });
  t.equal(p.drain().length, 4, 'two freed + two from growth');
  t.equal(conn.info().cwnd, 12_000);
});

t.test('RFC 896 Nagle (Minshall variant): a second small write waits for the ACK; setNoDelay sends at once', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.tcp.run((now) => conn.write(Buffer.from('one'), now));
  t.equal(p.next().payload.toString(), 'one', 'nothing in flight: goes at once');
  p.tcp.run((now) => conn.write(Buffer.from('two'), now));
  t.equal(p.pending, 0, 'held: a small segment is unacknowledged');
  t.equal(p.counters.get('tcp.tx.nagleHeld'), 1);
  p.send({ ack: seqAdd(p.ourIss, 4) });
  const s = p.next();
  t.equal(s.payload.toString(), 'two', 'released by the ACK');
  t.equal(s.flags, 'PA');
  p.tcp.run((now) => conn.setNoDelay(true, now));
  p.tcp.run((now) => conn.write(Buffer.from('three'), now));
  t.equal(p.next().payload.toString(), 'three', 'TCP_NODELAY: no wait');
});

t.test('no Nagle x delayed-ACK stall: a response written after a request leaves at once, carrying the ACK', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  conn.events.readable = () =>
    p.tcp.run((now) => {
      conn.read(now);
      // A response bigger than one MSS: full segments then the tail, all immediately.
      conn.write(bytes(3000), now);
    });
  p.send({ flags: 'PA', payload: 'GET / HTTP/1.1\r\n\r\n' });
  const out = p.drain();
  t.same(out.map((s) => s.len), [1460, 1460, 80], 'the small tail is not held behind full segments');
  t.ok(out.every((s) => s.ack === p.snd), 'the request is ACKed by the response');
  t.equal(out[0]!.at, 0, 'at time 0');
});

t.test('RFC 6298 §2.2/2.3 RTT: first sample SRTT=R, RTTVAR=R/2, RTO=SRTT+4*RTTVAR; then smoothing', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.activeOpen();
  p.advanceTo(100);
  p.send({ flags: 'SA', options: { mss: 1460 } });
  p.next();
  t.same([conn.info().srtt, conn.info().rttvar, conn.info().rto], [100, 50, 300]);
  p.tcp.run((now) => conn.write(bytes(10), now));
  p.next();
  p.advanceTo(300);
  p.send({ ack: seqAdd(p.ourIss, 11) });
  t.equal(conn.info().rttvar, 62.5);
  t.equal(conn.info().srtt, 112.5);
  t.equal(conn.info().rto, 363);
});

t.test('RFC 6298 §5: nothing at RTO-1, retransmit at RTO, backoff doubles, Karn keeps the sample out; give up -> ETIMEDOUT', async (t) => {
  const p = new ScriptedPeer({ config: { maxRetries: 3 } });
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  t.equal(conn.info().rto, 200, 'handshake sample of 0 ms -> the 200 ms minimum');
  p.tcp.run((now) => conn.write(bytes(100), now));
  const first = p.next();
  let at = 0;
  for (const rto of [200, 400, 800]) {
    at += rto;
    p.advanceTo(at - 1);
    t.equal(p.pending, 0, `nothing at ${at - 1}`);
    p.advanceTo(at);
    const r = p.next();
    t.equal(r.seq, first.seq, `retransmission at ${at}`);
    t.equal(r.len, 100);
  }
  t.equal(p.counters.get('tcp.tx.retransmit.rto'), 3);
  t.equal(conn.info().cwnd, conn.info().mss, 'RFC 5681 §3.1: cwnd = 1 SMSS after an RTO');
  p.advanceTo(at + 1599);
  t.equal(conn.state, 'ESTABLISHED');
  p.advanceTo(at + 1600);
  t.equal(conn.state, 'CLOSED');
  t.equal(sink.closedWith(), 'ETIMEDOUT');
  t.equal(p.counters.get('tcp.rto.giveUp'), 1);
  t.equal(p.pending, 0, 'gives up silently (no RST)');
});

t.test('RFC 6298 §3 Karn: the ACK of a retransmitted segment gives no RTT sample (no timestamps)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.tcp.run((now) => conn.write(bytes(100), now));
  p.next();
  p.advanceTo(200);
  p.next();
  p.advanceTo(250);
  p.send({ ack: seqAdd(p.ourIss, 101) });
  t.equal(conn.info().srtt, 0, 'unchanged: the 250 ms is ambiguous');
  t.equal(conn.info().rto, 400, 'the backed-off RTO stays until a clean sample');
  p.tcp.run((now) => conn.write(bytes(100), now));
  p.next();
  p.advanceTo(260);
  p.send({ ack: seqAdd(p.ourIss, 201) });
  t.equal(conn.info().srtt, 1.25, 'a fresh segment is sampled');
  t.equal(conn.info().rto, 200);
});

t.test('RFC 7323 §4: RTT from TSecr, retransmissions included', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, ts: { val: 1, ecr: 0 } });
  p.tcp.run((now) => conn.write(bytes(100), now));
  const s = p.next();
  p.advanceTo(200);
  const r = p.next();
  p.advanceTo(230);
  p.send({ ack: seqAdd(p.ourIss, 101), options: { ts: { val: p.tsNow(), ecr: r.options.ts!.val } } });
  t.ok(s.options.ts!.val < r.options.ts!.val);
  t.equal(conn.info().srtt, (0 * 7) / 8 + 30 / 8, 'sample = 30 ms from the echoed TSval');
});

t.test('RFC 5681 §3.2 fast retransmit on the third duplicate ACK', async (t) => {
  const p = new ScriptedPeer({ config: { congestionControl: 'newreno' } });
  const { conn } = p.handshakePassive({ mss: 1000 });
  p.tcp.run((now) => conn.write(bytes(5000), now));
  const segs = p.drain();
  t.equal(segs.length, 5);
  for (let i = 0; i < 2; i++) p.send({ ack: segs[0]!.seq });
  t.equal(p.pending, 0, 'two duplicates: nothing');
  p.send({ ack: segs[0]!.seq });
  const r = p.next();
  t.equal(r.seq, segs[0]!.seq);
  t.equal(r.len, 1000);
  t.equal(p.counters.get('tcp.tx.retransmit.fast'), 1);
  t.equal(conn.info().ssthresh, 2500);
  t.equal(conn.info().cwnd, 5500, 'ssthresh + 3 SMSS');
  p.send({ ack: seqAdd(p.ourIss, 5001) });
  t.equal(conn.info().cwnd, 2000, 'full ACK: min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 §3.2 step 6)');
});

t.test('RFC 9293 §3.8.6.1 zero window: persist probes with backoff, data flows when the window opens', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ win: 0 });
  p.tcp.run((now) => conn.write(Buffer.from('xyz'), now));
  t.equal(p.pending, 0, 'zero window: nothing sent');
  p.advanceTo(199);
  t.equal(p.pending, 0);
  p.advanceTo(200);
  const probe = p.next();
  t.equal(probe.len, 1, 'one octet of new data');
  t.equal(p.rel(probe.seq), 1);
  p.send({ win: 0 });
  p.advanceTo(599);
  t.equal(p.pending, 0);
  p.advanceTo(600);
  t.equal(p.next().len, 1, 'second probe after the backed-off interval (400 ms)');
  t.equal(p.counters.get('tcp.tx.persistProbe'), 2);
  p.send({ win: 1000 });
  const d = p.next();
  t.equal(d.payload.toString(), 'xyz');
  t.equal(p.counters.get('tcp.rx.windowOpened'), 1);
});

t.test('RFC 1122 §4.2.2.17: zero-window probing is kept only while the probes are ACKed; unanswered, it gives up like retransmission', async (t) => {
  // Answered with zero-window ACKs: probing goes on past the retransmission limit.
  const a = new ScriptedPeer();
  const kept = a.handshakePassive();
  a.send({ win: 0 });
  a.tcp.run((now) => kept.conn.write(Buffer.from('xyz'), now));
  for (let i = 0; i < 20; i++) {
    while (a.pending === 0) a.advance(100);
    t.equal(a.next().len, 1);
    a.send({ win: 0 });
  }
  t.equal(a.counters.get('tcp.tx.persistProbe'), 20, '20 probes, each answered');
  t.equal(kept.conn.state, 'ESTABLISHED');

  // Unanswered: after maxRetries (15) probes the connection ends with ETIMEDOUT.
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ win: 0 });
  p.tcp.run((now) => conn.write(Buffer.from('xyz'), now));
  p.advanceTo(30 * 60_000);
  t.equal(p.counters.get('tcp.tx.persistProbe'), 15);
  t.equal(p.counters.get('tcp.persist.giveUp'), 1);
  t.equal(conn.state, 'CLOSED');
  t.equal(sink.closedWith(), 'ETIMEDOUT');
  t.equal(p.drain().filter((o) => o.len === 0).length, 0, 'no RST: the peer is thought gone (as Linux)');
});

t.test('a RST after zero-window probes carries a sequence number inside the peer\'s window (Linux tcp_acceptable_seq)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ win: 0 });
  p.tcp.run((now) => conn.write(Buffer.from('xyz'), now));
  p.advanceTo(200);
  t.equal(p.next().len, 1, 'a probe: SND.MAX is one past the window');
  p.send({ win: 0 });
  p.tcp.run((now) => conn.abort(now));
  const rst = p.next();
  t.equal(rst.flags, 'R');
  t.equal(p.rel(rst.seq), 1, 'RST at SND.UNA + SND.WND (the peer\'s RCV.NXT), not at SND.MAX');
});

t.test('RFC 9293 §3.8.6.2.2 receive window = free buffer; zero window; the read opens it with a window update', async (t) => {
  const p = new ScriptedPeer({ config: { rcvBufSize: 4000, windowScaling: false } });
  const { conn, synAck } = p.handshakePassive();
  t.equal(synAck.win, 4000);
  // The application does not read.
  for (let i = 0; i < 6; i++) p.send({ payload: bytes(536) });
  t.same(p.drain().map((a) => a.win), [4000 - 2 * 536, 4000 - 4 * 536, 4000 - 6 * 536], 'window shrinks with the buffer, ACK every 2nd segment');
  p.send({ payload: bytes(536) });
  p.send({ payload: bytes(248) });
  const z = p.drain().pop()!;
  t.equal(z.win, 0, 'buffer full: zero window');
  // A probe into the zero window is not accepted but answered.
  p.send({ payload: bytes(1) });
  const pa = p.next();
  t.equal(pa.ack, seqAdd(p.iss, 1 + 4000));
  t.equal(pa.win, 0);
  p.snd = seqAdd(p.snd, -1);
  t.equal(conn.readableLength, 4000);
  p.tcp.run((now) => {
    for (let left = 3000; left > 0; ) left -= conn.read(now, left)!.length;
  });
  const wu = p.next();
  t.equal(wu.win, 4 * 536, 'window update as soon as the read freed min(buffer/2, 2*MSS): after 4 chunks');
  t.equal(p.pending, 0, 'one update, not one per read');
  t.equal(p.counters.get('tcp.tx.windowUpdate'), 1);
});

t.test('RFC 1191 PMTUD: frag-needed lowers the MSS and retransmits at the new size', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460 });
  p.tcp.run((now) => conn.write(bytes(2920), now));
  t.same(p.drain().map((s) => s.len), [1460, 1460]);
  p.tcp.pathMtu(PEER, 1000);
  const r = p.drain();
  t.same(r.map((s) => s.len), [960, 960, 960, 40].slice(0, r.length));
  t.equal(r[0]!.seq, seqAdd(p.ourIss, 1));
  t.equal(conn.info().mss, 960);
  t.equal(p.counters.get('tcp.pmtu.lowered'), 1);
  t.ok(p.counters.get('tcp.tx.retransmit.pmtu') >= 3);
});

t.test('RFC 1122 §4.2.3.6 keep-alive: probes at SND.NXT-1 after idle; answered keeps it; unanswered -> ETIMEDOUT', async (t) => {
  const p = new ScriptedPeer({ config: { keepAliveProbes: 2, keepAliveIntervalMs: 1000 } });
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.tcp.run((now) => conn.setKeepAlive(true, 5000, now));
  p.advanceTo(4999);
  t.equal(p.pending, 0);
  p.advanceTo(5000);
  const k = p.next();
  t.equal(p.rel(k.seq), 0, 'SEG.SEQ = SND.NXT - 1');
  t.equal(k.len, 0);
  p.send({});
  p.advanceTo(9999);
  t.equal(p.pending, 0, 'answered: idle timer restarts from the answer');
  p.advanceTo(10_000);
  p.next();
  p.advanceTo(11_000);
  p.next();
  t.equal(conn.state, 'ESTABLISHED');
  p.advanceTo(12_000);
  t.equal(conn.state, 'CLOSED');
  t.equal(sink.closedWith(), 'ETIMEDOUT');
  t.equal(p.counters.get('tcp.tx.keepAlive'), 3);
  t.equal(p.counters.get('tcp.keepAlive.timeout'), 1);
});

t.test('RFC 5927 §4.1: frag-needed quoting a sequence number we never sent is ignored', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460 });
  p.tcp.run((now) => conn.write(bytes(2920), now));
  const segs = p.drain();
  const quote = Buffer.alloc(8);
  quote.writeUInt16BE(p.localPort, 0);
  quote.writeUInt16BE(p.port, 2);
  quote.writeUInt32BE(seqAdd(p.ourIss, 1_000_000), 4);
  p.tcp.pathMtu(PEER, 1000, quote);
  t.equal(conn.info().mss, 1460);
  t.equal(p.counters.get('tcp.icmp.badSeq'), 1);
  quote.writeUInt32BE(segs[1]!.seq, 4);
  p.tcp.pathMtu(PEER, 1000, quote);
  t.equal(conn.info().mss, 960, 'a quote of an outstanding segment is believed');
});

t.test('RFC 1122 §4.2.3.9: port unreachable in SYN-SENT is a hard error (ECONNREFUSED); host unreachable is soft', async (t) => {
  const p = new ScriptedPeer();
  const { conn, syn } = p.activeOpen();
  let err: string | undefined;
  conn.events.closed = (e) => (err = e?.code);
  const quote = Buffer.alloc(8);
  quote.writeUInt16BE(syn.seg.srcPort, 0);
  quote.writeUInt16BE(p.port, 2);
  quote.writeUInt32BE(syn.seq, 4);
  p.tcp.unreachable(PEER, 1, quote);
  t.equal(conn.state, 'SYN-SENT', 'host unreachable: keep trying');
  t.equal(p.counters.get('tcp.icmp.softError'), 1);
  p.tcp.unreachable(PEER, 3, quote);
  t.equal(conn.state, 'CLOSED');
  t.equal(err, 'ECONNREFUSED');
});

t.test('RFC 5681 §4.1: after idling longer than an RTO, cwnd restarts from the initial window', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1000 });
  p.tcp.run((now) => conn.write(bytes(10_000), now));
  const segs = p.drain();
  for (const s of segs) p.send({ ack: seqAdd(s.seq, s.len) });
  t.equal(conn.info().cwnd, 20_000, 'slow start doubled it');
  p.advanceTo(1000);
  p.tcp.run((now) => conn.write(bytes(30_000), now));
  t.equal(p.drain().length, 10, 'restart window: 10 segments, not 20');
  t.equal(p.counters.get('tcp.cwnd.idleRestart'), 1);
});

t.test('go-back-N after an RTO: bare ACKs carry SND.MAX so the peer never finds them out of window', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1000 });
  p.collect(conn);
  p.tcp.run((now) => conn.write(bytes(3000), now));
  t.equal(p.drain().length, 3);
  p.advanceTo(200);
  const r = p.next();
  t.same([p.rel(r.seq), r.len], [1, 1000], 'RTO: the first segment again, cwnd = 1 SMSS');
  p.send({ payload: 'ping', ack: seqAdd(p.ourIss, 1) });
  p.advanceTo(240);
  const a = p.next();
  t.same([a.flags, p.rel(a.seq)], ['A', 3001], 'the delayed ACK uses SND.MAX, not SND.NXT (1001)');
  // The peer had everything: its cumulative ACK jumps SND.NXT forward.
  p.send({ ack: seqAdd(p.ourIss, 3001) });
  t.equal(conn.info().sndNxt, conn.info().sndMax);
  t.equal(p.pending, 0, 'nothing resent that was acknowledged');
});

t.test('RFC 1122 §4.2.3.6: a peer keep-alive (SEG.SEQ = RCV.NXT-1, no data) is answered with an ACK', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ seq: seqAdd(p.snd, -1) });
  const a = p.next();
  t.same([a.flags, a.ack], ['A', p.snd]);
  t.equal(p.counters.get('tcp.rx.keepAliveProbe'), 1);
  t.equal(conn.state, 'ESTABLISHED');
});
