import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import type { TcpOptions } from '../../lib/wire/tcp.js';
import { ScriptedPeer } from '../helpers/tcp-peer.js';

const TS = { mss: 1460, ts: { val: 1, ecr: 0 } };

t.test('RFC 9293 §3.6 active close: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT, 2*MSL, then gone', async (t) => {
  const p = new ScriptedPeer({ config: { mslMs: 1000 } });
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  const states: string[] = [];
  p.tcp.run((now) => conn.shutdown(now));
  states.push(conn.state);
  const fin = p.next();
  t.equal(fin.flags, 'FA');
  t.equal(p.rel(fin.seq), 1);
  p.send({ ack: seqAdd(fin.seq, 1) });
  states.push(conn.state);
  p.send({ flags: 'FA', ack: seqAdd(fin.seq, 1) });
  states.push(conn.state);
  t.same(states, ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
  const last = p.next();
  t.equal(last.flags, 'A');
  t.equal(last.ack, p.snd, 'FIN consumed one sequence number');
  t.ok(sink.closed(), 'the user sees the connection closed');
  t.equal(sink.closedWith(), undefined);
  t.equal(p.tcp.core.timeWait.size, 1);
  p.advanceTo(1999);
  t.equal(p.tcp.core.timeWait.size, 1);
  p.advanceTo(2000);
  t.equal(p.tcp.core.timeWait.size, 0, '2*MSL later');
  t.equal(p.counters.get('tcp.timeWait.expired'), 1);
  t.equal(p.clock.pending, 0);
});

t.test('RFC 9293 §3.6 passive close: CLOSE-WAIT (FIN ACKed after the delayed-ACK time, EOF), then LAST-ACK -> CLOSED', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'FPA', payload: 'bye' });
  t.equal(conn.state, 'CLOSE-WAIT');
  t.equal(p.pending, 0, 'the ACK waits: the application may close in the meantime');
  p.advance(40);
  const a = p.next();
  t.equal(a.ack, p.snd, 'FIN ACKed when the delayed-ACK timer fires (40 ms)');
  t.equal(sink.data().toString(), 'bye');
  t.ok(sink.ended(), 'end of stream');
  p.tcp.run((now) => conn.write(Buffer.from('still writing'), now));
  t.equal(p.next().payload.toString(), 'still writing', 'half-close: CLOSE-WAIT can still send');
  p.tcp.run((now) => conn.shutdown(now));
  t.equal(conn.state, 'LAST-ACK');
  const fin = p.next();
  t.equal(fin.flags, 'FA');
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'CLOSED');
  t.ok(sink.closed());
  t.equal(sink.closedWith(), undefined);
  t.equal(p.tcp.core.timeWait.size, 0, 'the passive closer has no TIME-WAIT');
});

t.test('RFC 9293 §3.6 three-way close (the curl capture): FIN and ACK merged', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.collect(conn);
  conn.events.readable = () =>
    p.tcp.run((now) => {
      while (conn.read(now) !== undefined);
      if (conn.readEnded) conn.shutdown(now);
    });
  p.send({ flags: 'FA' });
  const fa = p.next();
  t.equal(fa.flags, 'FA', 'ACK of their FIN rides on our FIN');
  t.equal(fa.ack, p.snd);
  p.send({ ack: seqAdd(fa.seq, 1) });
  t.equal(conn.state, 'CLOSED');
});

t.test('RFC 9293 §3.6 simultaneous close: FINs cross -> CLOSING -> TIME-WAIT', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  p.send({ flags: 'FA' }); // does not ACK our FIN yet
  t.equal(conn.state, 'CLOSING');
  t.equal(p.next().ack, p.snd);
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'TIME-WAIT');
});

t.test('half-close: after end() we keep reading in FIN-WAIT-2', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'FIN-WAIT-2');
  p.send({ flags: 'PA', ack: seqAdd(fin.seq, 1), payload: 'more data' });
  t.equal(sink.data().toString(), 'more data');
  t.throws(() => p.tcp.run((now) => conn.write(Buffer.from('x'), now)), { code: 'EPIPE' }, 'write after end: EPIPE');
});

t.test('RFC 6298: the FIN is retransmitted at RTO', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  p.advanceTo(199);
  t.equal(p.pending, 0);
  p.advanceTo(200);
  const r = p.next();
  t.equal(r.flags, 'FA');
  t.equal(r.seq, fin.seq);
  t.equal(p.counters.get('tcp.tx.retransmit.rto'), 1);
});

/** Drive to TIME-WAIT (timestamps on unless `synOptions` leave them out); returns the peer and the final ACK. */
function toTimeWait(config = {}, synOptions: TcpOptions = TS) {
  const p = new ScriptedPeer({ config: { mslMs: 1000, ...config } });
  const { conn } = p.handshakePassive(synOptions);
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  p.send({ flags: 'FA', ack: seqAdd(fin.seq, 1) });
  const ack = p.next();
  return { p, conn, fin, ack };
}

t.test('RFC 9293 §3.10.7.4 TIME-WAIT: a retransmitted FIN is re-ACKed and restarts 2*MSL', async (t) => {
  const { p, ack } = toTimeWait();
  p.advanceTo(1500);
  p.send({ flags: 'FA', seq: seqAdd(p.snd, -1), ack: ack.seq });
  const re = p.next();
  t.equal(re.flags, 'A');
  t.equal(re.ack, p.snd);
  t.ok(re.options.ts !== undefined, 'with timestamps');
  t.equal(p.counters.get('tcp.timeWait.reAck'), 1);
  p.advanceTo(2000);
  t.equal(p.tcp.core.timeWait.size, 1, 'restarted at 1500: not gone at 2000');
  p.advanceTo(3500);
  t.equal(p.tcp.core.timeWait.size, 0);
});

t.test('RFC 1337: a RST does not assassinate TIME-WAIT', async (t) => {
  const { p } = toTimeWait();
  p.send({ flags: 'R' });
  t.equal(p.tcp.core.timeWait.size, 1);
  t.equal(p.pending, 0);
  t.equal(p.counters.get('tcp.timeWait.rstIgnored'), 1);
});

t.test('RFC 6191: a SYN with a newer timestamp reuses the TIME-WAIT tuple; an older one gets an ACK', async (t) => {
  const { p, ack } = toTimeWait();
  p.send({ flags: 'S', seq: 5, ack: 0, options: { mss: 1460, ts: { val: p.tsBase - 10, ecr: 0 } } });
  const a = p.next();
  t.equal(a.flags, 'A', 'old timestamp: not a new incarnation');
  t.equal(p.counters.get('tcp.timeWait.synRejected'), 1);
  p.advance(10);
  p.send({ flags: 'S', seq: 5, ack: 0, options: { mss: 1460, ts: { val: p.tsNow(), ecr: 0 } } });
  const sa = p.next();
  t.equal(sa.flags, 'SA', 'newer timestamp: the listener takes it');
  t.ok(((sa.seq - ack.seq) | 0) > 65535, 'the new ISN is beyond the old SND.NXT');
  t.equal(p.counters.get('tcp.timeWait.reused'), 1);
  t.equal(p.tcp.core.timeWait.size, 0);
});

t.test('RFC 6191 / RFC 1122 §4.2.2.13 without timestamps: a SYN above RCV.NXT reuses the tuple', async (t) => {
  const { p } = toTimeWait({}, { mss: 1460 });
  p.send({ flags: 'S', seq: p.snd - 100, ack: 0, options: { mss: 1460 } });
  t.equal(p.next().flags, 'A');
  p.send({ flags: 'S', seq: p.snd + 100_000, ack: 0, options: { mss: 1460 } });
  t.equal(p.next().flags, 'SA');
});

t.test('TIME-WAIT table bound: the oldest entry is evicted and counted', async (t) => {
  const p = new ScriptedPeer({ config: { timeWaitMax: 2, mslMs: 1000 } });
  p.tcp.listen(80);
  for (let i = 0; i < 3; i++) {
    p.port = 40000 + i;
    p.snd = p.iss;
    p.sendSyn();
    p.send({});
    const conn = p.tcp.core.listener(80)!.accept()!;
    p.tcp.run((now) => conn.shutdown(now));
    const fin = p.next();
    p.send({ flags: 'FA', ack: seqAdd(fin.seq, 1) });
    p.next();
  }
  t.equal(p.tcp.core.timeWait.size, 2);
  t.equal(p.counters.get('tcp.timeWait.evicted'), 1);
});

t.test('abort (RFC 9293 §3.10.5): RST <SEQ=SND.NXT>, CLOSED without an error for the user', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.tcp.run((now) => conn.abort(now));
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(p.rel(r.seq), 1);
  t.equal(conn.state, 'CLOSED');
  t.ok(sink.closed());
  t.equal(sink.closedWith(), undefined);
});

t.test('RFC 9293 §3.6 three-way close: the application closes within the delayed-ACK time, so its FIN carries the ACK of the peer\'s FIN (as Linux)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.collect(conn);
  p.send({ flags: 'FA' });
  p.advance(5);
  p.tcp.run((now) => conn.shutdown(now));
  const out = p.drain();
  t.same(out.map((o) => [o.flags, p.prel(o.ack)]), [['FA', p.prel(p.snd)]], 'one FIN+ACK, no bare ACK before it');
  t.equal(conn.state, 'LAST-ACK');
  p.advance(100);
  t.equal(p.pending, 0, 'and no ACK later');
});

t.test('RFC 9293 §3.10.7.4 LAST-ACK: the FIN is retransmitted until ACKed; a retransmitted peer FIN is re-ACKed', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ flags: 'FA' });
  p.advance(40);
  t.equal(p.next().flags, 'A');
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  t.equal(conn.state, 'LAST-ACK');
  p.send({ flags: 'FA', seq: seqAdd(p.snd, -1) });
  const re = p.next();
  t.same([re.flags, re.ack], ['A', p.snd], 'their FIN again: ACKed again');
  p.advanceTo(240);
  const r = p.next();
  t.same([r.flags, r.seq], ['FA', fin.seq]);
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'CLOSED');
  t.equal(p.clock.pending, 0, 'no timers left');
});

t.test('FIN-WAIT-1 still delivers data and takes a FIN that does not ACK ours (-> CLOSING), RTO resends our FIN', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.tcp.run((now) => conn.shutdown(now));
  const fin = p.next();
  p.send({ flags: 'PA', payload: 'late', ack: fin.seq });
  t.equal(sink.data().toString(), 'late');
  p.send({ flags: 'FA', ack: fin.seq });
  t.equal(conn.state, 'CLOSING');
  p.drain();
  p.advanceTo(200);
  t.equal(p.next().flags, 'FA');
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'TIME-WAIT');
});

t.test('RFC 7323 PAWS in TIME-WAIT: an old timestamp is answered with an ACK, the entry stays', async (t) => {
  const { p } = toTimeWait();
  p.send({ options: { ts: { val: p.tsBase - 1000, ecr: 0 } }, payload: 'old' });
  t.equal(p.next().flags, 'A');
  t.equal(p.counters.get('tcp.rx.paws'), 1);
  t.equal(p.tcp.core.timeWait.size, 1);
});
