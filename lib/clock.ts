// Time, injected: every layer asks a Clock for `now` and arms timers through it, so tests
// drive time with FakeClock and nothing in a unit test sleeps (DESIGN.md "Time is injected").

declare const timerHandle: unique symbol;
/** A handle returned by `Clock.setTimer`, passed back to `clearTimer`; what it is is the clock's business. */
export type TimerHandle = { readonly [timerHandle]: true };

/** Milliseconds since an arbitrary origin, plus one-shot timers at absolute times. */
export interface Clock {
  now(): number;
  setTimer(atMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and `setTimeout`, unref'd so timers never keep Node alive.
 * The handle is node's Timeout itself: an armed timer costs no wrapper, id or map entry (every
 * idle keep-alive socket holds one, issue 9).
 */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    return setTimeout(fn, Math.max(0, atMs - this.now())).unref() as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
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
    const p: Pending = { id: this.#next++, at: atMs, fn };
    this.#timers.push(p);
    return p as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t !== (handle as unknown as Pending));
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
