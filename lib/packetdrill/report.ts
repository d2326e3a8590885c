// What a run says: a failure names the script line, shows the expected and the actual segment in
// tapstack's one-line format with relative numbers (as the trace prints them), and the sender's
// state of the connection (SND.UNA/NXT, cwnd, RTO) at that moment.
import type { TcpConnection } from '../tcp/connection.js';
import { formatTcpFlags, type TcpOptions, type TcpSegment } from '../wire/tcp.js';
import { seqDiff } from '../wire/seq.js';
import { flagBits, type MismatchKind, type Numbering } from './matcher.js';
import type { PacketEvent, SkippedEvent } from './script.js';

/** Why a script failed. */
export interface Failure {
  kind: MismatchKind;
  line: number;
  /** The script line as written (trimmed). */
  text: string;
  /** The whole report: what differs, expected, actual, connection state. */
  message: string;
}

/** The outcome of one script. */
export interface RunResult {
  file: string;
  ok: boolean;
  failure?: Failure;
  /** Shell and Python lines that were not run (listed, never silently passed). */
  skipped: SkippedEvent[];
  /** Events played. */
  events: number;
}

/** `[SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1460 ...` for a `>` line as the script writes it. */
export function formatExpected(ev: PacketEvent): string {
  const win = ev.win === undefined ? '*' : String(ev.win);
  const ack = ev.ack === undefined ? '' : ` Ack=${ev.ack}`;
  const opts = (ev.options ?? [])
    .map((o) => {
      if (o.kind === 'mss') return ` MSS=${o.value}`;
      if (o.kind === 'sackOK') return ' SACK_PERM';
      if (o.kind === 'TS') return ` TSval=${o.val} TSecr=${o.ecr}`;
      if (o.kind === 'wscale') return ` WS=${2 ** Math.min(o.value, 14)}`;
      if (o.kind === 'sack') return o.blocks.map(([l, r]) => ` SLE=${l} SRE=${r}`).join('');
      return '';
    })
    .join('');
  return `[${formatTcpFlags(flagBits(ev.flags))}] Seq=${ev.seq}${ack} Win=${win} Len=${ev.len}${opts}`;
}

/** One of tapstack's segments with relative numbers (SACK blocks relative to the peer's ISN). */
export function formatSent(seg: TcpSegment, n: Numbering, at: number): string {
  const ack = (seg.flags & 0x10) !== 0 ? ` Ack=${n.peerRel(seg.ack)}` : '';
  return `${(at / 1000).toFixed(6)} [${formatTcpFlags(seg.flags)}] Seq=${n.ourRel(seg.seq)}${ack} Win=${seg.window} Len=${seg.payload.length}${formatOptions(seg.options, n)}`;
}

function formatOptions(o: TcpOptions, n: Numbering): string {
  let s = '';
  if (o.mss !== undefined) s += ` MSS=${o.mss}`;
  if (o.sackPermitted) s += ' SACK_PERM';
  if (o.ts !== undefined) s += ` TSval=${o.ts.val} TSecr=${o.ts.ecr}`;
  if (o.wscale !== undefined) s += ` WS=${2 ** Math.min(o.wscale, 14)}`;
  for (const b of o.sack ?? []) s += ` SLE=${n.peerRel(b.left)} SRE=${n.peerRel(b.right)}`;
  return s;
}

/** `ESTABLISHED SND.UNA=1 SND.NXT=1001 cwnd=14600 ssthresh=... RTO=200ms srtt=...` */
export function formatState(c: TcpConnection | undefined): string {
  if (c === undefined) return 'no connection';
  const i = c.info();
  const rel = (x: number): number => seqDiff(x as never, c.iss);
  const srtt = i.srtt === undefined ? '-' : `${Math.round(i.srtt)}ms`;
  const ss = i.ssthresh >= 0x7fffffff || !Number.isFinite(i.ssthresh) ? 'inf' : String(i.ssthresh);
  return `${i.state} SND.UNA=${rel(i.sndUna)} SND.NXT=${rel(i.sndNxt)} SND.WND=${i.sndWnd} cwnd=${i.cwnd} ssthresh=${ss} RTO=${Math.round(i.rto)}ms srtt=${srtt} in-flight=${i.bytesInFlight} unsent=${i.unsent} recovery=${i.recovery}`;
}

/** The text of a whole result, as the CLI prints it. */
export function formatResult(r: RunResult): string {
  const skipped = r.skipped.length === 0 ? '' : ` (${r.skipped.length} line(s) skipped, not run: ${r.skipped.map((s) => `${s.what} at line ${s.line}`).join(', ')})`;
  if (r.ok) return `ok ${r.file}: ${r.events} events${skipped}`;
  return `FAIL ${r.file}${skipped}\n${r.failure!.message}`;
}
