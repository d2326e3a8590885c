// The Link contract: how frames move between the stack and whatever carries them (a TAP, a
// memory wire, or a decorator such as the pcap writer wrapped around either).

/**
 * What a frame carries beside its bytes when the link does TCP work for us (the virtio-net
 * offloads, said without the header that carries them: lib/link/vnet-header.ts).
 */
export interface Offload {
  /** ≥ 0: the checksum at frame[csumStart + csumOffset] holds only the pseudo-header sum; the
   *  ones' complement sum of frame[csumStart..] completes it (virtio NEEDS_CSUM). -1: none. */
  csumStart: number;
  csumOffset: number;
  /** The checksums were verified by the sender, the kernel (virtio DATA_VALID). */
  csumValid: boolean;
  /** > 0: an IPv4 TCP super-frame whose payload goes on the wire in segments of this many bytes
   *  (virtio GSO_TCPV4 gso_size, the MSS); 0: one frame as it is. */
  gsoSize: number;
}

/** A frame-level network interface. `send` never throws for a full queue: it drops and counts. */
export interface Link {
  /** Our Ethernet address on this link. */
  readonly mac: Buffer;
  /** The largest IP packet the link carries (Ethernet payload, 1500 on a default tap). */
  readonly mtu: number;
  /** True when `send` takes `Offload` (super-frames, partial checksums) and `onFrame` may hand
   *  them over; absent or false: every frame is one whole, checksummed wire frame. */
  readonly offload?: boolean;
  /** Write one complete Ethernet frame (no FCS), continued by the bytes of `rest` when given
   *  (a payload in pieces, never copied to glue it). The caller may reuse them after the call. */
  send(frame: Buffer, offload?: Offload, rest?: readonly Buffer[]): void;
  /** Register the single receiver; each received frame is handed over exactly once (a view
   *  valid during the call only: copy what you keep). A link that reads frames in batches (one
   *  wake-up, several frames) brackets each batch with `batch` when given; decorators that hand
   *  frames over synchronously pass it on, those that re-time frames do not. */
  onFrame(fn: (frame: Buffer, offload?: Offload) => void, batch?: BatchHooks): void;
  /** Stop receiving and release resources. */
  close(): Promise<void>;
  /**
   * Decorators that drop frames on purpose (fault injection, `--drop` rules) report each one here,
   * and decorators above them pass the reports on, so the capture and the trace can show it.
   */
  onDrop?(fn: (d: DroppedFrame) => void): void;
}

/**
 * Brackets around one read batch: `start()` before its first frame, `end()` after its last,
 * always paired (also when the receiver closes the link mid-batch). The receiver may hold work
 * that one batch can share (the TCP layer's owed ACKs) until `end()`.
 */
export interface BatchHooks {
  start(): void;
  end(): void;
}

/** The hooks a decorator gives its inner link before its own receiver is known: passed on to that receiver's. */
export class BatchRelay implements BatchHooks {
  to: BatchHooks | undefined;
  start(): void {
    this.to?.start();
  }
  end(): void {
    this.to?.end();
  }
}

/** A frame a decorator dropped on purpose: which way it was going, its bytes, and why (`--loss, seed 7`). */
export interface DroppedFrame {
  /** `TX` the stack sent it and it never reached the wire; `RX` it came from the wire and never reached the stack. */
  dir: 'RX' | 'TX';
  frame: Buffer;
  reason: string;
}
