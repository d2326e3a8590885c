// The facts teaching mode states about a packet or a TCP state change, as data: the explainer
// (explainer.ts) computes them from what it has seen; a language table (en.ts, zh.ts) phrases
// them. Every TCP number here is already relative (Wireshark's numbering, per connection and
// per direction), so the phrasing never does arithmetic of its own beyond what a fact carries.
import type { TcpState } from '../tcp/types.js';
import type { RetransmitCause } from '../tcp/retransmit-event.js';

/** Which end of a TCP connection a fact is about: `who` is `ip:port`, `role` who opened it. */
export interface End {
  who: string;
  role: 'client' | 'server';
}

/** One acknowledged piece in `ack = base + ...` arithmetic: data of packet `no`, or a SYN/FIN. */
export interface AckPart {
  kind: 'data' | 'syn' | 'fin';
  /** Packet number (as shown after `#`) of the segment, when it was seen. */
  no: number | undefined;
  len: number;
  /** First line of the data when it reads as HTTP (`GET / HTTP/1.1`, `HTTP/1.1 404 Not Found`). */
  what?: string | undefined;
}

/** Bytes `first` to `last` of a stream, both included (a SACK block's SRE is `last + 1`). */
export interface ByteRange {
  first: number;
  last: number;
}

/** How large the segments one end sends may be: the peer's MSS, or its own path MTU when smaller. */
export interface MssSide {
  end: End;
  /** The MSS the other end announced in its SYN. */
  peerMss: number;
  /** This end's path MTU when it limits the segments more than the peer's MSS does (tapstack's `--path-mtu`). */
  pathMtu: number | undefined;
  /** Segment size: min(peerMss, pathMtu − 40). */
  seg: number;
  /** Data bytes per full segment: `seg` less 12 when timestamps are on. */
  data: number;
}

/** Every fact teaching mode can state, one `kind` each. */
export type Note =
  // --- ARP, IP, ICMP, UDP
  | { kind: 'arpRequest'; asker: string; target: string }
  | { kind: 'arpGratuitous'; ip: string }
  | { kind: 'arpReply'; ip: string; mac: string; to: string }
  | { kind: 'echoRequest'; from: string; to: string; id: number; seq: number; data: number; ipLen: number; df: boolean }
  | { kind: 'dfFits'; ipLen: number; mtu: number }
  | { kind: 'dfTooBig'; ipLen: number; mtu: number }
  | { kind: 'echoReply'; from: string; request: number | undefined; data: number; rttMs: number | undefined }
  | { kind: 'fragNeeded'; from: string; mtu: number; quotedLen: number; request: number | undefined; maxPayload: number }
  | { kind: 'unreachable'; from: string; what: 'port' | 'protocol' | 'host' | 'net' | 'other'; about: string }
  | { kind: 'fragment'; id: number; offset: number; more: boolean; len: number }
  | { kind: 'udp'; port: number; len: number; service: string | undefined }
  | { kind: 'dnsQuery'; from: string; id: string; name: string; type: string }
  | { kind: 'dnsAnswer'; query: number | undefined; id: string; name: string; type: string; rcode: string; addresses: string[]; ttl: number | undefined; aa: boolean; tc: boolean }
  | { kind: 'ipv6' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'dropped'; dir: 'RX' | 'TX'; reason: string }
  // --- TCP: opening
  | { kind: 'syn'; from: End; isn: number }
  | { kind: 'synOptions'; mss: number | undefined; sackOk: boolean; ts: boolean; wscale: number | undefined }
  | { kind: 'synAck'; from: End; isn: number }
  | { kind: 'mssChosen'; ts: boolean; sides: MssSide[] }
  | { kind: 'handshakeDone'; data: boolean }
  // --- TCP: data
  | { kind: 'data'; from: End; len: number; first: number; last: number; next: number; what: string | undefined; firstData: boolean }
  | { kind: 'push' }
  | { kind: 'fullSized'; len: number; mss: number; ts: boolean }
  | { kind: 'windowScaled'; raw: number; shift: number; bytes: number }
  | { kind: 'zeroWindow' }
  | { kind: 'windowUpdate'; bytes: number }
  | { kind: 'keepAlive' }
  // --- TCP: acknowledgements and loss
  | { kind: 'ack'; ack: number; base: number; parts: AckPart[] | undefined; needed: boolean }
  | { kind: 'dupAck'; ack: number; count: number; resentAs: number | undefined }
  | { kind: 'sack'; ack: number; blocks: ByteRange[]; holes: ByteRange[] }
  | { kind: 'dsack'; block: ByteRange }
  | { kind: 'outOfOrder'; expected: number; got: number }
  | {
      kind: 'retransmission'; of: number | undefined; seq: number; len: number; afterMs: number | undefined; dupAcks: number;
      /** tapstack's own retransmissions: the cause its TCP core decided on (lib/tcp/retransmit-event.ts), with its numbers. */
      cause: RetransmitCause | undefined; rtoMs?: number | undefined; ptoMs?: number | undefined; rule?: string | undefined; reorderWindowMs?: number | undefined;
      /** The peer's: what the wire suggests (`early`: sooner than any retransmission timer could fire). */
      guess: 'dupAcks' | 'sack' | 'timeout' | 'early';
      /** Data the receiver had already acknowledged (Wireshark's spurious retransmission): the first
       *  packet whose ACK covered it, and whether every such ACK was dropped on its way. */
      spurious: { ackNo: number | undefined; ackLost: boolean } | undefined;
    }
  // --- TCP: closing
  | { kind: 'fin'; from: End; seq: number; idleMs: number | undefined; merged: boolean; second: boolean }
  | { kind: 'rst'; from: End; refused: boolean }
  | { kind: 'finInTimeWait'; end: End; ms: number }
  // --- state changes (said under a `state` line)
  | { kind: 'timeWait'; end: End; ms: number; mslMs: number; local: boolean }
  | { kind: 'timeWaitOver'; ms: number };

/** A note of one kind. */
export type NoteOf<K extends Note['kind']> = Extract<Note, { kind: K }>;

/** One language: a phrase for every kind of note (one or two plain sentences each). */
export type Phrasebook = { [K in Note['kind']]: (n: NoteOf<K>) => string };

/** A TCP state change of one end of a connection. */
export interface StateChange {
  who: string;
  /** The other end of the connection (`ip:port`). */
  peer: string;
  from: TcpState;
  to: TcpState;
  notes: Note[];
}
