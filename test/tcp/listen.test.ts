import t from 'tap';
import { seq, seqAdd } from '../../lib/wire/seq.js';
import { TCP_FLAGS, serializeTcp } from '../../lib/wire/tcp.js';
import { LOCAL, PEER, ScriptedPeer } from '../helpers/tcp-peer.js';

/** A SYN from `port` with the given options; returns our answer (if any). */
function synFrom(p: ScriptedPeer, port: number, options = {}, seqNo = 1000) {
  p.port = port;
  p.send({ flags: 'S', seq: seqNo, ack: 0, options });
  return p.pending > 0 ? p.next() : undefined;
}

t.test('listen: EADDRINUSE on a second listen on the same port; port 0 picks an ephemeral one', async (t) => {
  const p = new ScriptedPeer();
  p.tcp.listen(80);
  t.throws(() => p.tcp.listen(80), { code: 'EADDRINUSE' });
  const l = p.tcp.listen(0);
  t.ok(l.port >= 49152);
});

t.test('accept queue bounded by the backlog: SYNs dropped while it is full (counted)', async (t) => {
  const p = new ScriptedPeer();
  const l = p.tcp.listen(80, { backlog: 2 });
  for (let i = 0; i < 2; i++) {
    const sa = synFrom(p, 41000 + i)!;
    p.send({ seq: 1001, ack: seqAdd(sa.seq, 1) });
  }
  t.equal(l.acceptQueue.length, 2, 'nobody accepts');
  t.equal(synFrom(p, 41005), undefined, 'third SYN dropped');
  t.equal(p.counters.get('tcp.listen.acceptQueueFull'), 1);
  l.accept();
  t.equal(synFrom(p, 41006)?.flags, 'SA', 'room again');
});

t.test('SYN queue full: SYN cookies answer statelessly; the returning ACK builds the connection (MSS/WS/SACK from the cookie)', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 2 } });
  const l = p.tcp.listen(80);
  synFrom(p, 42000);
  synFrom(p, 42001);
  t.equal(l.synQueue.size, 2);
  const opts = { mss: 1400, wscale: 5, sackPermitted: true, ts: { val: p.tsNow(), ecr: 0 } };
  const sa = synFrom(p, 42002, opts, 7777)!;
  t.equal(sa.flags, 'SA');
  t.equal(p.counters.get('tcp.synCookie.sent'), 1);
  t.equal(l.synQueue.size, 2, 'no state kept for the cookie SYN');
  t.equal(sa.options.wscale, 3);
  t.equal(sa.options.sackPermitted, true);
  t.equal(sa.options.ts!.val & 31, 5 | 16, 'WS 5 and SACK in the low TSval bits');
  let conn;
  l.onConnection = (ll) => (conn = ll.accept());
  p.send({ seq: 7778, ack: seqAdd(sa.seq, 1), options: { ts: { val: p.tsNow(), ecr: sa.options.ts!.val } }, payload: 'hi' });
  t.ok(conn, 'accepted');
  const c = conn!;
  t.equal(c.state, 'ESTABLISHED');
  t.equal(c.info().mss, 1400 - 12, 'MSS from the cookie table (1400 is in it)');
  t.equal(c.info().sndWscale, 5);
  t.equal(c.info().sack, true);
  t.equal(c.readableLength, 2, 'data on the cookie ACK is kept');
  t.equal(p.counters.get('tcp.synCookie.valid'), 1);
});

t.test('SYN queue full: a SYN for a tuple that has state is not answered with a cookie; a bad checksum is dropped before any answer', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 2 } });
  const l = p.tcp.listen(80);
  const first = synFrom(p, 42000)!;
  synFrom(p, 42001);
  t.equal(l.synQueue.size, 2, 'cookies from now on');
  const again = synFrom(p, 42000)!;
  t.equal(again.flags, 'SA');
  t.equal(again.seq, first.seq, "a retransmitted SYN gets its embryonic connection's own SYN-ACK again");
  t.equal(p.counters.get('tcp.synCookie.sent'), 0);
  p.port = 42002;
  const syn = serializeTcp({ srcPort: 42002, dstPort: 80, seq: seq(9), ack: seq(0), flags: TCP_FLAGS.SYN, window: 65535 }, PEER, LOCAL);
  syn[16] = syn[16]! ^ 0xff;
  t.throws(() => p.stack.handler!.receive(PEER, LOCAL, syn), /tcp\.badChecksum/, 'refused as on the ordinary way');
  t.equal(p.pending, 0, 'no SYN-ACK for it');
  syn[16] = syn[16]! ^ 0xff;
  p.stack.handler!.receive(PEER, LOCAL, syn);
  const sa = p.next();
  t.equal(sa.flags, 'SA');
  t.equal(sa.ack, seq(10));
  t.equal(sa.options.mss, 1460, 'our MSS; no options offered, none answered');
  t.equal(sa.options.ts, undefined);
  t.equal(p.counters.get('tcp.synCookie.sent'), 1);
  t.equal(l.synQueue.size, 2, 'no state kept');
});

t.test('SYN cookies: a forged ACK is refused with a RST; cookies older than 2 periods are invalid', async (t) => {
  const p = new ScriptedPeer({ config: { synCookies: 'always' } });
  p.tcp.listen(80);
  const sa = synFrom(p, 43000, { mss: 1460 }, 5000)!;
  p.send({ seq: 5001, ack: seqAdd(sa.seq, 2) });
  t.equal(p.next().flags, 'R');
  t.equal(p.counters.get('tcp.synCookie.invalid'), 1);
  p.advance(200_000);
  p.send({ seq: 5001, ack: seqAdd(sa.seq, 1) });
  t.equal(p.next().flags, 'R', 'expired');
  t.equal(p.counters.get('tcp.synCookie.invalid'), 2);
});

t.test('a SYN flood does not lock out a real client (SYN cookies)', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 16 } });
  const l = p.tcp.listen(80);
  let accepted = 0;
  l.onConnection = (ll) => {
    while (ll.accept()) accepted++;
  };
  for (let i = 0; i < 2000; i++) synFrom(p, 1024 + i, { mss: 1460 }, i * 7919);
  p.drain();
  t.equal(l.synQueue.size, 16, 'the SYN queue stays bounded');
  const sa = synFrom(p, 60000, { mss: 1460 }, 123)!;
  p.send({ seq: 124, ack: seqAdd(sa.seq, 1) });
  t.equal(accepted, 1, 'the real client got in');
  t.ok(p.counters.get('tcp.synCookie.sent') >= 1984);
  p.advanceTo(62_999);
  t.equal(l.synQueue.size, 16);
  p.advanceTo(63_000);
  t.equal(l.synQueue.size, 0, 'embryonic entries give up after 5 SYN-ACK retransmissions: 1+2+4+8+16+32 s');
});

t.test('a flood read in full batches: only retransmitted SYNs are answered until the flood ends; a proven client at once', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 16 } });
  const l = p.tcp.listen(80);
  l.onConnection = (ll) => void ll.accept();
  let n = 0;
  /** A batch of 64 SYNs from random sources, as a flood fills the link's read batches. */
  const floodBatch = (): void =>
    p.batch(() => {
      for (let i = 0; i < 64; i++, n++) {
        const src = (0x2d000000 | (Math.imul(n, 2654435761) & 0xffffff)) >>> 0; // 45.x.x.x
        p.stack.handler!.receive(src, LOCAL, serializeTcp({ srcPort: 1024 + (n % 60000), dstPort: 80, seq: seq(n * 7919), ack: seq(0), flags: TCP_FLAGS.SYN, window: 65535 }, src, LOCAL));
      }
    });
  floodBatch();
  t.equal(p.counters.get('tcp.synFlood.started'), 1, 'a batch of 32 or more cookie-mode SYNs is a flood');
  const answered = p.counters.get('tcp.synCookie.sent');
  t.equal(answered, 31, "cookies answered the batch up to its 32nd cookie-mode SYN, the flood's start");
  floodBatch();
  t.equal(p.counters.get('tcp.synCookie.sent'), answered, 'then flood SYNs are dropped: no answer');
  t.equal(p.counters.get('tcp.synFlood.firstDropped'), 128 - 16 - answered, 'every other cookie-mode SYN dropped, counted');
  p.drain();
  // A real client: its first SYN is dropped, its retransmission 1 s later answered.
  p.batch(() => void synFrom(p, 60000, { mss: 1460 }, 123));
  t.equal(p.pending, 0, 'the first SYN is dropped');
  p.clock.advance(1000);
  floodBatch();
  p.drain();
  let sa: ReturnType<typeof synFrom>;
  p.batch(() => (sa = synFrom(p, 60000, { mss: 1460 }, 123)));
  t.equal(sa?.flags, 'SA', 'its retransmission gets a cookie SYN-ACK');
  p.send({ seq: 124, ack: seqAdd(sa!.seq, 1) });
  t.equal(p.counters.get('tcp.synCookie.valid'), 1, 'and it connects');
  // Now proven: its next connection is answered at once, flood or not.
  floodBatch();
  p.drain();
  let again: ReturnType<typeof synFrom>;
  p.batch(() => (again = synFrom(p, 60001, { mss: 1460 }, 555)));
  t.equal(again?.flags, 'SA', 'a proven source is answered at its first SYN');
  // Two seconds of small batches (a reader that keeps up): the flood is over.
  p.clock.advance(2000);
  p.batch(() => void synFrom(p, 60002, { mss: 1460 }, 1)); // one SYN in a batch: no flood
  p.drain();
  const other = 0x0a000063;
  p.batch(() => p.stack.handler!.receive(other, LOCAL, serializeTcp({ srcPort: 5000, dstPort: 80, seq: seq(1), ack: seq(0), flags: TCP_FLAGS.SYN, window: 65535 }, other, LOCAL)));
  t.equal(p.pending, 1, "over: a stranger's first SYN is answered");
  t.equal(p.counters.get('tcp.synFlood.started'), 1);
});

t.test('SYNs outside read batches never count as a flood', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 1 } });
  p.tcp.listen(80);
  for (let i = 0; i < 200; i++) synFrom(p, 1024 + i, {}, i);
  t.equal(p.counters.get('tcp.synFlood.started'), 0);
  t.equal(p.counters.get('tcp.synCookie.sent'), 199);
});

t.test("synCookies 'never': SYNs beyond the SYN queue are dropped and counted", async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 1, synCookies: 'never' } });
  p.tcp.listen(80);
  synFrom(p, 44000);
  t.equal(synFrom(p, 44001), undefined);
  t.equal(p.counters.get('tcp.listen.synQueueFull'), 1);
});

t.test('closing a listener resets its embryonic and unaccepted connections', async (t) => {
  const p = new ScriptedPeer();
  const l = p.tcp.listen(80);
  synFrom(p, 45000);
  p.tcp.unlisten(l);
  t.equal(p.next().flags, 'R');
  p.port = 45001;
  p.send({ flags: 'S', ack: 0 });
  t.equal(p.next().flags, 'RA', 'the port is closed now');
});
