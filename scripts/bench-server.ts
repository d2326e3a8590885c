// The benchmark's server, run inside a namespace in one of two modes so both sides serve the
// same thing with the same Node code: `stack` — tapstack on tap0 (10.0.0.2) with our TCP and
// sockets; `kernel` — the Linux kernel's TCP through node:net. Each offers discard (9), echo (7)
// and node:http (80) with a fixed 2 KB page, then prints "ready" and runs until SIGINT/SIGTERM.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SystemClock } from '../lib/clock.js';
import { CryptoRng } from '../lib/rng.js';
import { TapLink } from '../lib/link/tap-link.js';
import { waitForCarrier } from '../lib/link/carrier.js';
import { Stack } from '../lib/stack.js';
import { TcpLayer } from '../lib/tcp/tcp-layer.js';
import { createServer } from '../lib/socket/index.js';

const PAGE = Buffer.from(`<!doctype html><title>bench</title><pre>${'tapstack '.repeat(225)}</pre>\n`);

/** Anything shaped like a node:net server factory: the kernel's or ours. */
type ServerFactory = (onConnection: (s: Duplex) => void) => { listen(port: number): unknown };

function serve(createTcpServer: ServerFactory): void {
  const quiet = (s: Duplex): Duplex => s.on('error', () => {});
  createTcpServer((s) => quiet(s).on('end', () => s.end()).resume()).listen(9);
  createTcpServer((s) => quiet(s).pipe(s)).listen(7);
  const web = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': PAGE.length });
    res.end(PAGE);
  });
  web.keepAliveTimeout = 5000;
  createTcpServer((s) => web.emit('connection', quiet(s))).listen(80);
}

const mode = process.argv[2];
let stop: () => Promise<void>;
if (mode === 'stack') {
  const link = await TapLink.open({ name: 'tap0', hostIp: '10.0.0.1/24', up: true });
  await waitForCarrier('tap0', 3000);
  const stack = new Stack({ link, clock: new SystemClock(), rng: new CryptoRng(), ip: '10.0.0.2', prefix: 24 });
  const tcp = new TcpLayer(stack);
  serve((fn) => createServer(tcp, fn));
  stop = async () => {
    tcp.close();
    await stack.close();
  };
} else if (mode === 'kernel') {
  serve((fn) => net.createServer(fn));
  stop = async () => {};
} else {
  process.stderr.write('usage: bench-server stack|kernel\n');
  process.exit(2);
}
process.stdout.write('ready\n');
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop().then(() => process.exit(0)));
