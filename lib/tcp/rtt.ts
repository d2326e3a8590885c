// Retransmission timeout computation (RFC 6298): SRTT/RTTVAR smoothing, RTO bounds, exponential
// backoff and Karn's rule support (callers only feed samples from unambiguous segments).

/** RTO bounds and the initial value, in milliseconds. */
export interface RttConfig {
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
}

/** The RFC 6298 estimator for one connection. */
export class RttEstimator {
  /** Smoothed round-trip time (RFC 6298 §2), undefined until the first sample. */
  srtt: number | undefined;
  /** Round-trip time variation (RFC 6298 §2). */
  rttvar = 0;
  /** The base RTO before backoff. */
  #rto: number;
  /** How many times the timer has been backed off (RFC 6298 §5.5) since the last sample. */
  backoffs = 0;
  readonly #cfg: RttConfig;

  constructor(cfg: RttConfig) {
    this.#cfg = cfg;
    // RFC 6298 §2.1: until a sample is made, RTO <- 1 second (configurable).
    this.#rto = cfg.initialRtoMs;
  }

  /** Feed one round-trip measurement R in ms (RFC 6298 §2.2 / §2.3); clears backoff. */
  sample(r: number): void {
    const rtt = Math.max(0, r);
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      // beta = 1/4, alpha = 1/8 (RFC 6298 §2.3); RTTVAR first, using the old SRTT.
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    // G, the clock granularity, is 1 ms here.
    this.#rto = this.#clamp(this.srtt + Math.max(1, 4 * this.rttvar));
    this.backoffs = 0;
  }

  /** The timeout to arm now: the base RTO doubled per backoff, within [min, max] (RFC 6298 §2.4, §2.5, §5.5). */
  get rto(): number {
    return this.#clamp(this.#rto * 2 ** this.backoffs);
  }

  /** RFC 6298 §5.5: double the timer after it expires. */
  backoff(): void {
    if (this.#rto * 2 ** this.backoffs < this.#cfg.maxRtoMs) this.backoffs++;
  }

  /** RFC 6298 §5.7: after a SYN timed out and no sample exists, start data transfer with RTO = 3 s. */
  resetAfterSynTimeout(): void {
    if (this.srtt === undefined) {
      this.#rto = this.#clamp(Math.max(3000, this.#cfg.initialRtoMs));
      this.backoffs = 0;
    }
  }

  #clamp(v: number): number {
    return Math.min(this.#cfg.maxRtoMs, Math.max(this.#cfg.minRtoMs, Math.round(v)));
  }
}
