// The benchmark's server, run inside a namespace in one of two modes so both sides serve the
// same thing with the same Node code: `stack` — tapstack on tap0 (10.0.0.2) with our TCP and
// sockets; `kernel` — the Linux kernel's TCP through node:net. Each offers discard (9), echo (7)
// and the real web server (80: createWebServer with the bundled site, no access log), then prints
// "ready" and runs until SIGINT/SIGTERM. So `npm run bench` compares the same web server on our
// TCP and on the kernel's.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SystemClock } from '../lib/clock.js';
import { CryptoRng } from '../lib/rng.js';
import { TapLink } from '../lib/link/tap-link.js';
import { waitForCarrier } from '../lib/link/carrier.js';
import { Stack } from '../lib/stack.js';
import { TcpLayer } from '../lib/tcp/tcp-layer.js';
import { createServer } from '../lib/socket/index.js';
import { createWebServer } from '../lib/http/web-server.js';

/** Anything shaped like a node:net server factory: the kernel's or ours. */
type ServerFactory = (onConnection: (s: Duplex) => void) => { listen(port: number): unknown };

/** Discard (9) and echo (7) on either TCP. */
function serveDiscardEcho(createTcpServer: ServerFactory): void {
  const quiet = (s: Duplex): Duplex => s.on('error', () => {});
  createTcpServer((s) => quiet(s).on('end', () => s.end()).resume()).listen(9);
  createTcpServer((s) => quiet(s).pipe(s)).listen(7);
}

/** The web server as `tapstack serve` runs it, minus the access log (it would measure stdout). */
const web = createWebServer({ accessLog: null });

const mode = process.argv[2];
let stop: () => Promise<void>;
if (mode === 'stack') {
  // argv[3]: "off" runs the stack without TAP offloads (default on, as the CLI).
  const link = await TapLink.open({ name: 'tap0', hostIp: '10.0.0.1/24', up: true, offload: process.argv[3] !== 'off' });
  await waitForCarrier('tap0', 3000);
  const stack = new Stack({ link, clock: new SystemClock(), rng: new CryptoRng(), ip: '10.0.0.2', prefix: 24 });
  const tcp = new TcpLayer(stack);
  serveDiscardEcho((fn) => createServer(tcp, fn));
  // node:http's own sockets have Nagle off by default; ours get the same.
  createServer(tcp, { noDelay: true }, (s) => web.accept(s)).listen(80);
  stop = async () => {
    web.closeAllConnections();
    web.close();
    tcp.close();
    await stack.close();
  };
} else if (mode === 'kernel') {
  serveDiscardEcho((fn) => net.createServer(fn));
  web.listen(80);
  stop = async () => {
    web.closeAllConnections();
    web.close();
  };
} else {
  process.stderr.write('usage: bench-server stack|kernel\n');
  process.exit(2);
}
process.stdout.write('ready\n');
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop().then(() => process.exit(0)));
