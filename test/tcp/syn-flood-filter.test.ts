// The SYN first-drop filter (lib/tcp/syn-flood-filter.ts) on its own: answers everything until
// a flood is seen; then only a SYN seen before (same source, ports and ISN, within 2-4 s) or from
// a proven source; a random-source flood gets through only as false positives.
import t from 'tap';
import { FLOOD_HOLD_MS, MAX_PROVEN, PROVEN_MS, ROTATE_MS, SynFloodFilter } from '../../lib/tcp/syn-flood-filter.js';
import { SeededRng } from '../../lib/rng.js';

const SEED = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const CLIENT = 0x0a000001;

t.test('not flooded: every SYN is answered, nothing is remembered', async (t) => {
  const f = new SynFloodFilter(SEED);
  t.notOk(f.flooded(0));
  t.ok(f.admit(CLIENT, 40000, 80, 1234, 0));
  t.ok(f.floodSeen(10), 'the first flood batch starts a flood');
  t.notOk(f.admit(CLIENT, 40000, 80, 1234, 10), 'the SYN seen before the flood was not remembered: refused now');
});

t.test('flooded: the first SYN is refused, its retransmission 1 s later answered; another ISN or port is another SYN', async (t) => {
  const f = new SynFloodFilter(SEED);
  f.floodSeen(0);
  t.notOk(f.admit(CLIENT, 40000, 80, 1234, 5), 'first seen: dropped');
  t.ok(f.admit(CLIENT, 40000, 80, 1234, 1005), 'the retransmission (same ISN) is answered');
  t.ok(f.admit(CLIENT, 40000, 80, 1234, 1006), 'and stays answered');
  t.notOk(f.admit(CLIENT, 40000, 80, 1235, 1007), 'another ISN');
  t.notOk(f.admit(CLIENT, 40001, 80, 1234, 1008), 'another source port');
  t.notOk(f.admit(CLIENT + 1, 40000, 80, 1234, 1009), 'another source');
});

t.test('the flood ends FLOOD_HOLD_MS after the last batch that showed one; floodSeen refreshes it', async (t) => {
  const f = new SynFloodFilter(SEED);
  t.ok(f.floodSeen(0));
  t.notOk(f.floodSeen(FLOOD_HOLD_MS - 1), 'still the same flood');
  t.ok(f.flooded(2 * FLOOD_HOLD_MS - 2));
  t.notOk(f.flooded(2 * FLOOD_HOLD_MS - 1));
  t.ok(f.admit(CLIENT, 40000, 80, 1, 2 * FLOOD_HOLD_MS), 'over: answered without a retransmission');
});

t.test('a SYN is remembered for two to four seconds (two bitmaps, rotated every ROTATE_MS)', async (t) => {
  const f = new SynFloodFilter(SEED);
  // Keep the flood going for the whole test.
  const flood = (now: number): void => void f.floodSeen(now);
  flood(0);
  t.notOk(f.admit(CLIENT, 40000, 80, 7, 1));
  flood(ROTATE_MS + 1);
  t.ok(f.admit(CLIENT, 40000, 80, 7, ROTATE_MS + 1), 'after one rotation: still remembered');
  t.notOk(f.admit(CLIENT, 40000, 80, 8, ROTATE_MS + 2));
  flood(2 * ROTATE_MS + 2);
  t.ok(f.admit(CLIENT, 40000, 80, 8, 2 * ROTATE_MS + 2), 'seen in the previous generation');
  t.notOk(f.admit(CLIENT, 40000, 80, 7, 2 * ROTATE_MS + 3), 'seen two rotations ago: forgotten');
  flood(6 * ROTATE_MS);
  t.notOk(f.admit(CLIENT, 40000, 80, 8, 6 * ROTATE_MS), 'a long gap forgets everything');
});

t.test('a proven source (a valid cookie came back) is answered at once for PROVEN_MS', async (t) => {
  const f = new SynFloodFilter(SEED);
  f.floodSeen(0);
  f.prove(CLIENT, 0);
  t.ok(f.admit(CLIENT, 40000, 80, 99, 1), 'a first SYN from a proven source');
  for (let now = 1000; now <= PROVEN_MS + 1000; now += 1000) f.floodSeen(now);
  t.notOk(f.admit(CLIENT, 40001, 80, 100, PROVEN_MS + 1000), 'the proof expired');
  // Bounded: the oldest proof goes first.
  const g = new SynFloodFilter(SEED);
  g.floodSeen(0);
  for (let i = 0; i <= MAX_PROVEN; i++) g.prove(0x0b000000 + i, 0);
  t.notOk(g.admit(0x0b000000, 40000, 80, 1, 1), 'the oldest of MAX_PROVEN + 1 was forgotten');
  t.ok(g.admit(0x0b000000 + MAX_PROVEN, 40000, 80, 1, 1), 'the newest kept');
});

t.test('a random-source flood mostly refused: false positives stay a few per cent', async (t) => {
  const f = new SynFloodFilter(SEED);
  const rng = new SeededRng(7);
  let admitted = 0;
  const n = 400_000; // two seconds of a 200 k/s flood: the bitmaps at their fullest
  for (let i = 0; i < n; i++) {
    const now = (i * 2 * ROTATE_MS) / n;
    if (i % 64 === 0) f.floodSeen(now);
    if (f.admit(rng.u32(), rng.u32() & 0xffff, 80, rng.u32(), now)) admitted++;
  }
  t.ok(admitted / n < 0.05, `${((100 * admitted) / n).toFixed(2)} % of flood SYNs answered`);
  t.ok(admitted > 0, 'a bitmap, not an exact table: some collide');
});
