import t from 'tap';
import { FakeClock } from '../lib/clock.js';

t.test('FakeClock fires timers in time order, ties in arming order, and not before their time', async (t) => {
  const c = new FakeClock(100);
  const fired: string[] = [];
  c.setTimer(150, () => fired.push('b'));
  const h = c.setTimer(120, () => fired.push('cancelled'));
  c.setTimer(120, () => fired.push('a'));
  c.setTimer(150, () => fired.push('c'));
  c.clearTimer(h);
  c.advance(49);
  t.same(fired, ['a']);
  t.equal(c.now(), 149);
  c.advance(1);
  t.same(fired, ['a', 'b', 'c']);
  t.equal(c.pending, 0);
});

t.test('a timer armed by a firing timer fires in the same advance when due', async (t) => {
  const c = new FakeClock();
  const at: number[] = [];
  c.setTimer(10, () => c.setTimer(15, () => at.push(c.now())));
  c.advanceTo(20);
  t.same(at, [15]);
  t.equal(c.now(), 20);
});
