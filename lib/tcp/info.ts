// The read-only view of one connection's numbers (status pages, tests, `socket.info()`).
import { seqDiff } from '../wire/seq.js';
import type { TcpConnection } from './connection.js';
import type { TcpState } from './types.js';

/** A read-only view of a connection's numbers (status pages, tests, issue 4's info). */
export interface ConnectionInfo {
  state: TcpState;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  mss: number;
  srtt: number | undefined;
  rttvar: number;
  rto: number;
  cwnd: number;
  ssthresh: number;
  sndWscale: number;
  rcvWscale: number;
  timestamps: boolean;
  sack: boolean;
  bytesInFlight: number;
  unsent: number;
  readable: number;
  /** Segments sent again (SYN, SYN-ACK, data or FIN), whatever the reason. */
  retransmissions: number;
  /** Holes in what we have received: out-of-order blocks waiting for the data before them. */
  receiveHoles: number;
  /** The congestion controller's name ('cubic', 'newreno'). */
  congestionControl: string;
  /** Loss recovery in progress: RFC 6675 SACK recovery, RFC 6582 NewReno, RTO recovery, or none. */
  recovery: 'sack' | 'newreno' | 'rto' | 'none';
  /** RFC 6675 pipe: bytes estimated in the network (FlightSize without SACK). */
  pipe: number;
  /** Holes in the sender's SACK scoreboard (un-SACKed ranges below the highest SACKed byte). */
  sackHoles: number;
  /** Bytes the peer has SACKed above SND.UNA. */
  sackedBytes: number;
}

/** Snapshot `c`'s numbers. */
export function connectionInfo(c: TcpConnection): ConnectionInfo {
  return {
    state: c.state,
    sndUna: c.sndUna,
    sndNxt: c.sndNxt,
    sndMax: c.sndMax,
    sndWnd: c.sndWnd,
    rcvNxt: c.rcvNxt,
    rcvWnd: c.rcvWnd,
    mss: c.mss,
    srtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    cwnd: Math.round(c.cc.cwnd),
    ssthresh: c.cc.ssthresh,
    sndWscale: c.sndWscale,
    rcvWscale: c.rcvWscale,
    timestamps: c.tsOk,
    sack: c.sackOk,
    bytesInFlight: seqDiff(c.sndNxt, c.sndUna),
    unsent: Math.max(0, c.sndBuf.length - seqDiff(c.sndNxt, c.sndBufSeq)),
    readable: c.rcvBuf.readyBytes,
    retransmissions: c.retransmissions,
    receiveHoles: c.rcvBuf.outOfOrderBlocks,
    congestionControl: c.cc.name,
    recovery: c.recovery.kind,
    pipe: c.recovery.pipe(),
    sackHoles: c.sack.empty ? 0 : c.sack.holes(c.sndUna, c.mss).length,
    sackedBytes: c.sack.sackedBytes,
  };
}
