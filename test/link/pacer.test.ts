// Slow motion (issue 11): `--pace MS` and `--step` hold every frame, either way, in one queue;
// each frame's trace line comes before its wait; the other direction of each gate passes through.
import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { Pacer } from '../../lib/link/pacer.js';
import { TracerLink } from '../../lib/link/tracer.js';
import { parseCliArgs, UsageError } from '../../lib/cli-options.js';
import { FakeLink } from '../helpers/fake-link.js';
import { testFrame, frameId } from '../helpers/frames.js';
import { tick } from '../helpers/tcp-net.js';

/** wire ← TX gate ← tracer ← RX gate ← "stack", as the CLI stacks them. */
function chain(opts: { paceMs?: number; step?: () => Promise<void> }) {
  const clock = new FakeClock(0);
  const wire = new FakeLink();
  const pacer = new Pacer({ clock, ...opts });
  const log: string[] = [];
  const tracer = new TracerLink(pacer.gateTx(wire), (l) => void log.push(`trace ${l}`));
  const top = pacer.gateRx(tracer);
  top.onFrame((f) => void log.push(`stack got ${frameId(f)}`));
  const sent = () => wire.sent.map(frameId);
  return { clock, wire, pacer, log, top, sent };
}

t.test('--pace: each frame waits its turn, in one queue for both directions', async (t) => {
  const c = chain({ paceMs: 500 });
  c.wire.inject(testFrame(1));
  c.top.send(testFrame(2));
  c.wire.inject(testFrame(3));
  t.equal(c.pacer.queued, 3);
  t.same(c.sent(), [], 'nothing delivered yet');
  t.equal(c.log.filter((l) => l.startsWith('trace')).length, 3, 'but all three are traced already');
  c.clock.advance(499);
  await tick();
  t.same(c.log.filter((l) => l.startsWith('stack')), []);
  c.clock.advance(1);
  await tick();
  t.same(c.log.filter((l) => l.startsWith('stack')), ['stack got 1'], 'the first after 500 ms');
  c.clock.advance(500);
  await tick();
  t.same(c.sent(), [2], 'the second 500 ms later');
  c.clock.advance(500);
  await tick();
  t.same(c.log.filter((l) => l.startsWith('stack')), ['stack got 1', 'stack got 3']);
  t.equal(c.pacer.queued, 0);
});

t.test('--step: nothing moves until Enter; the trace line is printed before the wait', async (t) => {
  const enters: (() => void)[] = [];
  const c = chain({ step: () => new Promise((r) => void enters.push(r)) });
  c.wire.inject(testFrame(7));
  await tick();
  t.equal(c.log.length, 1);
  t.match(c.log[0], /^trace RX /, 'traced, not delivered');
  c.clock.advance(60_000);
  await tick();
  t.notOk(c.log.some((l) => l.startsWith('stack')), 'time alone does not release it');
  enters.shift()!();
  await tick();
  t.same(c.log.filter((l) => l.startsWith('stack')), ['stack got 7'], 'Enter does');
  c.top.send(testFrame(8));
  await tick();
  t.same(c.sent(), []);
  enters.shift()!();
  await tick();
  t.same(c.sent(), [8]);
});

t.test('closing the link drops what waits and lets later frames through', async (t) => {
  const c = chain({ step: () => new Promise(() => undefined) });
  c.top.send(testFrame(1));
  await c.top.close();
  t.equal(c.pacer.queued, 0);
  c.top.send(testFrame(2));
  t.same(c.sent(), [2]);
});

t.test('CLI: --step and --pace turn the explanations on; not both', async (t) => {
  const step = parseCliArgs(['--step']);
  t.match(step, { step: true, paceMs: 0, trace: true, explain: true });
  t.match(parseCliArgs(['--pace', '800']), { step: false, paceMs: 800, explain: true });
  t.match(parseCliArgs([]), { step: false, paceMs: 0, explain: false });
  t.throws(() => parseCliArgs(['--step', '--pace', '100']), UsageError);
  t.throws(() => parseCliArgs(['--pace', 'slow']), /--pace: expected a number/);
});

t.test('--pace keeps the payload handed as writev pieces (`rest`), as the TAP link does', async (t) => {
  const c = chain({ paceMs: 100 });
  const frame = testFrame(4);
  c.top.send(frame.subarray(0, 20), undefined, [frame.subarray(20)]);
  c.clock.advance(100);
  await tick();
  t.same(c.wire.sent, [frame], 'the whole frame reaches the wire');
});
