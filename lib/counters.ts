// Named counters for every drop and decision (DESIGN.md "Counters, not silence"): tests
// assert them, the status page and the CLI show them.

/** A flat bag of named monotonically increasing counters, e.g. `ip.rx.badChecksum`. */
export class Counters {
  readonly #values = new Map<string, number>();

  /** Add `n` (default 1) to counter `name`. */
  inc(name: string, n = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + n);
  }

  /** The current value of `name` (0 if never incremented). */
  get(name: string): number {
    return this.#values.get(name) ?? 0;
  }

  /** Sum of every counter whose name starts with `prefix`. */
  sum(prefix: string): number {
    let s = 0;
    for (const [k, v] of this.#values) if (k.startsWith(prefix)) s += v;
    return s;
  }

  /** All counters, sorted by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#values].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
