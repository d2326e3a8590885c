// One TCP connection: the RFC 9293 state machine (§3.10 "Event Processing"), sans-IO. Segments,
// user calls and timer expiries come in with `now`; segments go out through the host's
// `transmit`; events go to the user's `ConnectionEvents`; `nextDeadline()` says when to call
// `onTimer`. LISTEN lives in the demux (a listener is not a connection) and so does TIME-WAIT
// (a compact table entry, see time-wait.ts); every other state is handled here.
//
// This file is the state machine: opens, user calls, timer dispatch, and segment arrival
// (§3.10.7 with RFC 5961's checks, RFC 7323 timestamps and PAWS, RST, SYN, FIN). The rest is
// split by RFC, like gVisor's snd.go / rcv.go / sack_recovery.go / rack.go, into plain classes
// that work on this connection's state: `acks` (ack.ts) the sender's ACK processing, `out`
// (output.ts) what to send next and the building of every segment, `rcv` (receive.ts) text,
// ACK policy, SACK blocks and the window we offer, `recovery` (loss-recovery.ts) RFC 6675 SACK
// recovery with RFC 6937 PRR, RFC 6582 NewReno and the RTO with its Eifel undo, `rack` (rack.ts)
// RACK-TLP (RFC 8985), `keepAlive` (keepalive.ts). Shared state: bytes live in `sndBuf` (any
// range can be (re)sent, nothing is freed before it is cumulatively acknowledged); every
// transmission is recorded in `rtxq` (Karn-safe send times); the SACK scoreboard is `sack`;
// window arithmetic is the `CongestionControl` interface's (`cc`: CUBIC or NewReno, by name in
// the config); the receiver's out-of-order queue is `rcvBuf`.
import createDebug from 'debug';
import type { Counters } from '../counters.js';
import { TCP_FLAGS, type TcpSegment, formatTcpFlags } from '../wire/tcp.js';
import { type Seq, seq, seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMin } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import { AckHandler } from './ack.js';
import { type CongestionControl, createCongestionControl } from './congestion.js';
import type { FourTuple } from './isn.js';
import { KeepAlive } from './keepalive.js';
import { type ConnectionInfo, connectionInfo } from './info.js';
import { LossRecovery, tsBefore } from './loss-recovery.js';
import { TS_LEN, TcpOutput } from './output.js';
import { Rack } from './rack.js';
import { TcpReceiver } from './receive.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { RetransmitQueue } from './retransmit-queue.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import type { HistoryView, SegmentHistory } from './segment-history.js';
import { ConnectionTimers } from './timers.js';
import { type ConnectionEvents, type ConnectionHost, type ConnectionInit, TcpError, type TcpState } from './types.js';

export type { ConnectionHost, ConnectionInit } from './types.js';

const log = createDebug('tapstack:tcp');
const logState = createDebug('tapstack:tcp:state');

const { FIN, SYN, RST, ACK, URG } = TCP_FLAGS;

/** TS.Recent is invalid after 24 days idle (RFC 7323 §5.5). */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

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
  /** Its segments both ways, when its listener keeps them (the teaching site draws them). */
  history: SegmentHistory | undefined;

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
  wsOk = false;
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
  sndBufSeq: Seq;
  /** The user called shutdown: a FIN follows the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies, once sent. */
  finSeq: Seq | undefined;
  /** The peer's FIN has been processed (RCV.NXT is past it). */
  finReceived = false;
  /** A FIN seen beyond a hole, processed when the hole fills. */
  #oooFin: Seq | undefined;
  noDelay = false;
  #synRetransmitted = false;

  /** The sender, split by RFC: ACK processing, output and segment building, loss recovery, RACK-TLP. */
  readonly acks: AckHandler;
  readonly out: TcpOutput;
  /** The receiving side: text, ACK policy, SACK blocks, the window we offer. */
  readonly rcv: TcpReceiver;
  readonly recovery: LossRecovery;
  readonly rack: Rack;

  /** The connection's timers (absolute ms; see timers.ts). */
  readonly timers = new ConnectionTimers((at) => this.#host.timerArmed(this, at));
  /** Nobody will read or write any more (see `close`). */
  orphan = false;
  /** Consecutive retransmission timeouts (reset by an ACK that advances SND.UNA). */
  retries = 0;
  /** Keep-alive probing (RFC 1122 §4.2.3.6), off unless the user turns it on. */
  readonly keepAlive: KeepAlive;

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
    this.sndBufSeq = seqAdd(init.iss, 1);
    this.tsOffset = init.tsOffset;
    this.pmtu = init.mtu;
    this.sndBuf = new SendBuffer(this.#cfg.sndBufSize);
    this.rcvBuf = new ReceiveBuffer(this.#cfg.rcvBufSize, this.#cfg.maxOutOfOrderSegments);
    this.rtt = new RttEstimator(this.#cfg);
    this.cc = createCongestionControl(this.#cfg.congestionControl, this.#cfg.initialCwndSegments);
    let ws = 0;
    while (ws < 14 && this.#cfg.rcvBufSize >>> ws > 0xffff) ws++;
    this.rcvWscale = this.#cfg.windowScaling ? ws : 0;
    this.keepAlive = new KeepAlive(this, host);
    this.acks = new AckHandler(this, host);
    this.out = new TcpOutput(this, host);
    this.rcv = new TcpReceiver(this, host);
    this.recovery = new LossRecovery(this, host);
    this.rack = new Rack(this, host);
  }

  /** The MSS we advertise: path MTU − 40 (RFC 9293 §3.7.1, RFC 6691). */
  get advertisedMss(): number {
    return Math.max(88, this.pmtu - 40);
  }

  // ===================================================================== opens

  /** Active OPEN (RFC 9293 §3.10.1): send SYN, enter SYN-SENT. */
  openActive(now: number): void {
    this.keepAlive.heard(now);
    this.#setState('SYN-SENT', now);
    this.out.sendSyn(SYN, now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /** Passive open by a listener on a SYN (RFC 9293 §3.10.7.2 third): enter SYN-RECEIVED, send SYN-ACK. */
  openPassive(syn: TcpSegment, now: number): void {
    this.history?.record(false, now, syn.seq, syn.ack, syn.flags, syn.payload.length, syn.window, syn.options);
    this.keepAlive.heard(now);
    this.#takePeerSyn(syn, true, now);
    this.#setState('SYN-RECEIVED', now);
    this.out.sendSyn(SYN | ACK, now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /**
   * Rebuild the SYN-RECEIVED state a SYN cookie stood for (our SYN-ACK went out statelessly
   * with ISN = iss): the caller then feeds the returning ACK to `segmentArrives`.
   */
  openFromCookie(ackSeg: TcpSegment, mss: number, wscale: number | undefined, sack: boolean, synWindow: number, now: number): void {
    this.keepAlive.heard(now);
    this.irs = seqAdd(ackSeg.seq, -1);
    this.rcvNxt = ackSeg.seq;
    this.peerMss = mss;
    this.wsOk = wscale !== undefined && this.#cfg.windowScaling;
    if (this.wsOk) this.sndWscale = Math.min(14, wscale!);
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
    this.wsOk = this.#cfg.windowScaling && o.wscale !== undefined;
    if (this.wsOk) this.sndWscale = Math.min(14, o.wscale!);
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
    this.rcvAdv = seqAdd(this.rcvNxt, this.rcv.synWindow());
    this.lastAckSent = this.rcvNxt;
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
    if (this.canSendData()) this.out.output(now);
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
    // A window update once enough space is free (RFC 9293 §3.8.6.2.2, receiver SWS avoidance).
    if (b !== undefined && this.#synchronizedAlive() && !this.finReceived && this.rcv.windowUpdateDue()) {
      // In a read batch it waits for the batch's end, on the one ACK the connection sends then.
      this.out.ackOwed = true;
      if (!this.#host.oweAck(this)) {
        this.#counters.inc('tcp.tx.windowUpdate');
        this.out.sendAck(now);
      }
      this.#emitEvents();
    }
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
        this.out.output(now);
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.#setState('LAST-ACK', now);
        this.out.output(now);
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
      // Like Linux's tcp_acceptable_seq: zero-window probes may have put SND.MAX beyond the
      // peer's window, where its RST check (RFC 9293 §3.10.7.4, RFC 5961 §3.2) would ignore us.
      this.out.sendRst(seqMin(this.sndMax, seqAdd(this.sndUna, this.sndWnd)));
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
    this.keepAlive.set(on, idleMs, now);
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
    if (this.mss < old && seqLt(this.sndUna, this.sndNxt) && this.canSendData()) {
      this.rtxq.clear();
      this.sndNxt = this.sndUna;
      this.out.rtxReason = 'pmtu';
      this.out.output(now);
    }
    this.#emitEvents();
  }

  /** Numbers for status pages and tests. */
  info(): ConnectionInfo {
    return connectionInfo(this);
  }

  /** The recorded segments so far (relative numbers, scaled windows), or undefined when none are kept. */
  segmentHistory(): HistoryView | undefined {
    return this.history?.view(this.iss, this.irs, this.sndWscale, this.rcvWscale);
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
        this.out.sendAck(now);
      }
    }
    if (this.timers.rtx <= now) {
      this.timers.rtx = Infinity;
      this.#onRetransmitTimeout(now);
    }
    if (this.timers.persist <= now) {
      this.timers.persist = Infinity;
      if (!this.out.onPersist(now)) this.#enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
    }
    if (this.timers.rack <= now) {
      this.timers.rack = Infinity;
      this.rack.onTimer(now);
    }
    if (this.timers.tlp <= now) {
      this.timers.tlp = Infinity;
      this.rack.onTlp(now);
    }
    if (this.timers.keepAlive <= now) {
      this.timers.keepAlive = Infinity;
      if (!this.keepAlive.onTimer(now)) this.#enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
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
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
      const active = this.state === 'SYN-SENT';
      if (this.retries >= (active ? this.#cfg.synRetries : this.#cfg.synAckRetries)) {
        c.inc('tcp.rto.giveUp');
        this.#enterClosed(now, active || !this.passive ? new TcpError('ETIMEDOUT', 'connect ETIMEDOUT', 'connect') : undefined);
        return;
      }
      this.retries++;
      const rtoMs = this.rtt.rto;
      this.rtt.backoff();
      this.#synRetransmitted = true;
      c.inc(active ? 'tcp.tx.retransmit.syn' : 'tcp.tx.retransmit.synAck');
      this.retransmissions++;
      this.out.sendSyn(active ? SYN : SYN | ACK, now, true, { cause: 'rto', rtoMs });
      this.timers.rtx = now + this.rtt.rto;
      return;
    }
    if (!seqLt(this.sndUna, this.sndMax) || !this.canSendData()) return;
    if (this.retries >= this.#cfg.maxRetries) {
      c.inc('tcp.rto.giveUp');
      this.#enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
      return;
    }
    const repeated = this.retries > 0;
    this.retries++;
    // RFC 6298 §5.4–5.6: back off and go back to SND.UNA (loss-recovery.ts), then retransmit.
    this.recovery.onRto(now, repeated);
    this.out.output(now);
    if (this.timers.rtx === Infinity && this.timers.persist === Infinity) this.timers.rtx = now + this.rtt.rto;
  }

  // ===================================================================== SEGMENT ARRIVES

  /** RFC 9293 §3.10.7: a segment for this connection arrived. */
  segmentArrives(seg: TcpSegment, now: number): void {
    this.#counters.inc('tcp.rx.segments');
    this.history?.record(false, now, seg.seq, seg.ack, seg.flags, seg.payload.length, seg.window, seg.options);
    if (log.enabled) log('%s rx %s seq=%d ack=%d win=%d len=%d', this.key, formatTcpFlags(seg.flags), seg.seq, seg.ack, seg.window, seg.payload.length);
    // A segment not next in sequence draws an immediate (duplicate) ACK: an ACK owed for the
    // in-order data before it in the read batch goes first, so the peer counts every duplicate
    // ACK it would have counted without the batch (its fast retransmit, RFC 5681 §3.2 and §4.2).
    if (this.out.ackOwed && seg.seq !== this.rcvNxt) this.sendOwedAck(now);
    this.out.deferAck = true;
    try {
      if (this.state === 'SYN-SENT') this.#inSynSent(seg, now);
      else if (this.state !== 'CLOSED') this.#inOtherStates(seg, now);
    } finally {
      this.out.deferAck = false;
    }
    // Events first, then the owed ACK: whatever the application sends in reaction (a response,
    // its FIN) carries the ACK instead of following a bare one (the three-way close, RFC 9293 §3.6).
    this.#emitEvents();
    if (!this.#synchronizedAlive()) return;
    if (this.out.ackNow) this.out.sendAck(now);
    // In a read batch, the ACK for in-order data waits for the batch's end (demux.ts batchStart).
    else if (this.out.ackOwed && !this.#host.oweAck(this)) this.out.sendAck(now);
  }

  /** The end of a read batch: send the ACK owed for in-order data, unless a segment carried it since. */
  sendOwedAck(now: number): void {
    if (this.out.ackOwed && this.#synchronizedAlive()) this.out.sendAck(now);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  #inSynSent(seg: TcpSegment, now: number): void {
    const f = seg.flags;
    const c = this.#counters;
    // First: the ACK must acknowledge our SYN exactly (ISS < SEG.ACK =< SND.NXT).
    if (f & ACK && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      c.inc('tcp.rx.badAckInSynSent');
      if (!(f & RST)) this.out.sendRst(seg.ack);
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
    this.keepAlive.heard(now);
    if (f & ACK) {
      if (this.acks.advance(seg, now)) this.#evWritable = true;
      this.sndWnd = seg.window; // unscaled in a SYN (RFC 7323 §2.2)
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.#becomeEstablished(now);
      this.out.ackNow = true;
      // "Data or controls which were queued for transmission may be included"; text and FIN
      // in the SYN-ACK are processed from the sixth step on.
      this.#text(seqAdd(seg.seq, 1), seg.payload, (f & FIN) !== 0, now);
      this.out.output(now);
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 7): answer with SYN,ACK on our ISS.
      c.inc('tcp.simultaneousOpen');
      this.#setState('SYN-RECEIVED', now);
      this.out.sendSyn(SYN | ACK, now, true);
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
        this.out.sendSyn(SYN | ACK, now, true);
        return;
      }
      // Simultaneous open: the peer's SYN,ACK; its SYN is old, its ACK is news.
      syn = false;
      segSeq = seqAdd(segSeq, 1);
      this.out.ackNow = true;
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
        this.out.sendAck(now);
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
        if (payload.length > 0) this.rcv.noteDsack(segSeq, seqAdd(segSeq, payload.length));
      } else c.inc('tcp.rx.outOfWindow');
      this.out.sendAck(now);
      return;
    }
    this.keepAlive.heard(now);

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
      if (cut > 0) this.rcv.noteDsack(segSeq, seqAdd(segSeq, cut));
      payload = payload.subarray(cut);
      segSeq = seqAdd(segSeq, cut);
      c.inc('tcp.rx.partialDuplicate');
    }
    const room = seqDiff(seqAdd(this.rcvNxt, wnd), segSeq);
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
      this.out.ackNow = true;
      c.inc('tcp.rx.trimmedRight');
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
        this.#takeTsRecent(seg, now);
        this.sndWnd = seg.window << this.sndWscale;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = segSeq;
        this.sndWl2 = seg.ack;
        if (this.acks.advance(seg, now)) this.#evWritable = true;
        this.#becomeEstablished(now);
      } else {
        c.inc('tcp.rx.badAckInSynReceived');
        this.out.sendRst(seg.ack);
        return;
      }
    } else if (!this.#processAck(seg, segSeq, payload.length === 0 && !fin, now)) {
      return;
    }
    // LAST-ACK and CLOSING end here once our FIN is acknowledged.
    if (this.state === 'CLOSED' || this.state === 'TIME-WAIT') return;
    if (this.state === 'CLOSING' || this.state === 'LAST-ACK') {
      this.out.output(now);
      return;
    }

    // Sixth: URG. RFC 6093: urgent data is delivered inline; we only count it.
    if (f & URG) c.inc('tcp.rx.urgent');

    // Seventh and eighth: text and FIN.
    this.#text(segSeq, payload, fin, now);
    this.out.output(now);
  }

  /**
   * RFC 7323 §4.3 (R3): remember the TSval of a segment covering Last.ACK.sent, but only once the
   * segment has passed every check, its ACK included (RFC 5961 §5, as Linux's tcp_ack does):
   * else one forged segment with a right sequence number, a bad ACK and a high TSval would raise
   * TS.Recent and let PAWS drop every real segment after it.
   */
  #takeTsRecent(seg: TcpSegment, now: number): void {
    const ts = seg.options.ts;
    if (this.tsOk && ts !== undefined && seqLe(seg.seq, this.lastAckSent) && !tsBefore(ts.val, this.tsRecent)) {
      this.tsRecent = ts.val;
      this.tsRecentAt = now;
    }
  }

  /** Fifth step for the synchronized states (RFC 5961 §5.2 first); false if the segment must be dropped now. */
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
    this.#takeTsRecent(seg, now);
    if (this.acks.onAck(seg, segSeq, pureAck, now)) this.#evWritable = true;
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
      } else if (this.rcv.text(segSeq, payload, now)) this.#evReadable = true;
    }
    if (fin) {
      const finAt = seqAdd(segSeq, payload.length);
      if (!receiving && this.state !== 'SYN-RECEIVED') {
        // A retransmitted FIN in CLOSE-WAIT, CLOSING, LAST-ACK: acknowledge it again.
        this.out.ackNow = true;
      } else if (finAt === this.rcvNxt) {
        this.#processFin(now);
      } else if (seqGt(finAt, this.rcvNxt)) {
        this.#oooFin = finAt;
        this.out.ackNow = true;
      }
    }
    if (this.#oooFin !== undefined && this.#oooFin === this.rcvNxt && !this.finReceived && receiving) {
      this.#oooFin = undefined;
      this.#processFin(now);
    }
  }

  /** Eighth step: the FIN is in sequence (RFC 9293 §3.10.7.4 eighth). */
  #processFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.#evReadable = true;
    this.#counters.inc('tcp.rx.fin');
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        // The peer closed first. Its FIN's ACK waits like a delayed ACK (RFC 1122 §4.2.3.2), so an
        // application that closes in response within that time sends one FIN+ACK, as Linux does:
        // the three-way close (RFC 9293 §3.6).
        if (this.timers.delack === Infinity) this.timers.delack = now + this.#cfg.delayedAckMs;
        this.#setState('CLOSE-WAIT', now);
        break;
      case 'FIN-WAIT-1':
        this.out.ackNow = true;
        // Our FIN is not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
        this.#setState('CLOSING', now);
        break;
      case 'FIN-WAIT-2':
        this.out.sendAck(now);
        this.#setState('TIME-WAIT', now);
        break;
      default:
        this.out.ackNow = true;
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
      this.out.sendAck(now);
    } else this.#counters.inc('tcp.challengeAck.rateLimited');
  }

  #becomeEstablished(now: number): void {
    this.timers.rtx = Infinity;
    this.retries = 0;
    // RFC 6298 §5.7: a timed-out SYN means starting data transfer with RTO = 3 s (if no sample).
    if (this.#synRetransmitted) this.rtt.resetAfterSynTimeout();
    this.cc.init(this.mss, now);
    this.#evEstablished = true;
    this.#setState('ESTABLISHED', now);
    this.keepAlive.established(now);
    if (this.finQueued) this.#setState('FIN-WAIT-1', now);
  }

  /** May data (and a FIN) be sent in this state? */
  canSendData(): boolean {
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
  }

  #synchronizedAlive(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'SYN-SENT' && this.state !== 'TIME-WAIT';
  }

  // ===================================================================== state

  #setState(to: TcpState, now: number): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (logState.enabled) logState('%s %s -> %s', this.key, from, to);
    if (to === 'FIN-WAIT-2' && this.orphan) this.timers.finWait2 = now + this.#cfg.finWait2TimeoutMs;
    if (to === 'TIME-WAIT') {
      this.timers.clear();
      this.#evClosed = true;
    }
    this.#host.stateChanged(this, from, to, now);
  }

  #enterClosed(now: number, err: TcpError | undefined): void {
    if (this.state === 'CLOSED') return;
    this.error = err;
    this.timers.clear();
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
