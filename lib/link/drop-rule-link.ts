// A Link decorator that drops exactly the frames `--drop` rules pick (drop-rule.ts), in both
// directions, counts them (`drop.rule`) and reports each one (`Link.onDrop`) with the rule as the
// reason, so the capture and the trace show it at its place. The drops of the link below it
// (a FaultLink's `--loss`) are passed on as well. Rules apply to wire frames: a super-frame
// (offloads) is cut into them first, as the fault link does.
import type { Counters } from '../counters.js';
import { DropRule, FrameFactReader } from './drop-rule.js';
import { BatchRelay, type BatchHooks, type DroppedFrame, type Link, type Offload } from './link.js';
import { wireFrames } from './gso.js';

/** Drops the frames any of its rules matches; everything else passes unchanged. */
export class DropRuleLink implements Link {
  readonly mac: Buffer;
  readonly mtu: number;
  readonly #inner: Link;
  readonly #rules: DropRule[];
  readonly #facts = new FrameFactReader();
  readonly #counters: Counters | undefined;
  #handler: ((frame: Buffer) => void) | undefined;
  /** Frames pass through synchronously: the inner link's read batches are the receiver's. */
  readonly #batch = new BatchRelay();
  #dropped: ((d: DroppedFrame) => void) | undefined;

  /** `rules` as written on the command line (parsed here: a bad one throws DropRuleError). */
  constructor(inner: Link, rules: readonly string[], counters?: Counters) {
    this.#inner = inner;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    this.#rules = rules.map((r) => new DropRule(r));
    this.#counters = counters;
    inner.onFrame((frame, offload) => {
      for (const f of wireFrames(frame, offload)) if (!this.#drop('RX', f)) this.#handler?.(f);
    }, this.#batch);
    inner.onDrop?.((d) => this.#dropped?.(d));
  }

  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void {
    for (const f of wireFrames(frame, offload, rest)) if (!this.#drop('TX', f)) this.#inner.send(f);
  }

  onFrame(fn: (frame: Buffer) => void, batch?: BatchHooks): void {
    this.#handler = fn;
    this.#batch.to = batch;
  }

  onDrop(fn: (d: DroppedFrame) => void): void {
    this.#dropped = fn;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Every rule sees every frame (so each counts its own matches); the first that matches drops it. */
  #drop(dir: 'RX' | 'TX', frame: Buffer): boolean {
    const facts = this.#facts.read(dir === 'RX' ? 'rx' : 'tx', frame);
    if (facts === undefined) return false;
    let by: DropRule | undefined;
    for (const r of this.#rules) if (r.matches(facts) && by === undefined) by = r;
    if (by === undefined) return false;
    this.#counters?.inc('drop.rule');
    this.#dropped?.({ dir, frame, reason: `--drop '${by.text}'` });
    return true;
  }
}
