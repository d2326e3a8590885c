// One TCP connection: the RFC 9293 state machine (§3.10 "Event Processing"), sans-IO. Segments,
// user calls and timer expiries come in with `now`; segments go out through the host's
// `transmit`; events go to the user's `ConnectionEvents`; `nextDeadline()` says when to call
// `onTimer`. LISTEN lives in the demux (a listener is not a connection) and so does TIME-WAIT
// (a compact table entry, see time-wait.ts); every other state is handled here.
//
// This file is the state machine: opens, user calls, timer dispatch, the states and the user's
// events. The rest is split by RFC, like gVisor's snd.go / rcv.go / sack_recovery.go / rack.go,
// into plain classes that work on this connection's state: `arrival` (segment-arrives.ts)
// SEGMENT ARRIVES (§3.10.7 with RFC 5961's checks, RFC 7323 timestamps and PAWS, RST, SYN, FIN),
// `acks` (ack.ts) the sender's ACK processing, `out` (output.ts) what to send next and the
// building of every segment, `rcv` (receive.ts) text, ACK policy, SACK blocks and the window we
// offer, `recovery` (loss-recovery.ts) RFC 6675 SACK recovery with RFC 6937 PRR, RFC 6582
// NewReno and the RTO with its Eifel undo, `rack` (rack.ts) RACK-TLP (RFC 8985), keep-alive
// (keepalive.ts, created once the user sets it). Shared state: bytes live in `sndBuf` (any
// range can be (re)sent, nothing is freed before it is cumulatively acknowledged); every
// transmission is recorded in `rtxq` (Karn-safe send times); the SACK scoreboard is `sack`
// (created at the first SACK block);
// window arithmetic is the `CongestionControl` interface's (`cc`: CUBIC or NewReno, by name in
// the config); the receiver's out-of-order queue is `rcvBuf`.
import createDebug from 'debug';
import type { Counters } from '../counters.js';
import { TCP_FLAGS, type TcpSegment, formatTcpFlags } from '../wire/tcp.js';
import { type Seq, seq, seqAdd, seqDiff, seqLt, seqMin } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import { AckHandler } from './ack.js';
import { type CongestionControl, createCongestionControl } from './congestion.js';
import type { FourTuple } from './isn.js';
import { KeepAlive } from './keepalive.js';
import { type ConnectionInfo, connectionInfo } from './info.js';
import { LossRecovery } from './loss-recovery.js';
import { TS_LEN, TcpOutput } from './output.js';
import { SegmentArrival } from './segment-arrives.js';
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

const { SYN, ACK } = TCP_FLAGS;

/** The scoreboard of every connection that has not been sent a SACK block: always empty. */
const NO_SACK = new SackScoreboard(0);

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
  /** When a lowered `pmtu` is tried again at the path's current value (RFC 1191 §6.3); Infinity if not lowered. */
  pmtuRaiseAt: number;
  /** Effective send MSS: min(peer MSS, PMTU − 40) − option bytes (RFC 6691). */
  mss = 536;

  // --- buffers, timing, congestion ---
  readonly sndBuf: SendBuffer;
  readonly rcvBuf: ReceiveBuffer;
  readonly rtxq = new RetransmitQueue();
  /** The sender's SACK scoreboard (RFC 6675), once the peer SACKed anything (see `sack`). */
  #sack: SackScoreboard | undefined;
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
  noDelay = false;
  #synRetransmitted = false;

  /** The sender, split by RFC: ACK processing, output and segment building, loss recovery, RACK-TLP. */
  readonly acks: AckHandler;
  readonly out: TcpOutput;
  /** The receiving side: text, ACK policy, SACK blocks, the window we offer. */
  readonly rcv: TcpReceiver;
  readonly recovery: LossRecovery;
  readonly rack: Rack;
  /** Segment arrival (RFC 9293 §3.10.7): the checks in the RFC's order, text and FIN. */
  readonly arrival: SegmentArrival;

  /** The connection's timers (absolute ms; see timers.ts). */
  readonly timers = new ConnectionTimers(this);
  /** Nobody will read or write any more (see `close`). */
  orphan = false;
  /** Consecutive retransmission timeouts (reset by an ACK that advances SND.UNA). */
  retries = 0;
  /** When an acceptable segment last arrived (or the open): keep-alive's idle clock. */
  lastRxAt = 0;
  /** Keep-alive probing (RFC 1122 §4.2.3.6): created by the first SO_KEEPALIVE call, off until then. */
  #keepAlive: KeepAlive | undefined;

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
    this.pmtuRaiseAt = init.pmtuRaiseAt;
    this.sndBuf = new SendBuffer(this.#cfg.sndBufSize, this.#cfg.sndBufMaxSize, host.sendMemory);
    this.rcvBuf = new ReceiveBuffer(this.#cfg.rcvBufSize, this.#cfg.maxOutOfOrderSegments);
    this.rtt = new RttEstimator(this.#cfg);
    this.cc = createCongestionControl(this.#cfg.congestionControl, this.#cfg.initialCwndSegments);
    let ws = 0;
    while (ws < 14 && this.#cfg.rcvBufSize >>> ws > 0xffff) ws++;
    this.rcvWscale = this.#cfg.windowScaling ? ws : 0;
    this.acks = new AckHandler(this, host);
    this.out = new TcpOutput(this, host);
    this.rcv = new TcpReceiver(this, host);
    this.recovery = new LossRecovery(this, host);
    this.rack = new Rack(this, host);
    this.arrival = new SegmentArrival(this, host);
  }

  /**
   * The sender's SACK scoreboard (RFC 6675): a shared empty board until the first SACK block
   * arrives (`sackBoard`), since most connections never see one. Nothing but `update` adds to a
   * board, so the shared one stays empty (its limit of 0 blocks makes sure).
   */
  get sack(): SackScoreboard {
    return this.#sack ?? NO_SACK;
  }

  /** The scoreboard SACK blocks are recorded on, created at the first. */
  sackBoard(): SackScoreboard {
    return (this.#sack ??= new SackScoreboard());
  }

  /** The MSS we advertise: path MTU − 40 (RFC 9293 §3.7.1, RFC 6691). */
  get advertisedMss(): number {
    return Math.max(88, this.pmtu - 40);
  }

  // ===================================================================== opens

  /** Active OPEN (RFC 9293 §3.10.1): send SYN, enter SYN-SENT. */
  openActive(now: number): void {
    this.heard(now);
    this.setState('SYN-SENT', now);
    this.out.sendSyn(SYN, now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /** Passive open by a listener on a SYN (RFC 9293 §3.10.7.2 third): enter SYN-RECEIVED, send SYN-ACK. */
  openPassive(syn: TcpSegment, now: number): void {
    this.history?.record(false, now, syn.seq, syn.ack, syn.flags, syn.payload.length, syn.window, syn.options);
    this.heard(now);
    this.arrival.takePeerSyn(syn, true, now);
    this.setState('SYN-RECEIVED', now);
    this.out.sendSyn(SYN | ACK, now, false);
    this.timers.rtx = now + this.rtt.rto;
  }

  /**
   * Rebuild the SYN-RECEIVED state a SYN cookie stood for (our SYN-ACK went out statelessly
   * with ISN = iss): the caller then feeds the returning ACK to `segmentArrives`.
   */
  openFromCookie(ackSeg: TcpSegment, mss: number, wscale: number | undefined, sack: boolean, synWindow: number, now: number): void {
    this.heard(now);
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
    this.updateMss();
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.rcvAdv = seqAdd(this.rcvNxt, synWindow);
    this.lastAckSent = this.rcvNxt;
    this.setState('SYN-RECEIVED', now);
  }


  /** Recompute the send MSS after the peer's MSS, the path MTU or the timestamp option changed. */
  updateMss(): void {
    // RFC 6691: the MSS counts no options, so subtract the ones every segment carries.
    this.mss = Math.max(64, Math.min(this.peerMss, this.pmtu - 40) - (this.tsOk ? TS_LEN : 0));
  }

  // ===================================================================== user calls

  /**
   * SEND (RFC 9293 §3.10.2): take what fits in the send buffer; returns the bytes taken.
   * With `push` false the data is only queued (autocorking: the caller flushes later). With
   * `borrow`, whole chunks of `data` may be held rather than copied until `returnBorrowed()`.
   */
  write(data: Uint8Array, now: number, push = true, borrow = false): number {
    if (this.finQueued || this.state === 'CLOSED' || this.state === 'TIME-WAIT') {
      throw new TcpError(this.state === 'CLOSED' && this.error !== undefined ? this.error.code : 'EPIPE', 'write after end', 'write');
    }
    const n = this.sndBuf.write(data, borrow);
    if (push) this.flush(now);
    return n;
  }

  /** Copy what the send buffer still borrows from the application (its write is complete). */
  returnBorrowed(): void {
    this.sndBuf.returnBorrowed();
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
        this.enterClosed(now, undefined);
        break;
      case 'SYN-RECEIVED':
        // "Queue for processing after entering ESTABLISHED state."
        this.finQueued = true;
        break;
      case 'ESTABLISHED':
        this.finQueued = true;
        this.setState('FIN-WAIT-1', now);
        this.out.output(now);
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.setState('LAST-ACK', now);
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
    this.enterClosed(now, undefined);
    this.#emitEvents();
  }

  /** A hard ICMP error during the handshake (see TcpDemux.icmpUnreachable): ECONNREFUSED. */
  refuse(now: number): void {
    this.enterClosed(now, new TcpError('ECONNREFUSED', 'connect ECONNREFUSED', 'connect'));
    this.#emitEvents();
  }

  /** TCP_NODELAY: disable Nagle (RFC 1122 §4.2.3.4 requires the option). */
  setNoDelay(on: boolean, now: number): void {
    this.noDelay = on;
    if (on) this.flush(now);
  }

  /** SO_KEEPALIVE with the idle time before the first probe (RFC 1122 §4.2.3.6). */
  setKeepAlive(on: boolean, idleMs: number | undefined, now: number): void {
    (this.#keepAlive ??= new KeepAlive(this, this.#host)).set(on, idleMs, now);
  }

  /** The peer was heard from (an acceptable segment, or the open itself). */
  heard(now: number): void {
    this.lastRxAt = now;
    if (this.#keepAlive !== undefined) this.#keepAlive.heard(now);
  }

  /** SO_KEEPALIVE is on. */
  get keepAliveOn(): boolean {
    return this.#keepAlive !== undefined && this.#keepAlive.on;
  }

  /** An ICMP fragmentation-needed said the path MTU is `mtu` (RFC 1191 §6.3–6.5). */
  pathMtu(mtu: number, now: number): void {
    if (mtu >= this.pmtu || mtu < 68) return;
    const old = this.mss;
    this.pmtu = mtu;
    this.pmtuRaiseAt = now + this.#cfg.pathMtuExpiryMs;
    this.updateMss();
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

  /**
   * RFC 1191 §6.3: a lowered path MTU is not kept for good. When its timer runs out the estimate
   * goes back to what a new connection would use (the link's, unless the host learned a lower
   * one since), so discovery runs again: a path still that narrow answers with another ICMP.
   */
  raisePathMtu(now: number): void {
    const path = this.#host.pathMtuToward(this.remoteIp, now);
    this.pmtuRaiseAt = path.pmtuRaiseAt;
    if (path.mtu <= this.pmtu) return;
    const old = this.mss;
    this.pmtu = path.mtu;
    this.updateMss();
    this.#counters.inc('tcp.pmtu.raised');
    log('%s path MTU timer: back to %d, MSS %d -> %d', this.key, path.mtu, old, this.mss);
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

  /** A timer was set to `at` (see timers.ts): the host keeps every connection's earliest deadline. */
  timerArmed(at: number): void {
    this.#host.timerArmed(this, at);
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
    // RFC 8985 §7.2-7.3: a probe due with the RTO goes in its place (it rearms the RTO).
    if (this.timers.tlp <= now) {
      this.timers.tlp = Infinity;
      this.rack.onTlp(now);
    }
    if (this.timers.rtx <= now) {
      this.timers.rtx = Infinity;
      this.#onRetransmitTimeout(now);
    }
    if (this.timers.persist <= now) {
      this.timers.persist = Infinity;
      if (!this.out.onPersist(now)) this.enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
    }
    if (this.timers.rack <= now) {
      this.timers.rack = Infinity;
      this.rack.onTimer(now);
    }
    if (this.timers.keepAlive <= now) {
      this.timers.keepAlive = Infinity;
      if (this.#keepAlive !== undefined && !this.#keepAlive.onTimer(now)) this.enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
    }
    if (this.timers.finWait2 <= now) {
      this.timers.finWait2 = Infinity;
      if (this.state === 'FIN-WAIT-2') {
        this.#counters.inc('tcp.finWait2.timeout');
        this.enterClosed(now, undefined);
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
        this.enterClosed(now, active || !this.passive ? new TcpError('ETIMEDOUT', 'connect ETIMEDOUT', 'connect') : undefined);
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
      this.enterClosed(now, new TcpError('ETIMEDOUT', 'read ETIMEDOUT'));
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
      this.arrival.process(seg, now);
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


  /** The handshake completed (RFC 9293 §3.10.7.3 / §3.10.7.4 fifth). */
  becomeEstablished(now: number): void {
    this.timers.rtx = Infinity;
    this.retries = 0;
    // RFC 6298 §5.7: a timed-out SYN means starting data transfer with RTO = 3 s (if no sample).
    if (this.#synRetransmitted) this.rtt.resetAfterSynTimeout();
    this.cc.init(this.mss, now);
    this.#evEstablished = true;
    this.setState('ESTABLISHED', now);
    this.#keepAlive?.established(now);
    if (this.finQueued) this.setState('FIN-WAIT-1', now);
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

  /** Move to `to`, telling the host (the demux moves TIME-WAIT out, counts states). */
  setState(to: TcpState, now: number): void {
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

  /** CLOSED, with the error the user sees (undefined: a clean close or a forgotten embryo). */
  enterClosed(now: number, err: TcpError | undefined): void {
    if (this.state === 'CLOSED') return;
    this.error = err;
    this.timers.clear();
    if (err !== undefined) this.rcvBuf.clear();
    this.rtxq.clear();
    this.#evClosed = true;
    this.setState('CLOSED', now);
  }

  /** Segment arrival queued text or a FIN for the user. */
  notifyReadable(): void {
    this.#evReadable = true;
  }

  /** An ACK freed send-buffer space. */
  notifyWritable(): void {
    this.#evWritable = true;
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
