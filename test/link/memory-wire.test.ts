import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng } from '../../lib/rng.js';
import { Counters } from '../../lib/counters.js';
import { MemoryWire, type MemoryWireOptions } from '../../lib/link/memory-wire.js';
import { testFrame, frameId } from '../helpers/frames.js';

type Arrival = { at: number; id: number; frame: Buffer };

/** A wire on a FakeClock with arrival logs at both ends. */
function setup(opts: Partial<MemoryWireOptions> = {}, seed = 1) {
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(seed), ...opts });
  const atA: Arrival[] = [];
  const atB: Arrival[] = [];
  wire.a.onFrame((frame) => atA.push({ at: clock.now(), id: frameId(frame), frame }));
  wire.b.onFrame((frame) => atB.push({ at: clock.now(), id: frameId(frame), frame }));
  return { clock, wire, atA, atB };
}

/** Every counter adds up: each frame sent (plus each duplicate) is delivered, dropped or still in flight. */
function balanced(wire: MemoryWire): boolean {
  const c = wire.counters;
  return c.get('wire.sent') + c.get('wire.duplicated') === c.get('wire.delivered') + c.sum('wire.drop.') + wire.inFlight;
}

t.test('each end is a Link with its own locally administered unicast MAC and the MTU', async (t) => {
  const { wire } = setup({ mtu: 9000 });
  t.equal(wire.a.mac.length, 6);
  t.equal(wire.b.mac.length, 6);
  t.notSame(wire.a.mac, wire.b.mac);
  for (const mac of [wire.a.mac, wire.b.mac]) t.equal(mac[0]! & 0x03, 0x02, 'locally administered, unicast');
  t.equal(wire.a.mtu, 9000);
  t.equal(wire.b.mtu, 9000);
  const custom = new MemoryWire({ clock: new FakeClock(), rng: new SeededRng(1), macA: '02:11:22:33:44:55' });
  t.equal(custom.a.mac.toString('hex'), '021122334455');
  t.throws(() => new MemoryWire({ clock: new FakeClock(), rng: new SeededRng(1), loss: 2 }), RangeError);
  t.throws(() => new MemoryWire({ clock: new FakeClock(), rng: new SeededRng(1), mtu: 10 }), RangeError);
  t.throws(() => new MemoryWire({ clock: new FakeClock(), rng: new SeededRng(1), bandwidthBps: 0 }), RangeError);
});

t.test('frames cross in both directions through the clock, copied, even with delay 0', async (t) => {
  const { clock, wire, atA, atB } = setup();
  const f = testFrame(1);
  const original = Buffer.from(f);
  wire.a.send(f);
  wire.b.send(testFrame(2));
  f.fill(0); // the sender reuses its buffer at once
  t.equal(atB.length, 0, 'never synchronous');
  t.equal(clock.pending, 1, 'one timer for the whole wire');
  clock.advance(0);
  t.same(atB.map((x) => x.id), [1]);
  t.same(atA.map((x) => x.id), [2]);
  t.same(atB[0]!.frame, original, 'the receiver got the bytes as they were at send time');
  t.equal(atB[0]!.at, 0);
  t.equal(wire.counters.get('wire.sent'), 2);
  t.equal(wire.counters.get('wire.delivered'), 2);
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('a fixed delay is exact, and frames keep their order', async (t) => {
  const { clock, wire, atB } = setup({ delayMs: 10 });
  wire.a.send(testFrame(1));
  clock.advance(3);
  wire.a.send(testFrame(2));
  clock.advance(6);
  t.equal(atB.length, 0, 'nothing at 9 ms');
  clock.advance(1);
  t.same(atB, [{ at: 10, id: 1, frame: testFrame(1) }]);
  clock.advance(2);
  t.equal(atB.length, 1, 'nothing at 12 ms');
  clock.advance(1);
  t.same(atB.map((x) => [x.at, x.id]), [[10, 1], [13, 2]]);
});

t.test('a receiver that replies at once gets its answer through the clock too (ping-pong at delay 0)', async (t) => {
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1) });
  const log: string[] = [];
  wire.a.onFrame((f) => {
    log.push(`a<${frameId(f)}`);
    if (frameId(f) < 6) wire.a.send(testFrame(frameId(f) + 1));
  });
  wire.b.onFrame((f) => {
    log.push(`b<${frameId(f)}`);
    wire.b.send(testFrame(frameId(f) + 1));
  });
  wire.a.send(testFrame(1));
  clock.advance(0);
  t.same(log, ['b<1', 'a<2', 'b<3', 'a<4', 'b<5', 'a<6']);
  t.equal(clock.pending, 0);
});

t.test('a receiver that throws does not stall the wire', async (t) => {
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1) });
  const got: number[] = [];
  wire.b.onFrame((f) => {
    got.push(frameId(f));
    if (frameId(f) === 1) throw new Error('boom');
  });
  wire.a.send(testFrame(1));
  wire.a.send(testFrame(2));
  t.throws(() => clock.advance(0), /boom/);
  clock.advance(0);
  t.same(got, [1, 2]);
  t.equal(clock.pending, 0);
});

t.test('frames longer than mtu + 14 are dropped and counted', async (t) => {
  const { clock, wire, atB } = setup({ mtu: 576 });
  wire.a.send(testFrame(1, 590));
  wire.a.send(testFrame(2, 591));
  wire.a.send(testFrame(3, 60));
  clock.advance(0);
  t.same(atB.map((x) => x.id), [1, 3]);
  t.equal(wire.counters.get('wire.drop.mtu'), 1);
  const def = setup();
  def.wire.b.send(testFrame(1, 1514));
  def.wire.b.send(testFrame(2, 1515));
  def.clock.advance(0);
  t.same(def.atA.map((x) => x.id), [1]);
  t.equal(def.wire.counters.get('wire.drop.mtu'), 1);
  t.ok(balanced(def.wire));
});

t.test('bottleneck: each frame leaves at max(now, previous departure) + size*8/bps, then the delay', async (t) => {
  // 8 Mbit/s = 1 byte per microsecond: a 1000-byte frame takes exactly 1 ms.
  const { clock, wire, atB, atA } = setup({ bandwidthBps: 8_000_000, delayMs: 5 });
  for (let i = 1; i <= 3; i++) wire.a.send(testFrame(i, 1000));
  wire.a.send(testFrame(4, 500)); // 0.5 ms
  wire.b.send(testFrame(99, 1000)); // the other direction has its own bottleneck
  clock.advance(20);
  t.same(atB.map((x) => [x.at, x.id]), [[6, 1], [7, 2], [8, 3], [8.5, 4]]);
  t.same(atA.map((x) => [x.at, x.id]), [[6, 99]]);
  // Idle again: a frame sent at 20 ms departs at 21 and arrives at 26.
  wire.a.send(testFrame(5, 1000));
  clock.advance(5);
  t.equal(atB.length, 4, 'not before 26 ms');
  clock.advance(1);
  t.same(atB[4], { at: 26, id: 5, frame: testFrame(5, 1000) });
  // Sent while the previous one is still serializing: waits for it.
  wire.a.send(testFrame(6, 1000)); // t=26: departs 27
  clock.advance(0.5);
  wire.a.send(testFrame(7, 1000)); // t=26.5: departs max(26.5, 27) + 1 = 28
  clock.advance(10);
  t.same(atB.slice(5).map((x) => [x.at, x.id]), [[32, 6], [33, 7]]);
  t.equal(wire.counters.get('wire.drop.queue'), 0);
});

t.test('bottleneck queue: frames beyond queueLimit waiting are tail-dropped', async (t) => {
  const { clock, wire, atB } = setup({ bandwidthBps: 8_000_000, queueLimit: 2 });
  for (let i = 1; i <= 5; i++) wire.a.send(testFrame(i, 1000));
  // 1 serializing + 2 waiting; 4 and 5 are dropped.
  t.equal(wire.counters.get('wire.drop.queue'), 2);
  clock.advance(1); // frame 1 has left: room for one more
  wire.a.send(testFrame(6, 1000));
  wire.a.send(testFrame(7, 1000));
  t.equal(wire.counters.get('wire.drop.queue'), 3);
  clock.advance(10);
  t.same(atB.map((x) => [x.at, x.id]), [[1, 1], [2, 2], [3, 3], [4, 6]]);
  t.ok(balanced(wire));
  // queueLimit 0: only the frame on the wire.
  const z = setup({ bandwidthBps: 8_000_000, queueLimit: 0 });
  z.wire.a.send(testFrame(1, 1000));
  z.wire.a.send(testFrame(2, 1000));
  z.clock.advance(5);
  t.same(z.atB.map((x) => x.id), [1]);
  t.equal(z.wire.counters.get('wire.drop.queue'), 1);
});

t.test('bottleneck + fixed delay gives a steady rate: 1000 frames at 10 Mbit/s', async (t) => {
  const { clock, wire, atB } = setup({ bandwidthBps: 10_000_000, delayMs: 20, queueLimit: 10_000 });
  for (let i = 0; i < 1000; i++) wire.a.send(testFrame(i, 1250)); // 1 ms each
  clock.advance(2000);
  t.equal(atB.length, 1000);
  t.equal(atB[0]!.at, 21);
  t.ok(Math.abs(atB[999]!.at - 1020) < 1e-6, `last at ${atB[999]!.at}`);
  t.ok(atB.every((x, i) => x.id === i), 'in order');
});

t.test('a bottleneck that never drains keeps exact departures over thousands of frames', async (t) => {
  const { clock, wire, atB } = setup({ bandwidthBps: 10_000_000, delayMs: 7, queueLimit: 100_000 });
  // 1 ms per frame offered every 0.75 ms: the queue only grows.
  for (let i = 0; i < 4000; i++) {
    wire.a.send(testFrame(i, 1250));
    clock.advance(0.75);
  }
  clock.advance(2000);
  t.equal(atB.length, 4000);
  t.ok(atB.every((x, i) => x.id === i && x.at === i + 1 + 7), 'frame i arrives at exactly (i + 1) ms + delay');
});

t.test('seeded loss: about the configured rate over 10k frames, and exactly reproducible', async (t) => {
  const run = (seed: number) => {
    const { clock, wire, atB } = setup({ loss: 0.1 }, seed);
    for (let i = 0; i < 10_000; i++) wire.a.send(testFrame(i));
    clock.advance(0);
    t.ok(balanced(wire));
    t.equal(wire.counters.get('wire.drop.loss') + atB.length, 10_000);
    return atB.map((x) => x.id);
  };
  const one = run(42);
  const lost = 10_000 - one.length;
  t.ok(lost > 850 && lost < 1150, `lost ${lost} of 10000 at p=0.1`);
  t.same(run(42), one, 'same seed, same frames lost');
  t.notSame(run(43), one, 'another seed, other frames lost');
});

t.test('loss 0 and 1 are exact', async (t) => {
  const none = setup({ loss: 0 });
  const all = setup({ loss: 1 });
  for (let i = 0; i < 100; i++) {
    none.wire.a.send(testFrame(i));
    all.wire.a.send(testFrame(i));
  }
  none.clock.advance(0);
  all.clock.advance(0);
  t.equal(none.atB.length, 100);
  t.equal(all.atB.length, 0);
  t.equal(all.wire.counters.get('wire.drop.loss'), 100);
});

t.test('duplicates arrive twice, byte for byte, as separate buffers', async (t) => {
  const { clock, wire, atB } = setup({ duplicate: 0.2 }, 7);
  for (let i = 0; i < 1000; i++) wire.a.send(testFrame(i));
  clock.advance(0);
  const dup = wire.counters.get('wire.duplicated');
  t.ok(dup > 150 && dup < 250, `duplicated ${dup} of 1000 at p=0.2`);
  t.equal(atB.length, 1000 + dup);
  const seen = new Map<number, Buffer[]>();
  for (const x of atB) seen.set(x.id, [...(seen.get(x.id) ?? []), x.frame]);
  const twice = [...seen.values()].filter((v) => v.length === 2);
  t.equal(twice.length, dup);
  t.ok(twice.every(([p, q]) => p!.equals(q!) && p !== q && p!.equals(testFrame(frameId(p!)))));
  t.ok(balanced(wire));
});

t.test('reordered frames are held back and overtaken; jitter alone never reorders', async (t) => {
  const { clock, wire, atB } = setup({ reorder: 0.1, delayMs: 5 }, 3);
  // One frame every 0.5 ms: a frame held back by the default extra delay (= delayMs) is
  // overtaken by the next ten.
  for (let i = 0; i < 400; i++) {
    wire.a.send(testFrame(i));
    clock.advance(0.5);
  }
  clock.advance(20);
  const reordered = wire.counters.get('wire.reordered');
  t.ok(reordered > 20 && reordered < 65, `reordered ${reordered} of 400 at p=0.1`);
  t.equal(atB.length, 400, 'reordering loses nothing');
  const ids = atB.map((x) => x.id);
  t.same([...ids].sort((p, q) => p - q), [...Array(400).keys()]);
  // Held-back frames took delay + extra (10 ms), the others exactly the delay (5 ms); every held
  // frame with later frames behind it arrives after a higher id, and only those do.
  const held = new Set(atB.filter((x) => Math.abs(x.at - x.id * 0.5 - 10) < 1e-9).map((x) => x.id));
  t.equal(held.size, reordered);
  t.ok(atB.every((x) => held.has(x.id) || Math.abs(x.at - x.id * 0.5 - 5) < 1e-9), 'every frame took 5 or 10 ms');
  let maxSoFar = -1;
  const late = new Set<number>();
  for (const id of ids) {
    if (id < maxSoFar) late.add(id);
    maxSoFar = Math.max(maxSoFar, id);
  }
  t.ok(late.size > 0);
  t.ok([...late].every((id) => held.has(id)), 'only held frames are overtaken');
  t.ok([...held].every((id) => id >= 380 || late.has(id)), 'held frames are overtaken');
  const j = setup({ delayMs: 10, jitterMs: 4 }, 5);
  for (let i = 0; i < 500; i++) {
    j.wire.a.send(testFrame(i));
    j.clock.advance(0.25);
  }
  j.clock.advance(30);
  t.same(j.atB.map((x) => x.id), [...Array(500).keys()], 'jitter keeps the order');
  const delays = j.atB.map((x) => x.at - x.id * 0.25);
  t.ok(delays.every((d) => d >= 6 - 1e-9 && d <= 14 + 1e-9), 'each delay within delay ± jitter (or held for order)');
  t.ok(new Set(delays.map((d) => d.toFixed(6))).size > 100, 'delays vary');
  t.equal(j.wire.counters.get('wire.reordered'), 0);
});

t.test('reorder with delay 0 (frames sent together): held back 1 ms by default', async (t) => {
  const { clock, wire, atB } = setup({ reorder: 0.25 }, 11);
  for (let i = 0; i < 40; i++) wire.a.send(testFrame(i));
  clock.advance(0);
  const r = wire.counters.get('wire.reordered');
  t.ok(r > 0);
  t.equal(atB.length, 40 - r, 'the others arrive at once');
  clock.advance(1);
  t.equal(atB.length, 40);
  t.ok(atB.slice(40 - r).every((x) => x.at === 1));
});

t.test('corruption flips exactly one bit of the copy, and is counted', async (t) => {
  const { clock, wire, atB } = setup({ corrupt: 1 }, 9);
  const sent = [...Array(200).keys()].map((i) => testFrame(i, 60 + i));
  for (const f of sent) wire.a.send(f);
  clock.advance(0);
  t.equal(wire.counters.get('wire.corrupted'), 200);
  const bitsAt = new Set<number>();
  atB.forEach((x, i) => {
    const orig = sent[i]!;
    t.not(x.frame, orig);
    let bits = 0;
    for (let k = 0; k < orig.length; k++) {
      const d = orig[k]! ^ x.frame[k]!;
      if (d !== 0) bitsAt.add(k);
      for (let v = d; v; v &= v - 1) bits++;
    }
    if (bits !== 1) t.fail(`frame ${i}: ${bits} bits differ`);
  });
  t.ok(bitsAt.size > 50, 'the flipped bit lands anywhere in the frame');
  t.same(sent[0], testFrame(0, 60), "the sender's buffer is untouched");

  const some = setup({ corrupt: 0.3 }, 9);
  for (let i = 0; i < 1000; i++) some.wire.a.send(testFrame(i));
  some.clock.advance(0);
  const n = some.wire.counters.get('wire.corrupted');
  t.ok(n > 250 && n < 350, `corrupted ${n} of 1000 at p=0.3`);
  t.equal(some.atB.filter((x, i) => !x.frame.equals(testFrame(i))).length, n, 'exactly the counted frames differ');
});

t.test('closing an end stops delivery to it, also of frames in flight', async (t) => {
  const { clock, wire, atA, atB } = setup({ delayMs: 10 });
  wire.a.send(testFrame(1));
  wire.b.send(testFrame(2));
  clock.advance(5);
  await wire.b.close();
  wire.a.send(testFrame(3)); // to a closed end
  wire.b.send(testFrame(4)); // from a closed end
  clock.advance(20);
  t.same(atB, [], 'nothing reaches the closed end');
  t.same(atA.map((x) => x.id), [2], 'what b sent before closing still arrives');
  t.equal(wire.counters.get('wire.drop.closed'), 3);
  await wire.a.close();
  t.equal(clock.pending, 0, 'no timer left');
  t.ok(balanced(wire));
});

t.test('closing drops in-flight frames at once and disarms the timer', async (t) => {
  const { clock, wire } = setup({ delayMs: 50 });
  for (let i = 0; i < 5; i++) wire.a.send(testFrame(i));
  t.equal(clock.pending, 1);
  t.equal(wire.inFlight, 5);
  await wire.b.close();
  t.equal(wire.inFlight, 0);
  t.equal(clock.pending, 0);
  t.equal(wire.counters.get('wire.drop.closed'), 5);
});

t.test('an end without a receiver counts drop.noReceiver', async (t) => {
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1) });
  wire.a.send(testFrame(1));
  clock.advance(0);
  t.equal(wire.counters.get('wire.drop.noReceiver'), 1);
  t.equal(wire.counters.get('wire.delivered'), 0);
});

t.test('all faults together: counters balance and a seed reproduces the run exactly', async (t) => {
  const opts = { loss: 0.05, delayMs: 3, jitterMs: 2, reorder: 0.05, duplicate: 0.05, corrupt: 0.05, bandwidthBps: 50_000_000, queueLimit: 20 };
  const run = (seed: number) => {
    const { clock, wire, atA, atB } = setup(opts, seed);
    for (let i = 0; i < 3000; i++) {
      wire.a.send(testFrame(i, 60 + (i % 1400)));
      if (i % 3 === 0) wire.b.send(testFrame(i, 100));
      clock.advance(0.1);
    }
    t.ok(balanced(wire), 'balanced mid-run');
    clock.advance(100);
    t.ok(balanced(wire), 'balanced at the end');
    t.equal(wire.inFlight, 0);
    t.equal(clock.pending, 0);
    for (const k of ['wire.drop.loss', 'wire.drop.queue', 'wire.duplicated', 'wire.reordered', 'wire.corrupted'])
      t.ok(wire.counters.get(k) > 0, `${k} happened`);
    const log = (xs: Arrival[]) => xs.map((x) => `${x.at.toFixed(6)} ${x.frame.toString('hex')}`).join('\n');
    return { log: log(atB) + '\n--\n' + log(atA), counters: wire.counters.snapshot() };
  };
  const one = run(2024);
  const two = run(2024);
  t.equal(two.log, one.log, 'identical arrivals (time, bytes) for the same seed');
  t.same(two.counters, one.counters);
  t.not(run(2025).log, one.log);
});

t.test('counters can be shared with the caller', async (t) => {
  const counters = new Counters();
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1), counters });
  wire.a.send(testFrame(1));
  t.equal(wire.counters, counters);
  t.equal(counters.get('wire.sent'), 1);
});
