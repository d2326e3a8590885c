// The script model of the packetdrill language as tapstack reads it: timed events (a segment the
// remote peer injects, a segment tapstack must send, an ICMP error, a system call) plus the
// header options. The parser (parser.ts) builds it; the runner (runner.ts) plays it.

/** When an event happens, in milliseconds of script time. */
export interface EventTime {
  /** `abs`: N; `rel`: +N after the previous event; `any`: `*`, whenever it happens. */
  kind: 'abs' | 'rel' | 'any';
  ms: number;
  /** `a~b`: the event may happen anywhere in [a, b] (outbound segments). */
  rangeEnd?: { kind: 'abs' | 'rel'; ms: number };
  /** `a...b`: a blocking system call that starts at a and returns at b. */
  blockEnd?: { kind: 'abs' | 'rel'; ms: number };
}

/** One TCP option as written in a script, e.g. `mss 1460`, `TS val 100 ecr 0`, `sack 1:1001`. */
export type OptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'TS'; val: number; ecr: number }
  | { kind: 'sack'; blocks: Array<[number, number]> };

/** `< S 0:0(0) win 32792 <mss 1000>` or `> P. 1:1001(1000) ack 1`. Numbers are relative. */
export interface PacketEvent {
  type: 'packet';
  line: number;
  text: string;
  time: EventTime;
  dir: '<' | '>';
  /** Letters as written: S F R P . (ACK) E W U. */
  flags: string;
  seq: number;
  end: number;
  len: number;
  ack?: number;
  win?: number;
  /** Undefined: options not written (not checked on `>`, none sent on `<`). */
  options?: OptionSpec[];
}

/** `< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`: an ICMP error about one of our segments. */
export interface IcmpEvent {
  type: 'icmp';
  line: number;
  text: string;
  time: EventTime;
  /** Destination-unreachable code (RFC 792): net 0, host 1, protocol 2, port 3, frag_needed 4. */
  code: number;
  mtu?: number;
  /** The quoted segment's relative sequence number (default: SND.UNA). */
  quotedSeq?: number;
}

/** `write(4, ..., 1000) = 1000` or `connect(3, ..., ...) = -1 EINPROGRESS (in progress)`. */
export interface SyscallEvent {
  type: 'syscall';
  line: number;
  text: string;
  time: EventTime;
  name: string;
  /** Arguments as written, split at top-level commas and trimmed. */
  args: string[];
  /** Expected return value. */
  ret: number;
  /** Expected errno name when ret is -1. */
  errno?: string;
}

/** A back-quoted shell command or a `%{ }%` Python block: reported as skipped, never run. */
export interface SkippedEvent {
  type: 'skipped';
  line: number;
  text: string;
  what: 'shell' | 'python';
}

export type ScriptEvent = PacketEvent | IcmpEvent | SyscallEvent | SkippedEvent;

/** Header flags (`--tolerance_usecs=10000` lines at the top of a script or on the command line). */
export interface ScriptOptions {
  /** Allowed timing error in ms (packetdrill's default 4 ms). */
  toleranceMs: number;
  /** MSS used to cut injected and expected super-segments (default: the MSS tapstack advertised). */
  mss?: number;
  /** Tick of tapstack's TSval clock in µs: when given, outbound TS val is checked too. */
  tsTickUsecs?: number;
  /** tapstack's own `--tapstack_tcp_NAME=VALUE` lines: TCP tunables (lib/tcp/config.ts) for this script. */
  tcp?: Record<string, number | boolean | string>;
}

/** A parsed script. */
export interface Script {
  file: string;
  events: ScriptEvent[];
  options: ScriptOptions;
}

/** A script that could not be parsed: names the line. */
export class ScriptError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ScriptError';
  }
}
