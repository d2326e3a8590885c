// A Link decorator that prints one line per frame in both directions (the CLI's --trace):
// `RX`/`TX`, an optional timestamp from the Clock, then the format.ts summary.
import type { Clock } from '../clock.js';
import { formatFrame, type FormatOptions } from '../wire/format.js';
import type { Link } from './link.js';

/** Where trace lines go: a callback, or a writable stream (a newline is appended). */
export type TraceSink = ((line: string) => void) | { write(chunk: string): unknown };

/** Options of `TracerLink`. */
export interface TracerOptions extends FormatOptions {
  /** When given, each line starts with seconds since the tracer was created (`0.001234`). */
  clock?: Clock;
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
  }

  get mac(): Buffer {
    return this.#inner.mac;
  }

  get mtu(): number {
    return this.#inner.mtu;
  }

  send(frame: Buffer): void {
    this.#trace('TX', frame);
    this.#inner.send(frame);
  }

  onFrame(fn: (frame: Buffer) => void): void {
    this.#inner.onFrame((frame) => {
      this.#trace('RX', frame);
      fn(frame);
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #trace(dir: 'RX' | 'TX', frame: Buffer): void {
    const clock = this.#opts.clock;
    const ts = clock === undefined ? '' : `${((clock.now() - this.#start) / 1000).toFixed(6)} `;
    this.#emit(`${ts}${dir} ${formatFrame(frame, this.#opts)}`);
  }
}
