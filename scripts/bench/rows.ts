// The compared rows of `npm run bench`: each measured on every target that can serve it, once
// per round. Every load is bounded by a count and by a time limit (`timeout`, tool options).
import type { Netns } from '../netns.js';
import type { BenchOptions, RowId } from './options.js';
import type { Target } from './targets.js';

/** One measurement, with what went wrong beside it (errors, lost packets) if anything did. */
export type Sample = { value: number; note?: string };

/** A row measured on several targets. */
export type ComparedRow = {
  id: RowId;
  what: (o: BenchOptions) => string;
  unit: string;
  better: 'higher' | 'lower';
  /** The target kinds that can serve it (the C and Node floors answer only ping and UDP echo). */
  kinds: Target['kind'][];
  measure: (t: Target, o: BenchOptions, tools: Tools) => Promise<Sample>;
  /** Untimed work on every target before the first round (`--warmup`), so tapstack's JIT has
   *  compiled the path the rounds time: what it is, and doing it. */
  warmup?: { what: (o: BenchOptions) => string; run: (t: Target, o: BenchOptions, tools: Tools) => Promise<void> };
};

/** Programs built for this run. */
export type Tools = { udpRtt: string };

const MIB = 1024 * 1024;

/** Run `cmd` with bash in the client namespace, bounded by `timeout`; its stdout and wall time in seconds. */
async function timed(ns: Netns, cmd: string, limitS: number): Promise<{ stdout: string; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const r = await ns.run(['timeout', String(limitS), 'bash', '-c', `set -o pipefail; ${cmd}`], { timeoutMs: (limitS + 10) * 1000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code ?? r.signal}${r.code === 124 ? ` (over its ${limitS} s limit)` : ''} ${r.stderr.trim()}`);
  return { stdout: r.stdout, seconds };
}

const mbits = (bytes: number, seconds: number): number => (bytes * 8) / 1e6 / seconds;

/** `n` untimed pings, 0.2 ms apart (`--warmup`): the JIT compiles the path before it is timed. */
export async function pingWarmup(t: Target, n: number): Promise<void> {
  await timed(t.client, `ping -q -n -c ${n} -i 0.0002 -W 1 ${t.ip} >/dev/null || true`, 120);
}

/** The median of the round trips `ping` printed (`time=0.080 ms`), in µs. */
export async function pingMedianUs(t: Target, count: number): Promise<Sample> {
  // ping exits 1 when a reply is missing: counted below instead.
  const { stdout } = await timed(t.client, `ping -n -c ${count} -i 0.002 -W 1 ${t.ip} || true`, 60);
  const rtts = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  const lost = count - rtts.length;
  return { value: median(rtts), ...(lost > 0 ? { note: `${lost} of ${count} pings lost` } : {}) };
}

/** wrk -t1 -c10 for `seconds` on `/`: requests/s and the requests done. */
export async function wrk(t: Target, seconds: number): Promise<Sample & { requests: number }> {
  const { stdout } = await timed(t.client, `wrk -t1 -c10 -d${seconds}s http://${t.ip}/`, seconds + 30);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0;
  const errors = non2xx + sockErr;
  return { value: rps, requests, ...(errors > 0 ? { note: `wrk: ${errors} errors` } : {}) };
}

/** A throughput row's warm-up size: a tenth of its work (wrk: a fifth of its seconds), at least one unit. */
function tenth(o: BenchOptions): BenchOptions {
  const part = (n: number, d: number): number => Math.max(1, Math.ceil(n / d));
  return { ...o, downloads: part(o.downloads, 10), discardMib: part(o.discardMib, 10), echoMib: part(o.echoMib, 10), wrkSeconds: part(o.wrkSeconds, 5), abRequests: part(o.abRequests, 10) };
}

/** A throughput row warmed up by one untimed run of its own at a tenth of its size. */
function warmedByATenth(row: Omit<ComparedRow, 'warmup'>): ComparedRow {
  return { ...row, warmup: { what: () => `${row.id} at a tenth of its size`, run: async (t, o, tools) => void (await row.measure(t, tenth(o), tools)) } };
}

export const COMPARED_ROWS: ComparedRow[] = [
  warmedByATenth({
    id: 'download', unit: 'Mbit/s', better: 'higher', kinds: ['stack', 'kernel'],
    what: (o) => `download, curl ${o.downloads} × 4 MiB`,
    async measure(t, o) {
      // One curl, one keep-alive connection, `?[1-N]` makes N URLs of the same file.
      const { stdout, seconds } = await timed(t.client, `curl -sS --fail -o /dev/null -w '%{size_download}\\n' 'http://${t.ip}/download/4MiB.bin?[1-${o.downloads}]'`, 300);
      const bytes = stdout.split('\n').filter((l) => l !== '').reduce((a, l) => a + Number(l), 0);
      if (bytes !== o.downloads * 4 * MIB) throw new Error(`curl got ${bytes} bytes, not ${o.downloads} × 4 MiB`);
      return { value: mbits(bytes, seconds) };
    },
  }),
  warmedByATenth({
    id: 'discard', unit: 'Mbit/s', better: 'higher', kinds: ['stack', 'kernel'],
    what: (o) => `${o.discardMib} MiB to discard (nc)`,
    async measure(t, o) {
      const { seconds } = await timed(t.client, `head -c ${o.discardMib * MIB} /dev/zero | nc -N ${t.ip} 9`, 300);
      return { value: mbits(o.discardMib * MIB, seconds) };
    },
  }),
  warmedByATenth({
    id: 'echo', unit: 'Mbit/s', better: 'higher', kinds: ['stack', 'kernel'],
    what: (o) => `${o.echoMib} MiB each way through echo`,
    async measure(t, o) {
      const bytes = o.echoMib * MIB;
      const { stdout, seconds } = await timed(t.client, `head -c ${bytes} /dev/zero | nc -N ${t.ip} 7 | wc -c`, 300);
      if (Number(stdout.trim()) !== bytes) throw new Error(`echo returned ${stdout.trim()} bytes, not ${bytes}`);
      return { value: mbits(2 * bytes, seconds) };
    },
  }),
  warmedByATenth({
    id: 'wrk', unit: 'req/s', better: 'higher', kinds: ['stack', 'kernel'],
    what: (o) => `wrk -t1 -c10 -d${o.wrkSeconds}s keep-alive, req/s`,
    measure: (t, o) => wrk(t, o.wrkSeconds),
  }),
  warmedByATenth({
    id: 'ab', unit: 'req/s', better: 'higher', kinds: ['stack', 'kernel'],
    what: (o) => `ab -n ${o.abRequests} -c 10, new connections, req/s`,
    async measure(t, o) {
      const { stdout } = await timed(t.client, `ab -q -s 20 -n ${o.abRequests} -c 10 http://${t.ip}/`, 300);
      const failed = Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? NaN);
      return { value: Number(/Requests per second:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN), ...(failed > 0 ? { note: `ab: ${failed} failed` } : {}) };
    },
  }),
  {
    id: 'ping', unit: 'µs', better: 'lower', kinds: ['stack', 'kernel', 'floor', 'node-floor'],
    what: (o) => `ping round trip, median of ${o.pings}${o.warmup > 0 ? ` after ${o.warmup} untimed` : ''}`,
    measure: (t, o) => pingMedianUs(t, o.pings),
    warmup: { what: (o) => `${o.warmup} ping round trips`, run: (t, o) => pingWarmup(t, o.warmup) },
  },
  {
    id: 'small', unit: 'µs', better: 'lower', kinds: ['stack', 'kernel', 'floor', 'node-floor'],
    what: (o) => `UDP echo 32 B round trip, median of ${o.pings}${o.warmup > 0 ? ` after ${o.warmup} untimed` : ''}`,
    async measure(t, o, tools) {
      const { stdout } = await timed(t.client, `${tools.udpRtt} ${t.ip} 7 ${o.pings}`, 60);
      const m = /median_us ([\d.]+) lost (\d+)/.exec(stdout);
      if (m === null) throw new Error(`udp-rtt printed "${stdout.trim()}"`);
      return { value: Number(m[1]), ...(m[2] !== '0' ? { note: `${m[2]} of ${o.pings} datagrams lost` } : {}) };
    },
    warmup: { what: (o) => `${o.warmup} small round trips`, run: async (t, o, tools) => void (await timed(t.client, `${tools.udpRtt} ${t.ip} 7 ${o.warmup} >/dev/null || true`, 120)) },
  },
];

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
