// A Link decorator that prints one line per frame in both directions (the CLI's --trace):
// `RX`/`TX`, an optional timestamp from the Clock, then the format.ts summary — or, with a
// narrator (teaching mode, lib/explain), whatever lines the narrator makes of each frame.
import type { Clock } from '../clock.js';
import { formatFrame, type FormatOptions } from '../wire/format.js';
import type { Link, Offload } from './link.js';
import { wireFrames } from './gso.js';

/** Where trace lines go: a callback, or a writable stream (a newline is appended). */
export type TraceSink = ((line: string) => void) | { write(chunk: string): unknown };

/**
 * Turns frames into trace lines (lib/explain's TraceNarrator: relative numbers, TCP states,
 * explanations). `stamp` is the line prefix (`0.001234 ` or '').
 */
export interface FrameNarrator {
  frame(dir: 'RX' | 'TX', frame: Buffer, stamp: string): string[];
  /** Called once by the tracer: where lines that come later (a timer's) go, and their stamp. */
  attach?(emit: (line: string) => void, stamp: () => string): void;
  /** The tracer is closing: stop timers. */
  close?(): void;
}

/** Options of `TracerLink`. */
export interface TracerOptions extends FormatOptions {
  /** When given, each line starts with seconds since the tracer was created (`0.001234`). */
  clock?: Clock;
  /** Replaces the one-line summary with the narrator's lines. */
  narrator?: FrameNarrator;
}

/** Wraps a Link and reports every frame sent and received to a sink, then passes it on unchanged. */
export class TracerLink implements Link {
  readonly #inner: Link;
  readonly #emit: (line: string) => void;
  readonly #opts: TracerOptions;
  readonly #start: number;

  constructor(inner: Link, sink: TraceSink, opts: TracerOptions = {}) {
    this.#inner = inner;
    this.#opts = opts;
    this.#start = opts.clock?.now() ?? 0;
    this.#emit = typeof sink === 'function' ? sink : (line) => void sink.write(line + '\n');
    opts.narrator?.attach?.(this.#emit, () => this.#stamp());
  }

  get mac(): Buffer {
    return this.#inner.mac;
  }

  get mtu(): number {
    return this.#inner.mtu;
  }

  get offload(): boolean {
    return this.#inner.offload === true;
  }

  send(frame: Buffer, offload?: Offload): void {
    this.#trace('TX', frame, offload);
    this.#inner.send(frame, offload);
  }

  onFrame(fn: (frame: Buffer, offload?: Offload) => void): void {
    this.#inner.onFrame((frame, offload) => {
      this.#trace('RX', frame, offload);
      fn(frame, offload);
    });
  }

  close(): Promise<void> {
    this.#opts.narrator?.close?.();
    return this.#inner.close();
  }

  #stamp(): string {
    const clock = this.#opts.clock;
    return clock === undefined ? '' : `${((clock.now() - this.#start) / 1000).toFixed(6)} `;
  }

  /** One line (and its explanation) per wire frame: a super-frame is shown as the segments it stands for. */
  #trace(dir: 'RX' | 'TX', frame: Buffer, offload: Offload | undefined): void {
    const narrator = this.#opts.narrator;
    for (const f of wireFrames(frame, offload)) {
      if (narrator !== undefined) {
        for (const line of narrator.frame(dir, f, this.#stamp())) this.#emit(line);
      } else {
        this.#emit(`${this.#stamp()}${dir} ${formatFrame(f, this.#opts)}`);
      }
    }
  }
}
