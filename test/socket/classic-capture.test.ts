// CLASSIC-CAPTURES.md §1 replayed on tapstack: a keep-alive web server on our stack, a page and
// /favicon.ico (404) on one connection, the server closing the idle connection ~5 s later (node:http's
// keepAliveTimeout) and, as the side that closed first, holding TIME-WAIT.
import { createServer as createHttpServer } from 'node:http';
import t from 'tap';
import { connect, createServer } from '../../lib/socket/index.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

t.test('a page, the favicon 404, and the server closes the idle keep-alive connection first (TIME-WAIT on the server)', async (t) => {
  const net = makeTcpNet({ faults: { delayMs: 10 } });
  t.teardown(() => net.close());
  const http = createHttpServer((req, res) => {
    if (req.url === '/') res.end('<html>hello</html>');
    else {
      res.statusCode = 404;
      res.end('no such file');
    }
  });
  http.keepAliveTimeout = 5000;
  createServer(net.b.tcp, (s) => http.emit('connection', s)).listen(81);
  const c = connect(net.a.tcp, { host: B_IP, port: 81, allowHalfOpen: true });
  let text = '';
  c.setEncoding('latin1');
  c.on('data', (d: string) => (text += d));
  let ended = false;
  c.on('end', () => {
    ended = true;
  });
  c.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n');
  await settle(net.clock, () => text.includes('</html>'));
  c.write('GET /favicon.ico HTTP/1.1\r\nHost: b\r\n\r\n');
  await settle(net.clock, () => text.includes('no such file'));
  t.match(text, /HTTP\/1\.1 404 Not Found/);
  const idleFrom = net.clock.now();
  await settle(net.clock, () => ended, 20_000, 10);
  const waited = net.clock.now() - idleFrom;
  // node:http closes keepAliveTimeout + 1 s after the last response (measured with the kernel: 6006 ms).
  t.ok(waited >= 6000 && waited < 6200, `the server's FIN came after the keep-alive timeout (${waited} ms)`);
  c.end();
  await settle(net.clock, () => net.b.counters.get('tcp.timeWait.entered') === 1, 5000, 5);
  t.equal(net.b.counters.get('tcp.timeWait.entered'), 1, 'the server closed first: TIME-WAIT is on its side');
  t.equal(net.a.counters.get('tcp.timeWait.entered'), 0);
  http.close();
});
