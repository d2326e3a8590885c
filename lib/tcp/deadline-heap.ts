// A binary min-heap of deadlines keyed by object (one entry per key), so the TCP core finds its
// earliest timer in O(1) and moves one connection's deadline in O(log n), whatever the number of
// connections (issue 10 item 1: a rescan of every connection on every event made each segment
// cost grow with the table). The same structure as Linux's hrtimer queue or libuv's timer heap.

/** Deadlines (ms, finite) of keys; setting Infinity removes the key. */
export class DeadlineHeap<K> {
  readonly #keys: K[] = [];
  readonly #at: number[] = [];
  readonly #index = new Map<K, number>();

  get size(): number {
    return this.#keys.length;
  }

  /** The earliest deadline, or Infinity when empty. */
  get minAt(): number {
    return this.#keys.length === 0 ? Infinity : this.#at[0]!;
  }

  /** The deadline of `k`, or Infinity if it has none. */
  at(k: K): number {
    const i = this.#index.get(k);
    return i === undefined ? Infinity : this.#at[i]!;
  }

  /** Give `k` the deadline `at` (insert, move earlier or later); Infinity removes it. */
  set(k: K, at: number): void {
    if (at === Infinity) {
      this.delete(k);
      return;
    }
    const i = this.#index.get(k);
    if (i === undefined) {
      this.#keys.push(k);
      this.#at.push(at);
      this.#index.set(k, this.#keys.length - 1);
      this.#up(this.#keys.length - 1);
    } else {
      const old = this.#at[i]!;
      this.#at[i] = at;
      if (at < old) this.#up(i);
      else if (at > old) this.#down(i);
    }
  }

  delete(k: K): void {
    const i = this.#index.get(k);
    if (i === undefined) return;
    this.#index.delete(k);
    const last = this.#keys.length - 1;
    const lastKey = this.#keys.pop()!;
    const lastAt = this.#at.pop()!;
    if (i === last) return;
    this.#keys[i] = lastKey;
    this.#at[i] = lastAt;
    this.#index.set(lastKey, i);
    this.#up(i);
    this.#down(this.#index.get(lastKey)!);
  }

  /** Remove and return the key with the earliest deadline if it is at or before `now`. */
  popDue(now: number): K | undefined {
    if (this.#keys.length === 0 || this.#at[0]! > now) return undefined;
    const k = this.#keys[0]!;
    this.delete(k);
    return k;
  }

  #up(i: number): void {
    const k = this.#keys[i]!;
    const at = this.#at[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#at[p]! <= at) break;
      this.#place(i, this.#keys[p]!, this.#at[p]!);
      i = p;
    }
    this.#place(i, k, at);
  }

  #down(i: number): void {
    const n = this.#keys.length;
    const k = this.#keys[i]!;
    const at = this.#at[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#at[c + 1]! < this.#at[c]!) c++;
      if (this.#at[c]! >= at) break;
      this.#place(i, this.#keys[c]!, this.#at[c]!);
      i = c;
    }
    this.#place(i, k, at);
  }

  #place(i: number, k: K, at: number): void {
    this.#keys[i] = k;
    this.#at[i] = at;
    this.#index.set(k, i);
  }
}
