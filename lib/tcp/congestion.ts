// Congestion control behind one interface (RFC 5681), so NewReno/CUBIC (issue 4) plug in without
// touching the connection. The connection owns loss detection; the controller only owns cwnd and
// ssthresh and is told about ACKs, entering/leaving fast recovery and RTOs.

/** What a controller learns about each cumulative ACK that acknowledged new data. */
export interface AckSample {
  /** Bytes newly acknowledged by this ACK. */
  acked: number;
  /** Bytes in flight before this ACK (FlightSize, RFC 5681 §2). */
  flight: number;
  /** The sender MSS (SMSS). */
  mss: number;
  /** Current time in ms (for time-based controllers such as CUBIC). */
  now: number;
  /** Smoothed RTT in ms when known. */
  srtt: number | undefined;
}

/** A congestion controller: cwnd and ssthresh in bytes. */
export interface CongestionControl {
  readonly name: string;
  readonly cwnd: number;
  readonly ssthresh: number;
  /** True while in fast recovery. */
  readonly inRecovery: boolean;
  /** Connection established: set the initial window (RFC 5681 §3.1, RFC 6928). */
  init(mss: number, now: number): void;
  /** New data cumulatively acknowledged (outside or at the end of recovery). */
  onAck(s: AckSample): void;
  /** A duplicate ACK while in recovery (RFC 5681 §3.2 step 4: inflate). */
  onDupAckInRecovery(mss: number): void;
  /** Loss detected by duplicate ACKs: enter fast recovery (RFC 5681 §3.2 steps 2–3). */
  enterRecovery(flight: number, mss: number, now: number): void;
  /** Recovery ended by an ACK of new data (RFC 5681 §3.2 step 6: deflate). */
  exitRecovery(mss: number): void;
  /** The retransmission timer expired (RFC 5681 §3.1 eq. 4, loss window of 1 SMSS). */
  onRto(flight: number, mss: number): void;
  /** The connection was idle longer than an RTO (RFC 5681 §4.1 restart window). */
  onIdle(mss: number): void;
}

/** RFC 5681 Reno: slow start, congestion avoidance, fast retransmit / fast recovery window rules. */
export class RenoCongestionControl implements CongestionControl {
  readonly name = 'reno';
  cwnd = 0;
  ssthresh = Number.MAX_SAFE_INTEGER;
  inRecovery = false;
  /** Bytes acked in congestion avoidance not yet turned into cwnd growth. */
  #caAcked = 0;

  constructor(readonly initialWindowSegments = 10) {}

  init(mss: number): void {
    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) for 10 segments; RFC 5681 §3.1 for fewer.
    this.cwnd =
      this.initialWindowSegments >= 10
        ? Math.min(this.initialWindowSegments * mss, Math.max(2 * mss, 14600))
        : Math.min(this.initialWindowSegments * mss, Math.max(2 * mss, 4380));
  }

  onAck(s: AckSample): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start (RFC 5681 §3.1 eq. 2) with L = 1 SMSS per ACK (RFC 3465 ABC limit).
      this.cwnd += Math.min(s.acked, s.mss);
    } else {
      // Congestion avoidance: about one SMSS per RTT, counted in bytes (RFC 5681 §3.1 eq. 3 note).
      this.#caAcked += s.acked;
      if (this.#caAcked >= this.cwnd) {
        this.#caAcked -= this.cwnd;
        this.cwnd += s.mss;
      }
    }
  }

  onDupAckInRecovery(mss: number): void {
    this.cwnd += mss;
  }

  enterRecovery(flight: number, mss: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.cwnd = this.ssthresh + 3 * mss;
    this.inRecovery = true;
  }

  exitRecovery(): void {
    this.cwnd = this.ssthresh;
    this.inRecovery = false;
    this.#caAcked = 0;
  }

  onRto(flight: number, mss: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.cwnd = mss;
    this.inRecovery = false;
    this.#caAcked = 0;
  }

  onIdle(mss: number): void {
    const restart = Math.min(this.initialWindowSegments * mss, Math.max(2 * mss, 14600));
    this.cwnd = Math.min(this.cwnd, restart);
  }
}

/** Build a controller by name (only 'reno' until issue 4 adds 'newreno' and 'cubic'). */
export function createCongestionControl(name: string, initialWindowSegments: number): CongestionControl {
  switch (name) {
    case 'reno':
      return new RenoCongestionControl(initialWindowSegments);
    default:
      throw new Error(`unknown congestion control: ${name}`);
  }
}
