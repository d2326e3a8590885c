// Time, injected: every layer asks a Clock for `now` and arms timers through it, so tests
// drive time with FakeClock and nothing in a unit test sleeps (DESIGN.md "Time is injected").

/** A handle returned by `Clock.setTimer`, passed back to `clearTimer`. */
export type TimerHandle = { readonly id: number };

/** Milliseconds since an arbitrary origin, plus one-shot timers at absolute times. */
export interface Clock {
  now(): number;
  setTimer(atMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and `setTimeout`, unref'd so timers never keep Node alive. */
export class SystemClock implements Clock {
  #next = 1;
  readonly #live = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now();
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    const t = setTimeout(() => {
      this.#live.delete(id);
      fn();
    }, Math.max(0, atMs - this.now()));
    t.unref();
    this.#live.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.#live.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.#live.delete(handle.id);
    }
  }
}

type Pending = { id: number; at: number; fn: () => void };

/** A clock that moves only when a test says so; timers fire in time order, ties in arming order. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers: Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.#timers.push({ id, at: atMs, fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  /** Number of armed timers (tests assert that nothing is left behind). */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Move time to `at`, firing due timers in order; a timer armed by a timer fires too if due. */
  advanceTo(at: number): void {
    for (;;) {
      let best: Pending | undefined;
      for (const t of this.#timers) if (t.at <= at && (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
      if (best === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== best);
      if (best.at > this.#now) this.#now = best.at;
      best.fn();
    }
    if (at > this.#now) this.#now = at;
  }
}
