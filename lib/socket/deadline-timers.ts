// Many one-shot deadlines behind one clock timer: the inactivity timeouts of every Socket on a
// TcpLayer (node:net's socket.setTimeout). An idle keep-alive socket holds a heap entry here, not
// a Timeout object and a callback of its own (issue 9: 10 k idle connections); arming, moving or
// stopping one is O(log n) (deadline-heap.ts), whatever the number of sockets.
import type { Clock, TimerHandle } from '../clock.js';
import { DeadlineHeap } from '../tcp/deadline-heap.js';

/** Deadlines of keys; `due(key)` is called once a key's deadline has passed. */
export class DeadlineTimers<K> {
  readonly #heap = new DeadlineHeap<K>();
  #timer: TimerHandle | undefined;
  /** When the armed clock timer fires (Infinity: none armed). */
  #timerAt = Infinity;

  constructor(
    readonly clock: Clock,
    readonly due: (key: K) => void,
  ) {}

  /** Give `key` the deadline `at` (replacing any it had). */
  set(key: K, at: number): void {
    this.#heap.set(key, at);
    this.#arm();
  }

  /** Stop `key`'s deadline. The clock timer is left armed: when it fires it finds nothing due and re-arms for the next. */
  delete(key: K): void {
    this.#heap.delete(key);
  }

  /** Keys with a deadline. */
  get size(): number {
    return this.#heap.size;
  }

  #arm(): void {
    const at = this.#heap.minAt;
    if (at >= this.#timerAt) return; // the armed timer comes first
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timerAt = at;
    this.#timer = this.clock.setTimer(at, this.#fire);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.clock.now();
    for (let k = this.#heap.popDue(now); k !== undefined; k = this.#heap.popDue(now)) this.due(k);
    this.#arm();
  };
}
