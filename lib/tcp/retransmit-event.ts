// Why the TCP core sends a segment again, told by the core at the point the retransmission is
// decided (not guessed from the wire), so `--explain` can name the real cause (issue 11).

/**
 * The mechanism that chose the retransmission:
 * - `rto`: the retransmission timer expired (RFC 6298 §5.4); SYN and SYN-ACK resends included.
 * - `fast`: fast retransmit on entering recovery (RFC 5681 §3.2 / RFC 6582 after DupThresh
 *   duplicate ACKs, RFC 6675 §5 step 4 with SACK), and RFC 6582 partial-ACK resends.
 * - `sack`: RFC 6675 SACK recovery, NextSeg rule (1) or (3).
 * - `rack`: RACK marked it lost by time (RFC 8985 §6.2), a lost retransmission included.
 * - `rescue`: RFC 6675 NextSeg rule (4), the rescue retransmission.
 * - `tlp`: a tail loss probe resending the last segment (RFC 8985 §7.3).
 * - `go-back-n`: after an RTO (or a lowered path MTU), the rest of the window resent from
 *   SND.UNA as ACKs return (RFC 5681 §3.1, RFC 1191 §6.5).
 */
export type RetransmitCause = 'rto' | 'fast' | 'sack' | 'rack' | 'rescue' | 'tlp' | 'go-back-n';

/** One of our endpoints. */
export interface RetransmitEndpoint {
  ip: string;
  port: number;
}

/** A segment about to be sent again; emitted synchronously before it goes to IP. */
export interface RetransmitEvent {
  local: RetransmitEndpoint;
  remote: RetransmitEndpoint;
  /** Absolute sequence number of the first octet (the ISN for a SYN). */
  seq: number;
  /** Payload octets (0 for a SYN, SYN-ACK or lone FIN), as the wire's Len. */
  len: number;
  cause: RetransmitCause;
  /** `rto`: the timeout that expired, before the RFC 6298 §5.5 back-off. */
  rtoMs?: number;
  /** `tlp`: the probe timeout (RFC 8985 §7.2). */
  ptoMs?: number;
  /** The rule that picked the segment, e.g. 'NextSeg (1)' (RFC 6675), 'partial ACK (RFC 6582)'. */
  rule?: string;
  /** `rack`: RACK's reordering window (RFC 8985 §6.2) when the loss was marked. */
  reorderWindowMs?: number;
  /** `rack`: resent after an RTO, outside fast recovery (RFC 8985 §6.3), not SACK recovery's. */
  afterRto?: boolean;
}

/** What the deciding code knows; the output module adds the endpoints, seq and len. */
export type RetransmitWhy = Omit<RetransmitEvent, 'local' | 'remote' | 'seq' | 'len'>;
