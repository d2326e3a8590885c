// Two real Stacks joined by a MemoryWire on fake time, each with a TcpLayer: the harness for
// socket and simulation tests. `settle` runs fake time and the event loop until a condition holds.
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import { MemoryWire } from '../../lib/link/memory-wire.js';
import type { FaultOptions } from '../../lib/link/fault-model.js';
import { SeededRng } from '../../lib/rng.js';
import { Stack } from '../../lib/stack.js';
import type { TcpConfig } from '../../lib/tcp/config.js';
import { TcpLayer } from '../../lib/tcp/tcp-layer.js';

/** Addresses of the two hosts. */
export const A_IP = '10.0.0.1';
export const B_IP = '10.0.0.2';

/** A two-host network on fake time. */
export interface TcpNet {
  clock: FakeClock;
  wire: MemoryWire;
  a: { stack: Stack; tcp: TcpLayer; counters: Counters };
  b: { stack: Stack; tcp: TcpLayer; counters: Counters };
  close(): Promise<void>;
}

/** Build two stacks over a memory wire (faults optional), ARP already warm. */
export function makeTcpNet(opts: { seed?: number; faults?: FaultOptions; tcp?: Partial<TcpConfig>; mtu?: number } = {}): TcpNet {
  const clock = new FakeClock(0);
  const seed = opts.seed ?? 1;
  const wire = new MemoryWire({ clock, rng: new SeededRng(seed), mtu: opts.mtu ?? 1500, ...opts.faults });
  const host = (link: typeof wire.a, ip: string, s: number) => {
    const counters = new Counters();
    const rng = new SeededRng(s);
    const stack = new Stack({ link, clock, rng, ip, prefix: 24, counters });
    const tcp = new TcpLayer(stack, { rng, ...opts.tcp });
    return { stack, tcp, counters };
  };
  const a = host(wire.a, A_IP, seed * 7 + 1);
  const b = host(wire.b, B_IP, seed * 7 + 2);
  return {
    clock,
    wire,
    a,
    b,
    async close() {
      a.tcp.close();
      b.tcp.close();
      await a.stack.close();
      await b.stack.close();
    },
  };
}

/** Let microtasks, nextTicks and immediates run. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * Run fake time in `stepMs` steps (firing due timers) and the event loop in between until
 * `cond()` holds; throws after `maxMs` of fake time.
 */
export async function settle(clock: FakeClock, cond: () => boolean, maxMs = 120_000, stepMs = 1): Promise<void> {
  const end = clock.now() + maxMs;
  for (;;) {
    for (let i = 0; i < 3; i++) {
      clock.advance(0);
      await tick();
      if (cond()) return;
    }
    if (clock.now() >= end) throw new Error(`settle: condition not met after ${maxMs} ms of fake time`);
    clock.advance(stepMs);
  }
}
