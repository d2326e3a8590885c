import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { PEER, ScriptedPeer } from '../helpers/tcp-peer.js';

const FULL = { mss: 1460, sackPermitted: true, ts: { val: 777, ecr: 0 }, wscale: 7 };

t.test('RFC 9293 §3.5 passive open: SYN -> SYN-ACK -> ACK = ESTABLISHED, options answered (RFC 7323, RFC 2018)', async (t) => {
  const p = new ScriptedPeer();
  const { conn, synAck } = p.handshakePassive(FULL);
  t.equal(synAck.ack, seqAdd(p.iss, 1), 'ACK = peer ISN + 1');
  t.equal(synAck.options.mss, 1460, 'MSS = MTU 1500 - 40');
  t.equal(synAck.options.wscale, 3, 'our shift: 256 KiB = 65536 << 2, one more than 65535 << 2, needs 3');
  t.equal(synAck.options.sackPermitted, true);
  t.same(synAck.options.ts, { val: synAck.options.ts!.val, ecr: 777 }, 'TSecr echoes the SYN TSval');
  t.equal(synAck.win, 65535, 'SYN-ACK window is unscaled');
  t.equal(conn.state, 'ESTABLISHED');
  const i = conn.info();
  t.equal(i.sndWscale, 7);
  t.equal(i.timestamps, true);
  t.equal(i.sack, true);
  t.equal(i.mss, 1460 - 12, 'RFC 6691: MSS minus the 12 TS option bytes = 1448');
  t.equal(i.sndWnd, 65535 << 7, 'the ACK window is scaled by the peer shift');
  t.equal(p.counters.get('tcp.conn.established'), 1);
  t.equal(p.counters.get('tcp.listen.synReceived'), 1);
  t.equal(p.pending, 0, 'nothing more sent');
});

t.test('RFC 9293 §3.7.1 MSS absent -> 536; RFC 7323: no WS/TS offered -> none answered', async (t) => {
  const p = new ScriptedPeer();
  const { conn, synAck } = p.handshakePassive({});
  t.equal(synAck.options.wscale, undefined);
  t.equal(synAck.options.ts, undefined);
  t.equal(synAck.options.sackPermitted, undefined);
  t.equal(conn.info().mss, 536);
  t.equal(conn.info().rcvWscale, 0);
  t.equal(conn.info().sndWnd, 65535, 'unscaled');
});

t.test('RFC 9293 §3.5 active open: SYN carries MSS/SACK_PERM/TS/WS like Linux; SYN-ACK completes it', async (t) => {
  const p = new ScriptedPeer();
  let established = 0;
  const { conn, syn, ack } = p.handshakeActive({ mss: 1400, ts: { val: 0, ecr: 0 }, wscale: 3, sackPermitted: true });
  conn.events.established = () => established++;
  t.equal(syn.flags, 'S');
  t.ok(syn.seg.srcPort >= 49152 && syn.seg.srcPort <= 65535, 'ephemeral port (RFC 6335)');
  t.equal(syn.options.mss, 1460);
  t.equal(syn.options.sackPermitted, true);
  t.equal(syn.options.wscale, 3);
  t.equal(syn.options.ts?.ecr, 0);
  t.equal(ack.flags, 'A');
  t.equal(ack.seq, seqAdd(syn.seq, 1));
  t.equal(ack.ack, seqAdd(p.iss, 1));
  t.equal(conn.state, 'ESTABLISHED');
  t.equal(conn.info().mss, 1400 - 12);
  t.equal(p.counters.get('tcp.conn.activeOpens'), 1);
  t.equal(established, 0, 'events installed after the fact are not replayed');
});

t.test('RFC 9293 §3.10.7.3 SYN-SENT: RST with acceptable ACK -> ECONNREFUSED; RST without ACK ignored', async (t) => {
  const p = new ScriptedPeer();
  const { conn, syn } = p.activeOpen();
  let err: string | undefined;
  conn.events.closed = (e) => (err = e?.code);
  p.send({ flags: 'R', seq: 0, ack: 0 });
  t.equal(conn.state, 'SYN-SENT', 'RST without ACK is dropped');
  p.send({ flags: 'RA', seq: 0, ack: seqAdd(syn.seq, 1) });
  t.equal(conn.state, 'CLOSED');
  t.equal(err, 'ECONNREFUSED');
  t.equal(p.counters.get('tcp.rx.rst.refused'), 1);
  t.equal(p.pending, 0, 'never answer a RST');
});

t.test('RFC 9293 §3.10.7.3 SYN-SENT: an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST>', async (t) => {
  const p = new ScriptedPeer();
  const { conn, syn } = p.activeOpen();
  p.send({ flags: 'SA', ack: seqAdd(syn.seq, 5) });
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(r.seq, seqAdd(syn.seq, 5));
  t.equal(conn.state, 'SYN-SENT');
  t.equal(p.counters.get('tcp.rx.badAckInSynSent'), 1);
});

t.test('RFC 9293 §3.5 figure 7 simultaneous open: SYN/SYN crossing -> SYN-RECEIVED -> ESTABLISHED', async (t) => {
  const p = new ScriptedPeer();
  const { conn, syn } = p.activeOpen();
  // The peer's own SYN crosses ours.
  p.send({ flags: 'S', ack: 0, options: { mss: 1460 } });
  t.equal(conn.state, 'SYN-RECEIVED');
  const sa = p.next();
  t.equal(sa.flags, 'SA');
  t.equal(sa.seq, syn.seq, 'SYN-ACK on our ISS');
  t.equal(sa.ack, seqAdd(p.iss, 1));
  // The peer's SYN-ACK (its answer to our SYN): its SYN is old, its ACK completes ours.
  p.send({ flags: 'SA', seq: p.iss, options: { mss: 1460 } });
  t.equal(conn.state, 'ESTABLISHED');
  t.equal(p.counters.get('tcp.simultaneousOpen'), 1);
  const a = p.next();
  t.equal(a.flags, 'A');
  t.equal(a.ack, seqAdd(p.iss, 1));
});

t.test('RFC 6298 §5 SYN retransmission: nothing at RTO-1, SYN at 1 s, 3 s, 7 s ...; ETIMEDOUT after synRetries', async (t) => {
  const p = new ScriptedPeer({ config: { synRetries: 3 } });
  const { conn, syn } = p.activeOpen();
  let err: string | undefined;
  conn.events.closed = (e) => (err = e?.code);
  for (const at of [1000, 3000, 7000]) {
    p.advanceTo(at - 1);
    t.equal(p.pending, 0, `nothing at ${at - 1} ms`);
    p.advanceTo(at);
    const r = p.next();
    t.equal(r.flags, 'S', `SYN again at ${at} ms`);
    t.equal(r.seq, syn.seq);
  }
  p.advanceTo(14_999);
  t.equal(conn.state, 'SYN-SENT');
  p.advanceTo(15_000);
  t.equal(conn.state, 'CLOSED');
  t.equal(err, 'ETIMEDOUT');
  t.equal(p.counters.get('tcp.tx.retransmit.syn'), 3);
  t.equal(p.counters.get('tcp.rto.giveUp'), 1);
  t.equal(p.clock.pending, 0, 'no timer left behind');
});

t.test('RFC 6298 §5 SYN-ACK retransmission; a retransmitted SYN is answered with the SYN-ACK again', async (t) => {
  const p = new ScriptedPeer({ config: { synAckRetries: 2 } });
  const { listener: l, synAck: sa } = p.passiveOpen();
  p.advanceTo(999);
  t.equal(p.pending, 0);
  p.advanceTo(1000);
  t.same([p.next().flags, p.counters.get('tcp.tx.retransmit.synAck')], ['SA', 1]);
  p.send({ flags: 'S', seq: p.iss, ack: 0, options: { mss: 1460 } });
  const again = p.next();
  t.equal(again.flags, 'SA');
  t.equal(again.seq, sa.seq);
  t.equal(p.counters.get('tcp.rx.dupSyn'), 1);
  p.advanceTo(3000);
  t.equal(p.next().flags, 'SA');
  t.equal(l.synQueue.size, 1);
  p.advanceTo(7000);
  t.equal(l.synQueue.size, 0, 'given up after synAckRetries: removed from the SYN queue');
  t.equal(p.pending, 0);
});

t.test('RFC 6298 §5.7: after a SYN timeout the data RTO starts at 3 s', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.activeOpen();
  p.advanceTo(1000);
  p.next();
  p.send({ flags: 'SA', options: { mss: 1460 } });
  p.next();
  t.equal(conn.info().rto, 3000);
});

t.test('RFC 6528 ISNs differ per tuple and advance with the clock', async (t) => {
  const p = new ScriptedPeer();
  const c1 = p.tcp.connect({ host: PEER, port: 1000, localPort: 5000 });
  const c2 = p.tcp.connect({ host: PEER, port: 1001, localPort: 5000 });
  t.not(c1.iss, c2.iss);
  p.advance(1000);
  p.tcp.run((now) => c1.abort(now));
  const c3 = p.tcp.connect({ host: PEER, port: 1000, localPort: 5000 });
  t.equal((c3.iss - c1.iss) >>> 0, 250_000, 'M ticks every 4 µs: +250000 per second');
});

t.test('RFC 9293 §3.10.4 CLOSE in SYN-SENT deletes the TCB (nothing sent); in SYN-RECEIVED the FIN waits for ESTABLISHED', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.activeOpen();
  p.tcp.run((now) => conn.shutdown(now));
  t.equal(conn.state, 'CLOSED');
  t.equal(p.pending, 0);
  p.advance(5000);
  t.equal(p.pending, 0, 'no SYN retransmission either');

  const q = new ScriptedPeer();
  const { listener: l, synAck: sa } = q.passiveOpen();
  const embryo = [...l.synQueue][0]!;
  q.tcp.run((now) => embryo.shutdown(now));
  t.equal(embryo.state, 'SYN-RECEIVED');
  t.equal(q.pending, 0, 'FIN queued, not sent');
  q.send({ ack: seqAdd(sa.seq, 1) });
  t.equal(embryo.state, 'FIN-WAIT-1');
  const fin = q.next();
  t.same([fin.flags, fin.seq], ['FA', seqAdd(sa.seq, 1)]);
});

t.test('RFC 9293 §3.10.7.4 SYN-RECEIVED (passive): a SYN with another sequence number returns it to LISTEN', async (t) => {
  const p = new ScriptedPeer();
  const { listener: l } = p.passiveOpen();
  t.equal(l.synQueue.size, 1);
  p.send({ flags: 'S', seq: seqAdd(p.iss, 5000), ack: 0, options: { mss: 1460 } });
  t.equal(l.synQueue.size, 0);
  t.equal(p.counters.get('tcp.rx.synInSynReceived'), 1);
});

t.test('accept queue full when the handshake completes: the ACK is dropped and the SYN-ACK retransmission retries', async (t) => {
  const p = new ScriptedPeer();
  const l = p.tcp.listen(80, { backlog: 1 });
  const sas = [];
  for (const port of [41000, 41001]) {
    p.port = port;
    p.send({ flags: 'S', seq: 100, ack: 0, options: { mss: 1460 } });
    sas.push(p.next());
  }
  p.port = 41000;
  p.send({ seq: 101, ack: seqAdd(sas[0]!.seq, 1) });
  t.equal(l.acceptQueue.length, 1);
  p.port = 41001;
  p.send({ seq: 101, ack: seqAdd(sas[1]!.seq, 1) });
  t.equal(l.acceptQueue.length, 1);
  t.equal(l.synQueue.size, 1, 'still embryonic');
  t.equal(p.counters.get('tcp.listen.acceptQueueFull'), 1);
  l.accept();
  p.advanceTo(1000);
  t.equal(p.next().flags, 'SA', 'SYN-ACK retransmitted');
  p.send({ seq: 101, ack: seqAdd(sas[1]!.seq, 1) });
  t.equal(l.acceptQueue.length, 1, 'now it completes');
});

t.test('RFC 9293 §3.10.7.3 SYN-SENT: a segment with neither SYN nor RST is dropped', async (t) => {
  const p = new ScriptedPeer();
  const { conn, syn } = p.activeOpen();
  p.send({ flags: 'A', ack: seqAdd(syn.seq, 1) });
  t.equal(conn.state, 'SYN-SENT');
  t.equal(p.pending, 0);
  t.equal(p.counters.get('tcp.rx.dropped.synSent'), 1);
});
