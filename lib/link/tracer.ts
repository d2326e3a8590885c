// A Link decorator that prints one line per frame in both directions (the CLI's --trace):
// `RX`/`TX`, an optional timestamp from the Clock, then the format.ts summary — or, with a
// narrator (teaching mode, lib/explain), whatever lines the narrator makes of each frame. A frame
// that a decorator below dropped on purpose (`--loss`, `--drop`) gets a `DROP` line instead, at
// its place, so the packet numbers stay those of the capture.
import type { Clock } from '../clock.js';
import { formatFrame, type FormatOptions } from '../wire/format.js';
import type { BatchHooks, DroppedFrame, Link, Offload } from './link.js';
import { wireFrames } from './gso.js';

/** Where trace lines go: a callback, or a writable stream (a newline is appended). */
export type TraceSink = ((line: string) => void) | { write(chunk: string): unknown };

/**
 * Turns frames into trace lines (lib/explain's TraceNarrator: relative numbers, TCP states,
 * explanations). `stamp` is the line prefix (`0.001234 ` or '').
 */
export interface FrameNarrator {
  /** `drop` is the reason when the frame was dropped on purpose and never arrived. */
  frame(dir: 'RX' | 'TX', frame: Buffer, stamp: string, drop?: string): string[];
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
  #dropped: ((d: DroppedFrame) => void) | undefined;
  /** Present only over a link that drops on purpose: its drops, passed on. */
  readonly onDrop?: (fn: (d: DroppedFrame) => void) => void;
  /** Set while `send` is in the inner link: whether the frame being sent was dropped below. */
  #sendDropped = false;

  constructor(inner: Link, sink: TraceSink, opts: TracerOptions = {}) {
    this.#inner = inner;
    this.#opts = opts;
    this.#start = opts.clock?.now() ?? 0;
    this.#emit = typeof sink === 'function' ? sink : (line) => void sink.write(line + '\n');
    opts.narrator?.attach?.(this.#emit, () => this.#stamp());
    if (inner.onDrop !== undefined) this.onDrop = (fn) => void (this.#dropped = fn);
    inner.onDrop?.((d) => {
      if (d.dir === 'TX') this.#sendDropped = true;
      this.#trace(d.dir, d.frame, d.reason);
      this.#dropped?.(d);
    });
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

  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    if (this.#inner.onDrop === undefined) {
      for (const f of wireFrames(frame, offload, rest)) this.#trace('TX', f);
      this.#inner.send(frame, offload, rest);
      return;
    }
    // Below drops frames on purpose: hand it wire frames one by one, each traced after the inner
    // link took it, so a frame dropped below is traced once, as dropped.
    for (const f of wireFrames(frame, offload, rest)) {
      this.#sendDropped = false;
      this.#inner.send(f);
      if (!this.#sendDropped) this.#trace('TX', f);
    }
    this.#sendDropped = false;
  }

  onFrame(fn: (frame: Buffer, offload?: Offload) => void, batch?: BatchHooks): void {
    this.#inner.onFrame((frame, offload) => {
      for (const f of wireFrames(frame, offload)) this.#trace('RX', f);
      fn(frame, offload);
    }, batch);
  }


  close(): Promise<void> {
    this.#opts.narrator?.close?.();
    return this.#inner.close();
  }

  #stamp(): string {
    const clock = this.#opts.clock;
    return clock === undefined ? '' : `${((clock.now() - this.#start) / 1000).toFixed(6)} `;
  }

  /** The lines of one wire frame (a super-frame is traced as the segments it stands for). */
  #trace(dir: 'RX' | 'TX', frame: Buffer, drop?: string): void {
    const narrator = this.#opts.narrator;
    if (narrator !== undefined) {
      for (const line of narrator.frame(dir, frame, this.#stamp(), drop)) this.#emit(line);
      return;
    }
    this.#emit(drop === undefined ? `${this.#stamp()}${dir} ${formatFrame(frame, this.#opts)}` : `${this.#stamp()}DROP ${dir} ${formatFrame(frame, this.#opts)} (${drop})`);
  }
}
