// Shared vocabulary of the TCP core: the eleven RFC 9293 states, errors with Node codes, and the
// events a connection reports to its user.

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
