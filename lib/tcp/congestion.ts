// Congestion control behind one interface (RFC 5681): the connection owns loss detection (SACK
// scoreboard, RFC 6675 / RFC 6582 recovery, RTO); a controller only owns cwnd and ssthresh and
// is told about ACKs, congestion events, recovery and RTOs. Two controllers: NewReno (RFC 5681
// window rules, RFC 3465 byte counting) and CUBIC (RFC 9438, the default as in Linux).

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
  /** New data cumulatively acknowledged outside recovery: slow start or congestion avoidance. */
  onAck(s: AckSample): void;
  /** A duplicate ACK during NewReno fast recovery (RFC 6582 §3.2 step 4: inflate by 1 SMSS). */
  onDupAckInRecovery(mss: number): void;
  /**
   * Loss detected by duplicate ACKs or the SACK scoreboard: set ssthresh and cwnd = ssthresh
   * (RFC 6675 §5 step 4.2, RFC 9438 §4.6); the NewReno path then inflates by 3 SMSS itself.
   */
  enterRecovery(flight: number, mss: number, now: number): void;
  /** Add `bytes` (may be negative: NewReno partial-ACK deflation, RFC 6582 §3.2 step 5). */
  inflate(bytes: number, mss: number): void;
  /** Recovery over (RFC 6582 §3.2 step 6 / RFC 6675 §5): cwnd = `cwnd` if given, else ssthresh. */
  exitRecovery(mss: number, cwnd?: number): void;
  /** The retransmission timer expired (RFC 5681 §3.1 eq. 4; `repeated`: the same data timed out again, ssthresh stays). */
  onRto(flight: number, mss: number, now?: number, repeated?: boolean): void;
  /** The connection was idle longer than an RTO (RFC 5681 §4.1 restart window). */
  onIdle(mss: number): void;
  /** Remember the state before a possibly spurious window cut (RFC 4015 §3.1). */
  saveForUndo(): void;
  /** The cut was spurious (RFC 4015 §3.2): restore the saved state. */
  undo(): void;
}

/** RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)); RFC 5681 §3.1 for fewer segments. */
function initialWindow(segments: number, mss: number): number {
  return segments >= 10 ? Math.min(segments * mss, Math.max(2 * mss, 14600)) : Math.min(segments * mss, Math.max(2 * mss, 4380));
}

/** Shared slow start / recovery bookkeeping of the two controllers. */
abstract class BaseCongestionControl implements CongestionControl {
  abstract readonly name: string;
  cwnd = 0;
  ssthresh = Number.MAX_SAFE_INTEGER;
  inRecovery = false;
  /** RFC 3465 §2.3: L = 1 SMSS in the slow start that follows an RTO, else 2 SMSS. */
  protected afterRto = false;
  #saved: { cwnd: number; ssthresh: number; state: unknown } | undefined;

  constructor(readonly initialWindowSegments = 10) {}

  init(mss: number, _now: number): void {
    this.cwnd = initialWindow(this.initialWindowSegments, mss);
  }

  /** Slow start with appropriate byte counting (RFC 3465 §2.2): cwnd += min(acked, L*SMSS). */
  protected slowStart(s: AckSample): void {
    const l = this.afterRto ? 1 : 2;
    this.cwnd += Math.min(s.acked, l * s.mss);
  }

  onDupAckInRecovery(mss: number): void {
    this.cwnd += mss;
  }

  inflate(bytes: number, mss: number): void {
    this.cwnd = Math.max(mss, this.cwnd + bytes);
  }

  exitRecovery(mss: number, cwnd?: number): void {
    this.cwnd = Math.max(mss, cwnd ?? this.ssthresh);
    this.inRecovery = false;
  }

  onIdle(mss: number): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(this.initialWindowSegments, mss));
  }

  saveForUndo(): void {
    this.#saved = { cwnd: this.cwnd, ssthresh: this.ssthresh, state: this.saveState() };
  }

  undo(): void {
    if (this.#saved === undefined) return;
    // RFC 4015 §3.2: restore cwnd and ssthresh as they were before the timeout.
    this.cwnd = Math.max(this.cwnd, this.#saved.cwnd);
    this.ssthresh = this.#saved.ssthresh;
    this.restoreState(this.#saved.state);
    this.inRecovery = false;
    this.afterRto = false;
    this.#saved = undefined;
  }

  protected saveState(): unknown {
    return undefined;
  }

  protected restoreState(_s: unknown): void {}

  abstract onAck(s: AckSample): void;
  abstract enterRecovery(flight: number, mss: number, now: number): void;
  abstract onRto(flight: number, mss: number, now?: number, repeated?: boolean): void;
}

/** NewReno's window rules (RFC 5681 §3.1–3.2 with RFC 3465 byte counting; recovery per RFC 6582 lives in the connection). */
export class NewRenoCongestionControl extends BaseCongestionControl {
  readonly name: string = 'newreno';
  /** Bytes acked in congestion avoidance not yet turned into cwnd growth. */
  #caAcked = 0;

  onAck(s: AckSample): void {
    if (this.cwnd < this.ssthresh) {
      this.slowStart(s);
      if (this.cwnd >= this.ssthresh) this.afterRto = false;
    } else {
      this.afterRto = false;
      // Congestion avoidance: one SMSS per cwnd of acknowledged bytes (RFC 5681 §3.1, RFC 3465 §2.1).
      this.#caAcked += s.acked;
      if (this.#caAcked >= this.cwnd) {
        this.#caAcked -= this.cwnd;
        this.cwnd += s.mss;
      }
    }
  }

  enterRecovery(flight: number, mss: number, _now?: number): void {
    // RFC 5681 §3.2 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS).
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.cwnd = this.ssthresh;
    this.inRecovery = true;
    this.#caAcked = 0;
  }

  override exitRecovery(mss: number, cwnd?: number): void {
    super.exitRecovery(mss, cwnd);
    this.#caAcked = 0;
  }

  onRto(flight: number, mss: number, _now?: number, repeated = false): void {
    // RFC 5681 §3.1 eq. 4 and its note: a retransmission lost again keeps ssthresh.
    if (!repeated) this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.cwnd = mss;
    this.inRecovery = false;
    this.afterRto = true;
    this.#caAcked = 0;
  }

}

/** Build a controller by name: 'newreno' (alias 'reno') or 'cubic'. */
export function createCongestionControl(name: string, initialWindowSegments: number): CongestionControl {
  switch (name) {
    case 'reno':
    case 'newreno':
      return new NewRenoCongestionControl(initialWindowSegments);
    case 'cubic':
      return new CubicCongestionControl(initialWindowSegments);
    default:
      throw new Error(`unknown congestion control: ${name}`);
  }
}

/** The congestion controllers the stack knows, for the CLI's `--cc`. */
export const CONGESTION_CONTROLS = ['newreno', 'cubic'] as const;

/** RFC 9438 §5: C = 0.4, beta_cubic = 0.7. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 (1 − beta) / (1 + beta), the Reno-friendly additive increase. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** RFC 9438 §4.2 eq. 1: W_cubic(t) = C (t − K)^3 + W_max, in segments, t and K in seconds. */
export function wCubic(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/** RFC 9438 §4.2 eq. 2: K = cbrt((W_max − cwnd_epoch) / C), in seconds. */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

/** CUBIC (RFC 9438): a cubic window curve in time around the last W_max, with a Reno-friendly floor. */
export class CubicCongestionControl extends BaseCongestionControl {
  readonly name = 'cubic';
  /** W_max in segments (the window before the last reduction); undefined before any. */
  wMax: number | undefined;
  /** K in seconds for the current epoch. */
  k = 0;
  /** Start of the current congestion avoidance stage in ms (t_epoch), -1 when not started. */
  epochStart = -1;
  /** cwnd at the start of the epoch, segments. */
  cwndEpoch = 0;
  /** The Reno-friendly estimate W_est, segments (RFC 9438 §4.3). */
  wEst = 0;
  /** cwnd before the last reduction (cwnd_prior), segments. */
  cwndPrior = 0;

  onAck(s: AckSample): void {
    if (this.cwnd < this.ssthresh) {
      this.slowStart(s);
      if (this.cwnd >= this.ssthresh) this.afterRto = false;
      return;
    }
    this.afterRto = false;
    const mss = s.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      // A congestion avoidance stage begins (RFC 9438 §4.2): t_epoch, cwnd_epoch, K; if the
      // window is above W_max (no reduction yet, or after an RTO) the curve starts flat here.
      this.epochStart = s.now;
      this.cwndEpoch = cwndSeg;
      if (this.wMax === undefined || this.wMax < cwndSeg) {
        this.wMax = cwndSeg;
        this.k = 0;
      } else this.k = cubicK(this.wMax, cwndSeg);
      this.wEst = cwndSeg;
    }
    const rtt = (s.srtt ?? 100) / 1000;
    const t = (s.now - this.epochStart) / 1000;
    // RFC 9438 §4.3: W_est grows like Reno, alpha_cubic per cwnd of acked segments (1 once past cwnd_prior).
    const alpha = this.wEst >= this.cwndPrior ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * (s.acked / mss)) / cwndSeg;
    const wT = wCubic(t, this.k, this.wMax!);
    if (wT < this.wEst) {
      // Reno-friendly region (§4.3).
      this.cwnd = Math.max(this.cwnd, this.wEst * mss);
      return;
    }
    // Concave / convex regions (§4.4, §4.5): aim at W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd].
    let target = wCubic(t + rtt, this.k, this.wMax!);
    target = Math.min(Math.max(target, cwndSeg), 1.5 * cwndSeg);
    this.cwnd += ((target - cwndSeg) / cwndSeg) * (s.acked / mss) * mss;
  }

  /** RFC 9438 §4.6–4.7: multiplicative decrease by beta_cubic with fast convergence. */
  #reduce(mss: number): void {
    const cwndSeg = this.cwnd / mss;
    this.cwndPrior = cwndSeg;
    // Fast convergence (§4.7): a flow whose window shrank releases bandwidth sooner.
    this.wMax = this.wMax !== undefined && cwndSeg < this.wMax ? (cwndSeg * (1 + CUBIC_BETA)) / 2 : cwndSeg;
    this.ssthresh = Math.max(Math.floor(this.cwnd * CUBIC_BETA), 2 * mss);
    this.epochStart = -1;
  }

  enterRecovery(_flight: number, mss: number, _now?: number): void {
    this.#reduce(mss);
    this.cwnd = this.ssthresh;
    this.inRecovery = true;
  }

  onRto(_flight: number, mss: number, _now?: number, repeated = false): void {
    // RFC 9438 §4.8: ssthresh by beta_cubic, cwnd = 1 SMSS; the next CA stage starts with K = 0
    // and W_max = the window at its beginning.
    if (!repeated) this.#reduce(mss);
    this.wMax = undefined;
    this.epochStart = -1;
    this.cwnd = mss;
    this.inRecovery = false;
    this.afterRto = true;
  }

  protected override saveState(): unknown {
    return { wMax: this.wMax, k: this.k, epochStart: this.epochStart, cwndEpoch: this.cwndEpoch, wEst: this.wEst, cwndPrior: this.cwndPrior };
  }

  protected override restoreState(st: unknown): void {
    Object.assign(this, st as object);
    // The epoch restarts from the restored window (RFC 9438 §4.9 spurious-congestion undo).
    this.epochStart = -1;
  }
}
