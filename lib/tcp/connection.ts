// One TCP connection: the RFC 9293 state machine (§3.10 "Event Processing"), sans-IO. Segments,
// user calls and timer expiries come in with `now`; segments go out through the host's
// `transmit`; events go to the user's `ConnectionEvents`; `nextDeadline()` says when to call
// `onTimer`. LISTEN lives in the demux (a listener is not a connection) and so does TIME-WAIT
// (a compact table entry, see time-wait.ts); every other state is handled here.
//
// Sender structure and loss recovery: bytes live in `sndBuf` (any range can be (re)sent, and
// nothing is freed before it is cumulatively acknowledged, so a reneging receiver costs only
// time); every transmission is recorded in `rtxq` (Karn-safe send times); window arithmetic is
// the `CongestionControl` interface's (`cc`: CUBIC or NewReno, by name in the config).
// Incoming SACK blocks feed the scoreboard `sack` in `#processAck` (D-SACK blocks are counted
// and left out). With SACK, loss recovery is RFC 6675's (`#enterSackRecovery`,
// `#sackRecoveryOutput`: NextSeg rules 1–4 with the rescue retransmission, sending paced by
// RFC 6937 PRR), with RACK-TLP (RFC 8985: time-based loss marks, lost retransmissions, tail loss
// probes; config `rack`); without SACK, RFC 6582 NewReno (`#onDupAck`, partial ACKs in
// `#ackAdvances`). The first two duplicate ACKs allow limited transmit (RFC 3042). An RTO clears the scoreboard, collapses cwnd and
// goes back to SND.UNA in slow start, skipping what the (re-learnt) scoreboard shows SACKed;
// with timestamps, an RTO found spurious by the Eifel test (RFC 3522) is undone (RFC 4015).
// The receiver keeps its out-of-order queue in `rcvBuf` and sends SACK blocks (most recent
// first, RFC 2018 §4) and D-SACK blocks for duplicates (RFC 2883).
import createDebug from 'debug';
import type { Counters } from '../counters.js';
import {
  TCP_FLAGS,
  TCP_HEADER_MIN,
  type TcpOptions,
  type TcpSegment,
  fillTcpChecksum,
  formatTcpFlags,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptions,
} from '../wire/tcp.js';
import { type Seq, seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import { type CongestionControl, createCongestionControl } from './congestion.js';
import type { FourTuple } from './isn.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { RetransmitQueue, type SentSegment } from './retransmit-queue.js';
import { RttEstimator } from './rtt.js';
import { DUP_THRESH, SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { ConnectionTimers } from './timers.js';
import { type ConnectionEvents, TcpError, type TcpState } from './types.js';

const log = createDebug('tapstack:tcp');
const logState = createDebug('tapstack:tcp:state');

const { FIN, SYN, RST, PSH, ACK, URG } = TCP_FLAGS;

/** TS option bytes on every segment once timestamps are on (NOP, NOP, kind, len, 2×4). */
const TS_LEN = 12;
/** TS.Recent is invalid after 24 days idle (RFC 7323 §5.5). */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** What a connection needs from the demux that owns it. */
export interface ConnectionHost {
  readonly config: TcpConfig;
  readonly counters: Counters;
  /** Hand a finished segment (checksummed) to IP. */
  transmit(localIp: number, remoteIp: number, segment: Buffer): void;
  /** RFC 5961 §7: take one challenge ACK from the stack-wide budget; false if exhausted. */
  takeChallengeAck(now: number): boolean;
  /** Told about every state change (the demux moves connections between tables on these). */
  stateChanged(c: TcpConnection, from: TcpState, to: TcpState, now: number): void;
  /** In SYN-RECEIVED, may the handshake complete now (is there room in the accept queue)? */
  mayComplete(c: TcpConnection): boolean;
}

/** Construction parameters: identity, ISN, timestamp offset, path MTU. */
export interface ConnectionInit extends FourTuple {
  iss: Seq;
  tsOffset: number;
  /** The path MTU toward the peer (link MTU unless told lower). */
  mtu: number;
  /** True for connections created by a listener. */
  passive: boolean;
}

/** A read-only view of a connection's numbers (status pages, tests, issue 4's info). */
export interface ConnectionInfo {
  state: TcpState;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  mss: number;
  srtt: number | undefined;
  rttvar: number;
  rto: number;
  cwnd: number;
  ssthresh: number;
  sndWscale: number;
  rcvWscale: number;
  timestamps: boolean;
  sack: boolean;
  bytesInFlight: number;
  unsent: number;
  readable: number;
  /** Segments sent again (SYN, SYN-ACK, data or FIN), whatever the reason. */
  retransmissions: number;
  /** Holes in what we have received: out-of-order blocks waiting for the data before them. */
  receiveHoles: number;
  /** The congestion controller's name ('cubic', 'newreno'). */
  congestionControl: string;
  /** Loss recovery in progress: RFC 6675 SACK recovery, RFC 6582 NewReno, or none. */
  recovery: 'sack' | 'newreno' | 'none';
  /** RFC 6675 pipe: bytes estimated in the network (FlightSize without SACK). */
  pipe: number;
  /** Holes in the sender's SACK scoreboard (un-SACKed ranges below the highest SACKed byte). */
  sackHoles: number;
  /** Bytes the peer has SACKed above SND.UNA. */
  sackedBytes: number;
}

/** Is a before b in 32-bit timestamp space (RFC 7323 §5.3 uses the same modular compare)? */
function tsBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** A TCP connection in any state but LISTEN and TIME-WAIT. */
export class TcpConnection implements FourTuple {
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  /** The demux table key. */
  readonly key: string;
  readonly passive: boolean;
  /** The user's event callbacks. */
  events: ConnectionEvents = {};
  /** Opaque slot for the demux (the listener that created us). */
  listener: unknown;

  state: TcpState = 'CLOSED';
  /** The error the connection ended with, if any. */
  error: TcpError | undefined;

  // --- RFC 9293 §3.3.1 send sequence variables ---
  readonly iss: Seq;
  sndUna: Seq;
  sndNxt: Seq;
  /** Highest sequence sent (+1); SND.NXT goes back below it on go-back-N retransmission. */
  sndMax: Seq;
  sndWnd = 0;
  sndWl1: Seq = seq(0);
  sndWl2: Seq = seq(0);
  /** Largest window the peer ever offered (RFC 1122 §4.2.3.4 SWS, RFC 5961 §5.2). */
  maxSndWnd = 0;
  // --- receive sequence variables ---
  irs: Seq = seq(0);
  rcvNxt: Seq = seq(0);
  /** Right edge of the window we last advertised: RCV.WND = rcvAdv − RCV.NXT. */
  rcvAdv: Seq = seq(0);

  // --- options ---
  sndWscale = 0;
  rcvWscale = 0;
  /** Both SYNs carried WS (RFC 7323 §2.2). */
  #wsOk = false;
  tsOk = false;
  sackOk = false;
  tsRecent = 0;
  tsRecentAt = 0;
  lastAckSent: Seq = seq(0);
  readonly tsOffset: number;
  /** MSS the peer announced (536 if none, RFC 9293 §3.7.1). */
  peerMss = 536;
  pmtu: number;
  /** Effective send MSS: min(peer MSS, PMTU − 40) − option bytes (RFC 6691). */
  mss = 536;

  // --- buffers, timing, congestion ---
  readonly sndBuf: SendBuffer;
  readonly rcvBuf: ReceiveBuffer;
  readonly rtxq = new RetransmitQueue();
  /** The sender's SACK scoreboard (RFC 6675). */
  readonly sack = new SackScoreboard();
  readonly rtt: RttEstimator;
  readonly cc: CongestionControl;
  /** Sequence number of sndBuf's byte 0. */
  #sndBufSeq: Seq;
  /** The user called shutdown: a FIN follows the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies, once sent. */
  finSeq: Seq | undefined;
  /** The peer's FIN has been processed (RCV.NXT is past it). */
  finReceived = false;
  /** A FIN seen beyond a hole, processed when the hole fills. */
  #oooFin: Seq | undefined;
  noDelay = false;
  /** End of the last sub-MSS segment sent (Minshall's Nagle variant). */
  #sndSml: Seq;
  /** Why go-back-N is retransmitting: counter suffix. */
  #rtxReason = 'rto';
  #dupAcks = 0;
  /** RFC 6582 `recover` / RFC 6675 RecoveryPoint: HighData when recovery (or an RTO) began. */
  #recover: Seq;
  /** In RFC 6675 SACK loss recovery. */
  #sackRecovery = false;
  /** In RFC 6582 NewReno fast recovery. */
  #newRenoRecovery = false;
  /** RFC 6582 §3.2 step 5: only the first partial ACK restarts the retransmission timer. */
  #firstPartialAck = true;
  /** RFC 6675 HighRxt (one past the highest octet retransmitted in this recovery). */
  #highRxt: Seq;
  /** RFC 6675 RescueRxt (one past), undefined outside recovery. */
  #rescueRxt: Seq | undefined;
  /** Highest cumulative ACK seen (TLP bookkeeping). */
  #ackSeen: Seq;
  /** RFC 3522: TSval of the first RTO retransmission, for the Eifel spurious-timeout test. */
  #rtoTsVal: number | undefined;
  /** RACK (RFC 8985 §6.2): transmission order, send time and RTT of the latest-sent delivered segment. */
  #rackOrder = -1;
  #rackRtt = Infinity;
  #minRtt = Infinity;
  /** rtxq order when recovery began: records retransmitted after it are "retransmitted in this recovery". */
  #recoveryOrder = 0;
  /** RFC 6937 PRR: data delivered and sent since recovery began, FlightSize then, and what this ACK allows. */
  #prrDelivered = 0;
  #prrOut = 0;
  #recoverFs = 0;
  #prrSndcnt = 0;
  /** A tail loss probe is out (RFC 8985 §7: one per tail). */
  #tlpOut = false;
  /** A D-SACK block (RFC 2883) for the next ACK. */
  #dsack: { left: Seq; right: Seq } | undefined;
  #synRetransmitted = false;
  /** When data was last sent (for the RFC 5681 §4.1 idle restart); -1 = never. */
  #lastSendAt = -1;

  /** The connection's timers (absolute ms; see timers.ts). */
  readonly timers = new ConnectionTimers();
  /** Nobody will read or write any more (see `close`). */
  orphan = false;
  #retries = 0;
  #persistBackoff = 0;
  keepAlive = false;
  keepAliveIdleMs: number;
  #keepProbes = 0;
  #lastRxAt = 0;

  // --- receive-side ACK bookkeeping ---
  #ackNow = false;
  /** Inside segment processing: a pure ACK waits until the user has seen the events. */
  #deferAck = false;
  #unackedBytes = 0;
  /** Estimate of the peer's segment size (largest payload seen), for "every second full segment". */
  #rcvMss = 536;

  // --- statistics ---
  bytesReceived = 0;
  bytesSent = 0;
  retransmissions = 0;

  // --- pending user events ---
  #evEstablished = false;
  #evReadable = false;
  #evWritable = false;
  #evClosed = false;
  #inEvents = false;

  readonly #host: ConnectionHost;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(host: ConnectionHost, init: ConnectionInit) {
    this.#host = host;
    this.#cfg = host.config;
    this.#counters = host.counters;
    this.localIp = init.localIp;
    this.localPort = init.localPort;
    this.remoteIp = init.remoteIp;
    this.remotePort = init.remotePort;
    this.key = connectionKey(init);
    this.passive = init.passive;
    this.iss = init.iss;
    this.sndUna = init.iss;
    this.sndNxt = init.iss;
    this.sndMax = init.iss;
    this.#sndSml = init.iss;
    this.#recover = init.iss;
    this.#highRxt = init.iss;
    this.#ackSeen = init.iss;
    this.#sndBufSeq = seqAdd(init.iss, 1);
    this.tsOffset = init.tsOffset;
    this.pmtu = init.mtu;
    this.sndBuf = new SendBuffer(this.#cfg.sndBufSize);
    this.rcvBuf = new ReceiveBuffer(this.#cfg.rcvBufSize, this.#cfg.maxOutOfOrderSegments);
    this.rtt = new RttEstimator(this.#cfg);
    this.cc = createCongestionControl(this.#cfg.congestionControl, this.#cfg.initialCwndSegments);
    this.keepAliveIdleMs = this.#cfg.keepAliveIdleMs;
    this.#rcvMss = Math.min(536, this.advertisedMss);
    let ws = 0;
    while (ws < 14 && this.#cfg.rcvBufSize >>> ws > 0xffff) ws++;
    this.rcvWscale = this.#cfg.windowScaling ? ws : 0;
  }

  /** The MSS we advertise: path MTU − 40 (RFC 9293 §3.7.1, RFC 6691). */
  get advertisedMss(): number {
    return Math.max(88, this.pmtu - 40);
  }

  // ===================================================================== opens

  /** Active OPEN (RFC 9293 §3.10.1): send SYN, enter SYN-SENT. */
  openActive(now: number): void {
    this.#lastRxAt = now;
    this.#setState('SYN-SENT', now);
    this.#sendSyn(now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /** Passive open by a listener on a SYN (RFC 9293 §3.10.7.2 third): enter SYN-RECEIVED, send SYN-ACK. */
  openPassive(syn: TcpSegment, now: number): void {
    this.#lastRxAt = now;
    this.#takePeerSyn(syn, true, now);
    this.#setState('SYN-RECEIVED', now);
    this.#sendSynAck(now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /**
   * Rebuild the SYN-RECEIVED state a SYN cookie stood for (our SYN-ACK went out statelessly
   * with ISN = iss): the caller then feeds the returning ACK to `segmentArrives`.
   */
  openFromCookie(ackSeg: TcpSegment, mss: number, wscale: number | undefined, sack: boolean, synWindow: number, now: number): void {
    this.#lastRxAt = now;
    this.irs = seqAdd(ackSeg.seq, -1);
    this.rcvNxt = ackSeg.seq;
    this.peerMss = mss;
    this.#wsOk = wscale !== undefined && this.#cfg.windowScaling;
    if (this.#wsOk) this.sndWscale = Math.min(14, wscale!);
    else this.rcvWscale = 0;
    this.tsOk = this.#cfg.timestamps && ackSeg.options.ts !== undefined;
    if (this.tsOk) {
      this.tsRecent = ackSeg.options.ts!.val;
      this.tsRecentAt = now;
    }
    this.sackOk = this.#cfg.sack && sack;
    this.#updateMss();
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.rcvAdv = seqAdd(this.rcvNxt, synWindow);
    this.lastAckSent = this.rcvNxt;
    this.#setState('SYN-RECEIVED', now);
  }

  /** Record what the peer's SYN says (RFC 9293 §3.10.7.2/3, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
  #takePeerSyn(syn: TcpSegment, passive: boolean, now: number): void {
    const o = syn.options;
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    // RFC 9293 §3.7.1: without the option, assume 536; clamp nonsense small values.
    this.peerMss = o.mss === undefined ? 536 : Math.max(64, o.mss);
    // Window scaling only if both sides sent WS (RFC 7323 §2.2); shift counts above 14 are 14 (§2.3).
    this.#wsOk = this.#cfg.windowScaling && o.wscale !== undefined;
    if (this.#wsOk) this.sndWscale = Math.min(14, o.wscale!);
    else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
      if (o.wscale !== undefined && o.wscale > 14) this.#counters.inc('tcp.rx.badWscale');
    }
    this.tsOk = this.#cfg.timestamps && o.ts !== undefined;
    if (this.tsOk) {
      this.tsRecent = o.ts!.val;
      this.tsRecentAt = now;
    }
    this.sackOk = this.#cfg.sack && o.sackPermitted === true;
    // The SYN's window is never scaled (RFC 7323 §2.2).
    this.sndWnd = syn.window;
    this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
    this.sndWl1 = syn.seq;
    this.sndWl2 = passive ? this.iss : syn.ack;
    this.#updateMss();
    this.rcvAdv = seqAdd(this.rcvNxt, this.#synWindow());
    this.lastAckSent = this.rcvNxt;
  }

  #synWindow(): number {
    return Math.min(0xffff, this.rcvBuf.free);
  }

  #updateMss(): void {
    // RFC 6691: the MSS counts no options, so subtract the ones every segment carries.
    this.mss = Math.max(64, Math.min(this.peerMss, this.pmtu - 40) - (this.tsOk ? TS_LEN : 0));
  }

  // ===================================================================== user calls

  /**
   * SEND (RFC 9293 §3.10.2): copy what fits in the send buffer; returns the bytes taken.
   * With `push` false the data is only queued (autocorking: the caller flushes later).
   */
  write(data: Uint8Array, now: number, push = true): number {
    if (this.finQueued || this.state === 'CLOSED' || this.state === 'TIME-WAIT') {
      throw new TcpError(this.state === 'CLOSED' && this.error !== undefined ? this.error.code : 'EPIPE', 'write after end', 'write');
    }
    const n = this.sndBuf.write(data);
    if (push) this.flush(now);
    return n;
  }

  /** Transmit what is queued (subject to windows, Nagle and SWS avoidance). */
  flush(now: number): void {
    if (this.#canSendData()) this.#output(now);
    this.#emitEvents();
  }

  /** Bytes the send buffer can still take. */
  get writableSpace(): number {
    return this.sndBuf.free;
  }

  /** Bytes ready to read. */
  get readableLength(): number {
    return this.rcvBuf.readyBytes;
  }

  /** The peer has closed its side and everything it sent has been read. */
  get readEnded(): boolean {
    return this.finReceived && this.rcvBuf.readyBytes === 0;
  }

  /** RECEIVE (RFC 9293 §3.10.3): take up to `max` in-order bytes; opens the window as space frees. */
  read(now: number, max = Infinity): Buffer | undefined {
    const b = this.rcvBuf.read(max);
    if (b !== undefined) this.#maybeWindowUpdate(now);
    return b;
  }

  /**
   * CLOSE of the send side (RFC 9293 §3.10.4), i.e. `socket.end()`: a FIN follows the queued
   * data; reading continues (half-close).
   */
  shutdown(now: number): void {
    if (this.finQueued) return;
    switch (this.state) {
      case 'SYN-SENT':
        // "Delete the TCB and return 'error: closing'"; nothing was sent but a SYN.
        this.#enterClosed(now, undefined);
        break;
      case 'SYN-RECEIVED':
        // "Queue for processing after entering ESTABLISHED state."
        this.finQueued = true;
        break;
      case 'ESTABLISHED':
        this.finQueued = true;
        this.#setState('FIN-WAIT-1', now);
        this.#output(now);
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.#setState('LAST-ACK', now);
        this.#output(now);
        break;
      default:
        break;
    }
    this.#emitEvents();
  }

  /**
   * The application closed the socket entirely (close(2)): like the kernel, RST if received data
   * was never read (RFC 2525 §2.17), else a FIN after the queued data; the connection finishes in
   * the background as an orphan: data arriving for it draws a RST, and FIN-WAIT-2 gives up after
   * `finWait2TimeoutMs` (Linux tcp_fin_timeout).
   */
  close(now: number): void {
    if (this.state === 'CLOSED' || this.state === 'TIME-WAIT') return;
    this.events = {};
    if (this.rcvBuf.readyBytes > 0) {
      this.#counters.inc('tcp.close.unreadData');
      this.abort(now);
      return;
    }
    this.orphan = true;
    this.shutdown(now);
    if (this.state === 'FIN-WAIT-2') this.timers.finWait2 = now + this.#cfg.finWait2TimeoutMs;
  }

  /** ABORT (RFC 9293 §3.10.5): send RST if synchronized, flush everything, enter CLOSED. */
  abort(now: number): void {
    if (this.state === 'CLOSED') return;
    if (this.state !== 'SYN-SENT') {
      this.#sendRst(this.sndMax, now);
      this.#counters.inc('tcp.tx.rst.abort');
    }
    this.#enterClosed(now, undefined);
    this.#emitEvents();
  }

  /** A hard ICMP error during the handshake (see TcpDemux.icmpUnreachable): ECONNREFUSED. */
  refuse(now: number): void {
    this.#enterClosed(now, new TcpError('ECONNREFUSED', 'connect ECONNREFUSED', 'connect'));
    this.#emitEvents();
  }

  /** TCP_NODELAY: disable Nagle (RFC 1122 §4.2.3.4 requires the option). */
  setNoDelay(on: boolean, now: number): void {
    this.noDelay = on;
    if (on) this.flush(now);
  }

  /** SO_KEEPALIVE with the idle time before the first probe (RFC 1122 §4.2.3.6). */
  setKeepAlive(on: boolean, idleMs: number | undefined, now: number): void {
    this.keepAlive = on;
    if (idleMs !== undefined && idleMs > 0) this.keepAliveIdleMs = idleMs;
    this.#keepProbes = 0;
    this.timers.keepAlive = on && this.#keepAliveState() ? Math.max(now, this.#lastRxAt) + this.keepAliveIdleMs : Infinity;
  }

  /** An ICMP fragmentation-needed said the path MTU is `mtu` (RFC 1191 §6.3–6.5). */
  pathMtu(mtu: number, now: number): void {
    if (mtu >= this.pmtu || mtu < 68) return;
    const old = this.mss;
    this.pmtu = mtu;
    this.#updateMss();
    this.#counters.inc('tcp.pmtu.lowered');
    log('%s path MTU %d: MSS %d -> %d', this.key, mtu, old, this.mss);
    // Retransmit what is outstanding at the new size at once, without treating it as congestion.
    if (this.mss < old && seqLt(this.sndUna, this.sndNxt) && this.#canSendData()) {
      this.rtxq.clear();
      this.sndNxt = this.sndUna;
      this.#rtxReason = 'pmtu';
      this.#output(now);
    }
    this.#emitEvents();
  }

  /** Numbers for status pages and tests. */
  info(): ConnectionInfo {
    return {
      state: this.state,
      sndUna: this.sndUna,
      sndNxt: this.sndNxt,
      sndMax: this.sndMax,
      sndWnd: this.sndWnd,
      rcvNxt: this.rcvNxt,
      rcvWnd: this.rcvWnd,
      mss: this.mss,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.rto,
      cwnd: Math.round(this.cc.cwnd),
      ssthresh: this.cc.ssthresh,
      sndWscale: this.sndWscale,
      rcvWscale: this.rcvWscale,
      timestamps: this.tsOk,
      sack: this.sackOk,
      bytesInFlight: seqDiff(this.sndNxt, this.sndUna),
      unsent: Math.max(0, this.sndBuf.length - seqDiff(this.sndNxt, this.#sndBufSeq)),
      readable: this.rcvBuf.readyBytes,
      retransmissions: this.retransmissions,
      receiveHoles: this.rcvBuf.outOfOrderBlocks,
      congestionControl: this.cc.name,
      recovery: this.#sackRecovery ? 'sack' : this.#newRenoRecovery ? 'newreno' : 'none',
      pipe: this.#currentPipe(),
      sackHoles: this.sack.empty ? 0 : this.sack.holes(this.sndUna, this.mss).length,
      sackedBytes: this.sack.sackedBytes,
    };
  }

  /** RFC 6675 SetPipe with the current HighRxt (outside recovery: FlightSize minus SACKed and lost). */
  #currentPipe(): number {
    if (this.sack.empty) return Math.max(0, seqDiff(this.sndMax, this.sndUna));
    return this.#sackRecovery ? this.#recoveryPipe() : this.sack.pipe(this.sndUna, this.sndMax, this.sndUna, this.mss);
  }

  /** RCV.WND as last advertised. */
  get rcvWnd(): number {
    return Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
  }

  // ===================================================================== timers

  /** The earliest armed timer, or Infinity. */
  nextDeadline(): number {
    return this.timers.next();
  }

  /** Run every timer due at `now`. */
  onTimer(now: number): void {
    if (this.timers.delack <= now) {
      this.timers.delack = Infinity;
      if (this.#synchronizedAlive()) {
        this.#counters.inc('tcp.tx.delayedAck');
        this.#sendAck(now);
      }
    }
    if (this.timers.rtx <= now) {
      this.timers.rtx = Infinity;
      this.#onRetransmitTimeout(now);
    }
    if (this.timers.persist <= now) {
      this.timers.persist = Infinity;
      this.#onPersist(now);
    }
    if (this.timers.rack <= now) {
      this.timers.rack = Infinity;
      this.#onRackTimer(now);
    }
    if (this.timers.tlp <= now) {
      this.timers.tlp = Infinity;
      this.#onTlp(now);
    }
    if (this.timers.keepAlive <= now) {
      this.timers.keepAlive = Infinity;
      this.#onKeepAlive(now);
    }
    if (this.timers.finWait2 <= now) {
      this.timers.finWait2 = Infinity;
      if (this.state === 'FIN-WAIT-2') {
        this.#counters.inc('tcp.finWait2.timeout');
        this.#enterClosed(now, undefined);
      }
    }
    this.#emitEvents();
  }

  #onRetransmitTimeout(now: number): void {
    const c = this.#counters;
    switch (this.state) {
      case 'SYN-SENT':
        if (this.#retries >= this.#cfg.synRetries) {
          c.inc('tcp.rto.giveUp');
          this.#enterClosed(now, new TcpError('ETIMEDOUT', `connect ETIMEDOUT`, 'connect'));
          return;
        }
        this.#retries++;
        this.rtt.backoff();
        this.#synRetransmitted = true;
        c.inc('tcp.tx.retransmit.syn');
        this.retransmissions++;
        this.#sendSyn(now, true);
        this.timers.rtx = now + this.rtt.rto;
        return;
      case 'SYN-RECEIVED':
        if (this.#retries >= this.#cfg.synAckRetries) {
          c.inc('tcp.rto.giveUp');
          this.#enterClosed(now, this.passive ? undefined : new TcpError('ETIMEDOUT', 'connect ETIMEDOUT', 'connect'));
          return;
        }
        this.#retries++;
        this.rtt.backoff();
        this.#synRetransmitted = true;
        c.inc('tcp.tx.retransmit.synAck');
        this.retransmissions++;
        this.#sendSynAck(now, true);
        this.timers.rtx = now + this.rtt.rto;
        return;
      default:
        break;
    }
    if (!seqLt(this.sndUna, this.sndMax) || !this.#canSendData()) return;
    if (this.#retries >= this.#cfg.maxRetries) {
      c.inc('tcp.rto.giveUp');
      this.#enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
      return;
    }
    const repeated = this.#retries > 0;
    this.#retries++;
    c.inc('tcp.rto.expired');
    if (this.#sackRecovery || this.#newRenoRecovery) c.inc('tcp.rto.duringRecovery');
    // RFC 4015 §3.1 / RFC 3522: before the first cut, keep what to restore and the TSval that
    // tells a spurious timeout (the ACK echoes an older TSval than the retransmission's).
    if (!repeated) {
      this.cc.saveForUndo();
      this.#rtoTsVal = this.tsOk ? (Math.floor(now) + this.tsOffset) >>> 0 : undefined;
    } else this.#rtoTsVal = undefined;
    // RFC 6298 §5.4–5.6 and RFC 5681 §3.1: retransmit the earliest unacknowledged segment,
    // back off, collapse cwnd; go-back-N resends the rest in slow start as ACKs come back.
    // RFC 6675 §5.1 / RFC 6582: recovery ends and RecoveryPoint = HighData, so the duplicate
    // ACKs this go-back-N draws cannot start a new fast recovery. RFC 2018 §8: the receiver may
    // have reneged, so the scoreboard is cleared; the ACKs that follow rebuild it and the
    // go-back-N skips what they show SACKed (no retransmission storm).
    this.cc.onRto(seqDiff(this.sndMax, this.sndUna), this.mss, now, repeated);
    this.#sackRecovery = false;
    this.#newRenoRecovery = false;
    this.#recover = this.sndMax;
    this.sack.clear();
    this.timers.tlp = Infinity;
    this.timers.rack = Infinity;
    this.#tlpOut = false;
    this.rtt.backoff();
    // The records stay (only their loss marks go): an Eifel undo resumes at SND.MAX and RACK,
    // pipe and NextSeg need a record for every outstanding octet (they skip unrecorded ranges).
    this.rtxq.clearLossMarks();
    this.sndNxt = this.sndUna;
    this.#dupAcks = 0;
    this.#rtxReason = 'rto';
    this.#output(now);
    if (this.timers.rtx === Infinity && this.timers.persist === Infinity) this.timers.rtx = now + this.rtt.rto;
  }

  #onPersist(now: number): void {
    if (!this.#canSendData()) return;
    const offset = seqDiff(this.sndNxt, this.#sndBufSeq);
    const avail = this.sndBuf.length - offset;
    if (avail <= 0 || seqLt(this.sndUna, this.sndNxt)) return;
    const usable = Math.min(this.sndWnd, this.cc.cwnd) - seqDiff(this.sndNxt, this.sndUna);
    if (usable > 0) {
      // The SWS "override timeout" (RFC 1122 §4.2.3.4 (4)): send what the window allows.
      this.#counters.inc('tcp.tx.swsOverride');
      this.#output(now, true);
    } else {
      // RFC 9293 §3.8.6.1: probe a zero window with one octet of new data, backing off.
      this.#counters.inc('tcp.tx.persistProbe');
      this.#emit(this.sndNxt, ACK, offset, 1, now);
      this.sndMax = seqMax(this.sndMax, seqAdd(this.sndNxt, 1));
      this.#persistBackoff++;
      this.timers.persist = now + this.#persistInterval();
    }
  }

  #persistInterval(): number {
    return Math.min(this.#cfg.persistMaxMs, Math.max(this.#cfg.minRtoMs, this.rtt.rto) * 2 ** this.#persistBackoff);
  }

  #keepAliveState(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT' || this.state === 'FIN-WAIT-2';
  }

  #onKeepAlive(now: number): void {
    if (!this.keepAlive || !this.#keepAliveState()) return;
    // Outstanding data is watched by the retransmission/persist timers instead.
    if (seqLt(this.sndUna, this.sndMax) || this.sndBuf.length > 0) {
      this.timers.keepAlive = now + this.keepAliveIdleMs;
      return;
    }
    const idle = now - this.#lastRxAt;
    if (this.#keepProbes === 0 && idle < this.keepAliveIdleMs) {
      this.timers.keepAlive = this.#lastRxAt + this.keepAliveIdleMs;
      return;
    }
    if (this.#keepProbes >= this.#cfg.keepAliveProbes) {
      this.#counters.inc('tcp.keepAlive.timeout');
      this.#enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
      return;
    }
    // RFC 1122 §4.2.3.6: a segment with SEG.SEQ = SND.NXT−1 draws an ACK from a live peer.
    this.#keepProbes++;
    this.#counters.inc('tcp.tx.keepAlive');
    this.#emit(seqAdd(this.sndNxt, -1), ACK, 0, 0, now);
    this.timers.keepAlive = now + this.#cfg.keepAliveIntervalMs;
  }

  // ===================================================================== SEGMENT ARRIVES

  /** RFC 9293 §3.10.7: a segment for this connection arrived. */
  segmentArrives(seg: TcpSegment, now: number): void {
    this.#counters.inc('tcp.rx.segments');
    if (log.enabled) log('%s rx %s seq=%d ack=%d win=%d len=%d', this.key, formatTcpFlags(seg.flags), seg.seq, seg.ack, seg.window, seg.payload.length);
    this.#deferAck = true;
    try {
      if (this.state === 'SYN-SENT') this.#inSynSent(seg, now);
      else if (this.state !== 'CLOSED') this.#inOtherStates(seg, now);
    } finally {
      this.#deferAck = false;
    }
    // Events first, then the owed ACK: whatever the application sends in reaction (a response,
    // its FIN) carries the ACK instead of following a bare one (the three-way close, RFC 9293 §3.6).
    this.#emitEvents();
    if (this.#ackNow && this.#synchronizedAlive()) this.#sendAck(now);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  #inSynSent(seg: TcpSegment, now: number): void {
    const f = seg.flags;
    const c = this.#counters;
    // First: the ACK must acknowledge our SYN exactly (ISS < SEG.ACK =< SND.NXT).
    if (f & ACK && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      c.inc('tcp.rx.badAckInSynSent');
      if (!(f & RST)) this.#sendRstSegment(seg.ack, seq(0), RST, now);
      return;
    }
    // Second: a RST with an acceptable ACK refuses the connection (RFC 5961 §3.2 keeps this rule).
    if (f & RST) {
      if (f & ACK) {
        c.inc('tcp.rx.rst.refused');
        this.#enterClosed(now, new TcpError('ECONNREFUSED', `connect ECONNREFUSED`, 'connect'));
      } else c.inc('tcp.rx.rst.ignored');
      return;
    }
    // Fourth: SYN.
    if (!(f & SYN)) {
      c.inc('tcp.rx.dropped.synSent');
      return;
    }
    this.#takePeerSyn(seg, false, now);
    this.#lastRxAt = now;
    if (f & ACK) {
      this.#ackAdvances(seg, now);
      this.sndWnd = seg.window; // unscaled in a SYN (RFC 7323 §2.2)
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.#becomeEstablished(now);
      this.#ackNow = true;
      // "Data or controls which were queued for transmission may be included"; text and FIN
      // in the SYN-ACK are processed from the sixth step on.
      this.#text(seqAdd(seg.seq, 1), seg.payload, (f & FIN) !== 0, now);
      this.#output(now);
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 7): answer with SYN,ACK on our ISS.
      c.inc('tcp.simultaneousOpen');
      this.#setState('SYN-RECEIVED', now);
      this.#sendSynAck(now, true);
      this.timers.rtx = now + this.rtt.rto;
    }
  }

  /** RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states, in the RFC's order. */
  #inOtherStates(seg: TcpSegment, now: number): void {
    const c = this.#counters;
    const f = seg.flags;
    let segSeq = seg.seq;
    let payload = seg.payload;
    let syn = (f & SYN) !== 0;
    let fin = (f & FIN) !== 0;
    const rst = (f & RST) !== 0;

    if (this.state === 'SYN-RECEIVED' && syn && !rst && segSeq === this.irs) {
      if (!(f & ACK)) {
        // The peer retransmitted its SYN: our SYN-ACK was lost. Answer it again.
        c.inc('tcp.rx.dupSyn');
        this.#sendSynAck(now, true);
        return;
      }
      // Simultaneous open: the peer's SYN,ACK; its SYN is old, its ACK is news.
      syn = false;
      segSeq = seqAdd(segSeq, 1);
      this.#ackNow = true;
    }

    // RFC 7323 §3.2: once timestamps are on, a non-RST segment without one SHOULD be dropped.
    const ts = seg.options.ts;
    if (this.tsOk && !rst) {
      if (ts === undefined) {
        c.inc('tcp.rx.missingTimestamp');
        return;
      }
      // PAWS (RFC 7323 §5.3 R1): an older TSval than TS.Recent marks an old duplicate.
      if (tsBefore(ts.val, this.tsRecent) && now - this.tsRecentAt < PAWS_IDLE_MS) {
        c.inc('tcp.rx.paws');
        this.#sendAck(now);
        return;
      }
    }

    // RFC 5961 §4.2: a SYN in a synchronized state draws a (rate-limited) challenge ACK
    // "irrespective of the sequence number", so it is checked before the window.
    if (syn && !rst && this.state !== 'SYN-RECEIVED') {
      c.inc('tcp.rx.synInSynchronized');
      this.#challengeAck(now);
      return;
    }

    // First: the acceptability test (RFC 9293 §3.10.7.4, the four cases).
    const len = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = this.rcvWnd;
    const lastSeq = seqAdd(segSeq, len - 1);
    const inWnd = (s: Seq): boolean => seqLe(this.rcvNxt, s) && seqLt(s, seqAdd(this.rcvNxt, wnd));
    let acceptable: boolean;
    if (len === 0) acceptable = wnd === 0 ? segSeq === this.rcvNxt : inWnd(segSeq);
    else acceptable = wnd === 0 ? false : inWnd(segSeq) || inWnd(lastSeq);
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
    // made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT is processed for its
    // control bits; its text is trimmed away below.
    if (!acceptable && wnd === 0 && segSeq === this.rcvNxt) {
      acceptable = true;
      c.inc('tcp.rx.zeroWindowProbe');
    }
    if (!acceptable) {
      if (rst) {
        c.inc('tcp.rx.rst.outOfWindow');
        return;
      }
      // SEG.SEQ = RCV.NXT−1 without data: a keep-alive or Linux-style window probe, answered below.
      if (len === 0 && segSeq === seqAdd(this.rcvNxt, -1)) c.inc('tcp.rx.keepAliveProbe');
      else if (len > 0 && seqLt(lastSeq, this.rcvNxt)) {
        c.inc('tcp.rx.duplicate');
        // RFC 2883: tell the sender which data arrived twice.
        if (payload.length > 0) this.#noteDsack(segSeq, seqAdd(segSeq, payload.length));
      } else c.inc('tcp.rx.outOfWindow');
      this.#sendAck(now);
      return;
    }
    this.#lastRxAt = now;
    this.#keepProbes = 0;

    // Second: RST (RFC 5961 §3.2): exact RCV.NXT resets; elsewhere in the window, challenge.
    if (rst) {
      if (segSeq !== this.rcvNxt) {
        c.inc('tcp.rx.rst.inWindow');
        this.#challengeAck(now);
        return;
      }
      c.inc('tcp.rx.rst.valid');
      this.#onReset(now);
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4, RFC 9293 §3.10.7.4 fourth).
    if (syn) {
      if (this.state === 'SYN-RECEIVED' && this.passive) {
        // "Return this connection to the LISTEN state": forget the embryonic connection.
        c.inc('tcp.rx.synInSynReceived');
        this.#enterClosed(now, undefined);
        return;
      }
      c.inc('tcp.rx.synInSynchronized');
      this.#challengeAck(now);
      return;
    }

    // Trim to the window: text before RCV.NXT was received already; text beyond the right
    // edge does not fit (RFC 9293 §3.10.7.4 "trimmed to include only the new data").
    if (seqLt(segSeq, this.rcvNxt)) {
      const cut = Math.min(seqDiff(this.rcvNxt, segSeq), payload.length);
      if (cut > 0) this.#noteDsack(segSeq, seqAdd(segSeq, cut));
      payload = payload.subarray(cut);
      segSeq = seqAdd(segSeq, cut);
      c.inc('tcp.rx.partialDuplicate');
    }
    const room = seqDiff(seqAdd(this.rcvNxt, wnd), segSeq);
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
      this.#ackNow = true;
      c.inc('tcp.rx.trimmedRight');
    }

    // Timestamps (RFC 7323 §4.3 R3): remember TSval of a segment covering Last.ACK.sent.
    if (this.tsOk && ts !== undefined && seqLe(seg.seq, this.lastAckSent) && !tsBefore(ts.val, this.tsRecent)) {
      this.tsRecent = ts.val;
      this.tsRecentAt = now;
    }

    // Fifth: ACK.
    if (!(f & ACK)) {
      c.inc('tcp.rx.noAck');
      return;
    }
    if (this.state === 'SYN-RECEIVED') {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
        if (!this.#host.mayComplete(this)) {
          // Accept queue full: act as if the ACK was lost; our SYN-ACK retransmission retries.
          c.inc('tcp.listen.acceptQueueFull');
          return;
        }
        this.sndWnd = seg.window << this.sndWscale;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = segSeq;
        this.sndWl2 = seg.ack;
        this.#ackAdvances(seg, now);
        this.#becomeEstablished(now);
      } else {
        c.inc('tcp.rx.badAckInSynReceived');
        this.#sendRstSegment(seg.ack, seq(0), RST, now);
        return;
      }
    } else if (!this.#processAck(seg, segSeq, payload.length === 0 && !fin, now)) {
      return;
    }
    // LAST-ACK and CLOSING end here once our FIN is acknowledged.
    if (this.state === 'CLOSED' || this.state === 'TIME-WAIT') return;
    if (this.state === 'CLOSING' || this.state === 'LAST-ACK') {
      this.#output(now);
      return;
    }

    // Sixth: URG. RFC 6093: urgent data is delivered inline; we only count it.
    if (f & URG) c.inc('tcp.rx.urgent');

    // Seventh and eighth: text and FIN.
    this.#text(segSeq, payload, fin, now);
    this.#output(now);
  }

  /** Fifth step for the synchronized states; false if the segment must be dropped now. */
  #processAck(seg: TcpSegment, segSeq: Seq, pureAck: boolean, now: number): boolean {
    const c = this.#counters;
    const ack = seg.ack;
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA − MAX.SND.WND, SND.NXT].
    if (seqGt(ack, this.sndMax)) {
      c.inc('tcp.rx.ackTooNew');
      this.#challengeAck(now);
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      c.inc('tcp.rx.ackTooOld');
      this.#challengeAck(now);
      return false;
    }
    const win = seg.window << this.sndWscale;
    const oldWnd = this.sndWnd;
    const blocks = this.sackOk ? seg.options.sack : undefined;
    let newlySacked = 0;
    const unaBefore = this.sndUna;
    if (blocks !== undefined && blocks.length > 0) {
      c.inc('tcp.rx.sackBlocks', blocks.length);
      // RFC 2883 §4: a first block at or below the cumulative ACK, or inside the second block,
      // reports a duplicate (D-SACK): counted, not a scoreboard entry.
      const b0 = blocks[0]!;
      const b1 = blocks[1];
      const dsack = seqLe(b0.right, ack) || (b1 !== undefined && seqGe(b0.left, b1.left) && seqLe(b0.right, b1.right));
      if (dsack) c.inc('tcp.rx.dsack');
      newlySacked = this.sack.update(dsack ? blocks.slice(1) : blocks, seqMax(ack, this.sndUna), this.sndMax);
    }
    if (seqGt(ack, this.sndUna)) {
      this.#ackAdvances(seg, now);
    } else if (ack === this.sndUna && seqLt(this.sndUna, this.sndMax)) {
      // RFC 6675 §2: with SACK, a duplicate ACK is one that SACKs new data; without, RFC 5681 §2.
      const dup = blocks !== undefined && blocks.length > 0 ? newlySacked > 0 : pureAck && win === oldWnd;
      if (dup) this.#onDupAck(now);
    }
    // Window update (RFC 9293 §3.10.7.4 fifth, ESTABLISHED): only from newer segments.
    if (seqLt(this.sndWl1, segSeq) || (this.sndWl1 === segSeq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = win;
      this.sndWl1 = segSeq;
      this.sndWl2 = ack;
      if (win > this.maxSndWnd) this.maxSndWnd = win;
      if (oldWnd === 0 && win > 0) {
        c.inc('tcp.rx.windowOpened');
        this.timers.persist = Infinity;
        this.#persistBackoff = 0;
      }
    }
    // RACK (RFC 8985 §6.2): what was sent before a delivered segment and is older than an RTT
    // plus the reordering window is lost.
    let rackLost = false;
    if (newlySacked > 0 || seqGt(ack, this.#ackSeen)) this.#tlpOut = false;
    this.#ackSeen = seqMax(this.#ackSeen, ack);
    if (this.#cfg.rack && this.sackOk && this.#canSendData()) {
      this.#rackUpdate(now, newlySacked > 0);
      if (this.sndNxt === this.sndMax && (!this.sack.empty || this.#sackRecovery)) rackLost = this.#rackDetect(now);
      else this.timers.rack = Infinity;
    }
    // RFC 6675 §5: loss recovery starts on DupThresh duplicate ACKs or when the scoreboard says
    // the first unacknowledged segment is lost (or RACK found a loss) — once per window
    // (RecoveryPoint, §5.1).
    if (
      this.sackOk &&
      !this.#sackRecovery &&
      !this.#newRenoRecovery &&
      seqLt(this.sndUna, this.sndMax) &&
      seqGe(this.sndUna, this.#recover) &&
      this.sndNxt === this.sndMax &&
      (this.#dupAcks >= DUP_THRESH || rackLost || (!this.sack.empty && this.sack.isLost(this.sndUna, this.mss)))
    ) {
      this.#enterSackRecovery(now);
    }
    // RFC 6937 PRR: how much this ACK lets recovery send (DeliveredData = newly ACKed + newly SACKed).
    if (this.#sackRecovery) this.#prrUpdate(Math.max(0, seqDiff(this.sndUna, unaBefore)) + newlySacked);
    const finAcked = this.finSeq !== undefined && seqGt(this.sndUna, this.finSeq);
    switch (this.state) {
      case 'FIN-WAIT-1':
        if (finAcked) this.#setState('FIN-WAIT-2', now);
        break;
      case 'CLOSING':
        if (finAcked) this.#setState('TIME-WAIT', now);
        break;
      case 'LAST-ACK':
        if (finAcked) this.#enterClosed(now, undefined);
        break;
      default:
        break;
    }
    return true;
  }

  /** SND.UNA advances to SEG.ACK: free the buffer, take an RTT sample, grow cwnd, rearm the timer. */
  #ackAdvances(seg: TcpSegment, now: number): void {
    const ack = seg.ack;
    const acked = seqDiff(ack, this.sndUna);
    const flight = seqDiff(this.sndMax, this.sndUna);
    const dataAcked = Math.min(Math.max(0, seqDiff(ack, this.#sndBufSeq)), this.sndBuf.length);
    if (dataAcked > 0) {
      this.sndBuf.consume(dataAcked);
      this.#sndBufSeq = seqAdd(this.#sndBufSeq, dataAcked);
      this.#evWritable = true;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.sack.ackTo(ack);
    // RTT (RFC 7323 §4 from TSecr; else RFC 6298 §3 Karn: only never-retransmitted segments).
    const sentAt = this.rtxq.onAck(ack);
    const ecr = seg.options.ts?.ecr;
    if (this.tsOk && ecr !== undefined && ecr !== 0) {
      const r = (Math.floor(now) - ((ecr - this.tsOffset) >>> 0)) | 0;
      if (r >= 0 && r < 3_600_000) this.rtt.sample(r);
    } else if (sentAt !== undefined) {
      this.rtt.sample(now - sentAt);
    }
    this.#retries = 0;
    let restartTimer = true;
    if (this.#rtoTsVal !== undefined) {
      // RFC 3522 §3.2 Eifel detection: the first ACK after a timeout echoes a TSval older than
      // the retransmission's, so the original arrived: the timeout was spurious. RFC 4015 §3.2:
      // undo the window cut and go on with new data instead of go-back-N.
      if (ecr !== undefined && ecr !== 0 && tsBefore(ecr, this.#rtoTsVal)) {
        this.#counters.inc('tcp.rto.spurious');
        this.cc.undo();
        this.sndNxt = this.sndMax;
        this.#recover = this.sndUna;
      }
      this.#rtoTsVal = undefined;
    }
    if (this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED') {
      if (this.#sackRecovery) {
        if (seqGe(ack, this.#recover)) {
          // RFC 6675 §5 (C): the cumulative ACK reached RecoveryPoint: recovery is over.
          this.#sackRecovery = false;
          this.cc.exitRecovery(this.mss);
          this.#counters.inc('tcp.recovery.done');
        } else {
          this.#counters.inc('tcp.recovery.partialAck');
          if (seqLt(this.#highRxt, ack)) this.#highRxt = ack;
        }
      } else if (this.#newRenoRecovery) {
        if (seqGe(ack, this.#recover)) {
          // RFC 6582 §3.2 step 6 full ACK, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
          this.#newRenoRecovery = false;
          const fs = seqDiff(this.sndMax, this.sndUna);
          this.cc.exitRecovery(this.mss, Math.min(this.cc.ssthresh, Math.max(fs, this.mss) + this.mss));
          this.#counters.inc('tcp.recovery.done');
        } else {
          // RFC 6582 §3.2 step 5 partial ACK: retransmit the first unacknowledged segment,
          // deflate by the amount acknowledged, add back one SMSS if that was a full segment.
          this.#counters.inc('tcp.recovery.partialAck');
          this.#retransmitRange(this.sndUna, this.mss, now, 'partialAck');
          this.cc.inflate(-acked + (acked >= this.mss ? this.mss : 0), this.mss);
          restartTimer = this.#firstPartialAck;
          this.#firstPartialAck = false;
        }
      } else {
        this.cc.onAck({ acked, flight, mss: this.mss, now, srtt: this.rtt.srtt });
      }
    }
    this.#dupAcks = 0;
    // RFC 6298 §5.2/§5.3: stop the timer when all is acknowledged, else restart it.
    if (seqGe(this.sndUna, this.sndMax)) this.timers.rtx = Infinity;
    else if (restartTimer || this.timers.rtx === Infinity) this.timers.rtx = now + this.rtt.rto;
    if (seqGe(this.sndUna, this.sndMax)) this.#persistBackoff = 0;
  }

  /**
   * A duplicate ACK. With SACK, recovery entry is decided in `#processAck` (RFC 6675 §5); without,
   * the third one starts RFC 6582 NewReno fast retransmit / fast recovery, and each further one
   * inflates cwnd (step 4). The first two allow limited transmit (RFC 3042, in `#output`).
   */
  #onDupAck(now: number): void {
    this.#dupAcks++;
    this.#counters.inc('tcp.rx.dupAck');
    if (this.#newRenoRecovery) {
      this.cc.onDupAckInRecovery(this.mss);
      return;
    }
    if (this.sackOk || this.#sackRecovery || this.#dupAcks !== DUP_THRESH) return;
    // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover` (not the same window again).
    if (!seqGt(this.sndUna, this.#recover) || this.sndNxt !== this.sndMax) {
      this.#counters.inc('tcp.recovery.notEntered');
      return;
    }
    this.#counters.inc('tcp.recovery.newreno');
    this.#recover = this.sndMax;
    this.#newRenoRecovery = true;
    this.#firstPartialAck = true;
    // Step 3: ssthresh (eq. 4 or CUBIC's beta), retransmit, cwnd = ssthresh + 3*SMSS.
    this.cc.enterRecovery(seqDiff(this.sndMax, this.sndUna), this.mss, now);
    this.cc.inflate(3 * this.mss, this.mss);
    if (this.#retransmitRange(this.sndUna, this.mss, now, 'fast') > 0) this.timers.rtx = now + this.rtt.rto;
  }

  /**
   * RFC 6675 §5 step 4: enter SACK loss recovery. RecoveryPoint = HighData, the controller cuts
   * (ssthresh = cwnd), the first segment presumed lost (at HighACK) goes out at once, and
   * HighRxt = RescueRxt = its end; `#output` then sends by pipe and NextSeg.
   */
  #enterSackRecovery(now: number): void {
    this.#counters.inc('tcp.recovery.sack');
    this.#recover = this.sndMax;
    this.#sackRecovery = true;
    this.#recoveryOrder = this.rtxq.lastOrder;
    this.timers.tlp = Infinity;
    this.#recoverFs = Math.max(this.mss, seqDiff(this.sndMax, this.sndUna));
    this.#prrDelivered = 0;
    this.#prrOut = 0;
    this.#prrSndcnt = 0;
    this.cc.enterRecovery(seqDiff(this.sndMax, this.sndUna), this.mss, now);
    const firstSacked = this.sack.nextSackedAfter(this.sndUna);
    const room = firstSacked === undefined ? this.mss : Math.min(this.mss, seqDiff(firstSacked, this.sndUna));
    const n = this.#retransmitRange(this.sndUna, room, now, 'fast');
    this.#prrOut += n;
    this.#highRxt = seqAdd(this.sndUna, n);
    this.#rescueRxt = this.#highRxt;
    if (n > 0) this.timers.rtx = now + this.rtt.rto;
  }

  /** Is this transmission record entirely SACKed? */
  #isSacked(r: SentSegment): boolean {
    const b = this.sack.blockAt(r.start);
    return b !== undefined && seqLe(r.end, b.end);
  }

  /** RACK step 2 for one delivered record: the latest-sent one sets RACK's order and RTT. */
  #rackConsider(r: SentSegment, now: number): void {
    if (r.order <= this.#rackOrder) return;
    const rtt = now - r.sentAt;
    // A retransmission ACKed sooner than the minimum RTT was delivered by its original (RFC 8985 §6.2 step 2).
    if (r.retransmitted && rtt < this.#minRtt) return;
    this.#rackOrder = r.order;
    this.#rackRtt = rtt;
    if (rtt < this.#minRtt) this.#minRtt = rtt;
  }

  #rackUpdate(now: number, scanSacked: boolean): void {
    const d = this.rtxq.lastDelivered;
    if (d !== undefined) this.#rackConsider(d, now);
    if (scanSacked) for (const r of this.rtxq.segments) if (r.order > this.#rackOrder && this.#isSacked(r)) this.#rackConsider(r, now);
  }

  /**
   * RACK detection (RFC 8985 §6.2 steps 4–5, transmission order standing in for send-time ties):
   * a record sent before the latest delivered one and older than RACK.rtt + reo_wnd is lost;
   * the next record to age arms the reorder timer. A retransmission can be lost again this way
   * too, which RFC 6675 alone cannot see. Returns true if anything was newly marked.
   */
  #rackDetect(now: number): boolean {
    if (this.#rackOrder < 0) return false;
    const srtt = this.rtt.srtt ?? 0;
    const rtt = Number.isFinite(this.#rackRtt) ? this.#rackRtt : srtt;
    const reo = Number.isFinite(this.#minRtt) ? Math.min(this.#minRtt / 4, srtt) : 0;
    let any = false;
    let wait = Infinity;
    for (const r of this.rtxq.segments) {
      if (r.lost || r.order >= this.#rackOrder || seqLt(r.start, this.sndUna) || this.#isSacked(r)) continue;
      const left = r.sentAt + rtt + reo - now;
      if (left <= 0) {
        r.lost = true;
        any = true;
        this.#counters.inc(r.retransmitted ? 'tcp.recovery.lostRetransmission' : 'tcp.rack.lost');
      } else if (left < wait) wait = left;
    }
    this.timers.rack = wait === Infinity ? Infinity : now + wait;
    return any;
  }

  /**
   * The RACK reorder timer fired: mark what has aged, recover, send. No ACK came, so PRR's
   * per-ACK quota may be spent; what was just marked lost has left the pipe, so if the pipe is
   * now below ssthresh (RFC 6937's slow-start side) one segment may go: the lost one, by NextSeg,
   * instead of leaving it to the RTO (RFC 8985 §6.3: "detect losses ... and retransmit").
   */
  #onRackTimer(now: number): void {
    if (!this.#canSendData() || !this.sackOk || this.sndNxt !== this.sndMax) return;
    if (!this.#rackDetect(now)) return;
    if (!this.#sackRecovery && !this.#newRenoRecovery && seqGe(this.sndUna, this.#recover) && seqLt(this.sndUna, this.sndMax)) this.#enterSackRecovery(now);
    else if (this.#sackRecovery) {
      // Only with a weak ACK clock: fewer than DupThresh + 1 segments left in the pipe (RFC 5827's
      // early-retransmit bound), whose ACKs may never come. With more in flight PRR paces on their
      // ACKs, and extra sends on every timer would only overfill a queue. One segment at most.
      const pipe = this.#recoveryPipe();
      const room = this.cc.ssthresh - pipe;
      if (room > 0 && pipe < (DUP_THRESH + 1) * this.mss) this.#prrSndcnt = Math.max(this.#prrSndcnt, Math.min(room, this.mss));
    }
    this.#output(now);
  }

  /**
   * Outside SACK recovery — after an RTO, when RFC 6675 §5.1 keeps fast recovery off until
   * RecoveryPoint is acknowledged — RACK still marks (re)transmissions lost (RFC 8985 §6.2
   * step 4, §6.3). Resend them within cwnd (lost and SACKed octets are not in flight), as Linux's
   * loss state does; otherwise a lost retransmission of the go-back-N waits for the next RTO.
   */
  #retransmitLostAfterRto(now: number): boolean {
    let lostBytes = 0;
    for (const r of this.rtxq.segments) if (r.lost && seqGe(r.start, this.sndUna) && !this.#isSacked(r)) lostBytes += seqDiff(r.end, r.start);
    if (lostBytes === 0) return false;
    let sent = false;
    for (const r of this.rtxq.segments) {
      if (!r.lost || seqLt(r.start, this.sndUna) || this.#isSacked(r)) continue;
      const len = Math.min(this.mss, seqDiff(r.end, r.start));
      const flight = seqDiff(this.sndMax, this.sndUna) - this.sack.sackedBetween(this.sndUna, this.sndMax) - lostBytes;
      if (flight + len > this.cc.cwnd && (sent || flight > 0)) break;
      const reason = r.retransmitted ? 'lost' : 'rack';
      lostBytes -= seqDiff(r.end, r.start);
      r.lost = false;
      if (this.#retransmitRange(r.start, len, now, reason) > 0) sent = true;
    }
    return sent;
  }

  /** RFC 8985 §7.2: arm the probe timeout (2 SRTT, plus the peer's delayed-ACK allowance for a lone segment). */
  #armTlp(now: number): void {
    const srtt = this.rtt.srtt;
    if (
      !this.#cfg.rack || !this.sackOk || this.#sackRecovery || this.#newRenoRecovery || this.#tlpOut || srtt === undefined ||
      !this.#canSendData() || this.sndNxt !== this.sndMax || !seqLt(this.sndUna, this.sndMax)
    ) {
      this.timers.tlp = Infinity;
      return;
    }
    let pto = 2 * srtt + 2;
    if (seqDiff(this.sndMax, this.sndUna) <= this.mss) pto += 200;
    const at = now + Math.max(10, pto);
    this.timers.tlp = at < this.timers.rtx ? at : Infinity;
  }

  /** RFC 8985 §7.3: the probe — new data if the window allows, else the last segment again. */
  #onTlp(now: number): void {
    if (!this.#canSendData() || this.#sackRecovery || this.#newRenoRecovery || this.sndNxt !== this.sndMax || !seqLt(this.sndUna, this.sndMax)) return;
    let n = this.#sendNewSegment(now);
    if (n === 0) {
      const last = this.rtxq.segments[this.rtxq.segments.length - 1];
      if (last !== undefined) n = this.#retransmitRange(last.start, Math.min(this.mss, seqDiff(last.end, last.start)), now, 'tlp');
    }
    if (n === 0) return;
    this.#counters.inc('tcp.tx.tlp');
    this.#tlpOut = true;
    this.timers.rtx = now + this.rtt.rto;
  }

  /** Pipe during recovery, per record: un-SACKed, not lost (RACK or IsLost), or retransmitted in this recovery. */
  #recoveryPipe(): number {
    const holes = this.sack.holes(this.sndUna, this.mss);
    let pipe = 0;
    let hi = 0;
    for (const r of this.rtxq.segments) {
      if (seqLe(r.end, this.sndUna) || r.lost || this.#isSacked(r)) continue;
      if (!(r.retransmitted && r.order > this.#recoveryOrder)) {
        while (hi < holes.length && seqLe(holes[hi]!.end, r.start)) hi++;
        const h = holes[hi];
        if (h !== undefined && h.lost && seqGe(r.start, h.start) && seqLt(r.start, h.end)) continue;
      }
      pipe += seqDiff(r.end, seqMax(r.start, this.sndUna));
    }
    return pipe;
  }

  /** The first part of [start, end) not retransmitted in this recovery (RFC 6675's HighRxt, per record). */
  #retransmitFirstUnsent(start: Seq, end: Seq, now: number): number {
    let s = seqMax(start, this.sndUna);
    for (const r of this.rtxq.segments) {
      if (seqLe(r.end, s)) continue;
      if (seqGe(r.start, end)) break;
      if (r.retransmitted && r.order > this.#recoveryOrder) {
        s = seqMax(s, r.end);
        continue;
      }
      const from = seqMax(s, r.start);
      const to = seqMin(end, r.end);
      if (seqLt(from, to)) {
        const n = this.#retransmitRange(from, Math.min(this.mss, seqDiff(to, from)), now, 'sack');
        if (n > 0) {
          if (seqGt(seqAdd(from, n), this.#highRxt)) this.#highRxt = seqAdd(from, n);
          return n;
        }
      }
    }
    return 0;
  }

  /**
   * RFC 6937 §3 Proportional Rate Reduction on each ACK in recovery: while pipe > ssthresh, send
   * in proportion to what was delivered (ssthresh / RecoverFS); below it, slow-start back up to
   * ssthresh but no faster than delivery + 1 SMSS (PRR-SSRB). RFC 6675's "cwnd − pipe" alone
   * would burst a whole window's worth after a large loss and lose the retransmissions again.
   */
  #prrUpdate(delivered: number): void {
    this.#prrDelivered += delivered;
    const pipe = this.#recoveryPipe();
    const ssthresh = this.cc.ssthresh;
    let sndcnt: number;
    if (pipe > ssthresh) sndcnt = Math.ceil((this.#prrDelivered * ssthresh) / this.#recoverFs) - this.#prrOut;
    else sndcnt = Math.min(ssthresh - pipe, Math.max(this.#prrDelivered - this.#prrOut, delivered) + this.mss);
    this.#prrSndcnt = Math.max(0, sndcnt);
  }

  /** RFC 6675 §5 (C) with RFC 6937: send what PRR allows, each segment chosen by NextSeg. */
  #sackRecoveryOutput(now: number): boolean {
    let sent = false;
    for (let guard = 0; guard < 4096 && this.#prrSndcnt > 0; guard++) {
      const n = this.#nextSeg(now);
      if (n === 0) break;
      this.#prrSndcnt -= n;
      this.#prrOut += n;
      sent = true;
    }
    return sent;
  }

  /** RFC 6675 §4 NextSeg, sending the segment it picks; returns the sequence space sent (0: none). */
  #nextSeg(now: number): number {
    const mss = this.mss;
    // (0) What RACK marked lost (a lost retransmission included) goes first.
    for (const r of this.rtxq.segments) {
      if (r.lost && seqGe(r.start, this.sndUna) && !this.#isSacked(r)) {
        r.lost = false;
        const n = this.#retransmitRange(r.start, Math.min(mss, seqDiff(r.end, r.start)), now, r.retransmitted ? 'lost' : 'rack');
        if (n > 0) return n;
      }
    }
    const holes = this.sack.holes(this.sndUna, mss);
    // (1) The first un-SACKed octet that IsLost, not yet retransmitted in this recovery.
    for (const h of holes) {
      if (!h.lost) continue;
      const n = this.#retransmitFirstUnsent(h.start, h.end, now);
      if (n > 0) return n;
    }
    // (2) New data, if the receiver's window allows.
    const n2 = this.#sendNewSegment(now);
    if (n2 > 0) return n2;
    // (3) An un-SACKed octet below the highest SACKed one, lost or not, not yet retransmitted.
    for (const h of holes) {
      const n = this.#retransmitFirstUnsent(h.start, h.end, now);
      if (n > 0) return n;
    }
    // (4) Rescue retransmission, once per recovery: the highest outstanding un-SACKed segment;
    // HighRxt stays, RescueRxt = RecoveryPoint.
    if (this.#rescueRxt === undefined || seqGe(this.sndUna, this.#rescueRxt)) {
      const high = this.sack.highSacked;
      let start: Seq | undefined;
      let end: Seq | undefined;
      if (high === undefined || seqLt(high, this.sndMax)) {
        end = this.sndMax;
        start = seqMax(high ?? this.sndUna, seqAdd(end, -mss));
      } else {
        const last = holes[holes.length - 1];
        if (last !== undefined) {
          end = last.end;
          start = seqMax(last.start, seqAdd(end, -mss));
        }
      }
      if (start !== undefined && end !== undefined && seqLt(start, end)) {
        this.#rescueRxt = this.#recover;
        return this.#retransmitRange(start, seqDiff(end, start), now, 'rescue');
      }
    }
    return 0;
  }

  /** Retransmit [start, start + maxLen) (and the FIN right after it, if sent before); returns sequence space sent. */
  #retransmitRange(start: Seq, maxLen: number, now: number, reason: string): number {
    const offset = seqDiff(start, this.#sndBufSeq);
    const room = seqDiff(this.sndMax, start);
    if (offset < 0 || room <= 0) return 0;
    const dataLen = Math.max(0, Math.min(maxLen, this.sndBuf.length - offset, room));
    const fin = this.finSeq !== undefined && seqAdd(start, dataLen) === this.finSeq && room > dataLen;
    if (dataLen === 0 && !fin) return 0;
    const flags = ACK | (fin ? FIN : 0) | (dataLen > 0 && offset + dataLen === this.sndBuf.length ? PSH : 0);
    this.#emit(start, flags, offset, dataLen, now);
    const n = dataLen + (fin ? 1 : 0);
    this.rtxq.onSend(start, seqAdd(start, n), now, true);
    this.#counters.inc(`tcp.tx.retransmit.${reason}`);
    this.retransmissions++;
    if (this.timers.rtx === Infinity) this.timers.rtx = now + this.rtt.rto;
    this.#lastSendAt = now;
    return n;
  }

  /** One new segment (NextSeg rule 2): up to SMSS within the peer's window, the FIN with the last data. */
  #sendNewSegment(now: number): number {
    if (this.sndNxt !== this.sndMax) return 0;
    const offset = seqDiff(this.sndNxt, this.#sndBufSeq);
    const avail = Math.max(0, this.sndBuf.length - offset);
    const finPending = this.finQueued && this.finSeq === undefined;
    if (avail === 0 && !finPending) return 0;
    const len = Math.min(avail, this.mss, Math.max(0, this.sndWnd - seqDiff(this.sndNxt, this.sndUna)));
    if (len < avail && len < this.mss) return 0;
    const withFin = finPending && len === avail;
    if (len === 0 && !withFin) return 0;
    const flags = ACK | (len > 0 && len === avail ? PSH : 0) | (withFin ? FIN : 0);
    this.#emit(this.sndNxt, flags, offset, len, now);
    const n = len + (withFin ? 1 : 0);
    const end = seqAdd(this.sndNxt, n);
    this.rtxq.onSend(this.sndNxt, end, now, false);
    this.bytesSent += len;
    if (withFin) this.finSeq = seqAdd(this.#sndBufSeq, this.sndBuf.length);
    this.sndNxt = end;
    this.sndMax = end;
    if (this.timers.rtx === Infinity) this.timers.rtx = now + this.rtt.rto;
    this.timers.persist = Infinity;
    this.#lastSendAt = now;
    return n;
  }

  /** Seventh and eighth steps: queue text, then a FIN in sequence. */
  #text(segSeq: Seq, payload: Buffer, fin: boolean, now: number): void {
    const c = this.#counters;
    const receiving = this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2';
    if (payload.length > 0) {
      if (this.orphan && receiving) {
        // Nobody will ever read it: tell the peer at once (as Linux does after close()).
        c.inc('tcp.rx.dataForOrphan');
        this.abort(now);
        return;
      }
      if (!receiving) {
        // CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur, since a FIN has been received".
        c.inc('tcp.rx.dataAfterFin');
      } else if (segSeq === this.rcvNxt) {
        // The IP layer's payload is a view valid only during this call: keep a copy.
        this.rcvBuf.pushInOrder(Buffer.from(payload));
        this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
        this.bytesReceived += payload.length;
        this.#evReadable = true;
        if (payload.length > this.#rcvMss) this.#rcvMss = Math.min(payload.length, this.advertisedMss);
        this.#unackedBytes += payload.length;
        if (this.rcvBuf.hasOutOfOrder) {
          // RFC 5681 §4.2: ACK at once a segment that fills (part of) a gap.
          const before = this.rcvNxt;
          this.rcvNxt = this.rcvBuf.pullInOrder(this.rcvNxt);
          this.bytesReceived += seqDiff(this.rcvNxt, before);
          this.#ackNow = true;
          c.inc('tcp.rx.gapFilled');
        }
        // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment.
        if (this.#unackedBytes > this.#rcvMss) this.#ackNow = true;
        else if (this.timers.delack === Infinity) this.timers.delack = now + this.#cfg.delayedAckMs;
      } else {
        // Out of order: keep it (bounded by the window and a segment count) and ACK at once
        // so the sender sees a duplicate ACK (RFC 5681 §4.2, RFC 9293 §3.10.7.4).
        c.inc('tcp.rx.outOfOrder');
        const segEnd = seqAdd(segSeq, payload.length);
        if (this.rcvBuf.covers(segSeq, segEnd)) this.#noteDsack(segSeq, segEnd);
        if (!this.rcvBuf.insertOutOfOrder(segSeq, Buffer.from(payload))) c.inc('tcp.rx.outOfOrderDropped');
        this.#ackNow = true;
      }
    }
    if (fin) {
      const finAt = seqAdd(segSeq, payload.length);
      if (!receiving && this.state !== 'SYN-RECEIVED') {
        // A retransmitted FIN in CLOSE-WAIT, CLOSING, LAST-ACK: acknowledge it again.
        this.#ackNow = true;
      } else if (finAt === this.rcvNxt) {
        this.#processFin(now);
      } else if (seqGt(finAt, this.rcvNxt)) {
        this.#oooFin = finAt;
        this.#ackNow = true;
      }
    }
    if (this.#oooFin !== undefined && this.#oooFin === this.rcvNxt && !this.finReceived && receiving) {
      this.#oooFin = undefined;
      this.#processFin(now);
    }
  }

  /** Duplicate data [left, right) arrived: the next ACK carries it as a D-SACK block (RFC 2883 §4). */
  #noteDsack(left: Seq, right: Seq): void {
    if (!this.sackOk) return;
    this.#dsack = { left, right };
    this.#ackNow = true;
  }

  /** Eighth step: the FIN is in sequence (RFC 9293 §3.10.7.4 eighth). */
  #processFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.#evReadable = true;
    this.#ackNow = true;
    this.#counters.inc('tcp.rx.fin');
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.#setState('CLOSE-WAIT', now);
        break;
      case 'FIN-WAIT-1':
        // Our FIN is not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
        this.#setState('CLOSING', now);
        break;
      case 'FIN-WAIT-2':
        this.#sendAck(now);
        this.#setState('TIME-WAIT', now);
        break;
      default:
        break;
    }
  }

  #onReset(now: number): void {
    switch (this.state) {
      case 'SYN-RECEIVED':
        // Passive: back to LISTEN (forget it). Active (simultaneous open): refused.
        this.#enterClosed(now, this.passive ? undefined : new TcpError('ECONNREFUSED', 'connect ECONNREFUSED', 'connect'));
        break;
      case 'CLOSING':
      case 'LAST-ACK':
        this.#enterClosed(now, undefined);
        break;
      default:
        this.#counters.inc('tcp.conn.reset');
        this.#enterClosed(now, new TcpError('ECONNRESET', 'read ECONNRESET'));
        break;
    }
  }

  /** RFC 5961 §7: a rate-limited <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
  #challengeAck(now: number): void {
    if (this.#host.takeChallengeAck(now)) {
      this.#counters.inc('tcp.tx.challengeAck');
      this.#sendAck(now);
    } else this.#counters.inc('tcp.challengeAck.rateLimited');
  }

  #becomeEstablished(now: number): void {
    this.timers.rtx = Infinity;
    this.#retries = 0;
    // RFC 6298 §5.7: a timed-out SYN means starting data transfer with RTO = 3 s (if no sample).
    if (this.#synRetransmitted) this.rtt.resetAfterSynTimeout();
    this.cc.init(this.mss, now);
    this.#evEstablished = true;
    this.#setState('ESTABLISHED', now);
    if (this.keepAlive) this.timers.keepAlive = now + this.keepAliveIdleMs;
    if (this.finQueued) this.#setState('FIN-WAIT-1', now);
  }

  // ===================================================================== output

  #canSendData(): boolean {
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
  }

  #synchronizedAlive(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'SYN-SENT' && this.state !== 'TIME-WAIT';
  }

  /**
   * Send what windows, Nagle and SWS avoidance allow, the FIN when its turn comes, and a pure
   * ACK if one is owed and nothing else carried it. `force` is the SWS override timeout.
   */
  #output(now: number, force = false): void {
    const c = this.#counters;
    let sent = false;
    if (this.#canSendData()) {
      // RFC 5681 §4.1: after an idle period longer than an RTO, restart from the restart window.
      if (this.sndNxt === this.sndUna && this.#lastSendAt >= 0 && now - this.#lastSendAt > this.rtt.rto && this.cc.cwnd > 0) {
        const before = this.cc.cwnd;
        this.cc.onIdle(this.mss);
        if (this.cc.cwnd < before) c.inc('tcp.cwnd.idleRestart');
        this.#lastSendAt = now;
      }
      if (this.#sackRecovery) sent = this.#sackRecoveryOutput(now);
      else if (this.#cfg.rack && this.sackOk && this.sndNxt === this.sndMax && this.#retransmitLostAfterRto(now)) sent = true;
      for (; !this.#sackRecovery; ) {
        // Go-back-N after an RTO skips what the scoreboard shows SACKed (no retransmission storm).
        let retransmission = seqLt(this.sndNxt, this.sndMax);
        let capped = false;
        if (retransmission && !this.sack.empty) {
          const b = this.sack.blockAt(this.sndNxt);
          if (b !== undefined) {
            this.sndNxt = seqMin(b.end, this.sndMax);
            c.inc('tcp.tx.skippedSacked');
            continue;
          }
        }
        const outstanding = seqDiff(this.sndNxt, this.sndUna);
        // After an RTO, what the peer SACKed since is not in flight (RFC 6675 pipe); otherwise
        // FlightSize as RFC 5681 / RFC 3042 count it.
        const flight = this.sack.empty || !retransmission ? outstanding : outstanding - this.sack.sackedBetween(this.sndUna, this.sndNxt);
        // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out.
        const lt = this.#dupAcks > 0 && this.#dupAcks < DUP_THRESH && !this.#newRenoRecovery && !retransmission ? this.#dupAcks * this.mss : 0;
        const offset = seqDiff(this.sndNxt, this.#sndBufSeq);
        const avail = Math.max(0, this.sndBuf.length - offset);
        const usable = Math.floor(Math.min(this.sndWnd - outstanding, this.cc.cwnd + lt - flight));
        let len = Math.min(avail, this.mss, Math.max(0, usable));
        if (retransmission && !this.sack.empty) {
          const nb = this.sack.nextSackedAfter(this.sndNxt);
          if (nb !== undefined && seqLt(nb, this.sndMax) && seqDiff(nb, this.sndNxt) < len) {
            len = seqDiff(nb, this.sndNxt);
            capped = true;
          }
        }
        const finPos = seqAdd(this.#sndBufSeq, this.sndBuf.length);
        const withFin = this.finQueued && offset + len === this.sndBuf.length && seqLe(this.sndNxt, finPos) && seqAdd(this.sndNxt, len) === finPos;
        if (len === 0 && !withFin) break;
        if (len > 0 && len < this.mss && !withFin && !force && !capped && !this.#mayPartial(len, avail, flight)) {
          c.inc(len === avail ? 'tcp.tx.nagleHeld' : 'tcp.tx.swsHeld');
          break;
        }
        if (lt > 0 && flight + len > this.cc.cwnd) c.inc('tcp.tx.limitedTransmit');
        force = false;
        const flags = ACK | (len > 0 && len === avail ? PSH : 0) | (withFin ? FIN : 0);
        retransmission = seqLt(this.sndNxt, this.sndMax);
        this.#emit(this.sndNxt, flags, offset, len, now);
        const end = seqAdd(this.sndNxt, len + (withFin ? 1 : 0));
        this.rtxq.onSend(this.sndNxt, end, now, retransmission);
        if (retransmission) {
          c.inc(`tcp.tx.retransmit.${this.#rtxReason}`);
          this.retransmissions++;
        } else this.bytesSent += len;
        if (len > 0 && len < this.mss) this.#sndSml = end;
        if (withFin) this.finSeq = finPos;
        this.sndNxt = end;
        this.sndMax = seqMax(this.sndMax, end);
        if (this.timers.rtx === Infinity) this.timers.rtx = now + this.rtt.rto;
        this.timers.persist = Infinity;
        this.#lastSendAt = now;
        sent = true;
        if (withFin) break;
      }
    }
    if (!sent && this.#ackNow && !this.#deferAck) this.#sendAck(now);
    this.#armTlp(now);
    // The persist timer (RFC 9293 §3.8.6.1): data waits, nothing is in flight to bring an ACK.
    if (this.#canSendData() && this.timers.persist === Infinity && this.timers.rtx === Infinity && this.sndNxt === this.sndUna) {
      const avail = this.sndBuf.length - seqDiff(this.sndNxt, this.#sndBufSeq);
      if (avail > 0) this.timers.persist = now + this.#persistInterval();
    }
  }

  /** Nagle (RFC 896, Minshall's variant) and sender SWS avoidance (RFC 1122 §4.2.3.4) for a sub-MSS segment. */
  #mayPartial(len: number, avail: number, flight: number): boolean {
    if (len === avail) {
      // All queued data fits: send unless a small segment is still unacknowledged.
      return this.noDelay || flight === 0 || !seqGt(this.#sndSml, this.sndUna);
    }
    // The window, not the data, limits us: only if it is at least half the largest window seen.
    return this.maxSndWnd > 0 && len >= this.maxSndWnd / 2;
  }

  /** A window update after the application read (RFC 9293 §3.8.6.2.2, receiver SWS avoidance). */
  #maybeWindowUpdate(now: number): void {
    if (!this.#synchronizedAlive() || this.finReceived) return;
    const cur = this.rcvWnd;
    const grow = this.#windowLimit() - cur;
    if (grow >= Math.min(this.rcvBuf.capacity / 2, 2 * this.advertisedMss) && (cur < this.rcvBuf.capacity / 2 || cur < 2 * this.advertisedMss)) {
      this.#counters.inc('tcp.tx.windowUpdate');
      this.#sendAck(now);
      this.#emitEvents();
    }
  }

  /** The most window the buffer could offer now. */
  #windowLimit(): number {
    return Math.min(this.rcvBuf.free, 0xffff << this.rcvWscale);
  }

  /** The window to put in the next segment (already scaled down), moving rcvAdv; never shrinks. */
  #selectWindow(): number {
    const cur = this.rcvWnd;
    const free = this.#windowLimit();
    // Receiver SWS avoidance: move the right edge only by min(buffer/2, MSS) or more.
    let wnd = cur;
    if (free - cur >= Math.min(this.rcvBuf.capacity / 2, this.advertisedMss) || (free > cur && free === this.rcvBuf.capacity)) wnd = free;
    let field = wnd >>> this.rcvWscale;
    // Round up rather than shrink the edge offered before (RFC 9293 §3.8.6: do not shrink).
    if (field << this.rcvWscale < cur) field++;
    field = Math.min(field, 0xffff);
    const offered = field << this.rcvWscale;
    this.rcvAdv = seqMax(this.rcvAdv, seqAdd(this.rcvNxt, offered));
    return field;
  }

  #sendAck(now: number): void {
    // SND.MAX, not SND.NXT: while go-back-N retransmits, a bare ACK must not carry an old
    // sequence number the peer would find unacceptable (as BSD's tcp_output does).
    this.#emit(this.sndMax, ACK, 0, 0, now);
  }

  #sendSyn(now: number, retransmission: boolean): void {
    this.#emit(this.iss, SYN, 0, 0, now);
    this.rtxq.onSend(this.iss, seqAdd(this.iss, 1), now, retransmission);
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
  }

  #sendSynAck(now: number, retransmission: boolean): void {
    this.#emit(this.iss, SYN | ACK, 0, 0, now);
    this.rtxq.onSend(this.iss, seqAdd(this.iss, 1), now, retransmission);
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
  }

  #sendRst(seqNo: Seq, now: number): void {
    this.#sendRstSegment(seqNo, seq(0), RST, now);
  }

  #sendRstSegment(seqNo: Seq, ackNo: Seq, flags: number, now: number): void {
    void now;
    this.#counters.inc('tcp.tx.rst');
    const buf = Buffer.allocUnsafe(TCP_HEADER_MIN);
    writeTcpHeader(buf, 0, { srcPort: this.localPort, dstPort: this.remotePort, seq: seqNo, ack: ackNo, flags, window: 0 }, TCP_HEADER_MIN);
    fillTcpChecksum(buf, this.localIp, this.remoteIp);
    this.#counters.inc('tcp.tx.segments');
    this.#host.transmit(this.localIp, this.remoteIp, buf);
  }

  /** Build, checksum and transmit one segment carrying sndBuf[offset, offset+len). */
  #emit(seqNo: Seq, flags: number, offset: number, len: number, now: number): void {
    const o: TcpOptions = {};
    const syn = (flags & SYN) !== 0;
    const tsVal = (Math.floor(now) + this.tsOffset) >>> 0;
    if (syn) {
      o.mss = this.advertisedMss;
      const active = !(flags & ACK);
      // Active: offer what we support. Passive: answer only what the peer offered.
      if (active ? this.#cfg.windowScaling : this.#wsOk) o.wscale = this.rcvWscale;
      if (active ? this.#cfg.sack : this.sackOk) o.sackPermitted = true;
      if (active ? this.#cfg.timestamps : this.tsOk) o.ts = { val: tsVal, ecr: active ? 0 : this.tsRecent };
    } else {
      if (this.tsOk) o.ts = { val: tsVal, ecr: this.tsRecent };
      if (this.sackOk && flags & ACK && (this.rcvBuf.hasOutOfOrder || this.#dsack !== undefined)) {
        // RFC 2018 §3: at most 4 blocks, 3 beside timestamps (and what the MTU leaves room for).
        const room = this.pmtu - 40 - len - (this.tsOk ? TS_LEN : 0);
        const max = Math.min(this.tsOk ? 3 : 4, Math.floor((room - 4) / 8));
        const blocks: Array<{ left: Seq; right: Seq }> = [];
        if (this.#dsack !== undefined && max > 0) {
          // RFC 2883 §4: the D-SACK block first, once; the usual SACK blocks follow.
          blocks.push(this.#dsack);
          this.#dsack = undefined;
          this.#counters.inc('tcp.tx.dsack');
        }
        for (const b of this.rcvBuf.sackBlocks(max - blocks.length)) blocks.push(b);
        if (blocks.length > 0) o.sack = blocks;
      }
    }
    const window = syn ? this.#synWindowField() : this.#selectWindow();
    const hl = TCP_HEADER_MIN + tcpOptionsLength(o);
    const buf = Buffer.allocUnsafe(hl + len);
    const ackNo = flags & ACK ? this.rcvNxt : seq(0);
    writeTcpHeader(buf, 0, { srcPort: this.localPort, dstPort: this.remotePort, seq: seqNo, ack: ackNo, flags, window }, hl);
    writeTcpOptions(buf, TCP_HEADER_MIN, o);
    if (len > 0) this.sndBuf.copyOut(offset, len, buf, hl);
    fillTcpChecksum(buf, this.localIp, this.remoteIp);
    if (flags & ACK) {
      this.lastAckSent = this.rcvNxt;
      this.timers.delack = Infinity;
      this.#ackNow = false;
      this.#unackedBytes = 0;
    }
    this.#counters.inc('tcp.tx.segments');
    if (log.enabled) log('%s tx %s seq=%d ack=%d win=%d len=%d', this.key, formatTcpFlags(flags), seqNo, ackNo, window, len);
    this.#host.transmit(this.localIp, this.remoteIp, buf);
  }

  #synWindowField(): number {
    const w = this.#synWindow();
    if (this.state !== 'SYN-SENT' && this.state !== 'CLOSED') this.rcvAdv = seqMax(this.rcvAdv, seqAdd(this.rcvNxt, w));
    return w;
  }

  // ===================================================================== state

  #setState(to: TcpState, now: number): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (logState.enabled) logState('%s %s -> %s', this.key, from, to);
    if (to === 'FIN-WAIT-2' && this.orphan) this.timers.finWait2 = now + this.#cfg.finWait2TimeoutMs;
    if (to === 'TIME-WAIT') {
      this.#clearTimers();
      this.#evClosed = true;
    }
    this.#host.stateChanged(this, from, to, now);
  }

  #clearTimers(): void {
    this.timers.clear();
  }

  #enterClosed(now: number, err: TcpError | undefined): void {
    if (this.state === 'CLOSED') return;
    this.error = err;
    this.#clearTimers();
    if (err !== undefined) this.rcvBuf.clear();
    this.rtxq.clear();
    this.#evClosed = true;
    this.#setState('CLOSED', now);
  }

  /** Deliver pending events to the user (after the core's state is consistent). */
  #emitEvents(): void {
    if (this.#inEvents) return;
    this.#inEvents = true;
    try {
      for (let guard = 0; guard < 8; guard++) {
        if (this.#evEstablished) {
          this.#evEstablished = false;
          this.events.established?.();
          continue;
        }
        if (this.#evReadable) {
          this.#evReadable = false;
          this.events.readable?.();
          continue;
        }
        if (this.#evWritable) {
          this.#evWritable = false;
          if (this.state !== 'CLOSED') this.events.writable?.();
          continue;
        }
        if (this.#evClosed) {
          this.#evClosed = false;
          this.events.closed?.(this.error);
          continue;
        }
        break;
      }
    } finally {
      this.#inEvents = false;
    }
  }

}

/** The demux key of a 4-tuple. */
export function connectionKey(t: FourTuple): string {
  return `${t.localIp}:${t.localPort}:${t.remoteIp}:${t.remotePort}`;
}
