// A look-alike of node:net's Server over a tapstack TCP listener: listen/close/address and a
// 'connection' event per accepted Socket. Any Node server that takes sockets (node:http via
// `httpServer.emit('connection', socket)`) runs on it.
import { EventEmitter } from 'node:events';
import type { TcpListener } from '../tcp/demux.js';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { ipToString } from '../wire/ip-address.js';
import { type AddressInfo, Socket } from './socket.js';

/** Options of `new Server()`. */
export interface ServerOptions {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Each connection records its segments both ways (bounded), read back with `socket.segmentHistory()`. */
  segmentHistory?: boolean;
}

/** What `listen` accepts besides positional arguments. */
export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/** A node:net.Server look-alike on tapstack TCP. */
export class Server extends EventEmitter {
  readonly #tcp: TcpLayer;
  readonly #opts: ServerOptions;
  #listener: TcpListener | undefined;
  readonly #sockets = new Set<Socket>();
  #closing = false;
  /** Like node:net: refuse (reset) connections beyond this many (undefined = no limit). */
  maxConnections: number | undefined;

  /** 'close' of an accepted socket (`this`): one listener per server, not a closure per connection. */
  readonly #socketClosed: (this: Socket) => void;

  constructor(tcp: TcpLayer, opts: ServerOptions = {}, connectionListener?: (s: Socket) => void) {
    super();
    this.#tcp = tcp;
    this.#opts = opts;
    const server = this;
    this.#socketClosed = function (this: Socket): void {
      server.#sockets.delete(this);
      server.#maybeClosed();
    };
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  /** listen(port, [host], [backlog], [cb]) or listen({port, host, backlog}, [cb]). */
  listen(...args: unknown[]): this {
    let o: ListenOptions = {};
    let cb: (() => void) | undefined;
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      cb = last as () => void;
      args = args.slice(0, -1);
    }
    if (typeof args[0] === 'object' && args[0] !== null) o = args[0] as ListenOptions;
    else {
      o.port = args[0] === undefined ? 0 : Number(args[0]);
      if (typeof args[1] === 'string') o.host = args[1];
      if (typeof args[1] === 'number') o.backlog = args[1];
      if (typeof args[2] === 'number') o.backlog = args[2];
    }
    if (cb !== undefined) this.once('listening', cb);
    try {
      const l = this.#tcp.listen(o.port ?? 0, { host: o.host, backlog: o.backlog });
      this.#listener = l;
      l.keepHistory = this.#opts.segmentHistory === true;
      this.#closing = false;
      l.onConnection = (ll) => {
        for (let c = ll.accept(); c !== undefined; c = ll.accept()) this.#accept(c);
      };
      process.nextTick(() => this.emit('listening'));
    } catch (e) {
      process.nextTick(() => this.emit('error', e));
    }
    return this;
  }

  #accept(c: NonNullable<ReturnType<TcpListener['accept']>>): void {
    if (this.maxConnections !== undefined && this.#sockets.size >= this.maxConnections) {
      this.#tcp.run((now) => c.abort(now));
      this.emit('drop', { localPort: c.localPort, remoteAddress: ipToString(c.remoteIp), remotePort: c.remotePort });
      return;
    }
    const s = Socket.fromConnection(this.#tcp, c, { allowHalfOpen: this.#opts.allowHalfOpen });
    s.server = this;
    if (this.#opts.noDelay) s.setNoDelay(true);
    if (this.#opts.keepAlive) s.setKeepAlive(true, this.#opts.keepAliveInitialDelay ?? 0);
    this.#sockets.add(s);
    s.on('close', this.#socketClosed);
    this.emit('connection', s);
  }

  /** Stop accepting; 'close' once every accepted socket has closed. */
  close(cb?: (err?: Error) => void): this {
    if (this.#listener === undefined) {
      if (cb !== undefined) process.nextTick(() => cb(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      return this;
    }
    if (cb !== undefined) this.once('close', cb);
    this.#tcp.unlisten(this.#listener);
    this.#listener = undefined;
    this.#closing = true;
    this.#maybeClosed();
    return this;
  }

  #maybeClosed(): void {
    if (this.#closing && this.#sockets.size === 0) {
      this.#closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }

  /** The bound address (null when not listening). */
  address(): AddressInfo | null {
    const l = this.#listener;
    return l === undefined ? null : { address: l.ip === 0 ? '0.0.0.0' : ipToString(l.ip), family: 'IPv4', port: l.port };
  }

  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** Number of open accepted sockets. */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.#sockets.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
