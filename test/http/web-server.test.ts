// Connection handling like a real server, on node:http over loopback: keep-alive, the server
// closing idle connections first with a FIN, Connection: close, HTTP/1.0, pipelining, limits
// (414, 431, 503), 400 for garbage, slowloris, the access log, mounted handlers, accept().
import t from 'tap';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { makeSite, start, get, rawExchange, statusOf, RawClient, INDEX_HTML, until } from '../helpers/http-helpers.js';
import { createWebServer } from '../../lib/http/web-server.js';
import { Counters } from '../../lib/counters.js';

const site = makeSite();
t.teardown(() => site.remove());
const REQ = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** Count complete responses in raw text (status lines). */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

t.test('keep-alive: several requests on one connection, then the server closes first (FIN) when idle', async (t) => {
  const s = await start({ root: site.root, keepAliveTimeoutMs: 200 });
  t.teardown(() => s.close());
  const c = new RawClient(s.port);
  await c.connected;
  c.write(REQ('/'));
  await c.waitFor(/hello from the test root/);
  t.match(c.text, /\r\nConnection: keep-alive\r\n/);
  // Timed from before the last request: the server arms its idle timer only once that response is
  // done, so the FIN cannot come sooner than 200 ms after this, however late the test sees the 404.
  const idleFrom = performance.now();
  c.write(REQ('/favicon.ico'));
  await c.waitFor(/404 Not Found[\s\S]*<\/html>/);
  await c.ended;
  const idle = c.endedAt - idleFrom;
  t.ok(c.serverEndedFirst, 'the server sent its FIN before the client ended');
  // Under node's own timer it would be keepAliveTimeout + 1 s (1200 ms); the room below that is
  // for a loaded machine.
  t.ok(idle >= 150 && idle < 1100, `closed after the idle timeout (${idle.toFixed(0)} ms)`);
  t.same(statuses(c.text), [200, 404]);
  t.equal(s.server.connectionCount, 1, 'half-closed: still waiting for the client FIN');
  c.socket.end(); // the client's FIN: now the connection closes completely
  await c.closed;
  await until(() => s.server.connectionCount === 0);
  t.equal(s.log.length, 2);
});

t.test('a client that never sends its FIN is destroyed after the linger time', async (t) => {
  // A linger long enough that a loaded machine still sees the half-closed connection before it ends.
  const s = await start({ root: site.root, keepAliveTimeoutMs: 100, lingerTimeoutMs: 1000 });
  t.teardown(() => s.close());
  const c = new RawClient(s.port);
  await c.connected;
  c.write(REQ('/'));
  await c.ended;
  t.ok(c.serverEndedFirst);
  t.equal(s.server.connectionCount, 1, 'half-closed: lingering for our FIN');
  await until(() => s.server.connectionCount === 0, 5000, 'the linger to end'); // destroyed, though we never sent our FIN
  c.destroy();
});

t.test('a connection that never sends a request is closed when idle, server first', async (t) => {
  const s = await start({ root: site.root, keepAliveTimeoutMs: 150 });
  t.teardown(() => s.close());
  const from = performance.now(); // before the connection exists, so before the server arms its timer
  const c = new RawClient(s.port);
  await c.connected;
  await c.ended;
  t.ok(c.serverEndedFirst);
  t.equal(c.text, '', 'nothing but the FIN');
  t.ok(c.endedAt - from >= 100, 'after the idle time');
  c.destroy();
  t.equal(s.log.length, 0);
});

t.test('Connection: close is honoured; the server still closes first', async (t) => {
  const s = await start({ root: site.root });
  t.teardown(() => s.close());
  const { text, serverEndedFirst } = await rawExchange(s.port, REQ('/', 'Connection: close\r\n'));
  t.equal(statusOf(text), 200);
  t.match(text, /\r\nConnection: close\r\n/);
  t.notMatch(text, /Keep-Alive:/, 'no keep-alive announcement on a closing connection');
  t.ok(serverEndedFirst);
});

t.test('HTTP/1.0: close after the response unless keep-alive is asked for', async (t) => {
  const s = await start({ root: site.root, keepAliveTimeoutMs: 200 });
  t.teardown(() => s.close());
  const plain = await rawExchange(s.port, 'GET / HTTP/1.0\r\n\r\n');
  t.equal(statusOf(plain.text), 200);
  t.match(plain.text, /\r\nConnection: close\r\n/);
  t.ok(plain.text.endsWith(INDEX_HTML));
  t.ok(plain.serverEndedFirst);
  const c = new RawClient(s.port);
  await c.connected;
  c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  await c.waitFor(/hello from the test root/);
  c.write('GET /small.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  await c.waitFor(/body\{\}/);
  t.match(c.text, /\r\nConnection: keep-alive\r\n/);
  t.same(statuses(c.text), [200, 200]);
  c.destroy();
  t.match(s.log[0], /"GET \/ HTTP\/1\.0" 200 /);
});

t.test('a client that half-closes after its request still gets the (async) response', async (t) => {
  const s = await start({ root: site.root });
  t.teardown(() => s.close());
  const { text } = await rawExchange(s.port, REQ('/big.txt') , true);
  t.equal(statusOf(text), 200);
  t.ok(text.endsWith('lazy dog\n'), 'the whole body');
  t.match(s.log[0], /^127\.0\.0\.1 - - /);
});

t.test('pipelining: two requests in one write, two responses in order', async (t) => {
  const s = await start({ root: site.root, keepAliveTimeoutMs: 200 });
  t.teardown(() => s.close());
  const { text } = await rawExchange(s.port, REQ('/') + REQ('/nope') + REQ('/small.css', 'Connection: close\r\n'));
  t.same(statuses(text), [200, 404, 200]);
  const a = text.indexOf('hello from the test root');
  const b = text.indexOf('<title>404 Not Found');
  const c = text.indexOf('body{}');
  t.ok(a > 0 && a < b && b < c, 'in request order');
});

t.test('URI too long: 414; headers too large: 431 and close; garbage: 400 and close', async (t) => {
  const s = await start({ root: site.root, maxUriLength: 200, maxHeaderSize: 2048 });
  t.teardown(() => s.close());
  const long = await rawExchange(s.port, REQ('/' + 'a'.repeat(300), 'Connection: close\r\n'));
  t.equal(statusOf(long.text), 414);
  t.match(long.text, /<title>414 URI Too Long<\/title>/);
  const big = await rawExchange(s.port, REQ('/', `X-Big: ${'b'.repeat(3000)}\r\n`));
  t.equal(statusOf(big.text), 431);
  t.match(big.text, /\r\nConnection: close\r\n/);
  t.match(big.text, /\r\nServer: tapstack\r\n/);
  t.ok(big.serverEndedFirst, 'a FIN after the error page');
  for (const garbage of ['HELLO\r\n\r\n', 'GET / HTTP/1.2\r\n\r\n', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03']) {
    const r = await rawExchange(s.port, garbage);
    t.equal(statusOf(r.text), 400, JSON.stringify(garbage));
    t.match(r.text, /<h1>400 Bad Request<\/h1>/);
  }
  const noHost = await rawExchange(s.port, 'GET / HTTP/1.1\r\n\r\n');
  t.equal(statusOf(noHost.text), 400, 'HTTP/1.1 without Host');
  const log400 = s.log.find((l) => l.includes('"HELLO" 400'));
  t.ok(log400, 'bad requests are logged with what the client sent');
  t.match(s.log.find((l) => l.includes(' 431 ')), /"GET \/ HTTP\/1\.1" 431 \d+ "-" "-"/);
});

t.test('only HTTP/1.x is answered: HTTP/0.9 gets 400, HTTP/2.0 and HTTP/9.9 get 505, each with a close', async (t) => {
  const s = await start({ root: site.root });
  t.teardown(() => s.close());
  for (const [raw, status] of [
    ['GET /\r\n\r\n', 400],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['GET / HTTP/9.9\r\nHost: x\r\n\r\n', 505],
  ] as const) {
    const r = await rawExchange(s.port, raw);
    t.equal(statusOf(r.text), status, JSON.stringify(raw));
    t.match(r.text, /\r\nConnection: close\r\n/);
    t.notMatch(r.text, /hello from the test root/, 'not the page');
    t.ok(r.serverEndedFirst);
  }
  t.match(s.log[1], /"GET \/ HTTP\/2\.0" 505 /);
});

t.test('an HTTP/0.9 request line alone (no headers follow) is answered 400 at once, not left for the 408', async (t) => {
  const s = await start({ root: site.root, headersTimeoutMs: 1500, requestTimeoutMs: 3000 });
  t.teardown(() => s.close());
  for (const raw of ['GET /\r\n', 'GET /index.html\n']) {
    const r = await rawExchange(s.port, raw);
    t.equal(statusOf(r.text), 400, `${JSON.stringify(raw)}: 400, not the header timeout's 408`);
    t.match(r.text, /\r\nConnection: close\r\n/);
    t.ok(r.serverEndedFirst);
  }
  t.match(s.log[0], /"GET \/" 400 /, 'the access log shows the request line');
  // A request line that is still arriving is not mistaken for one without a version.
  const c = new RawClient(s.port);
  await c.connected;
  c.write('GET / HT');
  await new Promise((r) => setTimeout(r, 50));
  c.write('TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await Promise.race([c.ended, c.closed]);
  t.equal(statusOf(c.text), 200, 'split request line: served');
  c.destroy();
});

t.test('CONNECT gets 405 rather than a silent drop', async (t) => {
  const s = await start({ root: site.root });
  t.teardown(() => s.close());
  const r = await rawExchange(s.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  t.equal(statusOf(r.text), 405);
  t.match(r.text, /\r\nAllow: GET, HEAD, OPTIONS\r\n/);
  t.ok(r.serverEndedFirst);
  t.match(s.log[0], /"CONNECT example\.com:443 HTTP\/1\.1" 405 \d+ "-" "-"/);
});

t.test('slowloris: a client trickling headers is cut off (408) while another is served', async (t) => {
  // requestTimeout far beyond headersTimeout, so that only the latter can explain an early cut.
  const s = await start({ root: site.root, headersTimeoutMs: 300, requestTimeoutMs: 5000 });
  t.teardown(() => s.close());
  const began = performance.now(); // before the connection exists, whenever node starts its clock
  const slow = new RawClient(s.port);
  await slow.connected;
  slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => slow.write('X-Slow: 1\r\n'), 40);
  t.teardown(() => clearInterval(trickle));
  const other = await get(s.port, '/');
  t.equal(other.status, 200, 'another client is served meanwhile');
  await slow.ended;
  clearInterval(trickle);
  const took = performance.now() - began;
  t.equal(statusOf(slow.text), 408);
  t.ok(slow.serverEndedFirst);
  t.ok(took >= 250 && took < 2500, `cut off by headersTimeout, long before requestTimeout (${took.toFixed(0)} ms)`);
  slow.destroy();
});

t.test('a request body that never completes hits requestTimeout (408)', async (t) => {
  const s = await start({
    root: site.root,
    headersTimeoutMs: 200,
    requestTimeoutMs: 300,
    // An upload handler that answers once the whole body is in.
    handler: (req, res, next) => {
      if (req.method !== 'POST') return next();
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`got ${n}\n`));
    },
  });
  t.teardown(() => s.close());
  const whole = await rawExchange(s.port, 'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
  t.match(whole.text, /got 3\n$/);
  const c = new RawClient(s.port);
  await c.connected;
  const began = performance.now();
  c.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
  const drip = setInterval(() => c.write('d'), 40); // activity, so only requestTimeout can stop it
  await c.ended;
  clearInterval(drip);
  t.same(statuses(c.text), [408]);
  t.ok(c.serverEndedFirst);
  t.ok(performance.now() - began >= 250, 'not before requestTimeout');
  c.destroy();
});

t.test('connection limit: one more than maxConnections gets 503 and a FIN', async (t) => {
  const s = await start({ root: site.root, maxConnections: 2 });
  t.teardown(() => s.close());
  const a = new RawClient(s.port);
  const b = new RawClient(s.port);
  await Promise.all([a.connected, b.connected]);
  a.write(REQ('/'));
  b.write(REQ('/'));
  await Promise.all([a.waitFor(/hello/), b.waitFor(/hello/)]);
  t.equal(s.server.connectionCount, 2);
  const third = await rawExchange(s.port, REQ('/'));
  t.equal(statusOf(third.text), 503);
  t.match(third.text, /\r\nRetry-After: 1\r\n/);
  t.ok(third.serverEndedFirst);
  a.destroy();
  await a.closed;
  await until(() => s.server.connectionCount === 1, 2000, 'the server to notice the freed slot');
  const fourth = await rawExchange(s.port, REQ('/', 'Connection: close\r\n'));
  t.equal(statusOf(fourth.text), 200, 'served again once a slot is free');
  b.destroy();
});

t.test('per-address limit: one address past maxConnectionsPerIp gets 503, another address is still served', async (t) => {
  const counters = new Counters();
  const s = await start({ root: site.root, maxConnections: 10, maxConnectionsPerIp: 2, counters });
  t.teardown(() => s.close());
  const held = [new RawClient(s.port), new RawClient(s.port)];
  await Promise.all(held.map((c) => c.connected));
  await until(() => s.server.connectionCount === 2);
  const third = await rawExchange(s.port, REQ('/'));
  t.equal(statusOf(third.text), 503, 'a third connection from 127.0.0.1: 503');
  t.equal(counters.get('http.reject.maxConnectionsPerIp'), 1);
  // Another client address on the loopback network.
  const other = connect({ host: '127.0.0.1', port: s.port, localAddress: '127.0.0.2' });
  let text = '';
  other.on('data', (d: Buffer) => (text += d.toString('latin1')));
  other.write(REQ('/', 'Connection: close\r\n'));
  await new Promise((r) => other.once('close', r));
  t.equal(statusOf(text), 200, '127.0.0.2 is served');
  for (const c of held) c.destroy();
  await until(() => s.server.connectionCount === 0);
  const again = await rawExchange(s.port, REQ('/', 'Connection: close\r\n'));
  t.equal(statusOf(again.text), 200, '127.0.0.1 is served again once its connections are gone');
});

t.test('send timeout: a client that takes nothing is reset after sendTimeoutMs; a slow handler is not', async (t) => {
  const counters = new Counters();
  const s = await start({ root: site.root, sendTimeoutMs: 200, counters });
  t.teardown(() => s.close());
  s.server.mount('/endless', (_req, res) => {
    // An endless body, written as fast as the connection takes it.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const more = (): void => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', more);
    more();
  });
  s.server.mount('/slow', (_req, res) => {
    setTimeout(() => res.end('late but fine\n'), 500);
  });
  const stalled = new RawClient(s.port);
  await stalled.connected;
  stalled.socket.pause(); // never read: the windows fill, then nothing moves
  stalled.write(REQ('/endless'));
  await until(() => counters.get('http.close.sendTimeout') === 1, 10_000, 'the send timeout');
  await until(() => s.server.connectionCount === 0, 2000, 'the slot to be freed');
  stalled.destroy(); // paused, it would not even read the reset
  const slow = await rawExchange(s.port, REQ('/slow', 'Connection: close\r\n'));
  t.equal(statusOf(slow.text), 200, 'a handler slower than the send timeout, with nothing to send, is waited for');
  t.match(slow.text, /late but fine/);
  t.equal(counters.get('http.close.sendTimeout'), 1);
});

t.test('access log: one Combined Log Format line per request', async (t) => {
  const at = Date.UTC(2026, 10, 21, 5, 51, 0);
  const s = await start({ root: site.root, now: () => at });
  t.teardown(() => s.close());
  const c = new RawClient(s.port);
  await c.connected;
  c.write(REQ('/', 'User-Agent: curl/7.88.1\r\n'));
  c.write(REQ('/favicon.ico', 'User-Agent: Mozilla/5.0 (X11; "quoted")\r\nReferer: http://10.0.0.2/\r\n'));
  c.write(`HEAD /small.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await c.ended;
  c.destroy();
  const len = Buffer.byteLength(INDEX_HTML);
  t.same(s.log, [
    `127.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "GET / HTTP/1.1" 200 ${len} "-" "curl/7.88.1"\n`,
    `127.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "GET /favicon.ico HTTP/1.1" 404 ${statusBodyLength(c.text, 1)} "http://10.0.0.2/" "Mozilla/5.0 (X11; \\"quoted\\")"\n`,
    `127.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "HEAD /small.css HTTP/1.1" 200 - "-" "-"\n`,
  ]);
  const r = await rawExchange(s.port, 'GET /\x01\x7f" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.ok(r.text.length > 0);
  t.match(s.log.at(-1), /"GET \/\\x01\\x7F\\" HTTP\/1\.1" (400|404) /, 'control bytes and quotes escaped');
});

t.test('access log: a stalled reader holds at most the buffer bound; further lines are counted and dropped', async (t) => {
  const counters = new Counters();
  // A Writable whose reader never takes anything: what stdout is when the pipe's reader stops.
  const stalled = new Writable({ highWaterMark: 1024, write: () => undefined });
  const s = await start({ root: site.root, counters, accessLog: stalled, accessLogBufferBytes: 64 * 1024 });
  t.teardown(() => s.close());
  const c = new RawClient(s.port);
  await c.connected;
  const userAgent = 'u'.repeat(15_000); // the 15 KB User-Agents
  for (let i = 0; i < 40; i++) c.write(REQ('/', `User-Agent: ${userAgent}\r\n`));
  c.write(REQ('/', 'Connection: close\r\n'));
  await c.ended;
  c.destroy();
  await until(() => counters.get('http.status.200') === 41); // each response's line is written or dropped as it is counted
  t.ok(stalled.writableLength < 64 * 1024 + 16 * 1024, `buffered ${stalled.writableLength} bytes: the bound and at most one line over it`);
  t.ok(counters.get('http.log.dropped') >= 35, `${counters.get('http.log.dropped')} lines dropped and counted`);
});

/** Content-Length of the n-th response in raw text. */
function statusBodyLength(text: string, n: number): number {
  return Number([...text.matchAll(/Content-Length: (\d+)/g)][n]![1]);
}

t.test('a mounted handler (dynamic content) and a handler consulted first', async (t) => {
  const seen: string[] = [];
  const s = await start({
    root: site.root,
    handler: (req, res, next) => {
      seen.push(req.url ?? '');
      if (req.url === '/hello') {
        res.setHeader('Content-Type', 'text/plain');
        res.end('dynamic hello\n');
      } else next();
    },
  });
  t.teardown(() => s.close());
  s.server.mount('/api', (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ url: req.url, method: req.method }));
  });
  const hello = await get(s.port, '/hello');
  t.equal(hello.body.toString(), 'dynamic hello\n');
  t.equal(hello.headers.server, 'tapstack', 'Server header on mounted responses too');
  const api = await get(s.port, '/api/things?id=1', {}, 'POST');
  t.same(JSON.parse(api.body.toString()), { url: '/api/things?id=1', method: 'POST' }, 'mounts may take any method');
  t.equal((await get(s.port, '/api')).status, 200);
  t.equal((await get(s.port, '/apix')).status, 404, 'prefix matches at a segment boundary');
  t.equal((await get(s.port, '/')).status, 200, 'next() falls through to the static site');
  t.same(seen, ['/hello', '/apix', '/']);
  t.ok(s.log.some((l) => l.includes('"POST /api/things?id=1 HTTP/1.1" 200 ')), 'mounted requests are logged');
  s.server.mount('/boom', () => {
    throw new Error('sync failure');
  });
  s.server.mount('/later', async () => {
    await new Promise((r) => setImmediate(r));
    throw new Error('async failure');
  });
  t.equal((await get(s.port, '/boom')).status, 500, 'a throwing handler is a 500, not a crash');
  t.equal((await get(s.port, '/later/x')).status, 500, 'so is a rejected promise');
  t.equal((await get(s.port, '/index.html')).status, 200, 'and the server goes on');
});

t.test('accept(): sockets from another transport, timeouts included', async (t) => {
  const log: string[] = [];
  const web = createWebServer({ root: site.root, headersTimeoutMs: 150, requestTimeoutMs: 400, keepAliveTimeoutMs: 300, accessLog: { write: (l: string) => log.push(l) } });
  // Stand-in for tapstack's sockets: a separate listener hands every connection over.
  const transport = createNetServer({ allowHalfOpen: true }, (socket) => web.accept(socket));
  await new Promise<void>((r) => transport.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    web.closeAllConnections();
    web.close();
    await new Promise((r) => transport.close(r));
  });
  const port = (transport.address() as AddressInfo).port;
  const ok = await get(port, '/');
  t.equal(ok.status, 200);
  t.equal(ok.body.toString(), INDEX_HTML);
  const idle = new RawClient(port);
  await idle.connected;
  idle.write(REQ('/'));
  await idle.ended;
  t.ok(idle.serverEndedFirst, 'idle close first, on handed-over sockets too');
  idle.destroy();
  const slow = new RawClient(port);
  await slow.connected;
  slow.write('GET / HTTP/1.1\r\n');
  await slow.ended;
  t.equal(statusOf(slow.text), 408, 'headersTimeout works without listen()');
  slow.destroy();
  t.equal(log.length, 3);
});

t.test('counters: connections, requests, statuses, idle closes, errors, rejections', async (t) => {
  const counters = new Counters();
  const s = await start({ root: site.root, keepAliveTimeoutMs: 100, lingerTimeoutMs: 300, maxConnections: 1, counters });
  t.teardown(() => s.close());
  const c = new RawClient(s.port);
  await c.connected;
  c.write(REQ('/') + REQ('/favicon.ico'));
  await c.waitFor(/404 Not Found[\s\S]*<\/html>/);
  const over = await rawExchange(s.port, REQ('/'));
  t.equal(statusOf(over.text), 503);
  await c.ended;
  await until(() => s.server.connectionCount === 0, 1000);
  c.destroy();
  const bad = await rawExchange(s.port, 'BAD\r\n\r\n');
  t.equal(statusOf(bad.text), 400);
  await until(() => counters.get('http.status.404') === 1 && counters.get('http.error.400') === 1);
  t.same(
    Object.fromEntries(Object.entries(counters.snapshot()).filter(([k]) => k.startsWith('http.'))),
    {
      'http.close.idle': 1,
      'http.close.linger': 1,
      'http.connections': 2,
      'http.error.400': 1,
      'http.reject.maxConnections': 1,
      'http.requests': 2,
      'http.status.200': 1,
      'http.status.404': 1,
    },
  );
});
