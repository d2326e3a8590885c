// The Link contract: how frames move between the stack and whatever carries them (a TAP, a
// memory wire, or a decorator such as the pcap writer wrapped around either).

/** A frame-level network interface. `send` never throws for a full queue: it drops and counts. */
export interface Link {
  /** Our Ethernet address on this link. */
  readonly mac: Buffer;
  /** The largest IP packet the link carries (Ethernet payload, 1500 on a default tap). */
  readonly mtu: number;
  /** Write one complete Ethernet frame (no FCS). The caller may reuse `frame` after the call. */
  send(frame: Buffer): void;
  /** Register the single receiver; each received frame is handed over exactly once. */
  onFrame(fn: (frame: Buffer) => void): void;
  /** Stop receiving and release resources. */
  close(): Promise<void>;
  /**
   * Decorators that drop frames on purpose (fault injection, `--drop` rules) report each one here,
   * and decorators above them pass the reports on, so the capture and the trace can show it.
   */
  onDrop?(fn: (d: DroppedFrame) => void): void;
}

/** A frame a decorator dropped on purpose: which way it was going, its bytes, and why (`--loss, seed 7`). */
export interface DroppedFrame {
  /** `TX` the stack sent it and it never reached the wire; `RX` it came from the wire and never reached the stack. */
  dir: 'RX' | 'TX';
  frame: Buffer;
  reason: string;
}
