import t from 'tap';
import { SeededRng } from '../../lib/rng.js';
import { seq } from '../../lib/wire/seq.js';
import { serializeTcp } from '../../lib/wire/tcp.js';
import { WireError } from '../../lib/wire/wire-error.js';
import { LOCAL, PEER, ScriptedPeer } from '../helpers/tcp-peer.js';

t.test('hostile input: random and mutated segments never throw anything but WireError, queues stay bounded', async (t) => {
  const p = new ScriptedPeer({ config: { synBacklog: 8, backlog: 8 } });
  const { conn } = p.handshakePassive({ mss: 1460, ts: { val: 1, ecr: 0 }, sackPermitted: true, wscale: 7 });
  const sink = p.collect(conn);
  const rng = new SeededRng(42);
  let wireErrors = 0;
  const feed = (buf: Buffer, checksum: boolean) => {
    try {
      if (checksum) p.stack.handler!.receive(PEER, LOCAL, buf);
      else p.tcp.core.receive(PEER, LOCAL, buf, p.clock.now());
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      wireErrors++;
    }
  };
  for (let i = 0; i < 20_000; i++) {
    const kind = rng.u32() % 3;
    if (kind === 0) {
      feed(rng.bytes(rng.u32() % 80), true);
    } else {
      // A well-formed segment with random fields toward the connection or the listener.
      const flags = rng.u32() & 0x3f;
      const opts = rng.u32() % 2 === 0 ? { ts: { val: rng.u32(), ecr: rng.u32() }, sack: [{ left: seq(rng.u32()), right: seq(rng.u32()) }] } : {};
      const buf = serializeTcp(
        {
          srcPort: rng.u32() % 4 === 0 ? rng.u32() & 0xffff : p.port,
          dstPort: rng.u32() % 4 === 0 ? rng.u32() & 0xffff : 80,
          seq: rng.u32() % 2 === 0 ? seq(p.snd + (rng.u32() % 100_000) - 50_000) : seq(rng.u32()),
          ack: rng.u32() % 2 === 0 ? seq(p.rcv + (rng.u32() % 100_000) - 50_000) : seq(rng.u32()),
          flags,
          window: rng.u32() & 0xffff,
          options: opts,
          payload: rng.bytes(rng.u32() % 1500),
        },
        PEER,
        LOCAL,
      );
      if (kind === 2) buf[rng.u32() % buf.length] ^= 1 << rng.u32() % 8;
      feed(buf, kind === 1);
    }
    if (i % 100 === 0) p.advance(rng.u32() % 500);
  }
  t.ok(wireErrors > 0, `${wireErrors} malformed segments rejected with a WireError`);
  const l = p.tcp.core.listener(80)!;
  t.ok(l.synQueue.size <= 8 && l.acceptQueue.length <= 8, 'listener queues bounded');
  t.ok(p.tcp.core.timeWait.size <= 4096);
  t.ok(sink.data().length >= 0);
  p.advance(600_000);
  t.pass(`connection ended up ${conn.state}`);
});
