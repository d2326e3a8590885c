// What every attack of `npm run attack` shares: its shape, the verdict line it prints, and the
// tools it drives against a tapstack in a namespace of its own (scripts/netns.ts): the stack's
// counters and memory, legitimate clients and their figures, raw frames written on the tap.
// Every load here is bounded in count and time; the namespace goes away with its processes.
import { readFileSync } from 'node:fs';
import type { Netns, RunningStack } from '../netns.js';

/** held: legitimate use unaffected; degraded: served, but measurably worse; failed: not served, or the stack broke. */
export type Verdict = 'held' | 'degraded' | 'failed';

/** The outcome of one attack: a verdict and the figures it rests on. */
export interface AttackResult {
  verdict: Verdict;
  figures: Record<string, string | number>;
}

/** One attack module (scripts/attacks/<name>.ts). */
export interface Attack {
  name: string;
  /** One line: what is sent, and what "held" means. */
  describe: string;
  /** Run against a fresh stack in `ns` (created for it, removed afterwards); bounded in time. */
  run(ns: Netns): Promise<AttackResult>;
}

/** `NAME: VERDICT  key=value key=value`, the line `npm run attack` prints per attack. */
export function formatVerdict(name: string, r: AttackResult): string {
  const figures = Object.entries(r.figures).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : v}`);
  return `${name}: ${r.verdict}  ${figures.join(' ')}`.trimEnd();
}

/** The inverse of formatVerdict, or undefined for any other line. */
export function parseVerdictLine(line: string): { name: string; verdict: Verdict; figures: Record<string, string> } | undefined {
  const m = /^([a-z0-9-]+): (held|degraded|failed)(?:  (.*))?$/.exec(line);
  if (m === null) return undefined;
  const figures: Record<string, string> = {};
  for (const kv of (m[3] ?? '').split(' ').filter((s) => s !== '')) {
    const i = kv.indexOf('=');
    if (i <= 0) return undefined;
    figures[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { name: m[1]!, verdict: m[2] as Verdict, figures };
}

/** The stack's address in every attack namespace. */
export const STACK_IP = '10.0.0.2';

/** tapstack's counters, read from its own status page (0 for a counter never incremented). */
export async function counters(ns: Netns): Promise<(name: string) => number> {
  const r = await ns.run(['curl', '-s', '-m', '10', `http://${STACK_IP}/_stack.json`], { timeoutMs: 15_000 });
  let all: Record<string, number> = {};
  try {
    all = (JSON.parse(r.stdout) as { counters?: Record<string, number> }).counters ?? {};
  } catch {
    // An unreadable status page reads as all zeros; the verdict rests on the legitimate clients.
  }
  return (name) => all[name] ?? 0;
}

/** Resident memory of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** True while the stack process runs. */
export function alive(stack: RunningStack): boolean {
  return stack.proc.exitCode === null && stack.proc.signalCode === null;
}

/** The p-th percentile (0..100) of `xs` (nearest rank); NaN for none. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Figures of a run of legitimate HTTP requests. */
export interface ClientFigures {
  ok: number;
  total: number;
  /** Seconds, of the successful requests. */
  p95: number;
}

/**
 * `count` sequential `curl` requests for `url` from `ns` (optionally from address `from`), `gapMs`
 * apart, each allowed `maxSeconds`: how many got a 200 and the p95 of their times.
 */
export async function legitCurls(ns: Netns, url: string, o: { count: number; gapMs: number; maxSeconds: number; from?: string }): Promise<ClientFigures> {
  const curl = `curl -s -o /dev/null -m ${o.maxSeconds} ${o.from !== undefined ? `--interface ${o.from} ` : ''}-w '%{http_code} %{time_total}\\n' ${url}`;
  const script = `for i in $(seq 1 ${o.count}); do ${curl}; sleep ${o.gapMs / 1000}; done`;
  const r = await ns.run(['bash', '-c', script], { timeoutMs: o.count * (o.maxSeconds * 1000 + o.gapMs) + 10_000 });
  const times: number[] = [];
  let ok = 0;
  for (const line of r.stdout.split('\n')) {
    const [code, time] = line.split(' ');
    if (code === '200') {
      ok++;
      times.push(Number(time));
    }
  }
  return { ok, total: o.count, p95: percentile(times, 95) };
}

/**
 * A Python client in `ns` that tries `n` times to open a socket `s` (`openPy`: statements that set
 * `s`; an attempt that raises OSError is skipped), then holds those open `holdSeconds`. Resolves
 * once every attempt is done, with how many sockets opened, and `done` for the script's end
 * (killed after `timeoutMs`).
 */
export async function holdSockets(ns: Netns, n: number, openPy: string, holdSeconds: number, timeoutMs = 60_000): Promise<{ opened: number; done: Promise<void> }> {
  const body = openPy.trim().split('\n').map((l) => `        ${l.trim()}`).join('\n');
  const script = `import socket, time
socks = []
for i in range(${n}):
    try:
${body}
        socks.append(s)
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(${holdSeconds})
`;
  const child = ns.spawn(['python3', '-c', script]);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<void>((resolve) => child.once('close', () => {
    clearTimeout(timer);
    resolve();
  }));
  let out = '';
  const opened = await new Promise<number>((resolve) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    void done.then(() => resolve(NaN));
  });
  return { opened, done };
}

/** held / degraded / failed from a success ratio and p95 against the given limits: held takes at least `heldAt.ratio` and a p95 under `heldAt.p95`. */
export function judge(f: ClientFigures, heldAt: { ratio: number; p95: number }, degradedAt: { ratio: number }): Verdict {
  const ratio = f.ok / f.total;
  if (ratio >= heldAt.ratio && f.p95 < heldAt.p95) return 'held';
  return ratio >= degradedAt.ratio ? 'degraded' : 'failed';
}

// Writes raw Ethernet frames on an interface (AF_PACKET, Python's standard library): frames on
// stdin as [u16 length][bytes]..., sent round-robin until `count` frames or `seconds` passed.
const INJECT_PY = `
import socket, struct, sys, time
iface, count, seconds, pps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
data = sys.stdin.buffer.read()
frames, i = [], 0
while i < len(data):
    (n,) = struct.unpack_from('>H', data, i)
    frames.append(data[i + 2:i + 2 + n])
    i += 2 + n
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
start, sent, errors = time.monotonic(), 0, 0
while sent < count and time.monotonic() - start < seconds:
    try:
        s.send(frames[sent % len(frames)])
    except OSError:
        errors += 1
    sent += 1
    if pps > 0:
        lag = start + sent / pps - time.monotonic()
        if lag > 0:
            time.sleep(lag)
print(sent, errors)
`;

/**
 * Write `frames` on `iface` in `ns` (round-robin, up to `count` frames in at most `seconds`,
 * `pps` a second or as fast as it goes when 0); resolves with the number written.
 */
export async function injectFrames(ns: Netns, iface: string, frames: Buffer[], o: { count: number; seconds: number; pps?: number }): Promise<number> {
  const input = Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), f]));
  const r = await ns.run(['python3', '-c', INJECT_PY, iface, String(o.count), String(o.seconds), String(o.pps ?? 0)], { input, timeoutMs: o.seconds * 1000 + 15_000 });
  if (r.code !== 0) throw new Error(`frame injection failed: ${r.stderr.trim()}`);
  return Number(r.stdout.split(' ')[0]);
}

/** The kernel side's MAC of `iface` in `ns`. */
export function macOf(ns: Netns, iface: string): Buffer {
  const text = ns.runSync(['cat', `/sys/class/net/${iface}/address`]).stdout.trim();
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** A random locally administered unicast MAC. */
export function randomMac(rand: () => number): Buffer {
  const m = Buffer.from(Array.from({ length: 6 }, () => Math.floor(rand() * 256)));
  m[0] = (m[0]! & 0xfc) | 0x02;
  return m;
}
