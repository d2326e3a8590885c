// Keep-alive (RFC 1122 §4.2.3.6) for one connection: off by default (SO_KEEPALIVE turns it on);
// after `idleMs` without hearing from the peer, a probe with SEG.SEQ = SND.NXT−1 draws an ACK
// from a live peer; `keepAliveProbes` unanswered probes, `keepAliveIntervalMs` apart, end the
// connection (the caller closes it with ETIMEDOUT). Only in states where the peer owes us
// nothing else: outstanding data is watched by the retransmission and persist timers instead.
import type { Counters } from '../counters.js';
import { TCP_FLAGS } from '../wire/tcp.js';
import { seqAdd, seqLt } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import type { ConnectionHost } from './types.js';

/** The keep-alive state of one connection. */
export class KeepAlive {
  on = false;
  /** Idle time before the first probe. */
  idleMs: number;
  #probes = 0;

  readonly #c: TcpConnection;
  readonly #cfg: TcpConfig;
  readonly #counters: Counters;

  constructor(c: TcpConnection, host: ConnectionHost) {
    this.#c = c;
    this.#cfg = host.config;
    this.#counters = host.counters;
    this.idleMs = this.#cfg.keepAliveIdleMs;
  }

  /** The peer was heard from (the connection keeps the time: `lastRxAt`). */
  heard(now: number): void {
    // An answered probe: the peer is alive, so the next probe waits a full idle time again
    // (RFC 1122 §4.2.3.6), not the interval between unanswered probes.
    if (this.#probes > 0 && this.on) this.#c.timers.keepAlive = now + this.idleMs;
    this.#probes = 0;
  }

  /** SO_KEEPALIVE with the idle time before the first probe. */
  set(on: boolean, idleMs: number | undefined, now: number): void {
    this.on = on;
    if (idleMs !== undefined && idleMs > 0) this.idleMs = idleMs;
    this.#probes = 0;
    this.#c.timers.keepAlive = on && this.#applies() ? Math.max(now, this.#c.lastRxAt) + this.idleMs : Infinity;
  }

  /** The connection was established: start the idle clock if keep-alive is on. */
  established(now: number): void {
    if (this.on) this.#c.timers.keepAlive = now + this.idleMs;
  }

  #applies(): boolean {
    const s = this.#c.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-2';
  }

  /** The keep-alive timer fired; false if the peer failed to answer enough probes. */
  onTimer(now: number): boolean {
    const c = this.#c;
    if (!this.on || !this.#applies()) return true;
    // Outstanding data is watched by the retransmission/persist timers instead.
    if (seqLt(c.sndUna, c.sndMax) || c.sndBuf.length > 0) {
      c.timers.keepAlive = now + this.idleMs;
      return true;
    }
    const idle = now - this.#c.lastRxAt;
    if (this.#probes === 0 && idle < this.idleMs) {
      c.timers.keepAlive = this.#c.lastRxAt + this.idleMs;
      return true;
    }
    if (this.#probes >= this.#cfg.keepAliveProbes) {
      this.#counters.inc('tcp.keepAlive.timeout');
      return false;
    }
    // RFC 1122 §4.2.3.6: a segment with SEG.SEQ = SND.NXT−1 draws an ACK from a live peer.
    this.#probes++;
    this.#counters.inc('tcp.tx.keepAlive');
    c.out.emit(seqAdd(c.sndNxt, -1), TCP_FLAGS.ACK, 0, 0, now);
    c.timers.keepAlive = now + this.#cfg.keepAliveIntervalMs;
    return true;
  }
}
