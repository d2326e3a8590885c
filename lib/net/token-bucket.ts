// A token bucket over the injected Clock, used to rate-limit ICMP errors (RFC 1812 §4.3.2.8).

/** `burst` tokens at most, refilled at `perSecond`; `take(now)` spends one if available. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly burst: number, readonly perSecond: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Spend one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    if (now > this.#last) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.perSecond) / 1000);
      this.#last = now;
    }
    // A small epsilon keeps 10 ms at 100/s worth exactly one token despite float error.
    if (this.#tokens >= 1 - 1e-9) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}
