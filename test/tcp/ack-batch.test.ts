// One ACK per connection per read batch (TcpDemux.batchStart/batchEnd): in-order data a link
// batch carries is acknowledged once, at the batch's end; duplicate ACKs are never coalesced.
import t from 'tap';
import { seqAdd } from '../../lib/wire/seq.js';
import { type Out, ScriptedPeer } from '../helpers/tcp-peer.js';

const MSS = 1460;
const full = (fill = 0x61): Buffer => Buffer.alloc(MSS, fill);

/** What the peer's loss detection sees of an ACK: its number and SACK blocks, relative. */
function ackView(p: ScriptedPeer, a: Out): { flags: string; ack: number; sack: Array<[number, number]> } {
  return { flags: a.flags, ack: p.prel(a.ack), sack: (a.options.sack ?? []).map((b) => [p.prel(b.left), p.prel(b.right)] as [number, number]) };
}

t.test('RFC 5681 §4.2: six in-order full-sized segments in one batch draw one ACK for all six', async (t) => {
  const alone = new ScriptedPeer();
  alone.collect(alone.handshakePassive().conn);
  for (let i = 0; i < 6; i++) alone.send({ payload: full() });
  t.equal(alone.drain().length, 3, 'without a batch: an ACK every second segment');

  const p = new ScriptedPeer();
  const sink = p.collect(p.handshakePassive().conn);
  p.batch(() => {
    for (let i = 0; i < 6; i++) p.send({ payload: full() });
    t.equal(p.pending, 0, 'nothing inside the batch');
  });
  const acks = p.drain();
  t.equal(acks.length, 1, 'one ACK at the end of the batch');
  t.equal(acks[0]!.flags, 'A');
  t.equal(acks[0]!.ack, p.snd, 'it acknowledges all six');
  t.equal(sink.data().length, 6 * MSS);
  p.advanceTo(1000);
  t.equal(p.pending, 0, 'no delayed ACK left armed');
});

t.test('a long batch: an ACK every quarter of the receive buffer keeps the peer\'s window moving', async (t) => {
  const rcvBufSize = 64 * 1024;
  const p = new ScriptedPeer({ config: { rcvBufSize } });
  p.collect(p.handshakePassive().conn);
  p.batch(() => {
    for (let i = 0; i < 20; i++) p.send({ payload: full() });
  });
  const held = Math.ceil(rcvBufSize / 4 / MSS) * MSS;
  t.same(
    p.drain().map((a) => p.prel(a.ack) - 1),
    [held, 20 * MSS],
    'at the segment that brings 16 KiB unacknowledged, then the rest at the end',
  );
});

t.test('with the link\'s offloads a batch holds no ACK: every second segment is ACKed at once, as without a batch', async (t) => {
  const p = new ScriptedPeer({ config: { offload: true } });
  p.collect(p.handshakePassive().conn);
  p.batch(() => {
    for (let i = 0; i < 4; i++) p.send({ payload: full() });
    t.equal(p.pending, 2);
  });
  t.equal(p.pending, 2);
});

t.test('a hole in the batch: the owed ACK, then every duplicate ACK with its SACK blocks, as without the batch', async (t) => {
  const run = (batched: boolean): Array<ReturnType<typeof ackView>> => {
    const p = new ScriptedPeer();
    p.collect(p.handshakePassive({ mss: MSS, sackPermitted: true }).conn);
    const base = p.snd;
    const segs = [0, 1, 3, 4, 5].map((i) => ({ seq: seqAdd(base, i * MSS), payload: full(0x61 + i) }));
    const sendAll = (): void => segs.forEach((s) => p.send(s));
    if (batched) p.batch(sendAll);
    else sendAll();
    return p.drain().map((a) => ackView(p, a));
  };
  const batched = run(true);
  t.same(batched, run(false), 'the same ACKs the peer would count without the batch');
  t.same(
    batched.map((a) => a.ack),
    [1 + 2 * MSS, 1 + 2 * MSS, 1 + 2 * MSS, 1 + 2 * MSS],
    'the ACK for segments 0-1, then three duplicate ACKs (RFC 5681 §3.2 fast retransmit needs them)',
  );
  t.same(batched[3]!.sack, [[1 + 3 * MSS, 1 + 6 * MSS]]);
});

t.test('a single segment per batch: the delayed-ACK rules are unchanged', async (t) => {
  const p = new ScriptedPeer();
  p.collect(p.handshakePassive().conn);
  p.batch(() => p.send({ payload: full() }));
  t.equal(p.pending, 0, 'first full segment: delayed');
  p.advanceTo(39);
  p.batch(() => p.send({ payload: full() }));
  const a = p.next();
  t.equal(a.ack, p.snd, 'second full segment: ACKed at the end of its batch');
  t.equal(a.at, 39);
  p.batch(() => p.send({ payload: 'x' }));
  t.equal(p.pending, 0);
  p.advanceTo(39 + 40);
  t.equal(p.next().ack, p.snd, 'the delayed ACK 40 ms later (RFC 1122 §4.2.3.2)');
  t.equal(p.counters.get('tcp.tx.delayedAck'), 1);
});

t.test('the owed ACK rides on the reply the application writes in the batch', async (t) => {
  const p = new ScriptedPeer();
  const { conn } = p.handshakePassive();
  let got = 0;
  conn.events.readable = () => {
    p.tcp.run((now) => {
      for (let b = conn.read(now); b !== undefined; b = conn.read(now)) got += b.length;
    });
    // The request is complete: the reply is written, corked until the end of the tick.
    if (got === 2 * MSS) p.tcp.write(conn, Buffer.from('ok'));
  };
  p.batch(() => {
    p.send({ payload: full() });
    p.send({ payload: full() });
  });
  t.equal(p.pending, 0, 'the ACK waits for the corked reply');
  await new Promise((r) => setImmediate(r));
  const segs = p.drain();
  t.equal(segs.length, 1, 'no bare ACK before the reply');
  t.equal(segs[0]!.flags, 'PA');
  t.equal(segs[0]!.ack, p.snd, 'the reply acknowledges both segments');
  t.equal(segs[0]!.payload.toString(), 'ok');
});

t.test('two connections in one batch: one ACK each', async (t) => {
  const p = new ScriptedPeer();
  p.collect(p.handshakePassive().conn);
  const first = { port: p.port, snd: p.snd, rcv: p.rcv };
  p.port = 40001;
  p.snd = p.iss = seqAdd(p.iss, 100_000);
  // A second accepted connection on the same listener.
  const l = p.tcp.core.listener(p.localPort)!;
  l.onConnection = (ll) => p.collect(ll.accept()!);
  p.sendSyn();
  p.send({ flags: 'A' });
  const second = { port: p.port, snd: p.snd, rcv: p.rcv };
  p.batch(() => {
    for (let i = 0; i < 4; i++) {
      for (const c of [first, second]) {
        p.send({ srcPort: c.port, seq: c.snd, ack: c.rcv, payload: full() });
        c.snd = seqAdd(c.snd, MSS);
      }
    }
  });
  const acks = p.drain();
  t.same(
    acks.map((a) => [a.seg.dstPort, a.ack]),
    [
      [first.port, first.snd],
      [second.port, second.snd],
    ],
  );
});
