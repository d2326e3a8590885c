// Scripted classic captures for teaching-mode tests: two real stacks on a memory wire with fake
// time and seeded randomness. B (10.0.0.2) plays tapstack — its link is wrapped in the tracer
// with teaching mode's Explainer, exactly as the CLI wraps the tap — and A (10.0.0.1) plays the
// kernel's browser / curl. A `drop` predicate loses chosen frames B sends (after the tracer saw
// them, like the CLI's --loss sits between the tap and the tracer), so loss is deterministic.
import { FakeClock } from '../../lib/clock.js';
import { Counters } from '../../lib/counters.js';
import type { DroppedFrame, Link } from '../../lib/link/link.js';
import { MemoryWire } from '../../lib/link/memory-wire.js';
import { TracerLink } from '../../lib/link/tracer.js';
import { SeededRng } from '../../lib/rng.js';
import { Stack } from '../../lib/stack.js';
import type { TcpConfig } from '../../lib/tcp/config.js';
import { TcpLayer } from '../../lib/tcp/tcp-layer.js';
import { Explainer } from '../../lib/explain/explainer.js';
import { LANGUAGES, renderEntry, renderStates, type Lang } from '../../lib/explain/index.js';
import type { TraceEntry } from '../../lib/explain/explainer.js';
import type { StateChange } from '../../lib/explain/notes.js';
import { tick } from '../helpers/tcp-net.js';

/** A Link decorator that loses the frames `drop` picks (both directions) and reports them as dropped. */
export class DropLink implements Link {
  readonly #inner: Link;
  drop: ((frame: Buffer, dir: 'TX' | 'RX') => boolean) | undefined;
  /** The reason reported with each drop. */
  reason = 'scripted loss';
  #dropped: ((d: DroppedFrame) => void) | undefined;
  constructor(inner: Link) {
    this.#inner = inner;
  }
  get mac(): Buffer {
    return this.#inner.mac;
  }
  get mtu(): number {
    return this.#inner.mtu;
  }
  send(frame: Buffer): void {
    if (this.drop?.(frame, 'TX') !== true) this.#inner.send(frame);
    else this.#dropped?.({ dir: 'TX', frame, reason: this.reason });
  }
  onFrame(fn: (frame: Buffer) => void): void {
    this.#inner.onFrame((f) => {
      if (this.drop?.(f, 'RX') !== true) fn(f);
      else this.#dropped?.({ dir: 'RX', frame: f, reason: this.reason });
    });
  }
  onDrop(fn: (d: DroppedFrame) => void): void {
    this.#dropped = fn;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** What the tracer recorded: entries and later state changes, in order, with their stamps. */
export type Recorded = { stamp: string; entry?: TraceEntry; states?: StateChange[] };

/** The scripted network. */
export interface ExplainNet {
  clock: FakeClock;
  a: { stack: Stack; tcp: TcpLayer };
  b: { stack: Stack; tcp: TcpLayer; drop: DropLink };
  explainer: Explainer;
  recorded: Recorded[];
  /** B's real TCP state changes (`ip:port to`), straight from its TCP core, to check the trace's. */
  realStates: string[];
  /** The trace in one language (explanations included when `explain`). */
  render(lang: Lang, explain?: boolean): string;
  close(): Promise<void>;
}

/** Build A and B; B is traced. `pathMtu` is B's emulated path MTU. */
export function makeExplainNet(opts: { seed?: number; delayMs?: number; pathMtu?: number; tcp?: Partial<TcpConfig>; bLink?: Link } = {}): ExplainNet {
  const clock = new FakeClock(0);
  const seed = opts.seed ?? 6;
  const wire = new MemoryWire({ clock, rng: new SeededRng(seed), delayMs: opts.delayMs ?? 10 });
  const explainer = new Explainer({ clock, timeWaitMs: 2 * (opts.tcp?.mslMs ?? 30_000), ...(opts.pathMtu !== undefined ? { pathMtu: opts.pathMtu } : {}) });
  const recorded: Recorded[] = [];
  const stamp = (): string => `${(clock.now() / 1000).toFixed(6)} `;
  explainer.onLater = (states) => void recorded.push({ stamp: stamp(), states });
  const drop = new DropLink(opts.bLink ?? wire.b);
  const traced = new TracerLink(drop, () => undefined, {
    clock,
    narrator: {
      frame: (dir, frame, s, drop) => {
        recorded.push({ stamp: s, entry: explainer.frame(dir, frame, drop) });
        return [];
      },
    },
  });
  const host = (link: Link, ip: string, s: number, pathMtu?: number) => {
    const rng = new SeededRng(s);
    const stack = new Stack({ link, clock, rng, ip, prefix: 24, counters: new Counters(), arp: { gratuitousCount: 0 }, ...(pathMtu !== undefined ? { pathMtu } : {}) });
    const tcp = new TcpLayer(stack, { rng, ...opts.tcp });
    return { stack, tcp };
  };
  const a = host(wire.a, '10.0.0.1', seed * 7 + 1);
  const b = { ...host(traced, '10.0.0.2', seed * 7 + 2, opts.pathMtu), drop };
  // The real cause of each of B's retransmissions, from its TCP core, as the CLI wires it.
  b.tcp.onRetransmit = (ev) => explainer.retransmit(ev);
  const realStates: string[] = [];
  const core = b.tcp.core;
  const stateChanged = core.stateChanged.bind(core);
  core.stateChanged = (c, from, to, now) => {
    realStates.push(`10.0.0.2:${c.localPort} ${to}`);
    stateChanged(c, from, to, now);
  };
  return {
    clock,
    a,
    b,
    explainer,
    recorded,
    realStates,
    render(lang, explain = true) {
      const phrases = explain ? LANGUAGES[lang] : undefined;
      const lines: string[] = [];
      for (const r of recorded) {
        if (r.entry !== undefined) lines.push(...renderEntry(r.entry, r.stamp, phrases));
        if (r.states !== undefined) lines.push(...renderStates(r.states, r.stamp, phrases));
      }
      return lines.join('\n') + '\n';
    },
    async close() {
      explainer.close();
      a.tcp.close();
      b.tcp.close();
      await a.stack.close();
      await b.stack.close();
    },
  };
}

export { settle } from '../helpers/tcp-net.js';

/** Run fake time for `ms` (timers and the event loop in between). */
export async function run(clock: FakeClock, ms: number, stepMs = 1): Promise<void> {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    clock.advance(Math.min(stepMs, end - clock.now()));
    await tick();
  }
}
