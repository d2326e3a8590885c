import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { ScriptedPeer } from '../helpers/tcp-peer.js';

t.test('RFC 9293 §3.10.7.1 closed port: SYN -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (as Linux)', async (t) => {
  const p = new ScriptedPeer();
  p.send({ flags: 'S', ack: 0, options: { mss: 1460 } });
  const r = p.next();
  t.equal(r.flags, 'RA');
  t.equal(r.seq, 0);
  t.equal(r.ack, seqAdd(p.iss, 1), 'the SYN counts one');
  t.equal(r.win, 0);
  t.equal(p.counters.get('tcp.tx.rst.closedPort'), 1);
});

t.test('RFC 9293 §3.10.7.1 closed port: data+FIN without ACK counts every octet and the FIN', async (t) => {
  const p = new ScriptedPeer();
  p.send({ flags: 'FP', payload: 'abcd' });
  const r = p.next();
  t.equal(r.ack, seqAdd(p.iss, 5));
});

t.test('RFC 9293 §3.10.7.1 closed port: an ACK -> <SEQ=SEG.ACK><CTL=RST>', async (t) => {
  const p = new ScriptedPeer();
  p.send({ flags: 'A', ack: 12345 });
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(r.seq, 12345);
  t.equal(r.ack, 0);
});

t.test('never answer a RST (closed port, listener)', async (t) => {
  const p = new ScriptedPeer();
  p.send({ flags: 'R' });
  p.send({ flags: 'RA' });
  p.tcp.listen(80);
  p.send({ flags: 'R' });
  t.equal(p.pending, 0);
  t.equal(p.counters.get('tcp.rx.rst.ignored'), 3);
});

t.test('RFC 9293 §3.10.7.2 LISTEN: an ACK draws <SEQ=SEG.ACK><CTL=RST>', async (t) => {
  const p = new ScriptedPeer();
  p.tcp.listen(80);
  p.send({ flags: 'A', ack: 999 });
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(r.seq, 999);
  t.equal(p.counters.get('tcp.rx.ackToListener'), 1);
});

t.test('RFC 9293 §3.10.7.2 LISTEN: a SYN-ACK is an ACK too: <SEQ=SEG.ACK><CTL=RST>, no connection', async (t) => {
  const p = new ScriptedPeer();
  p.tcp.listen(80);
  p.send({ flags: 'SA', ack: 4242, options: { mss: 1460 } });
  const r = p.next();
  t.same([r.flags, r.seq as number], ['R', 4242]);
  t.equal(p.counters.get('tcp.rx.synAckToListener'), 1);
  t.equal([...p.tcp.core.connections()].length, 0);
});

t.test('RFC 5961 §3.2: RST at exactly RCV.NXT resets (ECONNRESET)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'R', seq: p.snd });
  t.equal(conn.state, 'CLOSED');
  t.equal(sink.closedWith(), 'ECONNRESET');
  t.equal(p.counters.get('tcp.rx.rst.valid'), 1);
  t.equal(p.pending, 0);
});

t.test('after a RST closed the connection, its 4-tuple is a closed port again (no stale lookup)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakeActive();
  p.send({ payload: 'one' });
  p.send({ flags: 'R' });
  t.equal(conn.state, 'CLOSED');
  p.drain();
  p.send({ payload: 'two' });
  const r = p.next();
  t.equal(r.flags, 'R', 'RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>');
  t.equal(p.counters.get('tcp.tx.rst.closedPort'), 1);
});

t.test('RFC 5961 §3.2: RST in the window but not at RCV.NXT -> challenge ACK; out of window -> dropped', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ flags: 'R', seq: seqAdd(p.snd, 100) });
  t.equal(conn.state, 'ESTABLISHED');
  const ca = p.next();
  t.equal(ca.flags, 'A');
  t.equal(ca.ack, p.snd);
  t.equal(p.counters.get('tcp.tx.challengeAck'), 1);
  p.send({ flags: 'R', seq: seqAdd(p.snd, 10_000_000) });
  t.equal(p.pending, 0);
  t.equal(p.counters.get('tcp.rx.rst.outOfWindow'), 1);
  t.equal(conn.state, 'ESTABLISHED');
});

t.test('RFC 5961 §4: a SYN in ESTABLISHED draws a challenge ACK and changes nothing', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ flags: 'S', seq: 42, ack: 0 });
  const ca = p.next();
  t.equal(ca.flags, 'A');
  t.equal(ca.ack, p.snd);
  t.equal(conn.state, 'ESTABLISHED');
  t.equal(p.counters.get('tcp.rx.synInSynchronized'), 1);
});

t.test('RFC 5961 §7: challenge ACKs are rate-limited per second', async (t) => {
  const p = new ScriptedPeer({ config: { challengeAckLimit: 2 } });
  p.handshakePassive();
  for (let i = 0; i < 5; i++) p.send({ flags: 'S', seq: 42 + i, ack: 0 });
  t.equal(p.drain().length, 2);
  t.equal(p.counters.get('tcp.challengeAck.rateLimited'), 3);
  p.advance(1000);
  p.send({ flags: 'S', seq: 50, ack: 0 });
  t.equal(p.drain().length, 1, 'a new second, a new budget');
});

t.test('RFC 5961 §5.2: an ACK for data never sent is answered with an ACK and dropped', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'PA', ack: seqAdd(p.ourIss, 1000), payload: 'x' });
  t.equal(p.next().ack, seqAdd(p.iss, 1), 'data not taken');
  t.equal(sink.data().length, 0);
  t.equal(p.counters.get('tcp.rx.ackTooNew'), 1);
});

t.test('RFC 9293 §3.10.7.4 first: an unacceptable segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'PA', seq: seqAdd(p.snd, -10), payload: 'old' });
  const a = p.next();
  t.equal(a.ack, p.snd);
  t.equal(p.rel(a.seq), 1);
  t.equal(p.counters.get('tcp.rx.duplicate'), 1);
  p.send({ flags: 'PA', seq: seqAdd(p.snd, 1_000_000), payload: 'far' });
  t.equal(p.next().ack, p.snd);
  t.equal(p.counters.get('tcp.rx.outOfWindow'), 1);
  t.equal(sink.data().length, 0);
  t.equal(conn.state, 'ESTABLISHED');
});

t.test('RFC 9293 §3.10.7.4: a segment overlapping RCV.NXT is trimmed to the new part', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ payload: 'abc' });
  p.send({ seq: seqAdd(p.snd, -3), payload: 'abcdef' });
  t.equal(sink.data().toString(), 'abcdef');
  t.equal(p.counters.get('tcp.rx.partialDuplicate'), 1);
  void conn;
});

t.test('RFC 7323 §5.3 PAWS: a segment with an old TSval is dropped (with an ACK)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, ts: { val: 1000, ecr: 0 } });
  const sink = p.collect(conn);
  const now = p.tsNow();
  p.send({ payload: 'new', options: { ts: { val: now + 1000, ecr: 0 } } });
  p.send({ payload: 'old', options: { ts: { val: now + 500, ecr: 0 } } });
  t.equal(sink.data().toString(), 'new', 'the old-timestamped segment is not delivered');
  t.equal(p.counters.get('tcp.rx.paws'), 1);
  t.equal(p.drain().pop()!.ack, seqAdd(p.iss, 4));
  void conn;
});

t.test('RFC 7323 §4.3 with RFC 5961 §5: a segment dropped for its ACK does not raise TS.Recent (no PAWS lock-out)', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, ts: { val: 1000, ecr: 0 } });
  const sink = p.collect(conn);
  // Forged: the right sequence number, an ACK for data never sent, a TSval far in the future.
  p.send({ seq: p.snd, ack: seqAdd(p.ourIss, 100_000), options: { ts: { val: p.tsNow() + 1_000_000, ecr: 0 } } });
  t.equal(p.counters.get('tcp.rx.ackTooNew'), 1, 'dropped for its ACK');
  const challenge = p.next();
  t.equal(challenge.flags, 'A', 'the challenge ACK');
  t.equal(challenge.options.ts?.ecr, p.tsNow(), 'it echoes the real TS.Recent, not the forged TSval');
  p.send({ payload: 'real' });
  t.equal(sink.data().toString(), 'real', 'the real peer is still heard');
  t.equal(p.counters.get('tcp.rx.paws'), 0);
  void conn;
});

t.test('RFC 7323 §3.2: once negotiated, a segment without timestamps is dropped silently', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1460, ts: { val: 1000, ecr: 0 } });
  const sink = p.collect(conn);
  p.send({ payload: 'x', options: {} });
  t.equal(sink.data().length, 0);
  t.equal(p.counters.get('tcp.rx.missingTimestamp'), 1);
  p.advance(100);
  t.equal(p.pending, 0);
});

t.test('RFC 9293 §3.10.7.4 SYN-RECEIVED: a bad ACK draws <SEQ=SEG.ACK><CTL=RST>; a RST returns to LISTEN', async (t) => {
  const p = new ScriptedPeer();
  const { listener: l, synAck: sa } = p.passiveOpen();
  p.send({ flags: 'A', ack: seqAdd(sa.seq, 7) });
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(r.seq, seqAdd(sa.seq, 7));
  t.equal(l.synQueue.size, 1, 'still waiting');
  p.send({ flags: 'R' });
  t.equal(l.synQueue.size, 0, 'forgotten');
  t.equal(p.pending, 0);
});

t.test('RFC 9293 §3.10.7.4 second: RST in FIN-WAIT-1 / CLOSE-WAIT -> ECONNRESET; in LAST-ACK / CLOSING -> closed quietly', async (t) => {
  const cases: Array<[string, (p: ScriptedPeer, c: import('../../lib/tcp/connection.js').TcpConnection) => void, string | undefined]> = [
    ['FIN-WAIT-1', (p, c) => p.tcp.run((now) => c.shutdown(now)), 'ECONNRESET'],
    ['CLOSE-WAIT', (p) => p.send({ flags: 'FA' }), 'ECONNRESET'],
    ['LAST-ACK', (p, c) => (p.send({ flags: 'FA' }), p.tcp.run((now) => c.shutdown(now))), undefined],
    ['CLOSING', (p, c) => (p.tcp.run((now) => c.shutdown(now)), p.send({ flags: 'FA' })), undefined],
  ];
  for (const [state, drive, code] of cases) {
    const p = new ScriptedPeer();
    const { conn } = p.handshakePassive();
    const sink = p.collect(conn);
    drive(p, conn);
    t.equal(conn.state, state);
    p.drain();
    p.send({ flags: 'R', seq: p.snd });
    t.equal(conn.state, 'CLOSED', `${state} + RST -> CLOSED`);
    t.equal(sink.closedWith(), code, `${state}: ${code ?? 'no error'}`);
    t.equal(p.pending, 0);
  }
});

t.test('RFC 9293 §3.10.7.4 fifth: a segment without ACK in a synchronized state is dropped', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  p.send({ flags: 'P', payload: 'no ack bit' });
  t.equal(sink.data().length, 0);
  t.equal(p.counters.get('tcp.rx.noAck'), 1);
  t.equal(conn.state, 'ESTABLISHED');
});

t.test('RFC 9293 §3.10.7.3: data and FIN on the SYN-ACK are taken after the handshake', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.activeOpen();
  const sink = p.collect(conn);
  p.send({ flags: 'FSPA', payload: 'early', options: { mss: 1460 } });
  t.equal(conn.state, 'CLOSE-WAIT');
  t.equal(sink.data().toString(), 'early');
  const a = p.next();
  t.equal(a.ack, seqAdd(p.iss, 7), 'SYN + 5 bytes + FIN');
});

t.test('RFC 1122 §4.2.3.10: segments to a broadcast address are dropped silently', async (t) => {
  const p = new ScriptedPeer();
  const { serializeTcp } = await import('../../lib/wire/tcp.js');
  const { parseIp } = await import('../../lib/wire/ip-address.js');
  const bcast = parseIp('10.0.0.255');
  const buf = serializeTcp({ srcPort: 1, dstPort: 80, seq: seqAdd(p.iss, 0), ack: seqAdd(p.iss, 0), flags: 2, window: 100 }, parseIp('10.0.0.1'), bcast);
  p.stack.handler!.receive(parseIp('10.0.0.1'), bcast, buf);
  t.equal(p.pending, 0, 'no RST');
  t.equal(p.counters.get('tcp.rx.notUnicast'), 1);
});
