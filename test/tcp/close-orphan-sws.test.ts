import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { ScriptedPeer } from '../helpers/tcp-peer.js';

t.test('RFC 1122 §4.2.3.4 sender SWS avoidance: a small usable window is not used at once; the override timer sends it', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ win: 300 });
  p.tcp.run((now) => conn.write(Buffer.alloc(1000, 1), now));
  t.equal(p.pending, 0, '300 < min(MSS, maxSndWnd/2): held');
  t.equal(p.counters.get('tcp.tx.swsHeld'), 1);
  p.advanceTo(199);
  t.equal(p.pending, 0);
  p.advanceTo(200);
  const s = p.next();
  t.equal(s.len, 300, 'override timeout: what the window allows');
  t.equal(p.counters.get('tcp.tx.swsOverride'), 1);
});

t.test('RFC 9293 §3.8.6.2.2 receiver SWS avoidance: the right edge moves only by min(buffer/2, MSS) or more', async (t) => {
  const p = new ScriptedPeer({ config: { rcvBufSize: 10_000, windowScaling: false } });
  const { conn } = p.handshakePassive();
  for (let i = 0; i < 3; i++) p.send({ payload: Buffer.alloc(1000) });
  p.advanceTo(40);
  t.same(p.drain().map((a) => a.win), [8000, 7000]);
  // Read 100 bytes: free grows by 100 < MSS; the offered edge does not move.
  p.tcp.run((now) => conn.read(now, 100));
  p.send({ payload: Buffer.alloc(10) });
  p.advanceTo(80);
  t.equal(p.next().win, 6990, 'edge unchanged (7000 - 10), not 7090');
  p.tcp.run((now) => {
    while (conn.read(now) !== undefined);
  });
  p.send({ payload: Buffer.alloc(10) });
  p.advanceTo(120);
  t.equal(p.next().win, 9990, 'buffer free again: the edge moves');
});

t.test('close() with unread data sends RST (RFC 2525 §2.17, as Linux); without, a FIN and an orphan', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  p.send({ payload: 'unread' });
  p.tcp.run((now) => conn.close(now));
  const r = p.next();
  t.equal(r.flags, 'R');
  t.equal(conn.state, 'CLOSED');
  t.equal(p.counters.get('tcp.close.unreadData'), 1);
});

t.test('orphaned FIN-WAIT-2 gives up after finWait2TimeoutMs; data for an orphan draws RST', async (t) => {
  const p = new ScriptedPeer({ config: { finWait2TimeoutMs: 5000 } });
  const { conn } = p.handshakePassive();
  p.tcp.run((now) => conn.close(now));
  const fin = p.next();
  t.equal(fin.flags, 'FA');
  p.send({ ack: seqAdd(fin.seq, 1) });
  t.equal(conn.state, 'FIN-WAIT-2');
  p.advanceTo(4999);
  t.equal(conn.state, 'FIN-WAIT-2');
  p.advanceTo(5000);
  t.equal(conn.state, 'CLOSED');
  t.equal(p.counters.get('tcp.finWait2.timeout'), 1);

  const q = new ScriptedPeer();
  const { conn: c2 } = q.handshakePassive();
  q.tcp.run((now) => c2.close(now));
  q.next();
  q.send({ payload: 'late data' });
  t.equal(q.next().flags, 'R');
  t.equal(c2.state, 'CLOSED');
  t.equal(q.counters.get('tcp.rx.dataForOrphan'), 1);
});

t.test('a half-closed peer: our FIN and remaining data retransmitted together after go-back-N', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive({ mss: 1000 });
  p.tcp.run((now) => {
    conn.write(Buffer.alloc(1500, 7), now, false);
    conn.shutdown(now);
  });
  const segs = p.drain();
  t.same(segs.map((s) => [s.flags, s.len]), [['A', 1000], ['FPA', 500]]);
  p.send({ ack: seqAdd(p.ourIss, 1001) });
  p.advanceTo(200);
  const r = p.next();
  t.same([r.flags, r.len, p.rel(r.seq)], ['FPA', 500, 1001], 'data and FIN again');
  p.send({ ack: seqAdd(p.ourIss, 1502) });
  t.equal(conn.state, 'FIN-WAIT-2');
});

t.test('out-of-order FIN: kept until the hole fills, then CLOSE-WAIT', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  const sink = p.collect(conn);
  const base = p.snd;
  p.send({ flags: 'FA', seq: seqAdd(base, 5), payload: 'world' });
  t.equal(conn.state, 'ESTABLISHED');
  t.equal(p.next().ack, base);
  p.send({ seq: base, payload: 'hello' });
  t.equal(conn.state, 'CLOSE-WAIT');
  t.equal(p.next().ack, seqAdd(base, 11), 'data and FIN acknowledged');
  t.equal(sink.data().toString(), 'helloworld');
  t.ok(sink.ended());
});
