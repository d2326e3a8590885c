// Node-style sockets on tapstack TCP: `Server` and `Socket` look-alikes of node:net's, so code
// written for node:net (and node:http's server) runs on the user-space stack. The TCP behaviour
// lives in lib/tcp; this folder only adapts it to streams and Node's error codes.
//
//   import { TcpLayer } from '../tcp/tcp-layer.js';
//   import { createServer, connect, createNet } from '../socket/index.js';
//   const tcp = new TcpLayer(stack);                       // once per Stack
//   const server = createServer(tcp, (socket) => socket.pipe(socket)).listen(7, () => {});
//   const client = connect(tcp, { host: '10.0.0.1', port: 80 }, () => client.write('hi'));
//   http.createServer(handler).emit('connection', socket)   // node:http on our sockets
//   const net = createNet(tcp); net.createServer(...); net.connect({ host, port })  // node:net-shaped
//   startEchoService(tcp, 7); startDiscardService(tcp, 9)  // RFC 862 / RFC 863 for the CLI
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { Server, type ServerOptions } from './server.js';
import { Socket, type SocketConnectOptions } from './socket.js';

export { Server, type ListenOptions, type ServerOptions } from './server.js';
export { startDiscardService, startEchoService } from './services.js';
export { Socket, type AddressInfo, type SocketConnectOptions, type SocketOptions } from './socket.js';

/** A Server on `tcp`; `listener` handles 'connection'. */
export function createServer(tcp: TcpLayer, opts?: ServerOptions | ((s: Socket) => void), listener?: (s: Socket) => void): Server {
  if (typeof opts === 'function') return new Server(tcp, {}, opts);
  return new Server(tcp, opts ?? {}, listener);
}

/** Open a connection from the stack to host:port; `listener` runs on 'connect'. */
export function connect(tcp: TcpLayer, opts: SocketConnectOptions & { allowHalfOpen?: boolean }, listener?: () => void): Socket {
  return new Socket(tcp, { allowHalfOpen: opts.allowHalfOpen }).connect(opts, listener);
}

/** A node:net-shaped facade bound to one TcpLayer. */
export function createNet(tcp: TcpLayer): {
  createServer: (opts?: ServerOptions | ((s: Socket) => void), listener?: (s: Socket) => void) => Server;
  connect: (opts: SocketConnectOptions, listener?: () => void) => Socket;
  createConnection: (opts: SocketConnectOptions, listener?: () => void) => Socket;
} {
  return {
    createServer: (opts, listener) => createServer(tcp, opts, listener),
    connect: (opts, listener) => connect(tcp, opts, listener),
    createConnection: (opts, listener) => connect(tcp, opts, listener),
  };
}
