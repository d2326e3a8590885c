// Path MTUs learned from validated ICMP frag-needed messages, per destination (RFC 1191 §6.3;
// like the kernel's route cache): new connections to that host start with the learned MTU. A
// value is floored (Linux's min_pmtu, 552) so a forged message cannot shrink segments to nothing,
// and forgotten after `expiryMs` (RFC 1191 §6.3: 10 minutes) so a lowered path is tried again.

/** One learned path MTU, for status pages. */
export interface LearnedPathMtu {
  /** The destination (unsigned 32-bit IPv4). */
  ip: number;
  mtu: number;
  expiresAt: number;
}

/** Learned path MTUs, oldest first (every entry lives `expiryMs` from its last update). */
export class PathMtuCache {
  readonly #entries = new Map<number, LearnedPathMtu>();

  constructor(
    readonly minMtu: number,
    readonly expiryMs: number,
    /** Bound on destinations remembered; the oldest goes first. */
    readonly maxEntries = 4096,
  ) {}

  /** The learned MTU toward `ip` and when it expires, if one is current. */
  get(ip: number, now: number): LearnedPathMtu | undefined {
    this.#expire(now);
    return this.#entries.get(ip);
  }

  /** Remember `mtu` toward `ip` (floored at `minMtu`); returns the value kept. */
  learn(ip: number, mtu: number, now: number): number {
    this.#expire(now);
    const kept = Math.max(mtu, this.minMtu);
    // Re-inserted, so the map stays in expiry order.
    this.#entries.delete(ip);
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(ip, { ip, mtu: kept, expiresAt: now + this.expiryMs });
    return kept;
  }

  /** The current entries, oldest first. */
  entries(now: number): LearnedPathMtu[] {
    this.#expire(now);
    return [...this.#entries.values()];
  }

  #expire(now: number): void {
    for (const e of this.#entries.values()) {
      if (e.expiresAt > now) break;
      this.#entries.delete(e.ip);
    }
  }
}
