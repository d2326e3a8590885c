// The second pass: each statement of lexer.ts to a script event (script.ts). It knows the
// packetdrill grammar for times, TCP segments and their options, ICMP errors and system calls;
// what a system call means is the syscall layer's business, so arguments stay text here.
import { DEFAULT_TCP_CONFIG } from '../tcp/config.js';
import { lex } from './lexer.js';
import { type EventTime, type OptionSpec, type PacketEvent, type Script, ScriptError, type ScriptEvent, type ScriptOptions } from './script.js';

const NUM = String.raw`[+]?(?:\d+\.?\d*|\.\d+)`;
const TIME_RE = new RegExp(String.raw`^(\*|(${NUM})(?:~(${NUM}))?(?:\.\.\.(${NUM}))?)\s+(.*)$`);
const SEGMENT_RE = /^([SFRPEWU.]+)\s+(\d+):(\d+)\((\d+)\)\s*(.*)$/;
const SYSCALL_RE = /^([a-z_][a-z0-9_]*)\s*\((.*)\)\s*=\s*(-?(?:0x[0-9a-f]+|\d+))\s*(?:([A-Z][A-Z0-9_]*)\s*(?:\(.*\))?)?$/i;

/** packetdrill's default timing tolerance: 4 ms. */
export const DEFAULT_TOLERANCE_MS = 4;

/** ICMP destination-unreachable codes by their packetdrill names. */
const ICMP_CODES: Record<string, number> = { net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4 };

/** Parse a whole script; `overrides` are command-line flags (they win over the script's own). */
export function parseScript(source: string, file = '<script>', overrides: Partial<ScriptOptions> = {}): Script {
  const options: ScriptOptions = { toleranceMs: DEFAULT_TOLERANCE_MS };
  const events: ScriptEvent[] = [];
  for (const st of lex(source)) {
    if (st.text.startsWith('--')) {
      applyFlag(options, st.text, (m) => new ScriptError(file, st.line, m));
      continue;
    }
    events.push(parseStatement(st.text, st.line, file));
  }
  return { file, events, options: { ...options, ...overrides } };
}

/** Apply one `--name=value` header flag. */
export function applyFlag(o: Partial<ScriptOptions>, text: string, fail: (msg: string) => Error): void {
  const m = /^--([A-Za-z_]+)(?:=(\S+))?$/.exec(text.trim());
  if (m === null) throw fail(`bad option line: ${text}`);
  const [, name, value] = m;
  const num = (): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0) throw fail(`--${name} needs a number`);
    return n;
  };
  switch (name) {
    case 'tolerance_usecs':
      o.toleranceMs = num() / 1000;
      return;
    case 'mss':
      o.mss = num();
      return;
    case 'tcp_ts_tick_usecs':
      o.tsTickUsecs = num();
      return;
    case 'ip_version':
      if (value !== 'ipv4') throw fail('tapstack speaks IPv4 only (--ip_version=ipv4)');
      return;
    default:
      if (name!.startsWith('tapstack_tcp_') && value !== undefined) {
        // tapstack's extension: a TCP tunable for this script (what packetdrill does with sysctl).
        const key = name!.slice('tapstack_tcp_'.length);
        if (!(key in DEFAULT_TCP_CONFIG)) throw fail(`no TCP tunable ${key} (lib/tcp/config.ts)`);
        const v = value === 'true' ? true : value === 'false' ? false : Number.isFinite(Number(value)) ? Number(value) : value;
        o.tcp = { ...o.tcp, [key]: v };
        return;
      }
      throw fail(`unknown option --${name}`);
  }
}

function seconds(s: string): number {
  return Math.round(Number(s.replace('+', '')) * 1e6) / 1e3;
}

function endOf(s: string | undefined): { kind: 'abs' | 'rel'; ms: number } | undefined {
  return s === undefined ? undefined : { kind: s.startsWith('+') ? 'rel' : 'abs', ms: seconds(s) };
}

function parseStatement(text: string, line: number, file: string): ScriptEvent {
  const fail = (msg: string): ScriptError => new ScriptError(file, line, `${msg}: ${text}`);
  if (text.startsWith('%{') || /^\S+\s+%\{/.test(text)) return { type: 'skipped', line, text, what: 'python' };
  const m = TIME_RE.exec(text);
  if (m === null) {
    if (text.startsWith('`')) return { type: 'skipped', line, text, what: 'shell' };
    throw fail('an event starts with its time (0, +0.1, *, +0~+0.2, +0...0.3)');
  }
  const [, all, start, range, block, rest] = m;
  const time: EventTime = all === '*' ? { kind: 'any', ms: 0 } : { kind: start!.startsWith('+') ? 'rel' : 'abs', ms: seconds(start!) };
  if (range !== undefined) time.rangeEnd = endOf(range);
  if (block !== undefined) time.blockEnd = endOf(block);
  const action = rest!.trim();
  if (action.startsWith('`')) return { type: 'skipped', line, text, what: 'shell' };
  if (action.startsWith('%{')) return { type: 'skipped', line, text, what: 'python' };
  if (action.startsWith('<') || action.startsWith('>')) {
    const dir = action[0] as '<' | '>';
    const body = action.slice(1).trim();
    if (body.startsWith('icmp')) {
      if (dir !== '<') throw fail('only injected ICMP (`< icmp ...`) is supported');
      return parseIcmp(body, line, text, time, fail);
    }
    return parsePacket(dir, body, line, text, time, fail);
  }
  const s = SYSCALL_RE.exec(action);
  if (s === null) throw fail('not a segment (< or >), an ICMP error or a system call `name(args) = ret`');
  const ret = Number(s[3]);
  return { type: 'syscall', line, text, time, name: s[1]!, args: splitArgs(s[2]!), ret, errno: s[4] };
}

function parsePacket(dir: '<' | '>', body: string, line: number, text: string, time: EventTime, fail: (m: string) => Error): PacketEvent {
  const m = SEGMENT_RE.exec(body);
  if (m === null) throw fail('a segment is FLAGS SEQ:END(LEN) [ack N] [win N] [<options>]');
  const [, flags, s, e, l] = m;
  let rest = m[5]!;
  const p: PacketEvent = { type: 'packet', line, text, time, dir, flags: flags!, seq: Number(s), end: Number(e), len: Number(l) };
  if (p.end - p.seq !== p.len) throw fail(`${s}:${e} is ${p.end - p.seq} bytes, not (${l})`);
  for (;;) {
    rest = rest.trim();
    if (rest === '') break;
    let t: RegExpExecArray | null;
    if ((t = /^ack\s+(\d+)/.exec(rest)) !== null) p.ack = Number(t[1]);
    else if ((t = /^win\s+(\d+)/.exec(rest)) !== null) p.win = Number(t[1]);
    else if ((t = /^<([^>]*)>/.exec(rest)) !== null) p.options = parseOptions(t[1]!, fail);
    else throw fail(`unexpected "${rest}"`);
    rest = rest.slice(t[0].length);
  }
  return p;
}

/** `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7` → option specs. */
export function parseOptions(s: string, fail: (m: string) => Error): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (const part of s.split(',')) {
    const o = part.trim();
    let t: RegExpExecArray | null;
    if (o === '') continue;
    if (o === 'nop') out.push({ kind: 'nop' });
    else if (o === 'eol') out.push({ kind: 'eol' });
    else if (o === 'sackOK') out.push({ kind: 'sackOK' });
    else if ((t = /^mss\s+(\d+)$/.exec(o)) !== null) out.push({ kind: 'mss', value: Number(t[1]) });
    else if ((t = /^wscale\s+(\d+)$/.exec(o)) !== null) out.push({ kind: 'wscale', value: Number(t[1]) });
    else if ((t = /^TS\s+val\s+(\d+)\s+ecr\s+(\d+)$/.exec(o)) !== null) out.push({ kind: 'TS', val: Number(t[1]), ecr: Number(t[2]) });
    else if ((t = /^sack((?:\s+\d+:\d+)*)$/.exec(o)) !== null) {
      const blocks = t[1]!.trim() === '' ? [] : t[1]!.trim().split(/\s+/).map((b) => b.split(':').map(Number) as [number, number]);
      out.push({ kind: 'sack', blocks });
    } else throw fail(`unknown option "${o}"`);
  }
  return out;
}

function parseIcmp(body: string, line: number, text: string, time: EventTime, fail: (m: string) => Error): ScriptEvent {
  const m = /^icmp\s+unreachable\s+([a-z_]+)(?:\s+mtu\s+(\d+))?(?:\s+\[(\d+):(\d+)\((\d+)\)\])?\s*$/.exec(body);
  if (m === null) throw fail('ICMP is `icmp unreachable CODE [mtu N] [SEQ:END(LEN)]`');
  const code = ICMP_CODES[m[1]!];
  if (code === undefined) throw fail(`unknown ICMP code ${m[1]} (${Object.keys(ICMP_CODES).join(', ')})`);
  if (code === 4 && m[2] === undefined) throw fail('frag_needed needs `mtu N`');
  return { type: 'icmp', line, text, time, code, mtu: m[2] === undefined ? undefined : Number(m[2]), quotedSeq: m[3] === undefined ? undefined : Number(m[3]) };
}

/** Split at top-level commas: `3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8` → 5 parts. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '' || out.length > 0) out.push(cur.trim());
  return out;
}
