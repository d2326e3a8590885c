// The hand-off tapstack will use: node:http served over sockets that are not net.Sockets, given
// to the web server with accept(). An in-memory Duplex pair stands in for lib/socket.
import t from 'tap';
import { createWebServer } from '../../lib/http/web-server.js';
import { memSocketPair, type MemSocket } from '../helpers/http-mem-socket.js';
import { makeSite, INDEX_HTML } from '../helpers/http-helpers.js';

const site = makeSite();
const log: string[] = [];
const web = createWebServer({ root: site.root, keepAliveTimeoutMs: 100, headersTimeoutMs: 150, requestTimeoutMs: 300, lingerTimeoutMs: 200, accessLog: { write: (l: string) => log.push(l) } });
t.teardown(() => {
  web.closeAllConnections();
  web.close();
  site.remove();
});

/** Collect what the server sends to `client` until it ends (its FIN). */
function collect(client: MemSocket): { text: () => string; ended: Promise<boolean> } {
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<boolean>((r) => client.once('end', () => r(!client.finSent)));
  return { text: () => Buffer.concat(chunks).toString('latin1'), ended };
}

t.test('requests over a Duplex: keep-alive, then the server FIN first', async (t) => {
  const [client, server] = memSocketPair();
  web.accept(server);
  const got = collect(client);
  client.write('GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: mem\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  const serverFirst = await got.ended;
  t.ok(serverFirst, 'the server ended (FIN) before the client');
  t.ok(server.finSent);
  t.match(got.text(), /^HTTP\/1\.1 200 OK\r\n/);
  t.ok(got.text().includes(INDEX_HTML));
  t.match(got.text(), /HTTP\/1\.1 404 Not Found\r\n/);
  t.match(log[0], /^10\.0\.0\.1 - - \[.*\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "mem"\n$/);
  t.equal(web.connectionCount, 1, 'half-closed, waiting for the client');
  client.end();
  await new Promise((r) => server.once('close', r));
  t.equal(web.connectionCount, 0);
});

t.test('garbage over a Duplex: 400 and a FIN; slowloris: 408', async (t) => {
  const [client, server] = memSocketPair();
  web.accept(server);
  const got = collect(client);
  client.write('NOT HTTP AT ALL\r\n\r\n');
  t.ok(await got.ended);
  t.match(got.text(), /^HTTP\/1\.1 400 Bad Request\r\n/);
  client.end();
  const [c2, s2] = memSocketPair();
  web.accept(s2);
  const got2 = collect(c2);
  c2.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const tick = setInterval(() => c2.write('X: y\r\n'), 30); // keeps the idle timer from firing
  t.ok(await got2.ended);
  clearInterval(tick);
  t.match(got2.text(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  c2.end();
});
