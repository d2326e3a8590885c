// The per-connection deadline heap (issue 10 item 1, issue 9 item 3): the heap against a
// reference over random operations; one segment costs no scan of the connection table; a
// deadline that moves later leaves the layer's single clock timer alone (lazy), and a timer that
// fires early finds nothing due and re-arms.
import t from 'tap';
import { SeededRng } from '../../lib/rng.js';
import { DeadlineHeap } from '../../lib/tcp/deadline-heap.js';
import { ConnectionTimers } from '../../lib/tcp/timers.js';
import type { TcpConnection } from '../../lib/tcp/connection.js';
import { seqAdd } from '../../lib/wire/seq.js';
import { ScriptedPeer } from '../helpers/tcp-peer.js';

t.test('DeadlineHeap: insert, move earlier and later, delete, pop in order — as a reference map says', async (t) => {
  const rng = new SeededRng(7);
  const heap = new DeadlineHeap<number>();
  const ref = new Map<number, number>();
  const refMin = (): number => Math.min(Infinity, ...ref.values());
  for (let step = 0; step < 20_000; step++) {
    const k = rng.u32() % 200;
    const op = rng.u32() % 10;
    if (op < 6) {
      const at = rng.u32() % 1000;
      heap.set(k, at);
      ref.set(k, at);
    } else if (op < 8) {
      heap.set(k, Infinity);
      ref.delete(k);
    } else if (op < 9) {
      heap.delete(k);
      ref.delete(k);
    } else {
      const now = rng.u32() % 1000;
      const got = heap.popDue(now);
      if (got === undefined) {
        if (refMin() <= now) t.fail(`nothing popped at ${now}, min ${refMin()}`);
      } else {
        if (ref.get(got) !== refMin() || refMin() > now) t.fail(`popped ${got} at ${ref.get(got)}, min ${refMin()}`);
        ref.delete(got);
      }
    }
    if (heap.minAt !== refMin() || heap.size !== ref.size || heap.at(k) !== (ref.get(k) ?? Infinity)) {
      t.fail(`step ${step}: min ${heap.minAt} vs ${refMin()}, size ${heap.size} vs ${ref.size}`);
      return;
    }
  }
  const order: number[] = [];
  for (let k = heap.popDue(Infinity); k !== undefined; k = heap.popDue(Infinity)) order.push(ref.get(k)!);
  t.same(order, [...order].sort((a, b) => a - b), 'drained in deadline order');
  t.equal(heap.size, 0);
});

/** A listener with `n` established connections from peer ports 40000.., and the peer. */
function manyConnections(n: number) {
  const p = new ScriptedPeer({ config: { rack: false } });
  const l = p.tcp.listen(p.localPort);
  const conns: TcpConnection[] = [];
  l.onConnection = (ll) => {
    for (let c = ll.accept(); c !== undefined; c = ll.accept()) conns.push(c);
  };
  for (let i = 0; i < n; i++) {
    p.port = 40000 + i;
    p.snd = p.iss;
    p.sendSyn({ mss: 1000 });
    p.send({ flags: 'A' });
  }
  p.drain();
  return { p, conns };
}

t.test('one segment costs no scan of the connection table', async (t) => {
  const { p, conns } = manyConnections(300);
  t.equal(conns.length, 300);
  const next = ConnectionTimers.prototype.next;
  let calls = 0;
  ConnectionTimers.prototype.next = function (this: ConnectionTimers) {
    calls++;
    return next.call(this);
  };
  t.teardown(() => {
    ConnectionTimers.prototype.next = next;
  });
  p.port = 40299;
  p.snd = seqAdd(p.iss, 1);
  p.rcv = seqAdd(conns[299]!.iss, 1);
  p.send({ payload: 'x' });
  t.ok(calls < 5, `connection deadlines read for one segment: ${calls} (300 connections)`);
  t.equal(conns[299]!.readableLength, 1, 'the segment was taken');
});

t.test('lazy clock timer: deadlines that move later do not touch it; an early firing re-arms', async (t) => {
  const p = new ScriptedPeer({ config: { rack: false } });
  const { conn } = p.handshakePassive({ mss: 1000 });
  let sets = 0;
  let clears = 0;
  const set = p.clock.setTimer.bind(p.clock);
  const clear = p.clock.clearTimer.bind(p.clock);
  p.clock.setTimer = (at, fn) => {
    sets++;
    return set(at, fn);
  };
  p.clock.clearTimer = (h) => {
    clears++;
    clear(h);
  };
  p.tcp.run((now) => conn.write(Buffer.alloc(20_000), now));
  t.equal(sets, 1, 'the retransmission timer armed (200 ms), earlier than the SYN-ACK one left from the handshake');
  sets = clears = 0;
  const first = p.drain();
  // Each ACK restarts the retransmission timer later (RFC 6298 §5.3): no clock call.
  for (let i = 1; i <= 5; i++) {
    p.advanceTo(20 * i);
    p.send({ ack: seqAdd(first[0]!.seq, 1000 * i) });
  }
  t.same([sets, clears], [0, 0], 'five later deadlines: the clock timer untouched');
  // At 200 ms it fires early (the RTO has moved): nothing is sent, it re-arms for the real deadline.
  const before = p.stack.sent.length;
  p.advanceTo(200);
  t.equal(p.counters.get('tcp.rto.expired'), 0);
  t.equal(p.stack.sent.length, before, 'nothing sent at 200 ms');
  t.equal(sets, 1, 're-armed once');
  const rto = conn.timers.rtx;
  t.ok(rto > 300, `the RTO is at ${rto} ms (the last ACK at 100 + RTO)`);
  p.advanceTo(rto - 1);
  t.equal(p.counters.get('tcp.rto.expired'), 0);
  p.advanceTo(rto);
  t.equal(p.counters.get('tcp.rto.expired'), 1, 'and fires then');
});
