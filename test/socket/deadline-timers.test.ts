// Socket timeouts share one clock timer per TcpLayer (issue 9): deadlines fire in time order,
// moved and stopped ones do not fire early or at all, and the clock holds one timer at most.
import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { DeadlineTimers } from '../../lib/socket/deadline-timers.js';

t.test('many deadlines, one clock timer: in order, moved, stopped', async (t) => {
  const clock = new FakeClock(0);
  const fired: [string, number][] = [];
  const timers = new DeadlineTimers<string>(clock, (k) => fired.push([k, clock.now()]));
  timers.set('a', 100);
  timers.set('b', 50);
  timers.set('c', 70);
  timers.set('d', 80);
  t.equal(clock.pending, 1, 'one clock timer for four deadlines');
  timers.set('c', 120); // moved later
  timers.delete('d'); // stopped
  clock.advanceTo(60);
  t.same(fired, [['b', 50]]);
  timers.set('e', 55); // already past when the clock next looks: due at once
  clock.advanceTo(200);
  t.same(fired, [['b', 50], ['e', 60], ['a', 100], ['c', 120]], 'each at its deadline, d never');
  t.equal(timers.size, 0);
  t.ok(clock.pending <= 1, 'no timers pile up');
});

t.test('a key due again from its own callback fires again', async (t) => {
  const clock = new FakeClock(0);
  let n = 0;
  const timers: DeadlineTimers<string> = new DeadlineTimers<string>(clock, (k) => {
    if (++n < 3) timers.set(k, clock.now() + 10);
  });
  timers.set('x', 10);
  clock.advanceTo(100);
  t.equal(n, 3);
  t.equal(clock.now(), 100);
});
