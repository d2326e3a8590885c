import t from 'tap';
import { type CongestionControl, NewRenoCongestionControl } from '../../lib/tcp/congestion.js';
import { IsnGenerator } from '../../lib/tcp/isn.js';
import { ReceiveBuffer } from '../../lib/tcp/receive-buffer.js';
import { RetransmitQueue } from '../../lib/tcp/retransmit-queue.js';
import { RttEstimator } from '../../lib/tcp/rtt.js';
import { pooledChunks } from '../../lib/tcp/chunk-pool.js';
import { SendBuffer, SendMemoryBudget } from '../../lib/tcp/send-buffer.js';
import { COOKIE_MSS, SynCookies } from '../../lib/tcp/syn-cookies.js';
import { TimeWaitTable } from '../../lib/tcp/time-wait.js';
import { seq, seqAdd } from '../../lib/wire/seq.js';

t.test('SendBuffer: capacity, copyOut across chunks, consume', async (t) => {
  const b = new SendBuffer(40_000);
  const data = Buffer.alloc(50_000);
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  t.equal(b.write(data), 40_000, 'only what fits');
  t.equal(b.free, 0);
  const out = Buffer.alloc(20_000);
  b.copyOut(10_000, 20_000, out, 0);
  t.ok(out.equals(data.subarray(10_000, 30_000)), 'range spanning 16 KiB chunks');
  b.consume(17_000);
  t.equal(b.length, 23_000);
  const out2 = Buffer.alloc(23_000);
  b.copyOut(0, 23_000, out2, 0);
  t.ok(out2.equals(data.subarray(17_000, 40_000)));
  t.equal(b.write(data.subarray(40_000)), 10_000);
  const out3 = Buffer.alloc(33_000);
  b.copyOut(0, 33_000, out3, 0);
  t.ok(out3.equals(data.subarray(17_000)));
  t.throws(() => b.copyOut(0, 33_001, out3, 0), RangeError);
  b.consume(33_000);
  t.equal(b.length, 0);
  t.equal(b.chunks, 0, 'an empty send buffer holds no chunk (idle connections cost no send memory)');
});

t.test('SendBuffer: chunks go back to the shared pool and are reused', async (t) => {
  const a = new SendBuffer(64 * 1024);
  const before = pooledChunks();
  a.write(Buffer.alloc(40_000, 1)); // 3 chunks
  t.equal(a.chunks, 3);
  a.consume(20_000); // the first chunk is acknowledged whole
  t.equal(a.chunks, 2);
  t.equal(pooledChunks(), Math.max(0, before - 3) + 1, 'an acknowledged chunk is back in the pool');
  a.consume(20_000);
  t.equal(a.chunks, 0);
  const pooled = pooledChunks();
  const b = new SendBuffer(64 * 1024);
  b.write(Buffer.from('hello'));
  t.equal(pooledChunks(), pooled - 1, 'the next writer takes a pooled chunk');
  const out = Buffer.alloc(5);
  b.copyOut(0, 5, out, 0);
  t.equal(out.toString(), 'hello', 'a reused chunk holds the new bytes');
});

t.test('SendBuffer: a borrowed write holds whole chunks of the caller\'s buffer until returnBorrowed copies them', async (t) => {
  const b = new SendBuffer(64 * 1024);
  t.equal(b.write(Buffer.alloc(100, 0x48)), 100, 'a header, copied');
  const data = Buffer.alloc(100_000, 0x11);
  // Fill the header's chunk by copy, then three whole chunks by reference; 64 KiB is then full.
  t.equal(b.write(data, true), 64 * 1024 - 100);
  const at = (off: number): number => {
    const o = Buffer.alloc(1);
    b.copyOut(off, 1, o, 0);
    return o[0]!;
  };
  data[20_000] = 0x22; // inside the first borrowed chunk (send-buffer offset 20 100)
  data[10_000] = 0x33; // inside the copied fill of the header's chunk
  t.equal(at(20_100), 0x22, 'a borrowed chunk is a view: the caller\'s change shows');
  t.equal(at(10_100), 0x11, 'the fill before the first chunk boundary was copied');
  const pooled = pooledChunks();
  b.returnBorrowed();
  t.equal(pooledChunks(), Math.max(0, pooled - 3), 'returnBorrowed copies the three borrowed chunks into pooled ones');
  data[20_000] = 0x44;
  t.equal(at(20_100), 0x22, 'after returnBorrowed the caller\'s buffer is its own again');
  const returned = pooledChunks();
  b.consume(64 * 1024);
  t.equal(pooledChunks(), returned + 4, 'all four chunks go to the pool: they are all ours now');
});

t.test('SendBuffer: a borrowed write waits for a whole chunk of room, copies its short tail, and is never pooled', async (t) => {
  const b = new SendBuffer(64 * 1024);
  const data = Buffer.alloc(200_000, 0x11);
  t.equal(b.write(data, true), 64 * 1024, 'four whole chunks borrowed');
  b.consume(10_000);
  t.equal(b.free, 10_000);
  t.equal(b.write(data.subarray(64 * 1024), true), 0, 'less than a chunk of room: nothing taken, so the next piece starts aligned');
  t.equal(b.write(data.subarray(64 * 1024, 64 * 1024 + 5000), true), 5000, 'a tail shorter than a chunk is copied at once');
  const pooled = pooledChunks();
  b.consume(b.length);
  t.equal(pooledChunks(), pooled + 1, 'only the tail\'s pooled chunk goes back; borrowed views never enter the pool');
  const small = new SendBuffer(20_000);
  const d2 = Buffer.alloc(30_000, 0x55);
  t.equal(small.write(d2, true), 20_000, 'a buffer smaller than two chunks copies instead (it could wait forever for a whole chunk)');
  d2.fill(0);
  const o = Buffer.alloc(20_000);
  small.copyOut(0, 20_000, o, 0);
  t.ok(o.every((x) => x === 0x55), 'copied, not borrowed');
});

t.test('SendBuffer: autotuning grows the capacity up to its ceiling, never down; no ceiling means fixed', async (t) => {
  const b = new SendBuffer(256 * 1024, 4 * 1024 * 1024);
  b.grow(100 * 1024);
  t.equal(b.capacity, 256 * 1024, 'never below the starting size');
  b.grow(1024 * 1024);
  t.equal(b.capacity, 1024 * 1024);
  t.equal(b.free, 1024 * 1024);
  b.grow(512 * 1024);
  t.equal(b.capacity, 1024 * 1024, 'never shrinks');
  b.grow(64 * 1024 * 1024);
  t.equal(b.capacity, 4 * 1024 * 1024, 'held at the ceiling');
  const c = new SendBuffer(64 * 1024, 1024 * 1024);
  c.grow(2 * 150_000.35); // twice a CUBIC cwnd: not a whole number
  t.equal(c.capacity, 300_000, 'whole bytes (a fractional room once cut writes mid-byte and corrupted the stream)');
  const d = Buffer.alloc(400_000, 1);
  t.equal(c.write(d), 300_000);
  t.ok(Number.isInteger(c.length) && Number.isInteger(c.free));
  const fixed = new SendBuffer(256 * 1024, 0);
  fixed.grow(1024 * 1024);
  t.equal(fixed.capacity, 256 * 1024, 'ceiling 0: a fixed SO_SNDBUF');
});

t.test('SendMemoryBudget: growth is shared stack-wide, and a finished buffer hands its growth back', async (t) => {
  const budget = new SendMemoryBudget(1024 * 1024);
  const a = new SendBuffer(256 * 1024, 4 * 1024 * 1024, budget);
  const b = new SendBuffer(256 * 1024, 4 * 1024 * 1024, budget);
  a.grow(4 * 1024 * 1024);
  t.equal(a.capacity, 256 * 1024 + 1024 * 1024, 'a takes the whole budget, not its ceiling');
  b.grow(2 * 1024 * 1024);
  t.equal(b.capacity, 256 * 1024, 'b gets nothing while the budget is spent: it keeps its starting size');
  t.equal(budget.granted, 1024 * 1024);
  a.returnGrowth();
  t.equal(a.capacity, 256 * 1024);
  t.equal(budget.granted, 0, 'a closed connection gives its growth back');
  b.grow(2 * 1024 * 1024);
  t.equal(b.capacity, 256 * 1024 + 1024 * 1024, 'and b can grow now');
});

t.test('ReceiveBuffer: out-of-order merge, duplicates, pull in order, SACK blocks, segment bound', async (t) => {
  const r = new ReceiveBuffer(100_000, 5);
  const base = seq(0xfffffff0); // wraps
  const bytes = (off: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (off + i) & 0xff));
  t.ok(r.insertOutOfOrder(seqAdd(base, 20), bytes(20, 10)));
  t.ok(r.insertOutOfOrder(seqAdd(base, 40), bytes(40, 10)));
  t.same(r.sackBlocks(4), [
    { left: seqAdd(base, 40), right: seqAdd(base, 50) },
    { left: seqAdd(base, 20), right: seqAdd(base, 30) },
  ]);
  t.ok(r.insertOutOfOrder(seqAdd(base, 25), bytes(25, 20)), 'bridges both ranges');
  t.same(r.sackBlocks(4), [{ left: seqAdd(base, 20), right: seqAdd(base, 50) }]);
  t.equal(r.outOfOrderBytes, 30);
  t.ok(r.insertOutOfOrder(seqAdd(base, 30), bytes(30, 5)), 'duplicate inside');
  t.ok(r.insertOutOfOrder(seqAdd(base, 60), bytes(60, 1)));
  t.ok(r.insertOutOfOrder(seqAdd(base, 70), bytes(70, 1)));
  t.notOk(r.insertOutOfOrder(seqAdd(base, 80), bytes(80, 1)), 'segment bound reached (5 stored pieces)');
  r.pushInOrder(bytes(0, 20));
  const nxt = r.pullInOrder(seqAdd(base, 20));
  t.equal(nxt, seqAdd(base, 50));
  const all: Buffer[] = [];
  for (let b = r.read(); b !== undefined; b = r.read()) all.push(b);
  t.ok(Buffer.concat(all).equals(bytes(0, 50)), 'in order, no duplicate bytes');
  t.same(r.sackBlocks(4), [
    { left: seqAdd(base, 70), right: seqAdd(base, 71) },
    { left: seqAdd(base, 60), right: seqAdd(base, 61) },
  ]);
  t.ok(r.holdsOutOfOrder(seqAdd(base, 60)));
});

t.test('RetransmitQueue: Karn samples only from never-retransmitted segments; partial ACK trims', async (t) => {
  const q = new RetransmitQueue();
  q.onSend(seq(1), seq(101), 10, false);
  q.onSend(seq(101), seq(201), 20, false);
  q.onSend(seq(201), seq(301), 30, false);
  q.onSend(seq(101), seq(201), 50, true);
  t.equal(q.segments.length, 3, 'a retransmission marks the record, keeps the rest');
  t.equal(q.onAck(seq(201)), 10, 'sample from the first; the retransmitted one is ambiguous');
  t.equal(q.onAck(seq(250)), undefined);
  t.equal(q.segments[0]!.start, 250);
  t.equal(q.bytesFrom(seq(250)), 51);
});

t.test('RttEstimator: RFC 6298 §2 formulas, bounds, backoff', async (t) => {
  const r = new RttEstimator({ initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000 });
  t.equal(r.rto, 1000, '§2.1 initial');
  r.sample(400);
  t.same([r.srtt, r.rttvar, r.rto], [400, 200, 1200], '§2.2');
  r.sample(200);
  t.same([r.srtt, r.rttvar, r.rto], [375, 200, 1175], '§2.3');
  r.backoff();
  r.backoff();
  t.equal(r.rto, 4700, '§5.5 doubles');
  for (let i = 0; i < 10; i++) r.backoff();
  t.equal(r.rto, 60_000, '§2.5 upper bound');
  r.sample(1);
  t.equal(r.rto, 200 > r.srtt! + 4 * r.rttvar ? 200 : Math.round(r.srtt! + 4 * r.rttvar), 'backoff cleared by a sample');
});

t.test('NewReno (RFC 5681 + RFC 3465): IW10, ABC slow start, congestion avoidance, recovery, RTO', async (t) => {
  const c: CongestionControl = new NewRenoCongestionControl(10);
  c.init(1000, 0);
  t.equal(c.cwnd, 10_000);
  c.onAck({ acked: 3000, flight: 10_000, mss: 1000, now: 0, srtt: 10 });
  t.equal(c.cwnd, 12_000, 'slow start: +min(acked, 2 SMSS) (RFC 3465 ABC, L = 2)');
  c.onAck({ acked: 1000, flight: 10_000, mss: 1000, now: 0, srtt: 10 });
  t.equal(c.cwnd, 13_000, 'one segment acked: +1 SMSS');
  c.enterRecovery(11_000, 1000, 0);
  t.same([c.ssthresh, c.cwnd, c.inRecovery], [5500, 5500, true], 'ssthresh = FlightSize/2, cwnd = ssthresh');
  c.inflate(3000, 1000);
  c.onDupAckInRecovery(1000);
  t.equal(c.cwnd, 9500, 'NewReno inflation: +3 SMSS, +1 SMSS per further duplicate');
  c.exitRecovery(1000);
  t.same([c.cwnd, c.inRecovery], [5500, false]);
  for (let i = 0; i < 5; i++) c.onAck({ acked: 1100, flight: 5500, mss: 1000, now: 0, srtt: 10 });
  t.equal(c.cwnd, 6500, 'congestion avoidance: +1 SMSS per cwnd of ACKed bytes');
  c.onRto(6000, 1000);
  t.same([c.ssthresh, c.cwnd], [3000, 1000]);
  c.onRto(6000, 1000, 0, true);
  t.same([c.ssthresh, c.cwnd], [3000, 1000], 'a repeated timeout keeps ssthresh (RFC 5681 §3.1 note)');
  c.onAck({ acked: 3000, flight: 1000, mss: 1000, now: 0, srtt: 10 });
  t.equal(c.cwnd, 2000, 'after an RTO, ABC L = 1 SMSS (RFC 3465 §2.3)');
});

t.test('SYN cookies: round trip, MSS table, forged and stale cookies', async (t) => {
  const k = new SynCookies(Buffer.alloc(32, 7));
  const tu = { localIp: 1, localPort: 80, remoteIp: 2, remotePort: 5555 };
  const c = k.encode(tu, seq(1234), 1460, 1_000_000);
  t.equal(k.decode(tu, seq(1234), c, 1_000_000), 1460);
  t.equal(k.decode(tu, seq(1234), c, 1_000_000 + 64_000), 1460, 'previous period still valid');
  t.equal(k.decode(tu, seq(1234), c, 1_000_000 + 128_000), undefined, 'two periods later: stale');
  t.equal(k.decode(tu, seq(1235), c, 1_000_000), undefined, 'other peer ISN');
  t.equal(k.decode({ ...tu, remotePort: 5556 }, seq(1234), c, 1_000_000), undefined, 'other tuple');
  t.equal(new SynCookies(Buffer.alloc(32, 8)).decode(tu, seq(1234), c, 1_000_000), undefined, 'another secret: a keyed MAC, not a checksum');
  t.equal(COOKIE_MSS[SynCookies.mssIndex(1000)], 536, 'rounded down to the table');
  t.same(SynCookies.unpackTsBits(SynCookies.packTsBits(7, true)), { wscale: 7, sack: true });
  t.same(SynCookies.unpackTsBits(SynCookies.packTsBits(undefined, false)), { wscale: undefined, sack: false });
});

t.test('IsnGenerator: keyed (secret changes the ISN), 4 µs clock', async (t) => {
  const tu = { localIp: 1, localPort: 80, remoteIp: 2, remotePort: 5555 };
  const a = new IsnGenerator(Buffer.alloc(32, 1));
  const b = new IsnGenerator(Buffer.alloc(32, 2));
  t.not(a.isn(tu, 0), b.isn(tu, 0));
  t.equal((a.isn(tu, 4) - a.isn(tu, 0)) >>> 0, 1000);
  t.equal(a.tsOffset(tu), a.tsOffset(tu));
});

t.test('TimeWaitTable: expiry order, restart, eviction of the oldest', async (t) => {
  const tw = new TimeWaitTable(2);
  const e = (key: string, at: number) => ({ key, localIp: 0, localPort: 0, remoteIp: 0, remotePort: 0, sndNxt: seq(0), rcvNxt: seq(0), window: 0, tsOk: false, tsRecent: 0, tsOffset: 0, expiresAt: at });
  tw.add(e('a', 100));
  tw.add(e('b', 200));
  tw.restart(tw.get('a')!, 300);
  t.equal(tw.nextDeadline(), 200);
  const ev = tw.add(e('c', 400));
  t.equal(ev?.key, 'b', 'the entry closest to expiry is evicted');
  t.equal(tw.expire(300), 1);
  t.equal(tw.size, 1);
});

