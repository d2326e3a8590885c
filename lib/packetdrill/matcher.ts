// The segment matcher: does what tapstack sent match a `>` line? Numbers are compared relative
// to each side's ISN, options by meaning (not by byte layout), the window only when the script
// writes one. It also turns the script's relative numbers into the absolute ones an injected
// segment carries, so both directions share one notion of "relative".
import { type Seq, seq, seqAdd, seqDiff } from '../wire/seq.js';
import { TCP_FLAGS, type TcpOptions, type TcpSegment } from '../wire/tcp.js';
import type { OptionSpec, PacketEvent } from './script.js';

/** The kinds of mismatch a run can end with. */
export type MismatchKind = 'flags' | 'seq' | 'ack' | 'win' | 'len' | 'option' | 'timing' | 'missing' | 'unexpected' | 'return' | 'errno' | 'value' | 'unsupported' | 'error';

/** Script flag letters to TCP control bits ('.' is ACK, E is ECE, W is CWR). */
const LETTER: Record<string, number> = { S: TCP_FLAGS.SYN, F: TCP_FLAGS.FIN, R: TCP_FLAGS.RST, P: TCP_FLAGS.PSH, '.': TCP_FLAGS.ACK, E: TCP_FLAGS.ECE, W: TCP_FLAGS.CWR, U: TCP_FLAGS.URG };

/** `S.` → SYN|ACK. */
export function flagBits(letters: string): number {
  let f = 0;
  for (const ch of letters) f |= LETTER[ch] ?? 0;
  return f;
}

/** The numbering both directions share: the two ISNs and the TSval offset. */
export class Numbering {
  /** The peer's ISN: the script's `<` sequence numbers count from it. */
  readonly peerIsn: Seq = seq(1_000_000);
  /** tapstack's ISN, learned from each SYN it sends (undefined before: numbers are absolute). */
  ourIsn: Seq | undefined;
  /** tapstack's TSval minus the script's, from the last `>` line with TS (undefined before). */
  tsOffset: number | undefined;

  ourRel(s: Seq): number {
    return seqDiff(s, this.ourIsn ?? seq(0));
  }

  ourAbs(rel: number): Seq {
    return seqAdd(this.ourIsn ?? seq(0), rel);
  }

  peerRel(s: Seq): number {
    return seqDiff(s, this.peerIsn);
  }

  peerAbs(rel: number): Seq {
    return seqAdd(this.peerIsn, rel);
  }

  /** The options an injected segment carries: SACK blocks in our numbers, TSecr mapped to our clock. */
  injectedOptions(specs: OptionSpec[] | undefined): TcpOptions {
    const o: TcpOptions = {};
    for (const s of specs ?? []) {
      if (s.kind === 'mss') o.mss = s.value;
      else if (s.kind === 'wscale') o.wscale = s.value;
      else if (s.kind === 'sackOK') o.sackPermitted = true;
      else if (s.kind === 'TS') o.ts = { val: s.val >>> 0, ecr: s.ecr === 0 || this.tsOffset === undefined ? s.ecr : (s.ecr + this.tsOffset) >>> 0 };
      else if (s.kind === 'sack') o.sack = s.blocks.map(([l, r]) => ({ left: this.ourAbs(l), right: this.ourAbs(r) }));
    }
    return o;
  }
}

/** What tapstack sent for one `>` line: one segment, or several MSS-sized ones merged (TSO). */
export interface Sent {
  flags: number;
  seq: Seq;
  ack: Seq;
  win: number;
  len: number;
  options: TcpOptions;
}

/** Merge consecutive segments into the one super-segment a `>` line may describe. */
export function merge(segs: TcpSegment[]): Sent {
  const first = segs[0]!;
  let flags = 0;
  let len = 0;
  for (const s of segs) {
    flags |= s.flags;
    len += s.payload.length;
  }
  const last = segs[segs.length - 1]!;
  return { flags, seq: first.seq, ack: last.ack, win: last.window, len, options: first.options };
}

/** A field that differs, with the kind and a sentence. */
export interface Difference {
  kind: MismatchKind;
  message: string;
}

/**
 * Compare `sent` with the `>` line `ev`; the first difference, or undefined. Learns our ISN from
 * a SYN and the TSval offset from a TS option as it goes. `tsTolerance` (in ticks) checks TSval
 * when defined.
 */
export function compare(ev: PacketEvent, sent: Sent, n: Numbering, tsTolerance: number | undefined): Difference | undefined {
  const want = flagBits(ev.flags);
  if ((sent.flags & TCP_FLAGS.SYN) !== 0 && (want & TCP_FLAGS.SYN) !== 0) n.ourIsn = seqAdd(sent.seq, -ev.seq);
  const names = (f: number): string => flagLetters(f);
  if (sent.flags !== want) return { kind: 'flags', message: `flags ${names(sent.flags)}, the script says ${ev.flags}` };
  const s = n.ourRel(sent.seq);
  if (s !== ev.seq) return { kind: 'seq', message: `seq ${s}, the script says ${ev.seq}` };
  if (sent.len !== ev.len) return { kind: 'len', message: `length ${sent.len}, the script says ${ev.len}` };
  if (ev.ack !== undefined) {
    const a = (sent.flags & TCP_FLAGS.ACK) === 0 ? undefined : n.peerRel(sent.ack);
    if (a !== ev.ack) return { kind: 'ack', message: `ack ${a ?? 'none'}, the script says ${ev.ack}` };
  }
  if (ev.win !== undefined && sent.win !== ev.win) return { kind: 'win', message: `win ${sent.win}, the script says ${ev.win}` };
  if (ev.options !== undefined) return compareOptions(ev.options, sent.options, n, tsTolerance);
  return undefined;
}

function compareOptions(specs: OptionSpec[], got: TcpOptions, n: Numbering, tsTolerance: number | undefined): Difference | undefined {
  const diff = (message: string): Difference => ({ kind: 'option', message });
  const want: TcpOptions = {};
  let wantTs: { val: number; ecr: number } | undefined;
  for (const s of specs) {
    if (s.kind === 'mss') want.mss = s.value;
    else if (s.kind === 'wscale') want.wscale = s.value;
    else if (s.kind === 'sackOK') want.sackPermitted = true;
    else if (s.kind === 'TS') wantTs = { val: s.val, ecr: s.ecr };
    else if (s.kind === 'sack') want.sack = s.blocks.map(([l, r]) => ({ left: n.peerAbs(l), right: n.peerAbs(r) }));
  }
  if (got.mss !== want.mss) return diff(`mss ${got.mss ?? 'absent'}, the script says ${want.mss ?? 'absent'}`);
  if (got.wscale !== want.wscale) return diff(`wscale ${got.wscale ?? 'absent'}, the script says ${want.wscale ?? 'absent'}`);
  if ((got.sackPermitted ?? false) !== (want.sackPermitted ?? false)) return diff(`sackOK ${got.sackPermitted ? 'present' : 'absent'}, the script says ${want.sackPermitted ? 'present' : 'absent'}`);
  const blocks = (b: TcpOptions['sack']): string => (b ?? []).map((x) => `${n.peerRel(x.left)}:${n.peerRel(x.right)}`).join(' ') || 'none';
  if (blocks(got.sack) !== blocks(want.sack)) return diff(`sack ${blocks(got.sack)}, the script says ${blocks(want.sack)}`);
  if ((got.ts === undefined) !== (wantTs === undefined)) return diff(`TS ${got.ts ? 'present' : 'absent'}, the script says ${wantTs ? 'present' : 'absent'}`);
  if (got.ts !== undefined && wantTs !== undefined) {
    if (got.ts.ecr !== wantTs.ecr) return diff(`TS ecr ${got.ts.ecr}, the script says ${wantTs.ecr}`);
    if (tsTolerance !== undefined && n.tsOffset !== undefined) {
      const rel = (got.ts.val - n.tsOffset) >>> 0;
      if (Math.abs(rel - wantTs.val) > tsTolerance) return diff(`TS val ${rel} (in script ticks), the script says ${wantTs.val}`);
    }
    if (tsTolerance === undefined || n.tsOffset === undefined) n.tsOffset = (got.ts.val - wantTs.val) | 0;
  }
  return undefined;
}

/** Control bits in script letters: SYN|ACK → `S.`. */
export function flagLetters(f: number): string {
  let s = '';
  for (const [l, bit] of Object.entries(LETTER)) if (l !== '.' && (f & bit) !== 0) s += l;
  return (f & TCP_FLAGS.ACK) !== 0 ? `${s}.` : s || '(none)';
}
