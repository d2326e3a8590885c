// Tunables of the TCP core with their defaults, each with the reason for its value.

/** Every knob of the TCP core; `TcpLayer`/`TcpDemux` accept a Partial and fill in the defaults. */
export interface TcpConfig {
  /** SO_RCVBUF: receive buffer bytes; the advertised window is its free space. */
  rcvBufSize: number;
  /** SO_SNDBUF: send buffer bytes at first; `write` accepts no more than the buffer's size (backpressure). */
  sndBufSize: number;
  /**
   * Send-buffer autotuning ceiling (Linux's tcp_wmem[2]): the buffer grows to twice the
   * congestion window, up to this, so a fast path is not held to `sndBufSize` in flight. 0: off
   * (a fixed SO_SNDBUF, as setting it does in Linux).
   */
  sndBufMaxSize: number;
  /** What autotuning may add to all send buffers together (Linux's tcp_mem, in spirit). */
  sndBufGrowthBudget: number;
  /** RFC 6298 §2.1: 1 s. */
  initialRtoMs: number;
  /** RFC 6298 §2.4 says 1 s; Linux and most stacks use 200 ms, so do we. */
  minRtoMs: number;
  /** RFC 6298 §2.5: an upper bound of at least 60 s. */
  maxRtoMs: number;
  /** Data/FIN retransmissions before giving up with ETIMEDOUT (Linux tcp_retries2 = 15). */
  maxRetries: number;
  /** SYN retransmissions before ECONNREFUSED→ETIMEDOUT (Linux tcp_syn_retries = 6). */
  synRetries: number;
  /** SYN-ACK retransmissions before an embryonic connection is dropped (Linux tcp_synack_retries = 5). */
  synAckRetries: number;
  /** Delayed-ACK timer. RFC 9293 §3.8.6.3 allows up to 500 ms; 40 ms (Linux's minimum) bounds
   * any Nagle × delayed-ACK wait to 40 ms instead of the classic 200 ms. */
  delayedAckMs: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2 suggests 2 min, we 30 s as Linux's 60 s TW). */
  mslMs: number;
  /** FIN-WAIT-2 lifetime of a connection the application closed entirely (Linux tcp_fin_timeout 60 s). */
  finWait2TimeoutMs: number;
  /** TIME-WAIT table bound; when full the entry closest to expiry is dropped early (counted). */
  timeWaitMax: number;
  /** Default listen backlog (accept queue bound), Node's default 511. */
  backlog: number;
  /** SYN queue bound per listener (embryonic SYN-RECEIVED connections). */
  synBacklog: number;
  /** 'auto': cookies when the SYN queue is full; 'always'; 'never'. */
  synCookies: 'auto' | 'always' | 'never';
  /** RFC 1122 §4.2.3.6: keep-alive idle time default ≥ 2 h. */
  keepAliveIdleMs: number;
  /** Interval between unanswered keep-alive probes (Linux 75 s). */
  keepAliveIntervalMs: number;
  /** Unanswered probes before ETIMEDOUT (Linux 9). */
  keepAliveProbes: number;
  /** Persist-timer maximum interval (probes back off up to this). */
  persistMaxMs: number;
  /** RFC 5961 §7: challenge ACKs per second for the whole stack (Linux 1000). */
  challengeAckLimit: number;
  /** Offer/accept RFC 7323 window scaling. */
  windowScaling: boolean;
  /** Offer/accept RFC 7323 timestamps. */
  timestamps: boolean;
  /** Offer/accept RFC 2018 SACK-permitted. */
  sack: boolean;
  /** RFC 8985 RACK-TLP: time-based loss detection and tail loss probes on top of RFC 6675 (SACK only). */
  rack: boolean;
  /** Out-of-order queue bound in segments (besides the window). */
  maxOutOfOrderSegments: number;
  /** Congestion control: 'cubic' (RFC 9438, default as in Linux) or 'newreno' (RFC 5681/6582; 'reno' is an alias). */
  congestionControl: string;
  /** Initial congestion window in segments (RFC 6928: 10). */
  initialCwndSegments: number;
  /** Ephemeral port range for active opens (RFC 6335 §6: 49152–65535). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Verify incoming checksums (off only for tests of hand-made segments). */
  verifyChecksum: boolean;
  /** The link offloads TCP (TSO): send super-segments of up to 64 KB that it cuts at the MSS,
   *  with only the pseudo-header sum in the checksum field for it to complete. */
  offload: boolean;
  /** Lowest path MTU an ICMP frag-needed can set (Linux's min_pmtu, 552): a forged one cannot shrink segments to nothing. */
  minPathMtu: number;
  /** A learned path MTU is forgotten after this long (RFC 1191 §6.3: 10 minutes), so a larger one is tried again. */
  pathMtuExpiryMs: number;
}

/** The defaults. */
export const DEFAULT_TCP_CONFIG: TcpConfig = {
  rcvBufSize: 256 * 1024,
  sndBufSize: 256 * 1024,
  sndBufMaxSize: 4 * 1024 * 1024,
  sndBufGrowthBudget: 64 * 1024 * 1024,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  maxRetries: 15,
  synRetries: 6,
  synAckRetries: 5,
  delayedAckMs: 40,
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  timeWaitMax: 4096,
  backlog: 511,
  synBacklog: 256,
  synCookies: 'auto',
  keepAliveIdleMs: 7_200_000,
  keepAliveIntervalMs: 75_000,
  keepAliveProbes: 9,
  persistMaxMs: 60_000,
  challengeAckLimit: 1000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  rack: true,
  maxOutOfOrderSegments: 256,
  congestionControl: 'cubic',
  initialCwndSegments: 10,
  ephemeralLow: 49152,
  ephemeralHigh: 65535,
  verifyChecksum: true,
  offload: false,
  minPathMtu: 552,
  pathMtuExpiryMs: 600_000,
};
