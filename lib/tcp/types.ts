// Shared vocabulary of the TCP core: the eleven RFC 9293 states, errors with Node codes, and the
// events a connection reports to its user.

import type { Counters } from '../counters.js';
import type { Seq } from '../wire/seq.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection } from './connection.js';
import type { FourTuple } from './isn.js';
import type { RetransmitEvent } from './retransmit-event.js';
import type { SendMemoryBudget } from './send-buffer.js';

/** The connection states, spelt as in RFC 9293 §3.3.2. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

/** Node-style error codes a connection can end with. */
export type TcpErrorCode = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EPIPE' | 'EADDRINUSE' | 'ECONNABORTED' | 'EADDRNOTAVAIL';

/** An error with a Node `code` (like the errors node:net emits). */
export class TcpError extends Error {
  readonly errno: number;
  readonly syscall: string;
  constructor(
    readonly code: TcpErrorCode,
    message?: string,
    syscall = 'read',
  ) {
    super(message ?? code);
    this.name = 'Error';
    this.syscall = syscall;
    this.errno = ERRNO[code];
  }
}

const ERRNO: Record<TcpErrorCode, number> = {
  ECONNRESET: -104,
  ECONNREFUSED: -111,
  ETIMEDOUT: -110,
  EPIPE: -32,
  EADDRINUSE: -98,
  ECONNABORTED: -103,
  EADDRNOTAVAIL: -99,
};

/** Callbacks a connection's user installs; all optional, called after the core's state is consistent. */
export interface ConnectionEvents {
  /** The handshake completed (active or passive open). */
  established?(): void;
  /** In-order data (or the end of stream) became available to `read`. */
  readable?(): void;
  /** Send-buffer space was freed by ACKs. */
  writable?(): void;
  /** The connection is gone for the user: closed normally (err undefined) or by an error. */
  closed?(err: TcpError | undefined): void;
}

/** True for the states in which the connection is synchronized (RFC 9293 §3.5: after the handshake). */
export function isSynchronized(s: TcpState): boolean {
  return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
}

/** What a connection needs from the demux that owns it. */
export interface ConnectionHost {
  readonly config: TcpConfig;
  readonly counters: Counters;
  /** The stack-wide allowance send-buffer autotuning takes from. */
  readonly sendMemory: SendMemoryBudget;
  /** Hand a finished segment (checksummed, or with the pseudo-header sum for the link when
   *  `tx.partialCsum`) to IP. */
  transmit(localIp: number, remoteIp: number, segment: Buffer, tx?: SegmentTx): void;
  /** RFC 5961 §7: take one challenge ACK from the stack-wide budget; false if exhausted. */
  takeChallengeAck(now: number): boolean;
  /** One of `c`'s timers was set to `at` (the demux keeps the earliest per connection in a heap). */
  timerArmed(c: TcpConnection, at: number): void;
  /** Told about every state change (the demux moves connections between tables on these). */
  stateChanged(c: TcpConnection, from: TcpState, to: TcpState, now: number): void;
  /** Told synchronously before each retransmitted segment goes to IP, with the cause. */
  readonly onRetransmit: ((e: RetransmitEvent) => void) | undefined;
  /** In SYN-RECEIVED, may the handshake complete now (is there room in the accept queue)? */
  mayComplete(c: TcpConnection): boolean;
  /** `c` owes an ACK for in-order data: true if the host sends it at the end of the current
   *  read batch (`c.sendOwedAck`), false (not in a batch) if `c` must send it now. */
  oweAck(c: TcpConnection): boolean;
  /** The path MTU a connection to `remoteIp` would start with now. */
  pathMtuToward(remoteIp: number, now: number): PathMtu;
}

/** A path MTU and when a lowered one is to be tried again (RFC 1191 §6.3; Infinity if not lowered). */
export interface PathMtu {
  mtu: number;
  pmtuRaiseAt: number;
}

/** How a segment built by a connection's output leaves (lib/net/net-host.ts SendOptions). */
export interface SegmentTx {
  /** FRAME_HEADROOM bytes in front of the segment are free for the IP and Ethernet headers. */
  readonly headroom: boolean;
  /** The checksum field holds the pseudo-header sum only; the link completes it. */
  readonly partialCsum: boolean;
  /** > 0: a super-segment the link cuts into segments of this many payload bytes (the MSS). */
  readonly gsoSize: number;
  /** With `partialCsum`: the payload, as views of the send buffer (the segment is its header). */
  readonly rest?: readonly Buffer[];
}

/** Construction parameters: identity, ISN, timestamp offset, path MTU. */
export interface ConnectionInit extends FourTuple, PathMtu {
  iss: Seq;
  tsOffset: number;
  /** True for connections created by a listener. */
  passive: boolean;
}
