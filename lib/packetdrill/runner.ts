// The packetdrill runner: plays a parsed script against tapstack's real Stack and TCP on a
// memory wire with fake time. `<` lines go on the wire from the remote end (wire-peer.ts),
// `>` lines wait (in fake time, within the tolerance) for the segment tapstack sends and compare
// it (matcher.ts), system calls drive the socket layer (syscalls.ts). The first mismatch ends the
// run with a report (report.ts). Nothing sleeps: a two-hour keep-alive script runs in
// milliseconds.
import { readFile } from 'node:fs/promises';
import { FakeClock } from '../clock.js';
import { TraceNarrator } from '../explain/index.js';
import type { Link } from '../link/link.js';
import { MemoryWire } from '../link/memory-wire.js';
import { type TraceSink, TracerLink } from '../link/tracer.js';
import { SeededRng } from '../rng.js';
import { Stack } from '../stack.js';
import type { TcpConfig } from '../tcp/config.js';
import { TcpLayer } from '../tcp/tcp-layer.js';
import { TcpError } from '../tcp/types.js';
import { parseIp } from '../wire/ip-address.js';
import { seq, seqAdd } from '../wire/seq.js';
import { TCP_FLAGS } from '../wire/tcp.js';
import { compare, flagBits, merge, type MismatchKind, Numbering } from './matcher.js';
import { parseScript } from './parser.js';
import { type Failure, formatExpected, formatSent, formatState, type RunResult } from './report.js';
import type { EventTime, IcmpEvent, PacketEvent, Script, ScriptEvent, ScriptOptions, SkippedEvent, SyscallEvent } from './script.js';
import { type Call, type CallResult, Syscalls, UnsupportedCall } from './syscalls.js';
import { type Captured, WirePeer } from './wire-peer.js';

/** Addresses and ports of a run: tapstack is 10.0.0.2:8080 (or an ephemeral port when it connects), the peer 10.0.0.1:40000. */
export const STACK_IP = '10.0.0.2';
export const PEER_IP = '10.0.0.1';
export const STACK_PORT = 8080;
export const PEER_PORT = 40000;

/** How long `*` waits for a segment before calling it missing (fake time). */
const ANY_TIME_LIMIT_MS = 600_000;

/** How far past its window a missing segment is looked for, to report it as late rather than missing. */
const LATE_LOOKAHEAD_MS = 60_000;

/** Options of a run. */
export interface RunOptions {
  /** `--trace`: one line per frame (and state change) to this sink. */
  trace?: TraceSink;
  /** `--explain`: explanations under each traced frame. */
  explain?: boolean;
  lang?: 'en' | 'zh';
  /** TCP tunables for this run (tapstack's defaults otherwise). */
  tcp?: Partial<TcpConfig>;
}

/** Parse and run a script file. */
export async function runFile(path: string, opts: RunOptions & { flags?: Partial<ScriptOptions> } = {}): Promise<RunResult> {
  const source = await readFile(path, 'utf8');
  return runScript(parseScript(source, path, opts.flags), opts);
}

/** Run a parsed script; resolves with its result (it does not throw for a mismatch). */
export async function runScript(script: Script, opts: RunOptions = {}): Promise<RunResult> {
  const run = new Run(script, opts);
  try {
    return await run.play();
  } finally {
    await run.close();
  }
}

/** Thrown inside a run to end it with a report. */
class Mismatch extends Error {
  constructor(
    readonly kind: MismatchKind,
    readonly what: string,
    readonly detail: string[] = [],
  ) {
    super(what);
  }
}

/** A blocking call that started and has not returned yet. */
interface Pending {
  ev: SyscallEvent;
  call: Call;
  /** Script time it must return at. */
  end: number;
}

class Run {
  readonly clock = new FakeClock(0);
  readonly wire: MemoryWire;
  readonly stack: Stack;
  readonly tcp: TcpLayer;
  readonly peer: WirePeer;
  readonly sys: Syscalls;
  readonly n = new Numbering();
  readonly tol: number;
  readonly skipped: SkippedEvent[] = [];
  #narrator: TraceNarrator | undefined;
  /** Script time of the previous event (the base of `+N`). */
  #last = 0;
  #pending: Pending | undefined;
  /** Fake time of the last event a connection or listener reported (a blocked call's return time). */
  #wokeAt = 0;
  /** The MSS in tapstack's last SYN or SYN-ACK (the default size of injected pieces). */
  #announcedMss: number | undefined;
  /** tapstack's port when it connects (learned from its SYN). */
  #localPort: number | undefined;

  constructor(
    readonly script: Script,
    opts: RunOptions,
  ) {
    this.tol = script.options.toleranceMs;
    const rng = new SeededRng(1);
    this.wire = new MemoryWire({ clock: this.clock, rng });
    let link: Link = this.wire.b;
    if (opts.trace !== undefined) {
      this.#narrator = new TraceNarrator({ clock: this.clock, explain: opts.explain === true, lang: opts.lang });
      link = new TracerLink(link, opts.trace, { clock: this.clock, narrator: this.#narrator });
    }
    this.stack = new Stack({ link, clock: this.clock, rng, ip: STACK_IP, prefix: 24 });
    this.tcp = new TcpLayer(this.stack, { rng, ...opts.tcp, ...(script.options.tcp as Partial<TcpConfig> | undefined) });
    this.peer = new WirePeer(this.wire.a, this.clock, parseIp(PEER_IP), this.stack.ip, this.stack.mac);
    this.sys = new Syscalls(this.tcp, parseIp(PEER_IP), PEER_PORT, STACK_PORT, () => {
      this.#wokeAt = this.clock.now();
    });
  }

  async play(): Promise<RunResult> {
    let done = 0;
    await this.#settle();
    let current: ScriptEvent | undefined;
    try {
      for (const ev of this.script.events) {
        current = ev;
        await this.#event(ev);
        done++;
      }
      current = undefined;
      await this.#finishPending();
      this.#checkUnexpected(Infinity);
      return { file: this.script.file, ok: true, skipped: this.skipped, events: done };
    } catch (e) {
      return { file: this.script.file, ok: false, failure: this.#failure(e, current), skipped: this.skipped, events: done };
    }
  }

  async close(): Promise<void> {
    this.tcp.close();
    this.#narrator?.close();
    await this.stack.close();
  }

  // ---------------------------------------------------------------- time

  /** Resolve an event's time against the previous one: [nominal, earliest, latest]. */
  #when(t: EventTime): { at: number; lo: number; hi: number } {
    if (t.kind === 'any') return { at: this.clock.now(), lo: -Infinity, hi: this.clock.now() + ANY_TIME_LIMIT_MS };
    const at = t.kind === 'abs' ? t.ms : this.#last + t.ms;
    const end = t.rangeEnd === undefined ? at : t.rangeEnd.kind === 'abs' ? t.rangeEnd.ms : this.#last + t.rangeEnd.ms;
    return { at, lo: at - this.tol, hi: end + this.tol };
  }

  /** Let microtasks run (autocorked writes) and deliver what is on the wire now. */
  async #settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.clock.advanceTo(this.clock.now());
      await new Promise<void>((r) => setImmediate(r));
    }
    this.clock.advanceTo(this.clock.now());
    this.#pollPending();
  }

  /** Move fake time to `t` (never back), firing timers on the way. */
  async #advanceTo(t: number): Promise<void> {
    // Timers fire in order on the way; a blocked call's return time is when its event fired.
    if (t > this.clock.now()) this.clock.advanceTo(t);
    await this.#settle();
  }

  // ---------------------------------------------------------------- events

  async #event(ev: ScriptEvent): Promise<void> {
    if (ev.type === 'skipped') {
      this.skipped.push(ev);
      return;
    }
    if (ev.type === 'packet' && ev.dir === '>') return this.#expect(ev);
    if (ev.type === 'syscall') await this.#finishPending();
    const { at } = this.#when(ev.time);
    await this.#advanceTo(at);
    this.#checkUnexpected(at);
    if (ev.type === 'packet') this.#inject(ev);
    else if (ev.type === 'icmp') this.#icmp(ev);
    else await this.#syscall(ev, at);
    await this.#settle();
    this.#last = ev.time.kind === 'any' ? this.clock.now() : at;
  }

  /** Anything tapstack sent before `t - tolerance` that no `>` line claimed is an error. */
  #checkUnexpected(t: number): void {
    const c = this.peer.captured[0];
    if (c !== undefined && c.at < t - this.tol) {
      throw new Mismatch('unexpected', 'tapstack sent a segment the script does not expect', [`actual:   ${formatSent(c.seg, this.n, c.at)}`]);
    }
  }

  #inject(ev: PacketEvent): void {
    const flags = flagBits(ev.flags);
    const options = this.n.injectedOptions(ev.options);
    const tsLen = options.ts === undefined ? 0 : 12;
    // Linux GRO/GSO convention: one script line may carry more than an MSS; cut it as a sender would.
    const chunk = Math.max(1, (this.script.options.mss ?? this.#ourMss()) - tsLen);
    const base = this.n.peerAbs(ev.seq);
    const ack = (flags & TCP_FLAGS.ACK) !== 0 ? this.n.ourAbs(ev.ack ?? 0) : seq(0);
    const pieces = ev.len === 0 || (flags & TCP_FLAGS.SYN) !== 0 ? [ev.len] : splitInto(ev.len, chunk);
    let off = 0;
    for (let i = 0; i < pieces.length; i++) {
      const last = i === pieces.length - 1;
      const f = last ? flags : flags & ~(TCP_FLAGS.FIN | TCP_FLAGS.PSH);
      this.peer.sendTcp({
        srcPort: PEER_PORT,
        dstPort: this.#stackPort(),
        seq: seqAdd(base, off),
        ack,
        flags: f,
        window: ev.win ?? 65535,
        // Later pieces repeat only the timestamp, as a sender's segments would.
        options: i === 0 ? options : options.ts === undefined ? {} : { ts: options.ts },
        payload: Buffer.alloc(pieces[i]!, 0x62),
      });
      off += pieces[i]!;
    }
  }

  /** The MSS tapstack announced (its SYN or SYN-ACK), else its link's. */
  #ourMss(): number {
    return this.#announcedMss ?? this.stack.mtu - 40;
  }

  /** The port tapstack uses: learned from its SYN for an active open, else the listening port. */
  #stackPort(): number {
    return this.#localPort ?? STACK_PORT;
  }

  #icmp(ev: IcmpEvent): void {
    const c = this.sys.connections()[0];
    const s = ev.quotedSeq === undefined ? (c?.sndUna ?? this.n.ourAbs(0)) : this.n.ourAbs(ev.quotedSeq);
    const hdr = Buffer.alloc(8);
    hdr.writeUInt16BE(this.#stackPort(), 0);
    hdr.writeUInt16BE(PEER_PORT, 2);
    hdr.writeUInt32BE(s >>> 0, 4);
    this.peer.sendIcmpUnreachable(ev.code, ev.mtu ?? 0, hdr);
  }

  // ---------------------------------------------------------------- `>` lines

  async #expect(ev: PacketEvent): Promise<void> {
    const { at, lo, hi } = this.#when(ev.time);
    const first = await this.#nextSent(lo, hi);
    if (first === undefined) {
      // Late or never? Look further (the run fails either way) so the report can say which.
      const late = await this.#nextSent(hi, hi + LATE_LOOKAHEAD_MS);
      if (late !== undefined) throw new Mismatch('timing', `sent at ${fmtT(late.at)}, the script expects it ${this.#window(ev, at, lo, hi)}`, [`expected: ${formatExpected(ev)}`, `actual:   ${formatSent(late.seg, this.n, late.at)}`]);
      throw new Mismatch('missing', `no segment by ${fmtT(hi)} (expected at ${fmtT(at)} ± ${this.tol} ms)`, [`expected: ${formatExpected(ev)}`]);
    }
    const segs: Captured[] = [first];
    // TSO convention: a `>` line longer than what was sent may be several MSS-sized segments in a row.
    let len = first.seg.payload.length;
    while (len < ev.len && len > 0) {
      const prev = segs[segs.length - 1]!;
      const next = await this.#nextSent(lo, hi);
      if (next === undefined) break;
      if (next.seg.seq !== seqAdd(prev.seg.seq, prev.seg.payload.length) || next.seg.payload.length === 0) {
        this.peer.captured.unshift(next);
        break;
      }
      segs.push(next);
      len += next.seg.payload.length;
    }
    const sent = merge(segs.map((c) => c.seg));
    const actual = segs.map((c) => `actual:   ${formatSent(c.seg, this.n, c.at)}`);
    if (sent.flags & TCP_FLAGS.SYN) {
      this.#announcedMss = sent.options.mss ?? this.#announcedMss;
      if (!(sent.flags & TCP_FLAGS.ACK)) this.#localPort = segs[0]!.seg.srcPort;
    }
    const tsTol = this.script.options.tsTickUsecs === undefined ? undefined : Math.max(1, Math.ceil((this.tol * 1000) / this.script.options.tsTickUsecs));
    const d = compare(ev, sent, this.n, tsTol);
    if (d !== undefined) throw new Mismatch(d.kind, d.message, [`expected: ${formatExpected(ev)}`, ...actual.map((a) => a.replace(/^actual: {3}\S+ /, 'actual:   '))]);
    for (const c of segs) {
      if (c.at < lo || c.at > hi) {
        throw new Mismatch('timing', `sent at ${fmtT(c.at)}, the script expects it ${this.#window(ev, at, lo, hi)}`, [`expected: ${formatExpected(ev)}`, ...actual]);
      }
    }
    this.#last = ev.time.kind === 'any' || ev.time.rangeEnd !== undefined ? segs[segs.length - 1]!.at : at;
  }

  #window(ev: PacketEvent, at: number, lo: number, hi: number): string {
    return ev.time.kind !== 'any' && ev.time.rangeEnd === undefined ? `at ${fmtT(at)} ± ${this.tol} ms` : `in [${fmtT(lo + this.tol)}, ${fmtT(hi - this.tol)}] ± ${this.tol} ms`;
  }

  /** The next segment tapstack sends: already captured, or the first one before `hi` (fake time). */
  async #nextSent(lo: number, hi: number): Promise<Captured | undefined> {
    if (this.peer.captured.length === 0 && Number.isFinite(lo)) await this.#advanceTo(lo);
    // Step a millisecond at a time so that later script lines are not overtaken.
    while (this.peer.captured.length === 0 && this.clock.now() < hi) {
      this.clock.advanceTo(Math.min(hi, Math.floor(this.clock.now()) + 1));
      this.#pollPending();
      if (this.peer.captured.length > 0) await this.#settle();
    }
    if (this.peer.captured.length === 0) await this.#settle();
    return this.peer.captured.shift();
  }

  // ---------------------------------------------------------------- system calls

  async #syscall(ev: SyscallEvent, at: number): Promise<void> {
    let call: Call;
    try {
      call = this.sys.call(ev);
    } catch (e) {
      if (e instanceof UnsupportedCall) throw new Mismatch('unsupported', e.message);
      throw e;
    }
    const r = this.#attempt(call);
    if (r !== undefined) return this.#checkReturn(ev, r);
    if (call.nonBlocking !== undefined) return this.#checkReturn(ev, call.nonBlocking);
    const end = ev.time.blockEnd === undefined ? at : ev.time.blockEnd.kind === 'abs' ? ev.time.blockEnd.ms : this.#last + ev.time.blockEnd.ms;
    this.#pending = { ev, call, end };
    if (ev.time.blockEnd === undefined) await this.#finishPending();
  }

  #attempt(call: Call): CallResult | undefined {
    try {
      return call.attempt();
    } catch (e) {
      if (e instanceof TcpError) return { ret: -1, errno: e.code };
      if (e instanceof UnsupportedCall) throw new Mismatch('unsupported', e.message);
      throw e;
    }
  }

  /** Retry a blocked call; check it if it returned. */
  #pollPending(): void {
    const p = this.#pending;
    if (p === undefined) return;
    const r = this.#attempt(p.call);
    if (r === undefined) return;
    this.#pending = undefined;
    const t = Math.max(this.#wokeAt, 0);
    if (Math.abs(t - p.end) > this.tol) {
      throw new Mismatch('timing', `${p.ev.name}() returned at ${fmtT(t)}, the script expects ${fmtT(p.end)} ± ${this.tol} ms (line ${p.ev.line})`);
    }
    this.#checkReturn(p.ev, r);
  }

  /** Wait (in fake time) for a blocked call to return, at most until its end + tolerance. */
  async #finishPending(): Promise<void> {
    const p = this.#pending;
    if (p === undefined) return;
    while (this.#pending !== undefined && this.clock.now() < p.end + this.tol) {
      this.clock.advanceTo(Math.floor(this.clock.now()) + 1);
      this.#pollPending();
    }
    await this.#settle();
    if (this.#pending !== undefined) {
      this.#pending = undefined;
      throw new Mismatch('timing', `${p.ev.name}() still blocks at ${fmtT(this.clock.now())}; the script expects it to return at ${fmtT(p.end)} (line ${p.ev.line})`);
    }
  }

  #checkReturn(ev: SyscallEvent, r: CallResult): void {
    const got = r.ret === -1 ? `-1 ${r.errno ?? ''}`.trim() : String(r.ret);
    const want = ev.ret === -1 ? `-1 ${ev.errno ?? ''}`.trim() : String(ev.ret);
    if (r.ret !== ev.ret) throw new Mismatch('return', `${ev.name}() returned ${got}, the script says ${want}`, [`line ${ev.line}: ${ev.text}`]);
    if (r.ret === -1 && ev.errno !== undefined && r.errno !== ev.errno) throw new Mismatch('errno', `${ev.name}() failed with ${r.errno}, the script says ${ev.errno}`, [`line ${ev.line}: ${ev.text}`]);
    if (r.valueMismatch !== undefined) throw new Mismatch('value', `${ev.name}(): ${r.valueMismatch}`, [`line ${ev.line}: ${ev.text}`]);
  }

  // ---------------------------------------------------------------- report

  #failure(e: unknown, ev: ScriptEvent | undefined): Failure {
    const conn = this.sys.connections()[0] ?? [...this.tcp.core.connections()][0];
    const line = ev?.line ?? 0;
    const text = ev === undefined ? '(end of script)' : ev.text;
    const where = `${this.script.file}:${line}`;
    if (e instanceof Mismatch) {
      const message = [`${where}: ${e.kind}: ${e.what}`, `script:   ${text}`, ...e.detail, `state:    ${formatState(conn)} (at ${fmtT(this.clock.now())})`].join('\n');
      return { kind: e.kind, line, text, message };
    }
    const err = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return { kind: 'error', line, text, message: `${where}: error: ${err}\nscript:   ${text}` };
  }
}

/** `n` bytes in pieces of at most `size`. */
function splitInto(n: number, size: number): number[] {
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

function fmtT(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(3)}s` : 'the end';
}

