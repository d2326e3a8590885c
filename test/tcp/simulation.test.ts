import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { SeededRng } from '../../lib/rng.js';
import { connect, createServer } from '../../lib/socket/index.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Echo `sizes.length` transfers concurrently through a faulty memory wire; all must arrive intact. */
async function run(t: Test, seed: number, faults: Record<string, number>, sizes: number[]) {
  const net = makeTcpNet({ seed, faults });
  const rng = new SeededRng(seed * 1000 + 17);
  createServer(net.b.tcp, (s) => s.pipe(s)).listen(7);
  const done: boolean[] = [];
  const want: string[] = [];
  const got: string[] = [];
  sizes.forEach((size, i) => {
    const data = rng.bytes(size);
    want[i] = sha(data);
    const parts: Buffer[] = [];
    const c = connect(net.a.tcp, { host: B_IP, port: 7 });
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('error', (e) => t.fail(`transfer ${i}: ${e.message}`));
    c.on('end', () => {
      got[i] = sha(Buffer.concat(parts));
      done[i] = true;
    });
    // Write in random-sized pieces, as an application would.
    let off = 0;
    while (off < size) {
      const n = Math.min(size - off, 1 + (rng.u32() % 20000));
      c.write(data.subarray(off, off + n));
      off += n;
    }
    c.end();
  });
  await settle(net.clock, () => sizes.every((_, i) => done[i] === true), 600_000, 5);
  t.same(got, want, `seed ${seed}: ${sizes.length} transfers byte-exact`);
  const a = net.a.counters;
  const b = net.b.counters;
  const rtx = a.sum('tcp.tx.retransmit.') + b.sum('tcp.tx.retransmit.');
  const dropped = a.sum('drop.') + b.sum('drop.');
  await net.close();
  return { rtx, dropped, lost: net.wire.counters.sum('wire.drop'), at: net.clock.now() };
}

t.test('no faults: random sizes arrive byte-exact', async (t) => {
  const rng = new SeededRng(99);
  const sizes = Array.from({ length: 6 }, () => rng.u32() % 200_000);
  sizes.push(0, 1);
  const r = await run(t, 1, {}, sizes);
  t.equal(r.rtx, 0, 'no retransmissions on a clean wire');
});

for (const seed of [2, 3, 4, 5, 6, 7, 8, 10]) {
  t.test(`seed ${seed}: 2% loss, 5% reorder, 2% duplication, 5 ms delay: byte-exact (go-back-N + fast retransmit)`, async (t) => {
    const rng = new SeededRng(seed);
    const sizes = Array.from({ length: 6 }, () => rng.u32() % 400_000);
    const r = await run(t, seed, { loss: 0.02, reorder: 0.05, duplicate: 0.02, delayMs: 5, jitterMs: 1 }, sizes);
    t.ok(r.rtx > 0, `retransmissions happened (${r.rtx}; ${r.lost} frames dropped by the wire; done at ${r.at} ms)`);
  });
}

t.test('10% loss, 20% reorder, 10% duplication: still byte-exact', async (t) => {
  const r = await run(t, 9, { loss: 0.1, reorder: 0.2, duplicate: 0.1, delayMs: 2 }, [150_000, 5_000, 70_000]);
  t.ok(r.rtx > 0, `retransmissions: ${r.rtx}, done at ${r.at} ms`);
});

t.test('1% corruption: bad checksums are dropped and counted, data still byte-exact', async (t) => {
  const r = await run(t, 11, { corrupt: 0.01, delayMs: 1 }, [200_000, 100_000]);
  t.ok(r.dropped > 0, `${r.dropped} corrupted frames dropped by reason (drop.*)`);
});

t.test('node:http over a lossy, reordering wire: 30 keep-alive requests, 100 KB bodies intact', async (t) => {
  const { createServer: createHttpServer } = await import('node:http');
  const net = makeTcpNet({ seed: 21, faults: { loss: 0.02, reorder: 0.05, duplicate: 0.01, delayMs: 3 } });
  const body = new SeededRng(5).bytes(100_000);
  const http = createHttpServer((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  createServer(net.b.tcp, (s) => http.emit('connection', s)).listen(80);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  let buf = Buffer.alloc(0);
  let ok = 0;
  c.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0 || buf.length < h + 4 + body.length) break;
      if (buf.subarray(h + 4, h + 4 + body.length).equals(body)) ok++;
      buf = buf.subarray(h + 4 + body.length);
      if (ok < 30) c.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n');
    }
  });
  c.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n');
  await settle(net.clock, () => ok === 30, 600_000, 5);
  t.equal(ok, 30);
  http.close();
  await net.close();
});
