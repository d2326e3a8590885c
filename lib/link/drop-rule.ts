// `--drop RULE`: a small language to drop exactly the frame a lesson needs (issue 11) — the first
// data segment, the third pure ACK, a FIN, every ICMP message — and its matcher. A rule is words
// separated by spaces, all of which must hold:
//
//   rx | tx                 direction (default: both): rx from the wire to the stack, tx the other way
//   tcp | udp | icmp | arp  protocol (default: any)
//   syn fin rst psh ack urg TCP flag words: that flag is set (as in tcpdump's tcp[tcpflags])
//   flags=LETTERS           TCP flags exactly these (S A F R P U E C, e.g. flags=A for a pure ACK)
//   seq=N  ack=N            TCP relative numbers, as the trace shows them (counted from each
//                           side's SYN, so seq=1 is the first data byte; needs the SYN seen)
//   len=N  len>N  len<N     payload bytes (TCP/UDP data, ICMP data after its 8-byte header)
//   sport=N  dport=N        TCP/UDP ports
//   nth=N                   only the Nth frame that matches the rest (1-based)
//   every=N                 every Nth frame that matches (N, 2N, 3N, ...)
//
//   --drop 'tx tcp seq=1 len>0 nth=1'      the first data segment tapstack sends
//   --drop 'rx tcp ack flags=A dport=80 nth=3'   the third pure ACK to port 80
//   --drop 'rx icmp'                        every ICMP message on its way in
import { EtherType } from '../wire/ethernet.js';
import { IpProto } from '../wire/ipv4.js';
import { TCP_FLAGS } from '../wire/tcp.js';

/** A rule that cannot be read; the message says which word and what was expected. */
export class DropRuleError extends Error {
  override name = 'DropRuleError';
}

/** The fields a rule looks at, taken from one frame (see `frameFacts`). */
export interface FrameFacts {
  dir: 'rx' | 'tx';
  proto: 'tcp' | 'udp' | 'icmp' | 'arp' | 'other';
  flags: number;
  /** Relative TCP numbers, when the connection's SYNs were seen. */
  seq: number | undefined;
  ack: number | undefined;
  len: number;
  sport: number | undefined;
  dport: number | undefined;
}

type Test = (f: FrameFacts) => boolean;

const PROTOS = ['tcp', 'udp', 'icmp', 'arp'] as const;
const FLAG_WORDS: Record<string, number> = { syn: TCP_FLAGS.SYN, fin: TCP_FLAGS.FIN, rst: TCP_FLAGS.RST, psh: TCP_FLAGS.PSH, ack: TCP_FLAGS.ACK, urg: TCP_FLAGS.URG };
const FLAG_LETTERS: Record<string, number> = { S: TCP_FLAGS.SYN, A: TCP_FLAGS.ACK, F: TCP_FLAGS.FIN, R: TCP_FLAGS.RST, P: TCP_FLAGS.PSH, U: TCP_FLAGS.URG, E: TCP_FLAGS.ECE, C: TCP_FLAGS.CWR };
const TERMS = 'rx|tx, tcp|udp|icmp|arp, syn|fin|rst|psh|ack|urg, flags=SAFRPUEC, seq=N, ack=N, len=N|len>N|len<N, sport=N, dport=N, nth=N, every=N';

/** One parsed `--drop` rule: `matches` counts matching frames and says whether this one is dropped. */
export class DropRule {
  /** The rule as written, for the reason shown with each drop (`--drop 'tx tcp seq=1'`). */
  readonly text: string;
  readonly #tests: Test[];
  readonly #nth: number | undefined;
  readonly #every: number | undefined;
  #seen = 0;

  /** Parse `text`; throws DropRuleError naming the bad word. */
  constructor(text: string) {
    this.text = text.trim().replace(/\s+/g, ' ');
    const tests: Test[] = [];
    let nth: number | undefined;
    let every: number | undefined;
    let proto: string | undefined;
    if (this.text === '') throw new DropRuleError(`empty rule (words: ${TERMS})`);
    for (const word of this.text.split(' ')) {
      const w = word.toLowerCase();
      if (w === 'rx' || w === 'tx') {
        tests.push((f) => f.dir === w);
      } else if ((PROTOS as readonly string[]).includes(w)) {
        if (proto !== undefined) throw new DropRuleError(`"${word}": the rule already says ${proto}`);
        proto = w;
        tests.push((f) => f.proto === w);
      } else if (FLAG_WORDS[w] !== undefined) {
        const bit = FLAG_WORDS[w];
        tests.push((f) => f.proto === 'tcp' && (f.flags & bit) !== 0);
      } else {
        const m = /^([a-z]+)(=|>|<)(.*)$/.exec(w);
        if (m === null) throw new DropRuleError(`"${word}": unknown word (words: ${TERMS})`);
        const [, key, op, value] = m as unknown as [string, string, string, string];
        if (op !== '=' && key !== 'len') throw new DropRuleError(`"${word}": only len takes < or >`);
        if (key === 'flags') {
          let bits = 0;
          for (const ch of value.toUpperCase()) {
            const b = FLAG_LETTERS[ch];
            if (b === undefined) throw new DropRuleError(`"${word}": unknown flag letter "${ch}" (S A F R P U E C)`);
            bits |= b;
          }
          if (value === '') throw new DropRuleError(`"${word}": no flag letters (S A F R P U E C)`);
          tests.push((f) => f.proto === 'tcp' && f.flags === bits);
          continue;
        }
        const n = number(word, value);
        if (key === 'seq') tests.push((f) => f.seq === n);
        else if (key === 'ack') tests.push((f) => f.ack === n && (f.flags & TCP_FLAGS.ACK) !== 0);
        else if (key === 'len') tests.push(op === '=' ? (f) => f.len === n : op === '>' ? (f) => f.len > n : (f) => f.len < n);
        else if (key === 'sport') tests.push((f) => f.sport === n);
        else if (key === 'dport') tests.push((f) => f.dport === n);
        else if (key === 'nth' || key === 'every') {
          if (n < 1) throw new DropRuleError(`"${word}": ${key} counts from 1`);
          if (nth !== undefined || every !== undefined) throw new DropRuleError(`"${word}": one nth= or every= per rule`);
          if (key === 'nth') nth = n;
          else every = n;
        } else throw new DropRuleError(`"${word}": unknown word (words: ${TERMS})`);
      }
    }
    this.#tests = tests;
    this.#nth = nth;
    this.#every = every;
  }

  /** Whether the rule drops this frame (a frame matching the words counts toward nth/every). */
  matches(f: FrameFacts): boolean {
    for (const t of this.#tests) if (!t(f)) return false;
    const k = ++this.#seen;
    if (this.#nth !== undefined) return k === this.#nth;
    if (this.#every !== undefined) return k % this.#every === 0;
    return true;
  }
}

function number(word: string, text: string): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new DropRuleError(`"${word}": expected a whole number, got "${text}"`);
  return n;
}

/**
 * Reads the facts a rule needs from Ethernet frames, remembering each TCP connection's initial
 * sequence numbers (from the SYNs) so that `seq=`/`ack=` are relative like the trace's.
 */
export class FrameFactReader {
  readonly #isn = new Map<string, number>();
  readonly #max: number;

  constructor(maxConnections = 4096) {
    this.#max = maxConnections;
  }

  /** The facts of `frame` going `dir`; undefined for what is not Ethernet II. */
  read(dir: 'rx' | 'tx', frame: Buffer): FrameFacts | undefined {
    if (frame.length < 14) return undefined;
    const type = frame.readUInt16BE(12);
    const f: FrameFacts = { dir, proto: 'other', flags: 0, seq: undefined, ack: undefined, len: 0, sport: undefined, dport: undefined };
    if (type === EtherType.ARP) f.proto = 'arp';
    if (type !== EtherType.IPv4 || frame.length < 34) return f;
    const ihl = (frame[14]! & 15) * 4;
    const total = Math.min(frame.readUInt16BE(16), frame.length - 14);
    const proto = frame[23]!;
    const first = (frame.readUInt16BE(20) & 0x1fff) === 0;
    const l4 = 14 + ihl;
    const end = 14 + total;
    if (proto === IpProto.ICMP) {
      f.proto = 'icmp';
      f.len = Math.max(0, end - l4 - 8);
    } else if (proto === IpProto.UDP) {
      f.proto = 'udp';
      if (first && end - l4 >= 8) {
        f.sport = frame.readUInt16BE(l4);
        f.dport = frame.readUInt16BE(l4 + 2);
        f.len = end - l4 - 8;
      }
    } else if (proto === IpProto.TCP) {
      f.proto = 'tcp';
      if (first && end - l4 >= 20) this.#tcp(f, frame, l4, end);
    }
    return f;
  }

  #tcp(f: FrameFacts, b: Buffer, o: number, end: number): void {
    const src = `${b.readUInt32BE(26)}:${b.readUInt16BE(o)}`;
    const dst = `${b.readUInt32BE(30)}:${b.readUInt16BE(o + 2)}`;
    f.sport = b.readUInt16BE(o);
    f.dport = b.readUInt16BE(o + 2);
    f.flags = b[o + 13]!;
    f.len = Math.max(0, end - o - (b[o + 12]! >>> 4) * 4);
    const seq = b.readUInt32BE(o + 4);
    if (f.flags & TCP_FLAGS.SYN) {
      const key = `${src}>${dst}`;
      this.#isn.delete(key);
      if (this.#isn.size >= this.#max) this.#isn.delete(this.#isn.keys().next().value!);
      this.#isn.set(key, seq);
    }
    const mine = this.#isn.get(`${src}>${dst}`);
    const theirs = this.#isn.get(`${dst}>${src}`);
    if (mine !== undefined) f.seq = (seq - mine) >>> 0;
    if (theirs !== undefined) f.ack = (b.readUInt32BE(o + 8) - theirs) >>> 0;
  }
}
