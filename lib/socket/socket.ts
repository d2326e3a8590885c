// A look-alike of node:net's Socket over a tapstack TCP connection: a Duplex whose reads pull
// from the connection's receive buffer (so an application that stops reading closes the
// advertised window: real backpressure) and whose writes complete only when the send buffer took
// the bytes. Errors carry Node's codes (ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE).
import { Duplex } from 'node:stream';
import type { TimerHandle } from '../clock.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { HistoryView } from '../tcp/segment-history.js';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { type ConnectionEvents, TcpError } from '../tcp/types.js';
import { ipToString } from '../wire/ip-address.js';

/** Options of `new Socket()`. */
export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (node:net's allowHalfOpen, default false). */
  allowHalfOpen?: boolean;
}

/** Options of `socket.connect()`. */
export interface SocketConnectOptions {
  host?: string;
  port: number;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

/** The address triple of `address()`. */
export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

/** A node:net.Socket look-alike on tapstack TCP. */
export class Socket extends Duplex {
  readonly #tcp: TcpLayer;
  #conn: TcpConnection | undefined;
  connecting = false;
  bytesRead = 0;
  #bytesWritten = 0;
  /** The Server that accepted this socket, if any. */
  server: unknown;
  #wantRead = false;
  #pulling = false;
  #eofPushed = false;
  #pendingWrite: { chunk: Buffer; cb: (err?: Error | null) => void } | undefined;
  #noDelay = false;
  #keepAlive: { on: boolean; delay: number } | undefined;
  #timeoutMs = 0;
  #timer: TimerHandle | undefined;
  #onTimer: (() => void) | undefined;
  #lastActivity = 0;
  #closedByTcp = false;

  constructor(tcp: TcpLayer, opts: SocketOptions = {}) {
    // Duplex implements node:net's allowHalfOpen: without it, the peer's FIN ends our side too.
    super({ allowHalfOpen: opts.allowHalfOpen === true, decodeStrings: true, emitClose: true, autoDestroy: true });
    this.#tcp = tcp;
  }

  /** @internal Wrap a connection a listener accepted (ESTABLISHED already). */
  static fromConnection(tcp: TcpLayer, conn: TcpConnection, opts: SocketOptions = {}): Socket {
    const s = new Socket(tcp, opts);
    s.#attach(conn);
    return s;
  }

  /** Open a connection; 'connect' follows (the optional listener is added for it). */
  connect(opts: SocketConnectOptions, listener?: () => void): this {
    if (listener !== undefined) this.once('connect', listener);
    this.connecting = true;
    if (opts.noDelay) this.#noDelay = true;
    if (opts.keepAlive) this.#keepAlive = { on: true, delay: opts.keepAliveInitialDelay ?? 0 };
    if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
    try {
      this.#attach(this.#tcp.connect({ host: opts.host ?? '127.0.0.1', port: opts.port, localPort: opts.localPort }));
    } catch (e) {
      process.nextTick(() => this.destroy(e as Error));
    }
    return this;
  }

  /**
   * The connection's events for one socket: its methods live on the prototype, so a socket costs
   * one small object here, not four closures and their context (10 k idle connections, issue 9).
   */
  static readonly #Events = class implements ConnectionEvents {
    constructor(readonly socket: Socket) {}

    established(): void {
      const s = this.socket;
      s.connecting = false;
      s.#applyOptions();
      s.#touch();
      s.emit('connect');
      s.emit('ready');
    }

    readable(): void {
      this.socket.#touch();
      this.socket.#pull();
    }

    writable(): void {
      this.socket.#retryWrite();
    }

    closed(err: TcpError | undefined): void {
      this.socket.#onTcpClosed(err);
    }
  };

  #attach(conn: TcpConnection): void {
    this.#conn = conn;
    this.#lastActivity = this.#tcp.clock.now();
    conn.events = new Socket.#Events(this);
    if (conn.state !== 'SYN-SENT') this.#applyOptions();
  }

  #applyOptions(): void {
    const c = this.#conn!;
    this.#tcp.run((now) => {
      if (this.#noDelay) c.setNoDelay(true, now);
      if (this.#keepAlive !== undefined) c.setKeepAlive(this.#keepAlive.on, this.#keepAlive.delay || undefined, now);
    });
  }

  #onTcpClosed(err: TcpError | undefined): void {
    this.#closedByTcp = true;
    this.connecting = false;
    if (err !== undefined) {
      const e = err as TcpError & { address?: string; port?: number };
      if (this.#conn !== undefined) {
        e.address = ipToString(this.#conn.remoteIp);
        e.port = this.#conn.remotePort;
        if (err.code === 'ECONNREFUSED' || err.syscall === 'connect') e.message = `connect ${err.code} ${e.address}:${e.port}`;
      }
      this.destroy(e);
      return;
    }
    // A normal end: deliver what remains (as the reader pulls it) and the EOF; autoDestroy
    // closes the stream once both sides are done.
    this.#pull();
    if (!this.#eofPushed && (this.#conn?.readableLength ?? 0) === 0) {
      this.#eofPushed = true;
      this.push(null);
    }
    if (!this.writableFinished && !this.destroyed) this.destroy();
  }

  // ------------------------------------------------------------------ Duplex

  override _read(): void {
    this.#wantRead = true;
    this.#pull();
  }

  #pull(): void {
    const c = this.#conn;
    if (c === undefined || this.#pulling) return;
    this.#pulling = true;
    try {
      this.#tcp.run((now) => {
        while (this.#wantRead) {
          const b = c.read(now);
          if (b === undefined) break;
          this.bytesRead += b.length;
          if (!this.push(b)) this.#wantRead = false;
        }
      });
      if (c.readEnded && !this.#eofPushed) {
        this.#eofPushed = true;
        this.push(null);
      }
    } finally {
      this.#pulling = false;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const c = this.#conn;
    if (c === undefined) {
      cb(new TcpError('EPIPE', 'This socket is not connected', 'write'));
      return;
    }
    this.#pendingWrite = { chunk, cb };
    this.#retryWrite();
  }

  #retryWrite(): void {
    const p = this.#pendingWrite;
    const c = this.#conn;
    if (p === undefined || c === undefined) return;
    let n: number;
    try {
      // A write that does not fit now is borrowed, not copied (send-buffer.ts): it will be taken
      // piece by piece as ACKs free room, and only what is still unacknowledged at the end is copied.
      n = this.#tcp.write(c, p.chunk, p.chunk.length > c.writableSpace);
    } catch (e) {
      this.#pendingWrite = undefined;
      c.returnBorrowed();
      p.cb(e as Error);
      return;
    }
    this.#bytesWritten += n;
    if (n > 0) this.#touch();
    if (n === p.chunk.length) {
      this.#pendingWrite = undefined;
      // The callback frees the application's buffer (node:net's contract): nothing may still point into it.
      c.returnBorrowed();
      p.cb();
    } else p.chunk = p.chunk.subarray(n);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      // node:net: end() before the handshake completes sends the FIN after it.
      this.once('connect', () => this._final(cb));
      return;
    }
    const c = this.#conn;
    if (c !== undefined && !this.#closedByTcp) this.#tcp.run((now) => c.shutdown(now));
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#clearTimer();
    const c = this.#conn;
    if (c !== undefined && !this.#closedByTcp) {
      // Like close(2): FIN after queued data, or RST if received data was never read.
      this.#tcp.run((now) => c.close(now));
    }
    const p = this.#pendingWrite;
    this.#pendingWrite = undefined;
    c?.returnBorrowed(); // queued bytes may still go out (close above) after the callback frees the buffer
    p?.cb(err ?? new TcpError('EPIPE', 'socket destroyed', 'write'));
    cb(err);
  }

  /** Close with a RST at once (node:net's resetAndDestroy). */
  resetAndDestroy(): this {
    const c = this.#conn;
    if (c !== undefined && !this.#closedByTcp) {
      c.events = {};
      this.#tcp.run((now) => c.abort(now));
      this.#closedByTcp = true;
    }
    this.destroy();
    return this;
  }

  /** Half-close after pending writes, then destroy when both sides are done (node:net's destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  // ------------------------------------------------------------------ options

  /** Disable (true, the default) or enable Nagle's algorithm. */
  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    const c = this.#conn;
    if (c !== undefined && c.state !== 'SYN-SENT' && !this.#closedByTcp) this.#tcp.run((now) => c.setNoDelay(noDelay, now));
    return this;
  }

  /** Enable/disable keep-alive probes; `initialDelay` ms of idleness before the first (0 = default). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = { on: enable, delay: initialDelay };
    const c = this.#conn;
    if (c !== undefined && c.state !== 'SYN-SENT' && !this.#closedByTcp) this.#tcp.run((now) => c.setKeepAlive(enable, initialDelay || undefined, now));
    return this;
  }

  /** Emit 'timeout' after `ms` of inactivity (0 disables); the socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#timeoutMs = ms;
    this.#clearTimer();
    if (ms > 0) this.#armTimer(this.#tcp.clock.now() + ms);
    return this;
  }

  get timeout(): number | undefined {
    return this.#timeoutMs || undefined;
  }

  #touch(): void {
    this.#lastActivity = this.#tcp.clock.now();
  }

  #armTimer(at: number): void {
    // One callback per socket, made when it first arms: not a closure per arming.
    this.#onTimer ??= () => this.#timerFired();
    this.#timer = this.#tcp.clock.setTimer(at, this.#onTimer);
  }

  #timerFired(): void {
    this.#timer = undefined;
    if (this.#timeoutMs <= 0 || this.destroyed) return;
    const due = this.#lastActivity + this.#timeoutMs;
    if (this.#tcp.clock.now() >= due) {
      this.emit('timeout');
      if (this.#timeoutMs > 0 && !this.destroyed) this.#armTimer(this.#tcp.clock.now() + this.#timeoutMs);
    } else this.#armTimer(due);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#tcp.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  // ------------------------------------------------------------------ addresses and stats

  get remoteAddress(): string | undefined {
    return this.#conn === undefined ? undefined : ipToString(this.#conn.remoteIp);
  }

  get remotePort(): number | undefined {
    return this.#conn?.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.#conn === undefined ? undefined : 'IPv4';
  }

  get localAddress(): string | undefined {
    return this.#conn === undefined ? undefined : ipToString(this.#conn.localIp);
  }

  get localPort(): number | undefined {
    return this.#conn?.localPort;
  }

  get localFamily(): string | undefined {
    return this.#conn === undefined ? undefined : 'IPv4';
  }

  /** Bytes accepted into the TCP send buffer. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** This connection's segments so far, when its server keeps them (`segmentHistory: true`). */
  segmentHistory(): HistoryView | undefined {
    return this.#conn?.segmentHistory();
  }

  /** Bound address, as node:net's `address()`. */
  address(): AddressInfo | Record<string, never> {
    return this.#conn === undefined ? {} : { address: ipToString(this.#conn.localIp), family: 'IPv4', port: this.#conn.localPort };
  }

  get pending(): boolean {
    return this.#conn === undefined || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The TCP connection underneath (state, counters, info()). */
  get connection(): TcpConnection | undefined {
    return this.#conn;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
