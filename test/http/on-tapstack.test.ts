// The web server on tapstack's own TCP and sockets: two stacks on the memory wire, fake time.
// CLASSIC-CAPTURES.md §1 with our server: the page, the favicon 404 on the same connection, the
// server's FIN exactly keepAliveTimeout after the last response, TIME-WAIT on the server side.
import t from 'tap';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Socket } from '../../lib/socket/index.js';
import { createWebServer, bundledSiteRoot } from '../../lib/http/web-server.js';
import { LADDER_MARKER, ladderFigure } from '../../lib/http/live-index.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

/** A client connection on stack A collecting the raw response text. */
function client(net: ReturnType<typeof makeTcpNet>, port = 80): { c: Socket; text: () => string; bytes: () => Buffer; ended: () => boolean } {
  const c = connect(net.a.tcp, { host: B_IP, port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let ended = false;
  c.on('data', (d: Buffer) => chunks.push(d));
  c.on('end', () => (ended = true));
  c.on('error', () => undefined);
  return { c, text: () => Buffer.concat(chunks).toString('latin1'), bytes: () => Buffer.concat(chunks), ended: () => ended };
}

t.test('the classic capture: page, favicon 404, server FIN after exactly the keep-alive timeout, TIME-WAIT on the server', async (t) => {
  const net = makeTcpNet({ faults: { delayMs: 10 } });
  const log: string[] = [];
  const web = createWebServer({ accessLog: { write: (l: string) => log.push(l) }, counters: net.b.counters });
  createServer(net.b.tcp, { segmentHistory: true }, (s) => web.accept(s)).listen(80);
  t.teardown(async () => {
    web.closeAllConnections();
    await net.close();
  });
  const k = client(net);
  k.c.write('GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: test\r\n\r\n');
  await settle(net.clock, () => k.text().includes('</html>'));
  t.match(k.text(), /^HTTP\/1\.1 200 OK\r\n/);
  t.match(k.text(), /\r\nKeep-Alive: timeout=5\r\n/);
  // The index page with this connection's ladder drawn at its marker (live-index.ts).
  const [before, after] = readFileSync(join(bundledSiteRoot(), 'index.html'), 'latin1').split(LADDER_MARKER) as [string, string];
  t.ok(k.text().endsWith(after) && k.text().includes(before), 'the whole page, cut into MSS-sized segments and put back together');
  t.match(k.text(), /<svg [^>]*class="ladder"/, 'with the drawing of this connection');
  k.c.write('GET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: test\r\n\r\n');
  // Measured from the server's end of the response (it counts the status then and arms the idle
  // timer): the file lookup behind the 404 is real asynchronous I/O, during which settle() keeps
  // moving fake time, so the client's view would include however long the disk took.
  await settle(net.clock, () => net.b.counters.get('http.status.404') === 1);
  const idleFrom = net.clock.now();
  await settle(net.clock, () => /404 Not Found[\s\S]*<\/html>\n$/.test(k.text()));
  await settle(net.clock, () => k.ended(), 20_000, 5);
  const waited = net.clock.now() - idleFrom;
  // The FIN crosses the wire in 10 ms.
  t.ok(waited >= 5000 && waited <= 5030, `the server's FIN came after the 5 s keep-alive timeout (${waited} ms), not node's +1 s`);
  t.equal(net.b.counters.get('http.close.idle'), 1);
  k.c.end();
  await settle(net.clock, () => net.b.counters.get('tcp.timeWait.entered') === 1, 5000, 5);
  t.equal(net.b.counters.get('tcp.timeWait.entered'), 1, 'the server closed first: TIME-WAIT is on its side');
  t.equal(net.a.counters.get('tcp.timeWait.entered'), 0);
  t.match(log[0], /^10\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "test"\n$/);
  t.match(log[1], /"GET \/favicon\.ico HTTP\/1\.1" 404 \d+ "-" "test"\n$/);
  await settle(net.clock, () => web.connectionCount === 0, 5000, 5);
});

t.test('gzip, a range and the 4 MiB download over tapstack TCP', async (t) => {
  const net = makeTcpNet();
  const web = createWebServer({ accessLog: null });
  createServer(net.b.tcp, (s) => web.accept(s)).listen(80);
  t.teardown(async () => {
    web.closeAllConnections();
    await net.close();
  });
  const gz = client(net);
  gz.c.write('GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
  await settle(net.clock, () => gz.ended());
  const raw = gz.bytes();
  const split = raw.indexOf('\r\n\r\n');
  t.match(raw.subarray(0, split).toString(), /\r\nContent-Encoding: gzip\r\n/);
  // This server keeps no segment history: the page says there is no drawing.
  t.equal(gunzipSync(raw.subarray(split + 4)).toString('utf8'), readFileSync(join(bundledSiteRoot(), 'index.html'), 'utf8').replace(LADDER_MARKER, ladderFigure({}, 5000)));

  const dl = client(net);
  dl.c.write('GET /download/4MiB.bin HTTP/1.1\r\nHost: 10.0.0.2\r\nConnection: close\r\n\r\n');
  await settle(net.clock, () => dl.ended(), 600_000, 1);
  const all = dl.bytes();
  const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
  t.equal(body.length, 4 * 1024 * 1024);
  t.equal(createHash('sha256').update(body).digest('hex'), '64cf9505558063fb8ee9a413a73b7a28467840d9baedcabd8c6c499b9081e457');

  const part = client(net);
  part.c.write('GET /download/4MiB.bin HTTP/1.1\r\nHost: 10.0.0.2\r\nRange: bytes=4194000-\r\nConnection: close\r\n\r\n');
  await settle(net.clock, () => part.ended());
  t.match(part.text(), /^HTTP\/1\.1 206 Partial Content\r\n[\s\S]*\r\nContent-Range: bytes 4194000-4194303\/4194304\r\n/);
});
