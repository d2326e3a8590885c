// What the ICMP and UDP layers need from the stack that hosts them: identity, time, counters and
// an IP output path (ARP, fragmentation and framing live behind `output`).
import type { Clock } from '../clock.js';
import type { Counters } from '../counters.js';

/** Per-datagram options of IP output. */
export interface SendOptions {
  /** Set Don't Fragment (RFC 791); a datagram larger than the MTU is then dropped and counted, not fragmented. */
  df?: boolean;
  /** Type of service / DSCP+ECN byte (default 0). */
  tos?: number;
  /** Time to live (default 64). */
  ttl?: number;
  /** `head` is a view preceded, in its own buffer, by FRAME_HEADROOM bytes that are its owner's
   *  to overwrite (lib/net/ipv4-output.ts): the Ethernet and IP headers go there, no copy. */
  headroom?: boolean;
  /** TCP over a link with offloads: the checksum field holds only the pseudo-header sum, for
   *  the link to complete. */
  partialCsum?: boolean;
  /** With `partialCsum`: the link cuts the payload into segments of this many bytes (the MSS),
   *  so the datagram may exceed the path MTU although DF is set; 0 = one segment. */
  gsoSize?: number;
  /** With `headroom` and `partialCsum`: the payload continues with these pieces (views the
   *  sender keeps valid during the call), written after `head` without a copy. */
  rest?: readonly Buffer[];
}

/** The stack as seen by its protocol layers. */
export interface NetHost {
  readonly clock: Clock;
  readonly counters: Counters;
  /** Our IPv4 address. */
  readonly ip: number;
  /** True when `ip` is the limited broadcast, our subnet's broadcast, or multicast. */
  isBroadcast(ip: number): boolean;
  /**
   * Send one IP datagram to `dst` whose payload is `head` followed by `body` (both copied
   * before return). Returns false when it was dropped (no route, too big with DF).
   */
  output(dst: number, protocol: number, head: Uint8Array, body: Uint8Array | undefined, opts?: SendOptions): boolean;
}

/** A transport protocol plugged into the stack with `Stack.registerProtocol`. */
export interface IpHandler {
  /**
   * A datagram for us: `payload` is a view valid only during the call (copy what you keep).
   * `csumTrusted`: the link vouches for the transport checksum (the kernel verified it, or it
   * is a partial one from the kernel itself): do not verify it.
   * A WireError thrown here is counted as `drop.<reason>` like any other malformed input.
   */
  receive(src: number, dst: number, payload: Buffer, csumTrusted?: boolean): void;
  /**
   * ICMP "fragmentation needed and DF set" (RFC 1191) about a datagram we sent to `dst`:
   * `quoted` is the quoted transport header (at least 8 bytes when present).
   */
  pathMtu?(dst: number, mtu: number, quoted: Buffer): void;
  /** ICMP destination unreachable (any other code, RFC 792) about a datagram we sent to `dst`. */
  unreachable?(dst: number, code: number, quoted: Buffer): void;
  /** The link starts handing over one read batch (lib/link/link.ts BatchHooks)… */
  batchStart?(): void;
  /** …and has handed over its last frame: work held for the batch is done now. */
  batchEnd?(): void;
}
