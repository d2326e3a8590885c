// The deterministic loss simulation: two stacks on a memory wire with a fixed RTT (10 ms each
// way) and a bottleneck (100 Mbit/s, 100-frame queue), seeded random loss 0–10 %, receive
// buffers 8 KB–1 MB. Every transfer is checked byte-exact, and the goodput table — CUBIC with
// SACK and RACK-TLP (the default), the same without RACK-TLP, NewReno with SACK, CUBIC without
// SACK — is kept as a tap snapshot, so any
// change in loss recovery or congestion control shows up as a reviewable diff.
// Regenerate: `npx tap --snapshot test/tcp/goodput.test.ts`.
import { createHash } from 'node:crypto';
import t from 'tap';
import { SeededRng } from '../../lib/rng.js';
import type { TcpConnection } from '../../lib/tcp/connection.js';
import { B_IP, makeTcpNet } from '../helpers/tcp-net.js';

const TRANSFER = 2 << 20;
const DATA = new SeededRng(4242).bytes(TRANSFER);
const WANT = createHash('sha256').update(DATA).digest('hex');

interface Result {
  ok: boolean;
  ms: number;
  mbps: number;
  rto: number;
  fast: number;
  sackRtx: number;
  rtx: number;
  spurious: number;
}

/** One bulk transfer A -> B over the simulated path; synchronous on fake time. */
export function transfer(loss: number, rcvBuf: number, cc: string, sack: boolean, seed: number, rack = true): Result {
  const net = makeTcpNet({
    seed,
    faults: { loss, delayMs: 10, bandwidthBps: 100e6, queueLimit: 100 },
    tcp: { rcvBufSize: rcvBuf, sndBufSize: Math.max(rcvBuf, 64 * 1024), congestionControl: cc, sack, rack },
  });
  const hash = createHash('sha256');
  let got = 0;
  let ended = false;
  const l = net.b.tcp.listen(9);
  l.onConnection = (ll) => {
    const s = ll.accept();
    if (s === undefined) return;
    s.events.readable = () =>
      net.b.tcp.run((now) => {
        for (let b = s.read(now); b !== undefined; b = s.read(now)) {
          hash.update(b);
          got += b.length;
        }
        if (s.readEnded && !ended) {
          ended = true;
          s.shutdown(now);
        }
      });
  };
  const start = net.clock.now();
  const c: TcpConnection = net.a.tcp.connect({ host: B_IP, port: 9 });
  let off = 0;
  const pump = (): void =>
    net.a.tcp.run((now) => {
      while (off < TRANSFER) {
        const n = c.write(DATA.subarray(off, Math.min(TRANSFER, off + 16384)), now);
        if (n === 0) break;
        off += n;
      }
      if (off === TRANSFER && !c.finQueued) c.shutdown(now);
    });
  c.events.established = pump;
  c.events.writable = pump;
  const limit = start + 3_600_000;
  while (!ended && net.clock.now() < limit) net.clock.advance(2);
  const ms = net.clock.now() - start;
  const k = net.a.counters;
  const r: Result = {
    ok: ended && got === TRANSFER && hash.digest('hex') === WANT,
    ms,
    mbps: (TRANSFER * 8) / (ms * 1000),
    rto: k.get('tcp.tx.retransmit.rto'),
    fast: k.get('tcp.tx.retransmit.fast'),
    sackRtx: k.get('tcp.tx.retransmit.sack') + k.get('tcp.tx.retransmit.rescue') + k.get('tcp.tx.retransmit.partialAck'),
    rtx: k.sum('tcp.tx.retransmit.'),
    spurious: k.get('tcp.rto.spurious'),
  };
  a_close(net);
  return r;
}

function a_close(net: ReturnType<typeof makeTcpNet>): void {
  void net.close();
}

const LOSSES = [0, 0.005, 0.01, 0.02, 0.05, 0.1];
const BUFFERS = [8 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024];
const SETUPS: Array<[string, string, boolean, boolean]> = [
  ['cubic+sack (default: RFC 6675 + RACK-TLP)', 'cubic', true, true],
  ['cubic+sack, RFC 6675 only (no RACK-TLP)', 'cubic', true, false],
  ['newreno+sack', 'newreno', true, true],
  ['cubic, no sack (NewReno recovery, RFC 6582)', 'cubic', false, false],
];

if (process.env.GOODPUT_ONE) {
  const [loss, buf, cc, sack, rack] = process.env.GOODPUT_ONE.split(',');
  const t0 = Date.now();
  console.log(transfer(Number(loss), Number(buf), cc!, sack === '1', 1, rack !== '0'), Date.now() - t0, 'ms real');
  process.exit(0);
}

t.test('2 MiB transfers over 20 ms RTT, 100 Mbit/s bottleneck: byte-exact; goodput table (Mbit/s)', async (t) => {
  const lines: string[] = [];
  const head = ['loss', ...BUFFERS.map((b) => (b >= 1024 * 1024 ? `${b / 1024 / 1024}M` : `${b / 1024}K`))];
  const totals: Record<string, Result[]> = {};
  for (const [name, cc, sack, rack] of SETUPS) {
    lines.push(`${name} — goodput Mbit/s (RTO retransmissions / all retransmissions)`);
    lines.push(head.map((h) => h.padStart(16)).join(''));
    for (const loss of LOSSES) {
      const row = [`${(loss * 100).toFixed(1)}%`.padStart(16)];
      for (const buf of BUFFERS) {
        const r = transfer(loss, buf, cc, sack, 1 + Math.round(loss * 1000), rack);
        t.ok(r.ok, `${name} loss ${loss} rcvbuf ${buf}: byte-exact (${r.mbps.toFixed(2)} Mbit/s)`);
        (totals[name] ??= []).push(r);
        row.push(`${r.mbps.toFixed(2)} (${r.rto}/${r.rtx})`.padStart(16));
      }
      lines.push(row.join(''));
    }
    lines.push('');
  }
  t.matchSnapshot(lines.join('\n'), 'goodput table');
  const sum = (name: string) => totals[name]!.reduce((a, r) => a + r.mbps, 0);
  t.ok(sum(SETUPS[0]![0]) >= sum(SETUPS[3]![0]), 'SACK helps overall');
});
