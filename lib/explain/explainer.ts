// Teaching mode's engine (issue 6): it reads every frame the tracer sees, keeps a little state
// per TCP connection (both ISNs, what each side sent, what each side acknowledged, and the
// RFC 9293 state of both ends), and returns for each frame the one-line summary with RELATIVE
// sequence numbers, the facts worth saying about it (notes.ts) and the state changes it caused.
// It computes facts only; en.ts / zh.ts phrase them, index.ts lays out the lines.
//
// States come from the segments themselves, as the tracer sees them next to the stack: our own
// end (the sender of TX frames) receives exactly the RX frames, in order, so its states follow
// RFC 9293 §3.10 (in-order delivery, FIN after the last byte, ACK of our SYN/FIN). The peer's
// end is modelled as receiving what we send; under induced loss it can run ahead of the truth.
import type { Clock, TimerHandle } from '../clock.js';
import { ArpOp, parseArp } from '../wire/arp.js';
import { EtherType, parseEthernet } from '../wire/ethernet.js';
import { formatFrame, formatTcp, formatTcpOptions } from '../wire/format.js';
import { IcmpType } from '../wire/icmp.js';
import { ipToString, macToString, readIp } from '../wire/ip-address.js';
import { IpProto, parseIpv4, type Ipv4Packet } from '../wire/ipv4.js';
import { type Seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from '../wire/seq.js';
import { formatTcpFlags, parseTcp, TCP_FLAGS, type TcpSegment } from '../wire/tcp.js';
import { WireError } from '../wire/wire-error.js';
import type { TcpState } from '../tcp/types.js';
import type { RetransmitEvent } from '../tcp/retransmit-event.js';
import type { AckPart, End, MssSide, Note, StateChange } from './notes.js';
import { dnsFacts, dnsSummary } from '../dns/message.js';

const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;

/** Linux's lower bound for the retransmission timer (TCP_RTO_MIN, 200 ms): a peer's resend sooner than this was not its RTO. */
const LINUX_RTO_MIN_MS = 200;
/** Wireshark's window for a fast retransmission: within 20 ms of the latest duplicate ACK. */
const WIRESHARK_FAST_MS = 20;

/** Options of the Explainer. */
export interface ExplainerOptions {
  /** For the TIME-WAIT expiry line of our own end, and for times between packets. */
  clock?: Clock;
  /** How long our end stays in TIME-WAIT (2×MSL; tapstack's default 60 000 ms, its MSL being 30 s). */
  timeWaitMs?: number;
  /** The emulated path MTU of the stack (`--path-mtu`), to say whether a DF ping toward it fits. */
  pathMtu?: number;
  /** Connections remembered at most (oldest forgotten first). */
  maxConnections?: number;
}

/** Everything said about one frame. */
export interface TraceEntry {
  /** Packet number, 1-based, as shown after `#`. */
  no: number;
  dir: 'RX' | 'TX';
  /** The Wireshark-like summary line (relative TCP numbers). */
  line: string;
  /** Why the frame was dropped on purpose (`--loss, seed 7`); it never arrived where it was going. */
  drop?: string;
  notes: Note[];
  states: StateChange[];
}

/** One segment a side sent (for ACK arithmetic and retransmission attribution). */
interface Sent {
  seq: Seq;
  len: number;
  syn: boolean;
  fin: boolean;
  no: number;
  at: number;
  what: string | undefined;
}

/** One direction of a connection, named after the end that sends it. */
interface Half {
  who: string;
  /** The other end (`ip:port`). */
  peer: string;
  role: 'client' | 'server';
  local: boolean;
  state: TcpState | undefined;
  isn: Seq | undefined;
  mss: number | undefined;
  wscale: number | undefined;
  ts: boolean;
  sndMax: Seq | undefined;
  finSeq: Seq | undefined;
  segs: Sent[];
  /** Highest ACK this end sent (and the packet that first carried it), its window, duplicates of it since, whether it carried SACK blocks above. */
  ackMax: Seq | undefined;
  ackMaxNo: number;
  /** The latest ACKs of this end that moved it forward: value, packet number, dropped on purpose. */
  acks: { ack: Seq; no: number; dropped: boolean }[];
  /** This end's latest retransmissions (sequence number and packet number), newest last. */
  rtx: { seq: Seq; no: number }[];
  /** When this end sent its latest duplicate ACK. */
  dupAckAt: number;
  /** Largest segment this end may send: the peer's MSS, or less under its path MTU (known once both SYNs are seen). */
  segMax: number | undefined;
  lastWin: number;
  dupAcks: number;
  /** The highest SACK block edge above the ACK in this end's latest ACK (the receiver reports data beyond a hole). */
  sackHigh: Seq | undefined;
  /** This end as receiver of the other half: next in-order sequence number, and blocks beyond it. */
  rcvNxt: Seq | undefined;
  ooo: { left: Seq; right: Seq; fin: boolean }[];
  winExplained: boolean;
  twTimer: TimerHandle | undefined;
}

/** A connection: its two halves by `ip:port` of the sender, and when it last carried a segment. */
interface Conv {
  halves: Map<string, Half>;
  lastAt: number;
}

const HTTP_LINE = /^(?:(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) \S+ HTTP\/1\.[01]|HTTP\/1\.[01] \d{3}[^\r\n]*)\r\n/;
const SERVICES: Record<number, string> = { 7: 'echo', 9: 'discard', 53: 'DNS', 67: 'DHCP', 68: 'DHCP', 123: 'NTP', 137: 'NetBIOS', 5353: 'mDNS' };

/** Computes the trace line, the notes and the state changes of each frame, in order. */
export class Explainer {
  readonly #opts: ExplainerOptions;
  readonly #convs = new Map<string, Conv>();
  readonly #pings = new Map<string, { no: number; at: number }>();
  /** Retransmissions our TCP core announced, not yet seen on the way out: connection, byte range, event. */
  readonly #announced: { conn: string; start: Seq; end: Seq; ev: RetransmitEvent }[] = [];
  readonly #dnsQueries = new Map<string, number>();
  #no = 0;
  /** Where state changes that happen later (TIME-WAIT expiry) are reported. */
  onLater: ((states: StateChange[]) => void) | undefined;

  constructor(opts: ExplainerOptions = {}) {
    this.#opts = opts;
  }

  get #now(): number {
    return this.#opts.clock?.now() ?? 0;
  }

  get #timeWaitMs(): number {
    return this.#opts.timeWaitMs ?? 60_000;
  }

  /**
   * Explain one frame seen going out (TX, sent by the stack) or coming in (RX). With `drop` (the
   * reason) it was dropped on purpose on its way: its sender sent it, its receiver never gets it.
   * Never throws.
   */
  frame(dir: 'RX' | 'TX', frame: Buffer, drop?: string): TraceEntry {
    const e: TraceEntry = { no: ++this.#no, dir, line: '', notes: [], states: [] };
    if (drop !== undefined) {
      e.drop = drop;
      e.notes.push({ kind: 'dropped', dir, reason: drop });
    }
    try {
      this.#frame(e, frame);
    } catch (err) {
      // A bug here must never take the stack down: show the plain summary.
      e.line = formatFrame(frame);
      e.notes.push({ kind: 'malformed', reason: err instanceof WireError ? err.reason : String(err) });
    }
    return e;
  }

  /**
   * The cause of a retransmission, from tapstack's own TCP core (`TcpLayer.onRetransmit`), told
   * just before the segment goes out: its trace line then names the real cause, not a guess.
   */
  retransmit(ev: RetransmitEvent): void {
    const start = ev.seq as Seq;
    this.#announced.push({ conn: `${ev.local.ip}:${ev.local.port}>${ev.remote.ip}:${ev.remote.port}`, start, end: seqAdd(start, Math.max(ev.len, 1)), ev });
    if (this.#announced.length > 256) this.#announced.shift();
  }

  /** The announced retransmission covering a segment we send from `seq` (and forget it once the segment reaches its end). */
  #announcedFor(conn: string, seq: Seq, len: number): RetransmitEvent | undefined {
    const i = this.#announced.findIndex((a) => a.conn === conn && seqLe(a.start, seq) && seqLt(seq, a.end));
    if (i < 0) return undefined;
    const a = this.#announced[i]!;
    if (seqGe(seqAdd(seq, Math.max(len, 1)), a.end)) this.#announced.splice(i, 1);
    return a.ev;
  }

  /** Our end's and the peer's state for a connection (`ip:port` text), for tests and status. */
  stateOf(local: string, remote: string): { local: TcpState | undefined; remote: TcpState | undefined } {
    const c = this.#convs.get(convKey(local, remote));
    return { local: c?.halves.get(local)?.state, remote: c?.halves.get(remote)?.state };
  }

  /** Stop the TIME-WAIT timers. */
  close(): void {
    for (const c of this.#convs.values()) for (const h of c.halves.values()) this.#clearTw(h);
  }

  #frame(e: TraceEntry, frame: Buffer): void {
    let eth;
    try {
      eth = parseEthernet(frame);
    } catch {
      e.line = formatFrame(frame);
      return;
    }
    if (eth.etherType === EtherType.ARP) {
      e.line = formatFrame(frame);
      this.#arp(e, eth.payload);
      return;
    }
    if (eth.etherType === EtherType.IPv6) {
      e.line = formatFrame(frame);
      e.notes.push({ kind: 'ipv6' });
      return;
    }
    if (eth.etherType !== EtherType.IPv4) {
      e.line = formatFrame(frame);
      return;
    }
    let ip: Ipv4Packet;
    try {
      ip = parseIpv4(eth.payload);
    } catch (err) {
      e.line = formatFrame(frame);
      e.notes.push({ kind: 'malformed', reason: err instanceof WireError ? err.reason : String(err) });
      return;
    }
    const fragment = ip.mf || ip.fragOffset !== 0;
    if (fragment) {
      e.line = formatFrame(frame);
      e.notes.push({ kind: 'fragment', id: ip.id, offset: ip.fragOffset, more: ip.mf, len: ip.payload.length });
      return;
    }
    if (ip.protocol === IpProto.TCP) {
      e.line = formatFrame(frame, { tcp: (src, dst, b) => this.#tcp(e, src, dst, b) });
      return;
    }
    e.line = formatFrame(frame);
    if (ip.protocol === IpProto.ICMP) this.#icmp(e, ip);
    else if (ip.protocol === IpProto.UDP && ip.payload.length >= 8) {
      const port = ip.payload.readUInt16BE(2);
      e.notes.push({ kind: 'udp', port, len: ip.payload.readUInt16BE(4) - 8, service: SERVICES[port] });
      if (port === 53 || ip.payload.readUInt16BE(0) === 53) this.#dns(e, ip);
    }
  }

  // ------------------------------------------------------------------ ARP, ICMP

  #arp(e: TraceEntry, b: Buffer): void {
    let a;
    try {
      a = parseArp(b);
    } catch {
      return;
    }
    if (a.op === ArpOp.request) {
      if (a.senderIp === a.targetIp) e.notes.push({ kind: 'arpGratuitous', ip: ipToString(a.senderIp) });
      else e.notes.push({ kind: 'arpRequest', asker: ipToString(a.senderIp), target: ipToString(a.targetIp) });
    } else {
      e.notes.push({ kind: 'arpReply', ip: ipToString(a.senderIp), mac: macToString(a.senderMac), to: ipToString(a.targetIp) });
    }
  }

  #icmp(e: TraceEntry, ip: Ipv4Packet): void {
    const b = ip.payload;
    if (b.length < 8) return;
    const type = b[0]!;
    const code = b[1]!;
    const from = ipToString(ip.src);
    if (type === IcmpType.echoRequest) {
      const id = b.readUInt16BE(4);
      const sq = b.readUInt16BE(6);
      this.#pings.set(`${ip.src}>${ip.dst}:${id}:${sq}`, { no: e.no, at: this.#now });
      if (this.#pings.size > 1024) this.#pings.delete(this.#pings.keys().next().value!);
      e.notes.push({ kind: 'echoRequest', from, to: ipToString(ip.dst), id, seq: sq, data: b.length - 8, ipLen: ip.totalLength, df: ip.df });
      const mtu = this.#opts.pathMtu;
      if (ip.df && mtu !== undefined && e.dir === 'RX') {
        e.notes.push(ip.totalLength > mtu ? { kind: 'dfTooBig', ipLen: ip.totalLength, mtu } : { kind: 'dfFits', ipLen: ip.totalLength, mtu });
      }
    } else if (type === IcmpType.echoReply) {
      const key = `${ip.dst}>${ip.src}:${b.readUInt16BE(4)}:${b.readUInt16BE(6)}`;
      const req = this.#pings.get(key);
      this.#pings.delete(key);
      const rtt = req !== undefined && this.#opts.clock !== undefined ? this.#now - req.at : undefined;
      e.notes.push({ kind: 'echoReply', from, request: req?.no, data: b.length - 8, rttMs: rtt });
    } else if (type === IcmpType.destUnreachable) {
      const q = b.subarray(8);
      const qOk = q.length >= 20 && q[0]! >> 4 === 4;
      const hl = qOk ? (q[0]! & 15) * 4 : 0;
      if (code === 4) {
        const mtu = b.readUInt16BE(6);
        let request: number | undefined;
        if (qOk && q[9] === IpProto.ICMP && q.length >= hl + 8) {
          request = this.#pings.get(`${readIp(q, 12)}>${readIp(q, 16)}:${q.readUInt16BE(hl + 4)}:${q.readUInt16BE(hl + 6)}`)?.no;
        }
        e.notes.push({ kind: 'fragNeeded', from, mtu, quotedLen: qOk ? q.readUInt16BE(2) : 0, request, maxPayload: mtu - 28 });
      } else {
        const what = code === 3 ? 'port' : code === 2 ? 'protocol' : code === 1 ? 'host' : code === 0 ? 'net' : 'other';
        let about = '';
        if (qOk) {
          about = `${ipToString(readIp(q, 12))} > ${ipToString(readIp(q, 16))}`;
          if ((q[9] === IpProto.UDP || q[9] === IpProto.TCP) && q.length >= hl + 4) about = `${ipToString(readIp(q, 16))}:${q.readUInt16BE(hl + 2)}`;
        }
        e.notes.push({ kind: 'unreachable', from, what, about });
      }
    }
  }

  /** DNS (issue 11): Wireshark's Info after the UDP line, the question and its answer. */
  #dns(e: TraceEntry, ip: Ipv4Packet): void {
    const msg = ip.payload.subarray(8, ip.payload.readUInt16BE(4));
    e.line += ` ${dnsSummary(msg)}`;
    const f = dnsFacts(msg);
    if (f === undefined) return;
    const id = `0x${f.id.toString(16).padStart(4, '0')}`;
    const client = f.query ? `${ipToString(ip.src)}:${ip.payload.readUInt16BE(0)}` : `${ipToString(ip.dst)}:${ip.payload.readUInt16BE(2)}`;
    const key = `${client}:${f.id}`;
    if (f.query) {
      this.#dnsQueries.set(key, e.no);
      if (this.#dnsQueries.size > 1024) this.#dnsQueries.delete(this.#dnsQueries.keys().next().value!);
      e.notes.push({ kind: 'dnsQuery', from: client, id, name: f.name, type: f.type });
    } else {
      e.notes.push({ kind: 'dnsAnswer', query: this.#dnsQueries.get(key), id, name: f.name, type: f.type, rcode: f.rcode, addresses: f.addresses, ttl: f.ttl, aa: f.aa, tc: f.tc });
    }
  }

  // ------------------------------------------------------------------ TCP

  #tcp(e: TraceEntry, src: number, dst: number, b: Buffer): string {
    let seg: TcpSegment;
    let bad = '';
    try {
      seg = parseTcp(b, src, dst, true);
    } catch (err) {
      if (!(err instanceof WireError) || err.reason !== 'tcp.badChecksum') return formatTcp(src, dst, b);
      seg = parseTcp(b, src, dst, false);
      bad = ' [bad cksum]';
    }
    const now = this.#now;
    const sWho = `${ipToString(src)}:${seg.srcPort}`;
    const rWho = `${ipToString(dst)}:${seg.dstPort}`;
    const key = convKey(sWho, rWho);
    const flags = seg.flags;
    const syn = (flags & SYN) !== 0;
    const fin = (flags & FIN) !== 0;
    const rst = (flags & RST) !== 0;
    const hasAck = (flags & ACK) !== 0;
    const len = seg.payload.length;
    const local = e.dir === 'TX';

    let c = this.#convs.get(key);
    if (syn && !hasAck && (c === undefined || c.halves.get(sWho)?.isn !== seg.seq)) {
      // A new connection (or the same ports reused after TIME-WAIT): numbering starts afresh.
      if (c !== undefined) for (const h of c.halves.values()) this.#clearTw(h);
      c = { halves: new Map(), lastAt: now };
      c.halves.set(sWho, newHalf(sWho, rWho, 'client', local, 'CLOSED'));
      c.halves.set(rWho, newHalf(rWho, sWho, 'server', !local, 'LISTEN'));
      this.#remember(key, c);
    } else if (c === undefined) {
      // Joined mid-connection: absolute numbers, no states. The lower port is taken as the server's.
      c = { halves: new Map(), lastAt: now };
      const sIsServer = seg.srcPort < seg.dstPort;
      c.halves.set(sWho, newHalf(sWho, rWho, sIsServer ? 'server' : 'client', local, undefined));
      c.halves.set(rWho, newHalf(rWho, sWho, sIsServer ? 'client' : 'server', !local, undefined));
      this.#remember(key, c);
    }
    const S = c.halves.get(sWho)!;
    const R = c.halves.get(rWho)!;
    const sEnd: End = { who: S.who, role: S.role };
    const relS = (x: Seq): number => (S.isn === undefined ? x : seqDiff(x, S.isn) >>> 0);
    const relR = (x: Seq): number => (R.isn === undefined ? x : seqDiff(x, R.isn) >>> 0);
    const segEnd = seqAdd(seg.seq, len + (syn ? 1 : 0) + (fin ? 1 : 0));
    const idleMs = now - c.lastAt;
    c.lastAt = now;
    const tags: string[] = [];
    const ackNotes: Note[] = [];
    const changes: StateChange[] = [];
    const set = (h: Half, to: TcpState): void => {
      if (h.state === undefined || h.state === to) return;
      const ch: StateChange = { who: h.who, peer: h.peer, from: h.state, to, notes: [] };
      h.state = to;
      if (to === 'TIME-WAIT') {
        ch.notes.push({ kind: 'timeWait', end: { who: h.who, role: h.role }, ms: this.#timeWaitMs, mslMs: this.#timeWaitMs / 2, local: h.local });
        if (h.local) this.#armTw(h);
      }
      changes.push(ch);
    };

    // ---- what the sender's segment is (notes computed from the state before this segment)
    const notes = e.notes;

    if (syn) {
      if (S.isn === undefined || !hasAck || S.isn !== seg.seq) {
        S.isn = seg.seq;
        S.mss = seg.options.mss;
        S.wscale = seg.options.wscale;
        S.ts = seg.options.ts !== undefined;
      }
      notes.push(hasAck ? { kind: 'synAck', from: sEnd, isn: seg.seq } : { kind: 'syn', from: sEnd, isn: seg.seq });
      notes.push({ kind: 'synOptions', mss: seg.options.mss, sackOk: seg.options.sackPermitted === true, ts: seg.options.ts !== undefined, wscale: seg.options.wscale });
    }
    const dropped = e.drop !== undefined;
    const announced = local ? this.#announcedFor(`${sWho}>${rWho}`, seg.seq, len) : undefined;
    const isRetrans = announced !== undefined || S.sndMax !== undefined && (syn ? S.isn === seg.seq && S.segs.some((x) => x.syn) && !(hasAck && S.state === 'LISTEN') : seqLt(seg.seq, S.sndMax) && (len > 0 || fin));
    const isKeepAlive = !syn && !fin && !rst && S.sndMax !== undefined && len <= 1 && seqAdd(seg.seq, 1) === S.sndMax && (len === 0 || seqLt(seg.seq, S.sndMax));

    // ---- the ACK field: what it acknowledges, duplicates, SACK blocks, window (said after the data)
    let finAckedNow = false;
    if (hasAck && !rst) {
      const ack = seg.ack;
      const prev = S.ackMax;
      if (R.isn !== undefined && (prev === undefined || seqGt(ack, prev))) {
        const base = prev ?? R.isn;
        const parts = tile(R.segs, base, ack);
        const pure = len === 0 && !syn && !fin && e.drop === undefined;
        if (R.finSeq !== undefined && seqGt(ack, R.finSeq) && seqLe(base, R.finSeq)) finAckedNow = true;
        ackNotes.push({ kind: 'ack', ack: relR(ack), base: relR(base), parts, needed: pure && parts !== undefined && parts.some((p) => p.kind === 'data') });
        if (syn && hasAck && R.mss !== undefined && S.mss !== undefined) {
          const ts = R.ts && S.ts;
          const sides = [R, S].map((h) => this.#mssSide(h, h === R ? S.mss! : R.mss!, ts));
          ackNotes.push({ kind: 'mssChosen', ts, sides });
        }
        if (!syn && R.state === 'SYN-RECEIVED' && R.isn !== undefined && ack === seqAdd(R.isn, 1)) ackNotes.push({ kind: 'handshakeDone', data: len > 0 });
        S.ackMax = ack;
        S.ackMaxNo = e.no;
        S.acks.push({ ack, no: e.no, dropped: e.drop !== undefined });
        if (S.acks.length > 64) S.acks.shift();
        S.dupAcks = 0;
      } else if (prev !== undefined && ack === prev && len === 0 && !syn && !fin && seg.window === S.lastWin && R.sndMax !== undefined && seqGt(R.sndMax, ack)) {
        S.dupAcks++;
        S.dupAckAt = now;
        tags.push(`[TCP Dup ACK #${S.dupAcks}]`);
        // Under SACK or RACK the sender may already have resent the hole before the third duplicate.
        const resent = R.rtx.find((x) => x.seq === ack && x.no > S.ackMaxNo);
        ackNotes.push({ kind: 'dupAck', ack: relR(ack), count: S.dupAcks, resentAs: resent?.no });
      } else if (prev !== undefined && ack === prev && len === 0 && !syn && !fin && seg.window !== S.lastWin && !isKeepAlive) {
        ackNotes.push(seg.window === 0 ? { kind: 'zeroWindow' } : { kind: 'windowUpdate', bytes: scaled(seg.window, S, R) });
      }
      const blocks = seg.options.sack ?? [];
      S.sackHigh = undefined;
      if (blocks.length > 0) {
        const first = blocks[0]!;
        if (seqLe(first.right, ack) || (blocks.length > 1 && seqLe(first.right, blocks[1]!.right) && seqGe(first.left, blocks[1]!.left))) {
          ackNotes.push({ kind: 'dsack', block: { first: relR(first.left), last: relR(first.right) - 1 } });
        }
        const above = blocks.filter((x) => seqGt(x.right, ack) && !seqLe(x.right, ack));
        const shown = seqLe(first.right, ack) ? blocks.slice(1) : blocks;
        if (shown.length > 0) {
          // The holes the blocks leave between the ACK and the highest block: what still needs resending.
          const sorted = shown.filter((x) => seqGt(x.right, ack)).sort((x, y) => seqDiff(x.left, y.left));
          // SRE is the first byte after a block (RFC 2018 §3): blocks are said as inclusive ranges.
          const holes: { first: number; last: number }[] = [];
          let at = ack;
          for (const x of sorted) {
            if (seqGt(x.left, at)) holes.push({ first: relR(at), last: relR(x.left) - 1 });
            if (seqGt(x.right, at)) at = x.right;
          }
          ackNotes.push({ kind: 'sack', ack: relR(ack), blocks: shown.map((x) => ({ first: relR(x.left), last: relR(x.right) - 1 })), holes });
        }
        for (const x of above) if (S.sackHigh === undefined || seqGt(x.right, S.sackHigh)) S.sackHigh = x.right;
      }
      if (!syn && !S.winExplained && S.wscale !== undefined && R.wscale !== undefined && seg.window > 0) {
        S.winExplained = true;
        const shift = Math.min(S.wscale, 14);
        ackNotes.push({ kind: 'windowScaled', raw: seg.window, shift, bytes: seg.window * 2 ** shift });
      }
      S.lastWin = seg.window;
    }

    // ---- data, retransmission, loss, FIN, RST
    if (isKeepAlive) {
      tags.push('[TCP Keep-Alive]');
      notes.push({ kind: 'keepAlive' });
    } else if (isRetrans) {
      const orig = [...S.segs].reverse().find((x) => x.seq === seg.seq) ?? S.segs.find((x) => seqLe(x.seq, seg.seq) && seqGt(seqAdd(x.seq, x.len + (x.fin ? 1 : 0)), seg.seq));
      // Spurious as Wireshark says it: data the receiver had already acknowledged (its ACK is in
      // the capture), typically because that ACK was dropped before the sender saw it.
      const dataEnd = seqAdd(seg.seq, len);
      const spurious = len > 0 && R.ackMax !== undefined && seqLe(dataEnd, R.ackMax);
      const afterMs = orig !== undefined && this.#opts.clock !== undefined ? now - orig.at : undefined;
      const cause = announced?.cause;
      // Tags as Wireshark sets them from the wire (≥ 2 duplicate ACKs of this very byte, the latest
      // within 20 ms), and SACK-driven recovery counted as fast too, as the lessons say it:
      // RACK's resends as well, except those after an RTO (the timer's recovery, not SACK's).
      const wsFast = R.dupAcks >= 2 && R.ackMax === seg.seq && now - R.dupAckAt < WIRESHARK_FAST_MS;
      const sackDriven = cause === 'fast' || cause === 'sack' || cause === 'rescue' || (cause === 'rack' && announced?.afterRto !== true);
      const fast = wsFast || sackDriven;
      tags.push(fast ? '[TCP Fast Retransmission]' : spurious ? '[TCP Spurious Retransmission]' : '[TCP Retransmission]');
      S.rtx.push({ seq: seg.seq, no: e.no });
      if (S.rtx.length > 64) S.rtx.shift();
      const guess = R.dupAcks >= 3 && R.ackMax === seg.seq ? 'dupAcks' : R.sackHigh !== undefined && seqLt(seg.seq, R.sackHigh) ? 'sack' : afterMs !== undefined && afterMs < LINUX_RTO_MIN_MS ? 'early' : 'timeout';
      // The first ACK that covered these bytes; lost when every one since was dropped on its way.
      const covering = spurious ? R.acks.filter((x) => seqGe(x.ack, dataEnd)) : [];
      notes.push({
        kind: 'retransmission', of: orig?.no, seq: relS(seg.seq), len, afterMs, dupAcks: R.dupAcks,
        cause, rtoMs: announced?.rtoMs, ptoMs: announced?.ptoMs, rule: announced?.rule, reorderWindowMs: announced?.reorderWindowMs,
        guess, spurious: spurious ? { ackNo: covering[0]?.no, ackLost: covering.length > 0 && covering.every((x) => x.dropped) } : undefined,
      });
    } else if (len > 0) {
      const text = seg.payload.subarray(0, 200).toString('latin1');
      const what = HTTP_LINE.exec(text)?.[0].trimEnd();
      // The tag is Wireshark's (a gap in what the capture shows of this sender); the note is about
      // what our receiving end got, which misses the segments dropped on their way in.
      if (S.sndMax !== undefined && seqGt(seg.seq, S.sndMax)) tags.push('[TCP Previous segment not captured]');
      if (R.local && !dropped && R.rcvNxt !== undefined && seqGt(seg.seq, R.rcvNxt)) notes.push({ kind: 'outOfOrder', expected: relS(R.rcvNxt), got: relS(seg.seq) });
      const first = relS(seg.seq);
      notes.push({ kind: 'data', from: sEnd, len, first, last: first + len - 1, next: first + len, what, firstData: S.isn !== undefined && first === 1 });
      const ts = S.ts && R.ts;
      if (S.segMax !== undefined && len === S.segMax - (ts ? 12 : 0)) notes.push({ kind: 'fullSized', len, mss: S.segMax, ts });
      if (flags & PSH) notes.push({ kind: 'push' });
    }
    if (fin && !isRetrans) {
      const merged = finAckedNow;
      const second = S.state === 'CLOSE-WAIT' || (R.finSeq !== undefined && !merged);
      notes.push({ kind: 'fin', from: sEnd, seq: relS(seqAdd(seg.seq, len)), idleMs: idleMs >= 1000 && this.#opts.clock !== undefined ? idleMs : undefined, merged, second });
    }
    if (rst) notes.push({ kind: 'rst', from: sEnd, refused: R.state === 'SYN-SENT' });
    notes.push(...ackNotes);

    // ---- the sender's state changes (certain: it sent this)
    if (rst) {
      if (S.state !== undefined && S.state !== 'LISTEN' && S.state !== 'CLOSED') set(S, 'CLOSED');
      else if (S.state === 'LISTEN' && S.sndMax === undefined) S.state = 'CLOSED'; // nobody listened
    } else {
      if (syn && !hasAck && S.state === 'CLOSED') set(S, 'SYN-SENT');
      if (syn && hasAck && S.state === 'LISTEN') set(S, 'SYN-RECEIVED');
      if (fin && (S.finSeq === undefined || !seqLt(seqAdd(seg.seq, len), S.finSeq))) {
        S.finSeq = seqAdd(seg.seq, len);
        // Sending our FIN before the handshake's ACK arrived, or after the peer's FIN.
        if (S.state === 'ESTABLISHED' || S.state === 'SYN-RECEIVED') set(S, 'FIN-WAIT-1');
        else if (S.state === 'CLOSE-WAIT') set(S, 'LAST-ACK');
      }
    }

    // ---- the receiver's processing (RFC 9293 §3.10.7.4: RST, SYN, ACK, then text and FIN); none for a dropped frame
    if (dropped) {
      // The receiver never got it: its state and what it expects stay as they were.
    } else if (rst) {
      const ok = R.state === 'SYN-SENT' ? hasAck && R.isn !== undefined && seg.ack === seqAdd(R.isn, 1) : R.rcvNxt === undefined || seg.seq === R.rcvNxt;
      if (ok && R.state !== undefined && R.state !== 'CLOSED' && R.state !== 'LISTEN' && R.state !== 'TIME-WAIT') set(R, 'CLOSED');
    } else {
      if (syn) {
        if (R.state === 'SYN-SENT' && hasAck && R.isn !== undefined && seg.ack === seqAdd(R.isn, 1)) {
          R.rcvNxt = seqAdd(seg.seq, 1);
          set(R, 'ESTABLISHED');
        } else if (!hasAck && (R.state === 'LISTEN' || R.rcvNxt === undefined)) {
          R.rcvNxt = seqAdd(seg.seq, 1);
        }
      }
      if (hasAck && R.isn !== undefined) {
        if (R.state === 'SYN-RECEIVED' && seqGe(seg.ack, seqAdd(R.isn, 1))) set(R, 'ESTABLISHED');
        if (R.finSeq !== undefined && seqGt(seg.ack, R.finSeq)) {
          if (R.state === 'FIN-WAIT-1') set(R, 'FIN-WAIT-2');
          else if (R.state === 'CLOSING') set(R, 'TIME-WAIT');
          else if (R.state === 'LAST-ACK') set(R, 'CLOSED');
        }
      }
      if (!syn && R.rcvNxt !== undefined && R.state !== undefined && (len > 0 || fin)) {
        const start = seg.seq;
        const end = seqAdd(seg.seq, len);
        let finNow = false;
        if (seqLe(start, R.rcvNxt) && seqGe(end, R.rcvNxt)) {
          R.rcvNxt = end;
          finNow = fin;
          // Blocks received earlier beyond a hole join once the hole is filled.
          for (let moved = true; moved; ) {
            moved = false;
            for (let i = 0; i < R.ooo.length; i++) {
              const o = R.ooo[i]!;
              if (seqLe(o.left, R.rcvNxt)) {
                if (!finNow) {
                  R.rcvNxt = seqMax(R.rcvNxt, o.right);
                  if (o.fin && o.right === R.rcvNxt) finNow = true;
                }
                R.ooo.splice(i, 1);
                moved = true;
                break;
              }
            }
          }
        } else if (seqGt(start, R.rcvNxt) && R.ooo.length < 256) {
          R.ooo.push({ left: start, right: end, fin });
        } else if (fin && R.state === 'TIME-WAIT' && seqAdd(end, 1) === R.rcvNxt) {
          // A retransmitted FIN: the final ACK was lost; TIME-WAIT starts over (RFC 9293 §3.10.7.4).
          notes.push({ kind: 'finInTimeWait', end: { who: R.who, role: R.role }, ms: this.#timeWaitMs });
          if (R.local) this.#armTw(R);
        }
        if (finNow) {
          R.rcvNxt = seqAdd(R.rcvNxt, 1);
          if (R.state === 'ESTABLISHED' || R.state === 'SYN-RECEIVED') set(R, 'CLOSE-WAIT');
          else if (R.state === 'FIN-WAIT-1') set(R, 'CLOSING');
          else if (R.state === 'FIN-WAIT-2') set(R, 'TIME-WAIT');
        }
      }
    }

    // ---- remember what was sent
    if (!isRetrans && (len > 0 || syn || fin) && (S.sndMax === undefined || seqGt(segEnd, S.sndMax) || syn)) {
      const text = len > 0 ? seg.payload.subarray(0, 200).toString('latin1') : '';
      S.segs.push({ seq: seg.seq, len, syn, fin, no: e.no, at: now, what: HTTP_LINE.exec(text)?.[0].trimEnd() });
      if (S.segs.length > 512) S.segs.splice(0, S.segs.length - 512);
    }
    if (S.sndMax === undefined || seqGt(segEnd, S.sndMax)) S.sndMax = segEnd;
    e.states.push(...changes);

    const ackText = hasAck ? ` Ack=${relR(seg.ack)}` : '';
    const opts = seg.options.sack === undefined ? seg.options : { ...seg.options, sack: seg.options.sack.map((x) => ({ left: relR(x.left) as Seq, right: relR(x.right) as Seq })) };
    const tagText = tags.length > 0 ? ` ${tags.join(' ')}` : '';
    // As Wireshark's summary: the window in bytes once both SYNs agreed on scaling (never in a SYN).
    const win = syn ? seg.window : scaled(seg.window, S, R);
    return `${sWho} > ${rWho} [${formatTcpFlags(flags)}] Seq=${relS(seg.seq)}${ackText} Win=${win} Len=${len}${formatTcpOptions(opts)}${bad}${tagText}`;
  }

  /** The largest segment `h` may send: the MSS `peerMss` of the other end, less under our own path MTU. */
  #mssSide(h: Half, peerMss: number, ts: boolean): MssSide {
    const mtu = h.local ? this.#opts.pathMtu : undefined;
    const pathMtu = mtu !== undefined && mtu - 40 < peerMss ? mtu : undefined;
    const seg = pathMtu !== undefined ? pathMtu - 40 : peerMss;
    h.segMax = seg;
    return { end: { who: h.who, role: h.role }, peerMss, pathMtu, seg, data: seg - (ts ? 12 : 0) };
  }

  #remember(key: string, c: Conv): void {
    this.#convs.delete(key);
    if (this.#convs.size >= (this.#opts.maxConnections ?? 4096)) {
      const [k, old] = this.#convs.entries().next().value!;
      for (const h of old.halves.values()) this.#clearTw(h);
      this.#convs.delete(k);
    }
    this.#convs.set(key, c);
  }

  #armTw(h: Half): void {
    const clock = this.#opts.clock;
    if (clock === undefined) return;
    this.#clearTw(h);
    const ms = this.#timeWaitMs;
    h.twTimer = clock.setTimer(clock.now() + ms, () => {
      h.twTimer = undefined;
      if (h.state !== 'TIME-WAIT') return;
      h.state = 'CLOSED';
      this.onLater?.([{ who: h.who, peer: h.peer, from: 'TIME-WAIT', to: 'CLOSED', notes: [{ kind: 'timeWaitOver', ms }] }]);
    });
  }

  #clearTw(h: Half): void {
    if (h.twTimer !== undefined) this.#opts.clock?.clearTimer(h.twTimer);
    h.twTimer = undefined;
  }
}

function convKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function newHalf(who: string, peer: string, role: 'client' | 'server', local: boolean, state: TcpState | undefined): Half {
  return {
    who, peer, role, local, state,
    isn: undefined, mss: undefined, wscale: undefined, ts: false,
    sndMax: undefined, finSeq: undefined, segs: [],
    ackMax: undefined, ackMaxNo: 0, acks: [], dupAckAt: -Infinity, rtx: [], segMax: undefined, lastWin: -1, dupAcks: 0, sackHigh: undefined,
    rcvNxt: undefined, ooo: [], winExplained: false, twTimer: undefined,
  };
}

/** The window in bytes: scaled when both sides offered window scaling in their SYNs. */
function scaled(win: number, S: Half, R: Half): number {
  return S.wscale !== undefined && R.wscale !== undefined ? win * 2 ** Math.min(S.wscale, 14) : win;
}

/**
 * The segments of `h` that exactly fill [from, to) in sequence space, in order (first
 * transmissions; SYN and FIN count one each), or undefined when they do not tile it.
 */
function tile(segs: Sent[], from: Seq, to: Seq): AckPart[] | undefined {
  const parts: AckPart[] = [];
  let at = from;
  let guard = 0;
  while (seqLt(at, to) && guard++ < 64) {
    const s = segs.find((x) => (x.syn ? x.seq === at : x.seq === at && (x.len > 0 || x.fin)));
    if (s === undefined) return undefined;
    if (s.syn) {
      parts.push({ kind: 'syn', no: s.no, len: 1 });
      at = seqAdd(at, 1);
      continue;
    }
    if (s.len > 0) {
      if (seqGt(seqAdd(at, s.len), to)) return undefined;
      parts.push({ kind: 'data', no: s.no, len: s.len, what: s.what });
      at = seqAdd(at, s.len);
    }
    if (s.fin && seqLt(at, to)) {
      parts.push({ kind: 'fin', no: s.no, len: 1 });
      at = seqAdd(at, 1);
    } else if (s.len === 0) {
      return undefined;
    }
  }
  return at === to && parts.length > 0 ? parts : undefined;
}
