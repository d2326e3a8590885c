// The classic TCP test services (RFC 862 echo on port 7, RFC 863 discard on port 9) on our
// sockets, for the CLI and the end-to-end tests. Neither has a natural end, so each is bounded:
// at most `maxConnections` at once (more are reset), a connection idle for `idleTimeoutMs` is
// reset, and keep-alive probes (RFC 1122 §4.2.3.6) find clients that vanished without a word.
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { Server } from './server.js';
import type { Socket } from './socket.js';

/** Limits of a service; the defaults are the CLI's. */
export interface ServiceOptions {
  /** Nothing received or sent for this long: the connection is reset (default 300000 ms; 0 = never). */
  idleTimeoutMs?: number;
  /** Concurrent connections; one more is reset at once (default 1024). */
  maxConnections?: number;
  /** TCP keep-alive on every connection (default true). */
  keepAlive?: boolean;
}

// Listeners shared by every connection (`this` is the socket): an idle connection holds no
// closure of its own (issue 9: 10 k idle connections). Echo is pipe(s, s) in three of them:
// each chunk written back, reading paused while the send buffer is full, FIN after the client's.
function echoData(this: Socket, chunk: Buffer): void {
  if (!this.write(chunk)) this.pause();
}
function resumeReading(this: Socket): void {
  this.resume();
}
function endWriting(this: Socket): void {
  this.end();
}
function destroyOnError(this: Socket): void {
  this.destroy();
}

/** RFC 862: send back everything received; half-close when the client does. */
export function startEchoService(tcp: TcpLayer, port = 7, opts: ServiceOptions = {}): Server {
  return startService(tcp, 'echo', port, opts, true, (s) => s.on('data', echoData).on('drain', resumeReading).on('end', endWriting));
}

/** RFC 863: read and throw away everything received; close when the client does. */
export function startDiscardService(tcp: TcpLayer, port = 9, opts: ServiceOptions = {}): Server {
  return startService(tcp, 'discard', port, opts, false, (s) => s.resume());
}

/**
 * A service with its limits; counters `service.<name>.close.idle` and
 * `service.<name>.reject.maxConnections`.
 */
function startService(tcp: TcpLayer, name: string, port: number, opts: ServiceOptions, allowHalfOpen: boolean, serve: (s: Socket) => void): Server {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 300_000;
  const idleCounter = `service.${name}.close.idle`;
  function onIdle(this: Socket): void {
    tcp.counters.inc(idleCounter);
    this.resetAndDestroy(); // a FIN would wait behind data a vanished client never acknowledges
  }
  const server = new Server(tcp, { allowHalfOpen, keepAlive: opts.keepAlive ?? true }, (s) => {
    s.on('error', destroyOnError);
    if (idleTimeoutMs > 0) s.setTimeout(idleTimeoutMs).on('timeout', onIdle);
    serve(s);
  });
  server.maxConnections = opts.maxConnections ?? 1024;
  server.on('drop', () => tcp.counters.inc(`service.${name}.reject.maxConnections`));
  return server.listen(port);
}
