// The benchmark's kernel reference, run inside a namespace: the same Node code as tapstack's
// `tapstack` command serves (the web server with the site ROOT, an access log to /dev/null,
// TCP echo on 7 and discard on 9, UDP echo on 7), on the Linux kernel's TCP/UDP through
// node:net / node:dgram. Prints "ready" and runs until SIGINT/SIGTERM.
// Usage: kernel-server ROOT
import net from 'node:net';
import dgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import { createWebServer } from '../../lib/http/web-server.js';
import { openAccessLog } from '../../lib/http/access-log.js';

const quiet = (s: Duplex): Duplex => s.on('error', () => s.destroy());
// RFC 863 discard and RFC 862 echo, as lib/socket/services.ts runs them on tapstack.
net.createServer((s) => quiet(s).resume()).listen(9);
net.createServer({ allowHalfOpen: true }, (s) => quiet(s).pipe(s)).listen(7);
const udp = dgram.createSocket('udp4', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
udp.bind(7);

// The web server as `tapstack` runs it; its access log costs the same write on both sides.
// Caps and idle timeout raised as the bench raises tapstack's (targets.ts, ROOMY).
const accessLog = openAccessLog('/dev/null');
const web = createWebServer({ accessLog, root: process.argv[2], maxConnections: 100_000, maxConnectionsPerIp: 100_000, keepAliveTimeoutMs: 3_600_000 });
web.listen(80, () => process.stdout.write('ready\n'));

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    web.closeAllConnections();
    web.close();
    udp.close();
    void accessLog.close().then(() => process.exit(0));
  });
}
