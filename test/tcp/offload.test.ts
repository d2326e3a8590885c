// TCP with offloads (TSO out, GRO in), over the scripted peer: new data leaves as super-segments
// of whole MSS-sized pieces with gso size = the effective MSS and only the pseudo-header sum in
// the checksum (the link completes it); a merged super-segment from the kernel counts as the
// many segments it stands for and is acknowledged at once (RFC 5681 §4.2).
import t from 'tap';
import { ScriptedPeer, LOCAL, PEER } from '../helpers/tcp-peer.js';
import { finishChecksum, pseudoHeaderSum } from '../../lib/wire/checksum.js';
import { seqAdd } from '../../lib/wire/seq.js';
import { TCP_FLAGS, serializeTcp } from '../../lib/wire/tcp.js';

for (const mtu of [1500, 1280]) {
  t.test(`path MTU ${mtu}: super-segments cut at the MSS, checksum left to the link`, async (t) => {
    const peer = new ScriptedPeer({ config: { offload: true, timestamps: false }, mtu });
    const { conn } = peer.handshakePassive({ mss: 1460 });
    const mss = Math.min(1460, mtu - 40);
    const data = Buffer.alloc(200_000, 7);
    const before = peer.stack.sent.length;
    peer.tcp.run((now) => conn.write(data, now, true));
    const first = peer.stack.sent.slice(before);
    t.equal(first.length, 1, 'the initial window (10 segments, RFC 6928) leaves as ONE super-segment');
    t.equal(first[0]!.gsoSize, mss, 'gso size = the effective MSS');
    t.equal(first[0]!.partialCsum, true);
    const out = peer.next();
    t.equal(out.len, 10 * mss);
    t.equal(out.seg.checksum, ~finishChecksum(pseudoHeaderSum(LOCAL, PEER, 6, out.seg.headerLength + out.len)) & 0xffff, 'the checksum field holds the pseudo-header sum');
    // Acknowledge everything, flight by flight, until all is sent.
    let sent = out.len;
    let biggest = out.len;
    peer.rcv = seqAdd(out.seq, out.len);
    peer.send({ flags: 'A' });
    while (sent < data.length) {
      const o = peer.next();
      if (o.len === 0) continue;
      t.ok(o.len % mss === 0 || sent + o.len === data.length, `whole MSS pieces but the very last (${o.len})`);
      t.ok(o.len <= 65535 - 20 - 20, 'fits one IP datagram');
      biggest = Math.max(biggest, o.len);
      sent += o.len;
      if (peer.pending === 0) {
        peer.rcv = seqAdd(o.seq, o.len);
        peer.send({ flags: 'A' });
      }
    }
    t.ok(biggest > 20 * mss, `segments grow with the window (${biggest})`);
    t.equal(peer.counters.get('tcp.tx.retransmit.rto'), 0);
  });
}

t.test('without offload: one MSS per segment, full checksum (unchanged behaviour)', async (t) => {
  const peer = new ScriptedPeer({ config: { timestamps: false } });
  const { conn } = peer.handshakePassive({ mss: 1460 });
  peer.tcp.run((now) => conn.write(Buffer.alloc(20_000, 1), now, true));
  const segs = peer.drain().filter((o) => o.len > 0);
  t.same(segs.map((o) => o.len), Array(10).fill(1460));
  t.ok(peer.stack.sent.every((s) => !s.partialCsum && s.gsoSize === 0));
});

t.test('a merged (GRO) super-segment with a trusted checksum: taken whole, acknowledged at once', async (t) => {
  const peer = new ScriptedPeer({ config: { timestamps: false } });
  const { conn } = peer.handshakePassive({ mss: 1460 });
  const got = peer.collect(conn);
  peer.drain();
  const payload = Buffer.alloc(20 * 1448);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const merged = serializeTcp({ srcPort: peer.port, dstPort: peer.localPort, seq: peer.snd, ack: peer.rcv, flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH, window: 65535, payload }, PEER, LOCAL);
  merged.writeUInt16BE(merged.readUInt16BE(16) ^ 0x5555, 16); // only the pseudo-header sum, as the kernel sends it
  t.throws(() => peer.stack.handler!.receive(PEER, LOCAL, merged), /tcp\.badChecksum/, 'not trusted: verified, and refused');
  peer.stack.handler!.receive(PEER, LOCAL, merged, true);
  t.ok(got.data().equals(payload), 'all 20 segments worth of data delivered in order');
  const acks = peer.drain();
  t.equal(acks.length, 1, 'one ACK, sent at once: more than two full-sized segments arrived (RFC 5681 §4.2)');
  t.equal(acks[0]!.ack, seqAdd(peer.snd, payload.length), 'acknowledging every byte');
});
