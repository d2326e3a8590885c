import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng } from '../../lib/rng.js';
import { Counters } from '../../lib/counters.js';
import { FaultLink, type FaultLinkOptions } from '../../lib/link/fault-link.js';
import { MemoryWire } from '../../lib/link/memory-wire.js';
import { RecordingLink } from '../helpers/recording-link.js';
import { testFrame, frameId } from '../helpers/frames.js';

function setup(opts: Partial<FaultLinkOptions> = {}, seed = 1) {
  const clock = new FakeClock();
  const inner = new RecordingLink(1400);
  const link = new FaultLink(inner, { clock, rng: new SeededRng(seed), ...opts });
  const got: { at: number; frame: Buffer }[] = [];
  link.onFrame((frame) => got.push({ at: clock.now(), frame }));
  return { clock, inner, link, got };
}

t.test('it is the inner link as far as MAC and MTU go', async (t) => {
  const { inner, link } = setup();
  t.equal(link.mac, inner.mac);
  t.equal(link.mtu, 1400);
});

t.test('without faults or delay, frames pass straight through in both directions', async (t) => {
  const { clock, inner, link, got } = setup();
  const out = testFrame(1);
  link.send(out);
  t.same(inner.sent, [out], 'sent synchronously');
  const inFrame = testFrame(2);
  inner.inject(inFrame);
  t.equal(got.length, 1);
  t.equal(got[0]!.frame, inFrame, 'no copy when nothing changes it');
  t.equal(clock.pending, 0, 'no timers');
  t.equal(link.counters.get('fault.sent'), 2);
  t.equal(link.counters.get('fault.delivered'), 2);
});

t.test('loss applies in both directions, about the configured rate, reproducibly', async (t) => {
  const run = (seed: number) => {
    const { inner, link, got } = setup({ loss: 0.2 }, seed);
    for (let i = 0; i < 5000; i++) {
      link.send(testFrame(i));
      inner.inject(testFrame(i));
    }
    const lost = link.counters.get('fault.drop.loss');
    t.equal(inner.sent.length + got.length + lost, 10_000);
    t.ok(inner.sent.length > 3800 && inner.sent.length < 4200, `out: ${inner.sent.length} of 5000 pass at p=0.2`);
    t.ok(got.length > 3800 && got.length < 4200, `in: ${got.length} of 5000 pass at p=0.2`);
    return [inner.sent.map(frameId), got.map((x) => frameId(x.frame))];
  };
  const one = run(77);
  t.same(run(77), one, 'same seed, same losses');
  t.notSame(run(78), one);
});

t.test('delay holds frames in both directions for exactly the delay', async (t) => {
  const { clock, inner, link, got } = setup({ delayMs: 25 });
  const f = testFrame(1);
  link.send(f);
  f.fill(0); // the caller may reuse its buffer
  inner.inject(testFrame(2));
  clock.advance(24);
  t.equal(inner.sent.length, 0);
  t.equal(got.length, 0);
  clock.advance(1);
  t.same(inner.sent, [testFrame(1)]);
  t.same(got, [{ at: 25, frame: testFrame(2) }]);
  t.equal(clock.pending, 0);
});

t.test('duplicates are separate buffers even on the synchronous path', async (t) => {
  const { inner, link, got } = setup({ duplicate: 1 });
  const f = testFrame(5);
  inner.inject(f);
  t.equal(got.length, 2);
  t.not(got[0]!.frame, got[1]!.frame);
  t.same(got[0]!.frame, got[1]!.frame);
  link.send(testFrame(6));
  t.equal(inner.sent.length, 2);
  t.equal(link.counters.get('fault.duplicated'), 2);
});

t.test('corruption never touches the caller buffer', async (t) => {
  const { inner, link, got } = setup({ corrupt: 1 });
  const f = testFrame(5);
  link.send(f);
  inner.inject(f);
  t.same(f, testFrame(5));
  t.notSame(inner.sent[0], f);
  t.notSame(got[0]!.frame, f);
  t.equal(link.counters.get('fault.corrupted'), 2);
});

t.test('a bottleneck on a fault link paces frames', async (t) => {
  const { clock, inner, link } = setup({ bandwidthBps: 8_000_000, queueLimit: 1 });
  for (let i = 0; i < 4; i++) link.send(testFrame(i, 1000));
  t.equal(link.counters.get('fault.drop.queue'), 2);
  clock.advance(1);
  t.same(inner.sent.map(frameId), [0]);
  clock.advance(1);
  t.same(inner.sent.map(frameId), [0, 1]);
});

t.test('close drops what is in flight, disarms the timer and closes the inner link', async (t) => {
  const { clock, inner, link, got } = setup({ delayMs: 10 });
  link.send(testFrame(1));
  inner.inject(testFrame(2));
  t.equal(clock.pending, 1);
  await link.close();
  t.ok(inner.closed);
  t.equal(clock.pending, 0);
  clock.advance(20);
  t.equal(inner.sent.length, 0);
  t.equal(got.length, 0);
  t.equal(link.counters.get('fault.drop.closed'), 2);
});

t.test('counters may be shared, and it decorates any Link (here a memory wire end)', async (t) => {
  const clock = new FakeClock();
  const counters = new Counters();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1), counters });
  const link = new FaultLink(wire.a, { clock, rng: new SeededRng(2), counters, delayMs: 5 });
  const got: number[] = [];
  wire.b.onFrame((f) => {
    got.push(clock.now());
    wire.b.send(f);
  });
  link.onFrame(() => got.push(clock.now()));
  link.send(testFrame(1));
  clock.advance(100);
  t.same(got, [5, 10]);
  t.equal(counters.get('fault.sent'), 2);
  t.equal(counters.get('wire.sent'), 2);
  t.equal(link.mac, wire.a.mac);
});
