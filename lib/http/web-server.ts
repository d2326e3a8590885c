// The web server: a node:http Server configured like a small real one (lighttpd, nginx). node:http
// does the HTTP (llhttp parses, keep-alive and pipelining are its own); this file adds the
// policies: idle keep-alive timeout after which the server closes first with a FIN, lingering
// close, limits (URI 414, headers 431, concurrent connections in all and per client address 503,
// slowloris 408, a send timeout for clients that take nothing), 400 for
// garbage and HTTP/0.9, 505 for HTTP/2 and later, 405 for CONNECT, `Server: tapstack`, one access-log line per request, counters, the
// status page, the static site, and the hand-off to your own handlers (failures become 500s). It does not know where sockets come from: a real
// `listen()` or tapstack's sockets handed over with `server.accept(socket)`.
//
// Dispatch order for each request: URI length check (414), then a handler mounted with
// `mount(prefix, handler)` whose prefix matches (longest first), then `options.handler`
// (call `next()` to fall through), then `/_stack` and `/_stack.json` when `status` is given,
// then the live index page (`liveIndex`), then the static site under `root`.
import { existsSync } from 'node:fs';
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import createDebug from 'debug';
import { ALLOWED_METHODS, createStaticSite, type StaticSiteOptions } from './static-site.js';
import { createStatusPage, type StackStatus } from './status-page.js';
import { formatAccessLog, type LogSink } from './access-log.js';
import { rawErrorResponse, sendError } from './error-page.js';
import { defaultVirtualFiles, type VirtualFile } from './virtual-file.js';
import { createLiveIndex } from './live-index.js';
import type { Counters } from '../counters.js';

const debug = createDebug('tapstack:http');

/**
 * Your own request handler, consulted before the built-in ones; call `next()` to let them answer.
 * A throw or a rejected promise becomes a 500 (or a cut connection if the headers are out).
 */
export type MountedHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void | Promise<void>;

/** Options of createWebServer; every one has a default like a real server's. */
export interface WebServerOptions {
  /** Directory served; default the bundled teaching site (`site/` in the package). */
  root?: string;
  /** Idle time on a keep-alive connection after which the server closes it first (default 5000 ms). */
  keepAliveTimeoutMs?: number;
  /** Time allowed to receive a request's complete headers, against slowloris (default 20000 ms) → 408. */
  headersTimeoutMs?: number;
  /** Time allowed to receive a whole request (default max(60000, headersTimeoutMs)) → 408. */
  requestTimeoutMs?: number;
  /** After the server's FIN, how long to wait for the client's before destroying the socket (default 30000 ms). */
  lingerTimeoutMs?: number;
  /** Concurrent connections; one more gets `503` and a FIN (default 512). */
  maxConnections?: number;
  /** Concurrent connections from one client address, under maxConnections; one more gets `503` (default 64). */
  maxConnectionsPerIp?: number;
  /**
   * A response that makes no progress for this long (the client takes nothing, e.g. a zero
   * window) is cut with a reset, as nginx's `send_timeout` (default 60000 ms; 0 = never).
   */
  sendTimeoutMs?: number;
  /** Request line plus headers, bytes, as node:http counts them (default 16384) → 431. */
  maxHeaderSize?: number;
  /** Longest request target (default 8192) → 414. Keep it below maxHeaderSize, which also counts the URI. */
  maxUriLength?: number;
  /** Where access-log lines go (default process.stdout); null for none. */
  accessLog?: LogSink | null;
  /**
   * Bytes the access log may hold unwritten (its `writableLength`) before further lines are
   * dropped and counted as `http.log.dropped` (default 1 MiB): a stalled reader of stdout
   * must not grow memory without bound.
   */
  accessLogBufferBytes?: number;
  /** Consulted for every request before the built-in handlers (the dynamic-content hand-off). */
  handler?: MountedHandler;
  /**
   * Snapshot for `/_stack` and `/_stack.json`, describing at most `limit` connections; without it
   * those paths are ordinary (missing) files.
   */
  status?: (limit: number) => StackStatus;
  /** Who may see `/_stack` (by remote address); others get 403. Default: everyone. */
  statusAllowed?: (remoteAddress: string | undefined) => boolean;
  /** Wall-clock ms since the epoch for the access log and raw error responses (default Date.now). */
  now?: () => number;
  /** In-memory files; default `/download/4MiB.bin` when serving the bundled site, none otherwise. */
  virtualFiles?: Record<string, VirtualFile>;
  /**
   * Serve the index page with the requesting connection's ladder diagram at its
   * `<!--tapstack:ladder-->` marker (live-index.ts); default on for the bundled site, off otherwise.
   */
  liveIndex?: boolean;
  /**
   * Counters to bump (DESIGN.md "Counters, not silence"), e.g. the stack's, so `/_stack` shows them:
   * `http.connections`, `http.requests`, `http.status.<code>`, `http.close.idle`, `http.close.linger`,
   * `http.error.<400|408|431|reset>`, `http.reject.maxConnections`, `http.reject.maxConnectionsPerIp`,
   * `http.close.sendTimeout`, `http.log.dropped`.
   */
  counters?: Counters;
  /** Further static-site options: cache control, gzip thresholds, the open-file cache (`fileCache: { validMs: 0 }` turns it off). */
  site?: Omit<StaticSiteOptions, 'root' | 'virtualFiles'>;
}

/** A node:http Server with the web server's extras. */
export interface WebServer extends Server {
  /** Send requests whose path is `prefix` or below it (`/api` matches `/api` and `/api/x`) to `handler`. */
  mount(prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): this;
  /**
   * Serve an already-connected socket from any transport (tapstack's TCP sockets): like
   * `emit('connection', socket)`, and also starts node:http's header/request timeout checks,
   * which node starts only on 'listening'.
   */
  accept(socket: Duplex): void;
  /** Connections being served now. */
  readonly connectionCount: number;
}

/** The bundled teaching site: `site/` at the package root, from the sources or from `dist/`. */
export function bundledSiteRoot(): string {
  for (const rel of ['../../site', '../../../site']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}/index.html`)) return dir;
  }
  throw new Error('tapstack: the bundled site (site/index.html) is missing from the package');
}

/** Create the web server; call `listen()` on it, or hand it sockets with `accept()`. */
export function createWebServer(options: WebServerOptions = {}): WebServer {
  const root = options.root ?? bundledSiteRoot();
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 5000;
  const headersTimeoutMs = options.headersTimeoutMs ?? 20_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.max(60_000, headersTimeoutMs);
  const lingerTimeoutMs = options.lingerTimeoutMs ?? 30_000;
  const maxConnections = options.maxConnections ?? 512;
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? 64;
  const sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
  const maxUriLength = options.maxUriLength ?? 8192;
  const now = options.now ?? Date.now;
  const accessLog = options.accessLog === undefined ? process.stdout : options.accessLog;
  const accessLogBufferBytes = options.accessLogBufferBytes ?? 1 << 20;
  const count = (name: string): void => options.counters?.inc(name);
  const site = createStaticSite({
    ...options.site,
    root,
    virtualFiles: options.virtualFiles ?? (options.root === undefined ? defaultVirtualFiles() : {}),
  });
  const statusPage = options.status === undefined ? undefined : createStatusPage(options.status, { now, ...(options.statusAllowed !== undefined ? { allowed: options.statusAllowed } : {}) });
  const liveIndex = (options.liveIndex ?? options.root === undefined) ? createLiveIndex(site.fileCache, options.site?.indexFile ?? 'index.html', keepAliveTimeoutMs) : undefined;
  const mounts: { prefix: string; handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void> }[] = [];
  /** Sockets answered by the server itself (400/408/431) and being closed: later requests on them are ignored. */
  const closing = new WeakSet<Duplex>();

  /**
   * The response class: announces the idle timeout and counts body bytes for the access log in
   * its methods, so a request allocates no wrappers (see announceKeepAlive, countBodyBytes).
   */
  class WebResponse extends ServerResponse {
    /** Body bytes written so far (counted only when there is an access log). */
    bodyBytes = 0;
    /** When the request arrived (wall clock), for the access log. */
    startedAt = 0;
    /** The client's address, kept because it is gone once the socket is closed. */
    remoteAddress: string | undefined = undefined;
    /** Whether the response's end was already accounted (idle timer, counters, log). */
    accounted = false;
  }
  announceKeepAlive(WebResponse.prototype, keepAliveTimeoutMs);
  if (accessLog !== null) countBodyBytes(WebResponse.prototype);

  // node checks the two timeouts on this period; a quarter of the shorter keeps the cut-off close.
  const shortest = Math.min(...[headersTimeoutMs, requestTimeoutMs].filter((ms) => ms > 0));
  const checkEveryMs = Number.isFinite(shortest) ? Math.min(1000, Math.max(10, Math.floor(shortest / 4))) : 1000;
  const server = createServer({
    maxHeaderSize: options.maxHeaderSize ?? 16384,
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: checkEveryMs,
    requireHostHeader: true, // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400
    ServerResponse: WebResponse,
  }) as unknown as WebServer;

  /** Half-close (FIN) after `data`, then wait for the client's FIN at most lingerTimeoutMs. */
  function closeFirst(socket: Duplex, data?: Buffer): void {
    if (socket.destroyed) return;
    if (socket.writableEnded) {
      count('http.close.linger');
      socket.destroy();
      return;
    }
    closing.add(socket);
    socket.end(data);
    setSocketTimeout(socket, lingerTimeoutMs);
  }

  // Idle keep-alive timeout, ours rather than node's: node 20 arms the socket 1 s later than its
  // keepAliveTimeout (a race-avoiding buffer), and a real server closes at its timeout exactly.
  // The socket timeout is armed on connection and whenever the last response on it is done,
  // disarmed while a request is in flight. On expiry we end() the socket, so the server's FIN goes
  // first and its side ends in TIME-WAIT, as in the lighttpd capture; a second expiry (the linger)
  // destroys it.
  server.keepAliveTimeout = 0;
  // A client may half-close right after its request (`nc`, shutdown(SHUT_WR)); real servers still
  // answer it. node's default aborts the request at the client's FIN, losing any async response.
  (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const inFlight = new WeakMap<Duplex, number>();
  function armIdle(socket: Duplex): void {
    if (!closing.has(socket)) setSocketTimeout(socket, keepAliveTimeoutMs);
  }
  server.on('timeout', (socket: Duplex) => {
    if ((inFlight.get(socket) ?? 0) > 0) {
      // While a response is in flight the socket's timeout is the send timeout: no byte could be
      // handed to the connection for sendTimeoutMs. Only a response waiting on the client counts
      // (a slow handler has nothing to write). A reset, not a FIN: a FIN would queue behind data
      // the client does not take, and the connection would live on.
      if (socket.writableLength === 0) return;
      debug('no progress sending for %d ms: reset', sendTimeoutMs);
      count('http.close.sendTimeout');
      const s = socket as Duplex & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else socket.destroy();
      return;
    }
    if (!socket.writableEnded) {
      debug('idle for %d ms: closing first', keepAliveTimeoutMs);
      count('http.close.idle');
    }
    closeFirst(socket);
  });

  // Errors before or between requests: llhttp's parse errors, header overflow, the slowloris timers.
  server.on('clientError', answerClientError);
  function answerClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
    if (closing.has(socket) || err.code === 'ECONNRESET' || !socket.writable) {
      if (err.code === 'ECONNRESET') count('http.error.reset');
      socket.destroy();
      return;
    }
    const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current?.headersSent === true) {
      socket.destroy(); // a response is half sent: an error page now would corrupt it
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_INVALID_VERSION' ? versionStatus(err.rawPacket) : 400;
    debug('client error %s → %d', err.code, status);
    count(`http.error.${status}`);
    const response = rawErrorResponse(status, new Date(now()));
    log({
      remoteAddress: (socket as Duplex & { remoteAddress?: string }).remoteAddress,
      time: now(),
      requestLine: status === 408 ? undefined : firstLine(err.rawPacket),
      status,
      bytes: response.length - response.indexOf('\r\n\r\n') - 4,
      referer: undefined,
      userAgent: undefined,
    });
    closeFirst(socket, response);
  }

  // CONNECT (a proxy request): node would drop the connection without a word; answer like a server.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    count('http.requests');
    count('http.status.405');
    const response = rawErrorResponse(405, new Date(now()), { Allow: ALLOWED_METHODS });
    log({
      remoteAddress: (socket as Duplex & { remoteAddress?: string }).remoteAddress,
      time: now(),
      requestLine: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
      status: 405,
      bytes: response.length - response.indexOf('\r\n\r\n') - 4,
      referer: undefined,
      userAgent: headerValue(req.headers['user-agent']),
    });
    closeFirst(socket, response);
  });

  // The connection gate: node's own listener runs only for connections under the limit.
  const httpListeners = server.listeners('connection') as ((socket: Duplex) => void)[];
  server.removeAllListeners('connection');
  let active = 0;
  /** Connections being served per client address, so one address cannot take every slot. */
  const perIp = new Map<string, number>();
  /** The address each served socket counted against (gone from a closed node:net socket). */
  const countedIp = new WeakMap<Duplex, string>();
  // One 'close' listener for every served socket (`this`), not a closure and a once-wrapper each.
  function release(this: Duplex): void {
    const ip = countedIp.get(this)!;
    active--;
    const n = perIp.get(ip)! - 1;
    if (n === 0) perIp.delete(ip);
    else perIp.set(ip, n);
  }
  server.on('connection', (socket: Duplex) => {
    const ip = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '';
    const fromIp = perIp.get(ip) ?? 0;
    if (active >= maxConnections || fromIp >= maxConnectionsPerIp) {
      const perIpFull = active < maxConnections;
      debug(perIpFull ? 'over maxConnectionsPerIp (%d) for %s: 503' : 'over maxConnections (%d): 503', perIpFull ? maxConnectionsPerIp : maxConnections, ip);
      count(perIpFull ? 'http.reject.maxConnectionsPerIp' : 'http.reject.maxConnections');
      socket.on('error', () => undefined);
      socket.resume(); // read and drop the request, so closing does not reset
      socket.end(rawErrorResponse(503, new Date(now()), { 'Retry-After': '1' }));
      const t = setTimeout(() => socket.destroy(), lingerTimeoutMs).unref();
      socket.once('close', () => clearTimeout(t));
      return;
    }
    active++;
    perIp.set(ip, fromIp + 1);
    countedIp.set(socket, ip);
    count('http.connections');
    socket.on('close', release);
    for (const l of httpListeners) l.call(server, socket);
    refuseHttp09(socket, (err) => {
      if (!inFlight.has(socket)) answerClientError(err, socket); // else llhttp made a request of it
    });
    armIdle(socket); // a connection that never sends a request is idle too
  });

  /**
   * The end of a response ('finish', or 'close' when the connection went first), once: re-arm the
   * idle timeout when nothing else is in flight, count the status, write the access-log line.
   * One shared listener (`this` is the response), so a request allocates no closures for it.
   */
  function responseDone(this: WebResponse): void {
    if (this.accounted) return;
    this.accounted = true;
    const req = this.req;
    const socket = req.socket;
    const n = (inFlight.get(socket) ?? 1) - 1;
    inFlight.set(socket, n);
    if (n === 0 && !socket.destroyed) armIdle(socket);
    count(`http.status.${this.statusCode}`);
    if (accessLog === null) return;
    const noBody = req.method === 'HEAD' || this.statusCode === 204 || this.statusCode === 304;
    log({
      remoteAddress: this.remoteAddress,
      time: this.startedAt,
      requestLine: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
      status: this.statusCode,
      bytes: noBody ? 0 : this.bodyBytes,
      referer: headerValue(req.headers.referer),
      userAgent: headerValue(req.headers['user-agent']),
    });
  }

  server.on('request', (req: IncomingMessage, res: WebResponse) => {
    const socket = req.socket;
    if (closing.has(socket)) return; // already answered 408/400 and closing
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    setSocketTimeout(socket, sendTimeoutMs);
    if (accessLog !== null) {
      res.startedAt = now();
      res.remoteAddress = socket.remoteAddress; // gone once the socket is closed
    }
    res.on('finish', responseDone);
    res.on('close', responseDone);
    count('http.requests');
    res.setHeader('Server', 'tapstack');
    // Only HTTP/1.x is spoken here, yet llhttp also parses a request line without a version
    // (HTTP/0.9) and `HTTP/2.0`: RFC 9112 §2.3 has no 0.9 request line, and RFC 9110 §15.6.6
    // answers an unsupported major version with 505.
    if (req.httpVersionMajor !== 1) {
      res.shouldKeepAlive = false;
      return sendError(res, req.httpVersionMajor === 0 ? 400 : 505);
    }
    const url = req.url ?? '/';
    if (url.length > maxUriLength) return sendError(res, 414);
    let mounted: (typeof mounts)[number] | undefined;
    if (mounts.length > 0) {
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      mounted = mounts.find((m) => m.prefix === '/' || path === m.prefix || path.startsWith(m.prefix + '/'));
    }
    if (mounted !== undefined) {
      const handler = mounted.handler;
      guard(res, () => handler(req, res));
      return;
    }
    const handler = options.handler;
    if (handler === undefined && statusPage === undefined && liveIndex === undefined) {
      site(req, res); // never throws: it answers every failure itself
      return;
    }
    const builtIn = (): void => {
      if (statusPage?.(req, res) === true) return;
      if (liveIndex?.(req, res, () => site(req, res)) === true) return;
      site(req, res);
    };
    guard(res, handler === undefined ? builtIn : () => handler(req, res, builtIn));
  });

  /** Run a user handler so that its failure answers 500 instead of taking the server down. */
  function guard(res: ServerResponse, run: () => void | Promise<void>): void {
    const fail = (err: unknown): void => {
      debug('handler failed: %O', err);
      count('http.handlerError');
      if (!res.headersSent) sendError(res, 500);
      else res.destroy();
    };
    try {
      const r = run();
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  function log(entry: Parameters<typeof formatAccessLog>[0]): void {
    if (accessLog === null) return;
    if ((accessLog.writableLength ?? 0) >= accessLogBufferBytes) {
      count('http.log.dropped');
      return;
    }
    accessLog.write(formatAccessLog(entry));
  }

  Object.defineProperty(server, 'connectionCount', { get: () => active });
  server.mount = function (prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) {
    const p = prefix === '/' ? '/' : '/' + prefix.replace(/^\/+|\/+$/g, '');
    mounts.push({ prefix: p, handler });
    mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  };
  let tracking = false;
  server.accept = function (socket: Duplex) {
    if (!tracking && !this.listening) {
      // node:http sets up its connection list and timeout checks on 'listening'.
      tracking = true;
      this.emit('listening');
    }
    this.emit('connection', socket);
  };
  return server;
}

/**
 * Announce the idle timeout as node and Apache do (`Keep-Alive: timeout=5`, whole seconds,
 * RFC 9112 Appendix C.2.2), added last, when the headers go out, and only if the connection stays open.
 */
function announceKeepAlive(proto: ServerResponse, keepAliveTimeoutMs: number): void {
  if (keepAliveTimeoutMs < 1000) return;
  const value = `timeout=${Math.floor(keepAliveTimeoutMs / 1000)}`;
  const writeHead = ServerResponse.prototype.writeHead;
  proto.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (this.shouldKeepAlive && !this.hasHeader('keep-alive')) {
      const conn = this.getHeader('connection');
      if (conn === undefined || String(conn).toLowerCase() !== 'close') this.setHeader('Keep-Alive', value);
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof proto.writeHead;
}

/** Count body bytes as they are written (into `bodyBytes`), for the access log. */
function countBodyBytes(proto: ServerResponse & { bodyBytes: number }): void {
  const write = ServerResponse.prototype.write;
  const end = ServerResponse.prototype.end;
  proto.write = function (this: ServerResponse & { bodyBytes: number }, chunk: unknown, ...rest: unknown[]) {
    this.bodyBytes += byteLength(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof proto.write;
  proto.end = function (this: ServerResponse & { bodyBytes: number }, chunk?: unknown, ...rest: unknown[]) {
    this.bodyBytes += byteLength(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof proto.end;
}

/** `socket.setTimeout(ms)` when the transport has it (net.Socket and tapstack's sockets do); 0 disarms. */
function setSocketTimeout(socket: Duplex, ms: number): void {
  const s = socket as Duplex & { setTimeout?: (ms: number) => unknown };
  if (typeof s.setTimeout === 'function') s.setTimeout(ms);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * An HTTP/0.9 request is one line, `GET /path` and CRLF, with no version and no headers (RFC 1945
 * §4.1). llhttp takes that line and then waits for headers that never come, so the client would
 * hear nothing until the 408. RFC 9112 §2.3 has no such request line: answer the first line as
 * soon as it is complete and carries no version, with the 400 of every other unreadable request.
 */
function refuseHttp09(socket: Duplex, answer: (err: Error & { code: string; rawPacket: Buffer }) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const eol = seen.indexOf(0x0a);
    if (eol < 0 && seen.length < 8192) return; // the first line is not complete yet
    socket.off('data', onData);
    const line = seen.subarray(0, eol < 0 ? 0 : eol).toString('latin1').replace(/\r$/, '');
    if (/^[A-Za-z]+ \S+$/.test(line)) answer(Object.assign(new Error('HTTP/0.9 request line'), { code: 'HPE_HTTP09', rawPacket: seen }));
  };
  socket.on('data', onData);
}

/**
 * llhttp refuses versions other than 0.9, 1.0, 1.1 and 2.0: 505 when the major version is above 1
 * (RFC 9110 §15.6.6, as nginx answers), 400 for anything else it could not read as a version.
 */
function versionStatus(raw: Buffer | undefined): 400 | 505 {
  const major = /^\S+ \S+ HTTP\/(\d+)\./.exec(firstLine(raw) ?? '')?.[1];
  return major !== undefined && Number(major) > 1 ? 505 : 400;
}

/** The first line of what the client sent (for logging a bad request), at most 256 characters. */
function firstLine(raw: Buffer | undefined): string | undefined {
  if (raw === undefined || raw.length === 0) return undefined;
  const text = raw.subarray(0, 512).toString('latin1');
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line === '' ? undefined : line.slice(0, 256);
}
