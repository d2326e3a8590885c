// The timers of one connection (RFC 9293 §3.8: retransmission, persist, delayed ACK, keep-alive,
// plus the FIN-WAIT-2 limit of orphans) as absolute deadlines in ms; Infinity means off. The
// connection sets and clears them; no timer objects exist per connection. Arming one tells the
// owner (`timerArmed`, a method: no closure per connection), which keeps every connection's
// earliest deadline in a heap (deadline-heap.ts):
// a deadline that moves earlier is pushed at once, one that moves later or stops is left for the
// heap to find stale when it comes due (lazy, as Linux's timer wheel leaves a restarted timer).

/** Who hears of every finite deadline set (the connection, which tells its host). */
export interface TimerOwner {
  timerArmed(at: number): void;
}

/** Absolute deadlines of one connection's timers. */
export class ConnectionTimers {
  #rtx = Infinity;
  #persist = Infinity;
  #delack = Infinity;
  #keepAlive = Infinity;
  #finWait2 = Infinity;
  #tlp = Infinity;
  #rack = Infinity;

  readonly #owner: TimerOwner;

  /** `owner.timerArmed(at)` is called whenever a timer is set to a finite deadline. */
  constructor(owner: TimerOwner) {
    this.#owner = owner;
  }

  /** Retransmission timer (RFC 6298): SYN, SYN-ACK, data, FIN. */
  get rtx(): number {
    return this.#rtx;
  }
  set rtx(at: number) {
    this.#rtx = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** Persist timer (RFC 9293 §3.8.6.1): zero-window probes and the SWS override. */
  get persist(): number {
    return this.#persist;
  }
  set persist(at: number) {
    this.#persist = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** Delayed-ACK timer (RFC 9293 §3.8.6.3). */
  get delack(): number {
    return this.#delack;
  }
  set delack(at: number) {
    this.#delack = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** Keep-alive timer (RFC 1122 §4.2.3.6). */
  get keepAlive(): number {
    return this.#keepAlive;
  }
  set keepAlive(at: number) {
    this.#keepAlive = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** FIN-WAIT-2 lifetime of an orphaned connection. */
  get finWait2(): number {
    return this.#finWait2;
  }
  set finWait2(at: number) {
    this.#finWait2 = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** Tail loss probe (RFC 8985 §7): PTO. */
  get tlp(): number {
    return this.#tlp;
  }
  set tlp(at: number) {
    this.#tlp = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** RACK reordering-window timer (RFC 8985 §6.2 step 5). */
  get rack(): number {
    return this.#rack;
  }
  set rack(at: number) {
    this.#rack = at;
    if (at !== Infinity) this.#owner.timerArmed(at);
  }

  /** The earliest armed deadline, or Infinity. */
  next(): number {
    return Math.min(this.#rtx, this.#persist, this.#delack, this.#keepAlive, this.#finWait2, this.#tlp, this.#rack);
  }

  /** Stop them all. */
  clear(): void {
    this.#rtx = Infinity;
    this.#persist = Infinity;
    this.#delack = Infinity;
    this.#keepAlive = Infinity;
    this.#finWait2 = Infinity;
    this.#tlp = Infinity;
    this.#rack = Infinity;
  }
}
