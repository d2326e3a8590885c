// ICMP frag-needed against forgery (issue 10 item 4): validated before anything is stored
// (RFC 5927 §5.2: quoted 4-tuple of a live connection, quoted sequence number outstanding),
// short quotes ignored, a floor at 552 like Linux (configurable), learned values per destination
// for new connections that expire after 10 minutes (RFC 1191 §6.3), listed by learnedPathMtus();
// then open connections go back to the full size too.
import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { PEER, ScriptedPeer } from '../helpers/tcp-peer.js';
import type { TcpConnection } from '../../lib/tcp/connection.js';

/** A connection with two 1460-byte segments outstanding. */
function sending(config: Record<string, unknown> = {}) {
  const p = new ScriptedPeer({ config });
  const { conn } = p.handshakePassive({ mss: 1460 });
  p.tcp.run((now) => conn.write(Buffer.alloc(2920), now));
  const segs = p.drain();
  return { p, conn, segs };
}

/** `sending()`, then a validated frag-needed for MTU 1000, and both segments acknowledged. */
function loweredTo1000() {
  const r = sending();
  r.p.tcp.pathMtu(PEER, 1000, r.p.quote(r.segs[0]!.seq));
  r.p.send({ ack: seqAdd(r.p.ourIss, 2921) });
  r.p.drain();
  return r;
}

t.test('forged or short quotes change nothing and store nothing', async (t) => {
  const { p, conn, segs } = sending();
  p.tcp.pathMtu(PEER, 1000);
  p.tcp.pathMtu(PEER, 1000, p.quote(segs[0]!.seq).subarray(0, 7));
  t.equal(p.counters.get('tcp.icmp.shortQuote'), 2, 'no quote, or fewer than 8 transport bytes: counted');
  const otherPort = p.quote(segs[0]!.seq);
  otherPort.writeUInt16BE(p.port + 1, 2);
  p.tcp.pathMtu(PEER, 1000, otherPort);
  t.equal(p.counters.get('tcp.icmp.unmatched'), 1, 'a 4-tuple that is no connection');
  p.tcp.pathMtu(PEER, 1000, p.quote(seqAdd(segs[0]!.seq, -1)));
  p.tcp.pathMtu(PEER, 1000, p.quote(seqAdd(segs[1]!.seq, 1461)));
  t.equal(p.counters.get('tcp.icmp.badSeq'), 2, 'below SND.UNA, beyond SND.MAX');
  t.equal(conn.info().mss, 1460);
  t.same(p.tcp.learnedPathMtus(), [], 'nothing learned');
  t.equal(p.pending, 0);
});

t.test('a validated frag-needed lowers the connection, floored at 552 (Linux min_pmtu), and is listed', async (t) => {
  const { p, conn, segs } = sending();
  p.tcp.pathMtu(PEER, 68, p.quote(segs[0]!.seq));
  t.equal(conn.info().mss, 512, '552 − 40, not 68 − 40');
  t.equal(p.counters.get('tcp.pmtu.floored'), 1);
  t.same(p.tcp.learnedPathMtus(), [{ ip: '10.0.0.1', mtu: 552, expiresInMs: 600_000 }]);
  t.ok(p.drain().every((o) => o.len <= 512), 'outstanding data resent at the new size');
  p.tcp.pathMtu(PEER, 1400, p.quote(seqAdd(p.ourIss, 1)));
  t.equal(p.counters.get('tcp.pmtu.notLower'), 1, 'a larger value does not raise it');

  const q = sending({ minPathMtu: 1000 });
  q.p.tcp.pathMtu(PEER, 576, q.p.quote(q.segs[0]!.seq));
  t.equal(q.conn.info().mss, 960, 'the floor is configurable (--min-pmtu)');
});

t.test('a learned path MTU serves new connections to the host for 10 minutes (RFC 1191 §6.3)', async (t) => {
  const { p } = loweredTo1000();
  p.advance(599_999);
  t.same(p.tcp.learnedPathMtus(), [{ ip: '10.0.0.1', mtu: 1000, expiresInMs: 1 }]);
  p.port = 40001;
  p.snd = p.iss;
  t.equal(p.sendSyn({ mss: 1460 }).options.mss, 960, 'a new connection starts from the learned MTU');
  p.advance(1);
  t.same(p.tcp.learnedPathMtus(), [], 'expired');
  p.port = 40002;
  p.snd = p.iss;
  t.equal(p.sendSyn({ mss: 1460 }).options.mss, 1460, 'then from the link MTU again');
});

t.test('an open connection tries the full size again when its lowered path MTU times out (RFC 1191 §6.3)', async (t) => {
  const { p, conn } = loweredTo1000();
  p.advance(599_000);
  p.tcp.run((now) => conn.write(Buffer.alloc(1460), now));
  t.same(p.drain().map((o) => o.len), [960, 500], 'still the lowered size before the timer runs out');
  p.send({ ack: seqAdd(p.ourIss, 2921 + 1460) });
  p.advance(1_000);
  p.tcp.run((now) => conn.write(Buffer.alloc(1460), now));
  t.same(p.drain().map((o) => o.len), [1460], 'one full-sized segment after it');
  t.equal(conn.info().mss, 1460);
  t.equal(p.counters.get('tcp.pmtu.raised'), 1);
});

t.test('a connection that started from a learned path MTU goes back to the link MTU when the host forgets it', async (t) => {
  const { p } = loweredTo1000();
  p.advance(300_000);
  p.port = 40001;
  p.snd = p.iss;
  let conn: TcpConnection | undefined;
  p.tcp.core.listener(p.localPort)!.onConnection = (l) => void (conn = l.accept());
  t.equal(p.sendSyn({ mss: 1460 }).options.mss, 960, 'starts from the learned MTU');
  p.send({ flags: 'A' });
  if (conn === undefined) throw new Error('not accepted');
  t.equal(conn.info().mss, 960);
  p.advance(300_000);
  p.tcp.run((now) => conn!.write(Buffer.alloc(1460), now));
  t.same(p.drain().filter((o) => o.len > 0).map((o) => o.len), [1460], 'full size once the learned value expired');
});
