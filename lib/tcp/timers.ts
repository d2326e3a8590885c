// The timers of one connection (RFC 9293 §3.8: retransmission, persist, delayed ACK, keep-alive,
// plus the FIN-WAIT-2 limit of orphans) as absolute deadlines in ms; Infinity means off. The
// connection sets and clears them; the demux folds every connection's `next()` into one
// deadline for the layer's single Clock timer, so no timer objects exist per connection.

/** Absolute deadlines of one connection's timers. */
export class ConnectionTimers {
  /** Retransmission timer (RFC 6298): SYN, SYN-ACK, data, FIN. */
  rtx = Infinity;
  /** Persist timer (RFC 9293 §3.8.6.1): zero-window probes and the SWS override. */
  persist = Infinity;
  /** Delayed-ACK timer (RFC 9293 §3.8.6.3). */
  delack = Infinity;
  /** Keep-alive timer (RFC 1122 §4.2.3.6). */
  keepAlive = Infinity;
  /** FIN-WAIT-2 lifetime of an orphaned connection. */
  finWait2 = Infinity;
  /** Tail loss probe (RFC 8985 §7): PTO. */
  tlp = Infinity;
  /** RACK reordering-window timer (RFC 8985 §6.2 step 5). */
  rack = Infinity;

  /** The earliest armed deadline, or Infinity. */
  next(): number {
    return Math.min(this.rtx, this.persist, this.delack, this.keepAlive, this.finWait2, this.tlp, this.rack);
  }

  /** Stop them all. */
  clear(): void {
    this.rtx = Infinity;
    this.persist = Infinity;
    this.delack = Infinity;
    this.keepAlive = Infinity;
    this.finWait2 = Infinity;
    this.tlp = Infinity;
    this.rack = Infinity;
  }
}
