// The classic TCP test services (RFC 862 echo on port 7, RFC 863 discard on port 9) on our
// sockets, for the CLI and the end-to-end tests.
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { Server } from './server.js';

/** RFC 862: send back everything received; half-close when the client does. */
export function startEchoService(tcp: TcpLayer, port = 7): Server {
  return new Server(tcp, { allowHalfOpen: true }, (s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  }).listen(port);
}

/** RFC 863: read and throw away everything received; close when the client does. */
export function startDiscardService(tcp: TcpLayer, port = 9): Server {
  return new Server(tcp, {}, (s) => {
    s.on('error', () => s.destroy());
    s.resume();
  }).listen(port);
}
