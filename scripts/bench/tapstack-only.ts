// The rows of `npm run bench` measured once per run on each tapstack (each takes minutes):
// memory for idle connections, memory over a million keep-alive requests, and the cost of idle
// connections to everyone else (issue 10 item 1). Only the idle HTTP memory row also runs on the
// kernel reference, whose server process holds node:http's share of each connection in its RSS.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../netns.js';
import type { BenchOptions, RowId } from './options.js';
import { median, pingMedianUs, pingWarmup, wrk } from './rows.js';
import type { Target } from './targets.js';

/** One tapstack-only row: named values (MB, KB, req/s, µs, ratios). */
export type SingleRow = { id: RowId; target: string; what: string; values: Record<string, number>; notes: string[] };

/** Idle connections: each echoed one line (`echo`, port 7) or answered one keep-alive `GET /` (`http`, port 80). */
type IdleMode = 'echo' | 'http';

/** Resident set size of `pid` in MB (VmRSS of /proc). */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU seconds `pid` has used (utime + stime of /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Wait until `pid` is quiet (under 20 % of a CPU for a second), at most `limitS`: after thousands
 * of connections close, the stack is still working through them; the next row must not measure that.
 */
async function quiet(pid: number, limitS = 120): Promise<void> {
  const t0 = Date.now();
  let last = cpuSeconds(pid);
  while (Date.now() - t0 < limitS * 1000) {
    await settle(1000);
    const now = cpuSeconds(pid);
    if (now - last < 0.2) return;
    last = now;
  }
}

/** Idle connections held by idle-clients processes; close() ends them and waits for the stack to settle. */
type IdleSet = { open: number; failed: number; seconds: number; close: () => Promise<unknown> };

/** Descriptors one process may open here: the hard RLIMIT_NOFILE (`ulimit -Hn`) less some room, at most 10 000. */
function connectionsPerProcess(): number {
  const hard = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return hard === 'unlimited' ? 10_000 : Math.max(100, Math.min(10_000, Number(hard) - 200));
}

/** One idle-clients process with `count` connections (its descriptor limit raised to fit, within the hard limit). */
async function idleProcess(t: Target, mode: IdleMode, count: number): Promise<IdleSet> {
  const script = path.join(repoRoot, 'dist/scripts/bench/idle-clients.js');
  const port = mode === 'http' ? 80 : 7;
  // Opening stops after 300 s; the connections are held at most 15 min.
  const child = t.client.spawn(['bash', '-c', `ulimit -n ${count + 100} && exec "$0" "$@"`, process.execPath, script, t.ip, String(port), String(count), '300', '900', mode]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-500)));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 360_000;
  let m: RegExpExecArray | null;
  while ((m = /open (\d+) failed (\d+) seconds ([\d.]+)/.exec(out)) === null) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`idle-clients: no report after ${child.exitCode === null ? '360 s' : `exit ${child.exitCode}`} ${err.trim()}`);
    }
    await settle(100);
  }
  return {
    open: Number(m[1]),
    failed: Number(m[2]),
    seconds: Number(m[3]),
    close: () => {
      child.stdin!.end();
      return exited;
    },
  };
}

/** `count` idle connections from the target's client namespace, in as many processes as descriptors require. */
async function openIdle(t: Target, mode: IdleMode, count: number): Promise<IdleSet> {
  const per = connectionsPerProcess();
  const sets: IdleSet[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(sets.map((x) => x.close()));
    await quiet(t.pid);
  };
  try {
    for (let left = count; left > 0; left -= per) sets.push(await idleProcess(t, mode, Math.min(per, left)));
  } catch (e) {
    await closeAll();
    throw e;
  }
  return {
    open: sets.reduce((a, x) => a + x.open, 0),
    failed: sets.reduce((a, x) => a + x.failed, 0),
    seconds: sets.reduce((a, x) => a + x.seconds, 0),
    close: closeAll,
  };
}

/**
 * How long the idle connections are held before the second RSS reading. Only V8's memory reducer
 * gives back the young generation the burst of opening grew (measured: 32 MB of new space down to
 * 1 MB, and the old generation's garbage): it collects once it finds the allocation rate low,
 * checked every 8 s after the last full GC (seen after 40 s, and not within 90 s in another run),
 * and at the latest 100 s after it (its watchdog, deps/v8/src/heap/memory-reducer.cc).
 */
const IDLE_SETTLE_S = 120;

/**
 * RSS of the serving process before `--idle-connections` idle connections, 1 s after the last
 * one opened (what the burst of opening them left), and after IDLE_SETTLE_S more of idleness.
 */
async function idleMemory(id: RowId, mode: IdleMode, t: Target, o: BenchOptions): Promise<SingleRow> {
  await quiet(t.pid);
  const before = rssMb(t.pid);
  const idle = await openIdle(t, mode, o.idleConnections);
  await settle(1000);
  const after = rssMb(t.pid);
  await settle(IDLE_SETTLE_S * 1000);
  const settled = rssMb(t.pid);
  await idle.close();
  return {
    id, target: t.id, what: `RSS, ${o.idleConnections} idle connections (${mode === 'http' ? 'HTTP, one keep-alive GET / each' : 'echo, one line each'}), 1 s and ${IDLE_SETTLE_S} s after the last opened`,
    values: { rssBeforeMB: before, rssIdleMB: after, rssSettledMB: settled, open: idle.open, perConnectionKB: ((after - before) * 1024) / Math.max(1, idle.open), openSeconds: idle.seconds },
    notes: [...(idle.failed > 0 ? [`${idle.failed} connections failed to open`] : []), ...(idle.open < o.idleConnections ? [`only ${idle.open} opened within 300 s`] : [])],
  };
}

/** RSS sampled between 10 s wrk runs until `--keepalive-requests` are done or `--keepalive-seconds` have passed. */
async function keepalive(t: Target, o: BenchOptions): Promise<SingleRow> {
  await quiet(t.pid);
  const start = rssMb(t.pid);
  let max = start;
  let requests = 0;
  const notes: string[] = [];
  const t0 = Date.now();
  while (requests < o.keepaliveRequests && Date.now() - t0 < o.keepaliveSeconds * 1000) {
    const left = Math.ceil(o.keepaliveSeconds - (Date.now() - t0) / 1000);
    const r = await wrk(t, Math.max(1, Math.min(10, left)));
    requests += r.requests;
    if (r.note !== undefined) notes.push(r.note);
    max = Math.max(max, rssMb(t.pid));
  }
  if (requests < o.keepaliveRequests) notes.push(`only ${requests} requests within ${o.keepaliveSeconds} s`);
  return {
    id: 'keepalive', target: t.id, what: `RSS over ${requests} keep-alive requests (wrk -c10, 10 s runs)`,
    values: { rssStartMB: start, rssMaxMB: max, rssEndMB: rssMb(t.pid), requests, seconds: (Date.now() - t0) / 1000 },
    notes,
  };
}

/**
 * wrk req/s and ping with no idle connection and with `--idle-wrk` idle ones open (issue 10 item 1:
 * goal < 10 % change), in `--rounds` rounds that alternate which comes first, the idle set opened
 * and closed again every round. A round's two runs are minutes apart at most, so their ratio is
 * what the row reports: the median of the per-round ratios, with the lowest and highest as the
 * spread (a busy machine moves both runs of a round, not one against the other as a single pair would).
 * Beside req/s, the stack's CPU time per request during wrk: what the idle connections cost it,
 * which other work on the machine changes far less than it changes req/s.
 */
async function idle(t: Target, o: BenchOptions): Promise<SingleRow> {
  await wrk(t, 2); // warm (JIT, caches), so the first "none" is not measured on a cold stack
  if (o.warmup > 0) await pingWarmup(t, o.warmup);
  const none = { wrk: [] as number[], cpu: [] as number[], ping: [] as number[] };
  const open = { wrk: [] as number[], cpu: [] as number[], ping: [] as number[] };
  const notes: string[] = [];
  let opened = 0;
  let openSeconds = 0;
  const measure = async (into: typeof none, label: string): Promise<void> => {
    const cpu0 = cpuSeconds(t.pid);
    const w = await wrk(t, o.wrkSeconds);
    into.cpu.push(((cpuSeconds(t.pid) - cpu0) * 1e6) / w.requests);
    const p = await pingMedianUs(t, o.pings);
    into.wrk.push(w.value);
    into.ping.push(p.value);
    for (const s of [w, p]) if (s.note !== undefined) notes.push(`${label}: ${s.note}`);
  };
  for (let round = 1; round <= o.rounds; round++) {
    const noneFirst = round % 2 === 1;
    if (noneFirst) {
      await quiet(t.pid);
      await measure(none, `round ${round}, none`);
    }
    const conns = await openIdle(t, 'echo', o.idleWrkConnections);
    opened = conns.open;
    openSeconds = conns.seconds;
    if (conns.failed > 0) notes.push(`round ${round}: ${conns.failed} connections failed to open`);
    try {
      await measure(open, `round ${round}, idle`);
    } finally {
      await conns.close(); // and waits until the stack is quiet again
    }
    if (!noneFirst) await measure(none, `round ${round}, none`);
  }
  const ratios = (num: number[], den: number[]): number[] => num.map((x, i) => x / den[i]!).filter((x) => Number.isFinite(x));
  const wrkRatios = ratios(open.wrk, none.wrk);
  const cpuRatios = ratios(open.cpu, none.cpu);
  const pingRatios = ratios(open.ping, none.ping);
  return {
    id: 'idle', target: t.id, what: `${o.idleWrkConnections} idle connections open vs none, ${o.rounds} alternating rounds (medians; ratio: median of the rounds' ratios, lowest–highest)`,
    values: {
      open: opened, openSeconds,
      wrkNone: median(none.wrk), wrkIdle: median(open.wrk), wrkRatio: median(wrkRatios), wrkRatioLow: Math.min(...wrkRatios), wrkRatioHigh: Math.max(...wrkRatios),
      cpuPerRequestNoneUs: median(none.cpu), cpuPerRequestIdleUs: median(open.cpu), cpuRatio: median(cpuRatios), cpuRatioLow: Math.min(...cpuRatios), cpuRatioHigh: Math.max(...cpuRatios),
      pingNoneUs: median(none.ping), pingIdleUs: median(open.ping), pingRatio: median(pingRatios), pingRatioLow: Math.min(...pingRatios), pingRatioHigh: Math.max(...pingRatios),
    },
    notes,
  };
}

export const TAPSTACK_ONLY_ROWS: { id: RowId; kinds: Target['kind'][]; measure: (t: Target, o: BenchOptions) => Promise<SingleRow> }[] = [
  { id: 'memory', kinds: ['stack'], measure: (t, o) => idleMemory('memory', 'echo', t, o) },
  { id: 'memory-http', kinds: ['stack', 'kernel'], measure: (t, o) => idleMemory('memory-http', 'http', t, o) },
  { id: 'keepalive', kinds: ['stack'], measure: keepalive },
  { id: 'idle', kinds: ['stack'], measure: idle },
];
