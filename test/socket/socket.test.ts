import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import t from 'tap';
import { connect, createServer, createNet, type Socket } from '../../lib/socket/index.js';
import { A_IP, B_IP, makeTcpNet, settle, tick, type TcpNet } from '../helpers/tcp-net.js';

/** A server on B port 80 whose application never reads (each socket paused); `socket` is the accepted one. */
function pausedServer(net: TcpNet): { socket: Socket | undefined } {
  const accepted: { socket: Socket | undefined } = { socket: undefined };
  createServer(net.b.tcp, (s) => {
    accepted.socket = s;
    s.pause();
  }).listen(80);
  return accepted;
}

t.test('echo over two stacks: connect, data both ways, end, close; addresses and byte counts', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  let serverSide: Socket | undefined;
  const server = createServer(net.b.tcp, (s) => {
    serverSide = s;
    s.pipe(s);
  });
  let listening = false;
  server.listen(7, () => (listening = true));
  await settle(net.clock, () => listening);
  t.same(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7 });
  const got: Buffer[] = [];
  let connected = false;
  let closed = false;
  const c = connect(net.a.tcp, { host: B_IP, port: 7 }, () => (connected = true));
  c.on('data', (d: Buffer) => got.push(d));
  c.on('close', () => (closed = true));
  t.equal(c.connecting, true);
  await settle(net.clock, () => connected);
  t.equal(c.remoteAddress, B_IP);
  t.equal(c.remotePort, 7);
  t.equal(c.localAddress, A_IP);
  t.ok(c.localPort! >= 49152);
  t.equal(serverSide?.remoteAddress, A_IP);
  t.equal(serverSide?.remotePort, c.localPort);
  const payload = Buffer.alloc(300_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  c.end(payload);
  await settle(net.clock, () => closed);
  t.ok(Buffer.concat(got).equals(payload), 'echoed byte-exact');
  t.equal(c.bytesWritten, payload.length);
  t.equal(c.bytesRead, payload.length);
  t.equal(serverSide!.bytesRead, payload.length);
  t.equal(net.a.counters.get('tcp.timeWait.entered') + net.b.counters.get('tcp.timeWait.entered'), 1, 'exactly one side in TIME-WAIT');
  let serverClosed = false;
  server.close(() => (serverClosed = true));
  await settle(net.clock, () => serverClosed);
  t.equal(server.listening, false);
});

t.test('node:http serves on our sockets (httpServer.emit("connection", socket)), keep-alive, two requests', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.url} from ${req.socket.remoteAddress}`);
  });
  createServer(net.b.tcp, (s) => http.emit('connection', s)).listen(80);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  let text = '';
  c.setEncoding('latin1');
  c.on('data', (d: string) => (text += d));
  c.write('GET /one HTTP/1.1\r\nHost: b\r\n\r\n');
  await settle(net.clock, () => text.includes('from 10.0.0.1'));
  t.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(text, /hello \/one from 10\.0\.0\.1$/);
  const t0 = net.clock.now();
  text = '';
  c.write('GET /two HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n');
  let ended = false;
  c.on('end', () => (ended = true));
  await settle(net.clock, () => ended);
  t.match(text, /hello \/two/);
  t.ok(net.clock.now() - t0 < 5, `no Nagle/delayed-ACK stall: response within ${net.clock.now() - t0} ms of fake time`);
  http.close();
});

t.test('ECONNREFUSED to a closed port; EADDRINUSE on a second listen', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  let err: (Error & { code?: string }) | undefined;
  const c = connect(net.a.tcp, { host: B_IP, port: 9999 });
  c.on('error', (e) => (err = e));
  await settle(net.clock, () => err !== undefined);
  t.equal(err!.code, 'ECONNREFUSED');
  t.equal(err!.message, 'connect ECONNREFUSED 10.0.0.2:9999');
  const n = createNet(net.b.tcp);
  n.createServer().listen(80);
  let e2: (Error & { code?: string }) | undefined;
  n.createServer().on('error', (e) => (e2 = e)).listen(80);
  await settle(net.clock, () => e2 !== undefined);
  t.equal(e2!.code, 'EADDRINUSE');
});

t.test('ECONNRESET when the peer resets; EPIPE writing to a destroyed socket', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  createServer(net.b.tcp, (s) => {
    s.on('data', () => s.resetAndDestroy());
  }).listen(80);
  let err: (Error & { code?: string }) | undefined;
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  c.on('error', (e) => (err = e));
  c.write('x');
  await settle(net.clock, () => err !== undefined);
  t.equal(err!.code, 'ECONNRESET');
  t.equal(c.destroyed, true);
});

t.test('backpressure: a server that stops reading closes the window; the client buffers, drains later', async (t) => {
  const net = makeTcpNet({ tcp: { rcvBufSize: 64 * 1024, sndBufSize: 64 * 1024 } });
  t.teardown(() => net.close());
  const srv = pausedServer(net);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  const chunk = Buffer.alloc(16 * 1024, 1);
  let accepted = 0;
  for (let i = 0; i < 40; i++) if (c.write(chunk)) accepted++;
  t.ok(accepted < 40, 'write() returned false: the Writable is over its high-water mark');
  await settle(net.clock, () => srv.socket !== undefined && srv.socket.connection!.info().rcvWnd === 0, 10_000);
  t.equal(srv.socket!.connection!.info().rcvWnd, 0, 'receiver advertises a zero window');
  t.ok(c.writableLength > 0, 'the client holds data in its Writable buffer');
  let drained = false;
  c.on('drain', () => (drained = true));
  let received = 0;
  srv.socket!.on('data', (d: Buffer) => (received += d.length));
  srv.socket!.resume();
  await settle(net.clock, () => drained && received === 40 * chunk.length, 60_000);
  t.equal(received, 40 * chunk.length, 'everything arrives once the reader resumes');
  t.ok(net.b.counters.get('tcp.tx.windowUpdate') >= 1, 'window update sent after the reader resumed');
});

t.test('a large write is borrowed, yet the buffer is the application\'s again once its callback ran', async (t) => {
  const net = makeTcpNet({ seed: 3, faults: { loss: 0.02 } });
  t.teardown(() => net.close());
  const got: Buffer[] = [];
  let ended = false;
  createServer(net.b.tcp, (s) => {
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => (ended = true));
  }).listen(80);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13 + 5) & 0xff;
  const sent = Buffer.from(payload);
  let done = false;
  c.write(payload, () => {
    // node:net lets the application reuse a buffer once its write completed; the unacknowledged
    // tail (and any retransmission of it) must still carry the bytes written.
    const i = c.connection!.info();
    t.ok(i.bytesInFlight + i.unsent > 16 * 1024, 'more than a chunk was still unacknowledged when the callback ran');
    payload.fill(0xee);
    done = true;
    c.end();
  });
  await settle(net.clock, () => done && ended, 600_000);
  t.ok(Buffer.concat(got).equals(sent), 'the peer got the bytes as written, not the reused buffer');
  t.ok(net.a.counters.sum('tcp.tx.retransmit.') > 0, 'some were retransmitted');
});

t.test('destroy() during a borrowed write: the queued bytes still go out as written, after the callback frees the buffer', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const srv = pausedServer(net);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  c.on('error', () => {});
  const payload = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 1) & 0xff;
  const sent = Buffer.from(payload);
  let failed: Error | null | undefined;
  c.write(payload, (err) => {
    failed = err;
    payload.fill(0xee);
  });
  // The reader is paused: its window closes with the write unfinished and the send buffer full.
  await settle(net.clock, () => srv.socket !== undefined && srv.socket.connection!.info().rcvWnd === 0, 10_000);
  t.ok(c.connection!.info().unsent > 0, 'bytes queued behind the closed window');
  c.destroy();
  t.ok(failed instanceof Error, 'the unfinished write fails at once');
  const got: Buffer[] = [];
  let ended = false;
  srv.socket!.on('data', (d: Buffer) => got.push(d));
  srv.socket!.on('end', () => (ended = true));
  srv.socket!.resume();
  await settle(net.clock, () => ended, 60_000);
  const all = Buffer.concat(got);
  t.ok(all.length > 256 * 1024 && all.length < sent.length, `the peer got a prefix (${all.length} bytes) and the FIN`);
  t.ok(all.equals(sent.subarray(0, all.length)), 'every byte as written, none from the reused buffer');
});

t.test('the send buffer autotunes to twice cwnd (Linux tcp_sndbuf_expand), up to sndBufMaxSize; 0 keeps it fixed', async (t) => {
  for (const max of [4 * 1024 * 1024, 0]) {
    const net = makeTcpNet({ tcp: { sndBufMaxSize: max } });
    let received = 0;
    createServer(net.b.tcp, (s) => s.on('data', (d: Buffer) => (received += d.length))).listen(80);
    const c = connect(net.a.tcp, { host: B_IP, port: 80 });
    const payload = Buffer.alloc(8 * 1024 * 1024, 0x61);
    c.write(payload);
    const conn = c.connection!;
    await settle(net.clock, () => received === payload.length && conn.info().bytesInFlight === 0, 600_000);
    const room = conn.writableSpace; // everything is acknowledged: the whole capacity
    if (max === 0) t.equal(room, 256 * 1024, 'fixed at sndBufSize');
    else {
      t.ok(room > 256 * 1024 && room <= max, `grew to ${room} bytes`);
      t.ok(room >= Math.min(max, 2 * conn.info().cwnd), 'at least twice cwnd (or the ceiling)');
    }
    t.equal(net.a.tcp.core.sendMemory.granted, room - 256 * 1024, 'the growth is charged to the stack-wide budget');
    c.destroy();
    await settle(net.clock, () => [...net.a.tcp.core.connections()].length === 0, 600_000);
    t.equal(net.a.tcp.core.sendMemory.granted, 0, 'and given back when the connection is gone');
    await net.close();
  }
});

t.test('setTimeout emits timeout after idle; setNoDelay/setKeepAlive are chainable; allowHalfOpen keeps writing', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  let srv: Socket | undefined;
  createServer(net.b.tcp, { allowHalfOpen: true }, (s) => {
    srv = s;
    s.on('end', () => s.end('after your FIN'));
    s.resume();
  }).listen(80);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  t.equal(c.setNoDelay(true).setKeepAlive(true, 1000), c);
  let timedOut = 0;
  c.setTimeout(500, () => timedOut++);
  await settle(net.clock, () => srv !== undefined);
  const start = net.clock.now();
  await settle(net.clock, () => timedOut > 0, 2000);
  t.ok(net.clock.now() - start >= 499, 'not before 500 ms idle');
  c.setTimeout(0);
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString()));
  c.end();
  await settle(net.clock, () => text === 'after your FIN');
  t.pass('half-open server replied after the client FIN');
});

t.test('two stacks, many parallel connections', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  createServer(net.b.tcp, (s) => s.pipe(s)).listen(7);
  const results: string[] = [];
  for (let i = 0; i < 20; i++) {
    const c = connect(net.a.tcp, { host: B_IP, port: 7 });
    let s = '';
    c.on('data', (d: Buffer) => (s += d.toString()));
    c.on('end', () => results.push(s));
    c.end(`conn ${i}`);
  }
  await settle(net.clock, () => results.length === 20);
  t.same(results.sort(), Array.from({ length: 20 }, (_, i) => `conn ${i}`).sort());
  await tick();
});

t.test('RFC 862 echo and RFC 863 discard services', async (t) => {
  const { startEchoService, startDiscardService } = await import('../../lib/socket/index.js');
  const net = makeTcpNet();
  t.teardown(() => net.close());
  startEchoService(net.b.tcp);
  startDiscardService(net.b.tcp);
  const e = connect(net.a.tcp, { host: B_IP, port: 7 });
  let echoed = 0;
  let eEnd = false;
  e.on('data', (d: Buffer) => (echoed += d.length));
  e.on('end', () => (eEnd = true));
  e.end(Buffer.alloc(1_000_000, 3));
  const d = connect(net.a.tcp, { host: B_IP, port: 9 });
  let dClosed = false;
  let dData = 0;
  d.on('data', (x: Buffer) => (dData += x.length));
  d.on('close', () => (dClosed = true));
  d.end(Buffer.alloc(1_000_000, 4));
  await settle(net.clock, () => eEnd && dClosed);
  t.equal(echoed, 1_000_000);
  t.equal(dData, 0, 'discard answers nothing');
});

t.test('ETIMEDOUT connecting to a host that never answers (SYN retransmissions exhausted)', async (t) => {
  const net = makeTcpNet({ tcp: { synRetries: 2 } });
  t.teardown(() => net.close());
  let err: (Error & { code?: string }) | undefined;
  const c = connect(net.a.tcp, { host: '10.0.0.99', port: 80 });
  c.on('error', (e) => (err = e));
  await settle(net.clock, () => err !== undefined, 20_000, 50);
  t.equal(err!.code, 'ETIMEDOUT');
  t.ok(net.clock.now() >= 7000, 'after 1 + 2 + 4 s');
  t.equal(net.a.counters.get('tcp.tx.retransmit.syn'), 2);
});

t.test('destroy() with unread data resets the connection (the peer sees ECONNRESET)', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const srv = pausedServer(net);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  let err: (Error & { code?: string }) | undefined;
  c.on('error', (e) => (err = e));
  c.write('never read');
  await settle(net.clock, () => srv.socket !== undefined && srv.socket.connection!.readableLength > 0);
  srv.socket!.destroy();
  await settle(net.clock, () => err !== undefined);
  t.equal(err!.code, 'ECONNRESET');
  t.equal(net.b.counters.get('tcp.close.unreadData'), 1);
});

t.test('Server API details: listen forms, address(), getConnections, maxConnections, close() when not running', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const { Server } = await import('../../lib/socket/index.js');
  const s1 = new Server(net.b.tcp);
  t.equal(s1.address(), null);
  let notRunning: (Error & { code?: string }) | undefined;
  s1.close((e) => (notRunning = e));
  let l1 = false;
  s1.listen(8080, '0.0.0.0', 16, () => (l1 = true));
  const s2 = new Server(net.b.tcp).listen({ port: 8081, backlog: 4 });
  const s3 = new Server(net.b.tcp).listen();
  await settle(net.clock, () => l1 && notRunning !== undefined);
  t.equal(notRunning!.code, 'ERR_SERVER_NOT_RUNNING');
  t.same(s1.address(), { address: '0.0.0.0', family: 'IPv4', port: 8080 });
  t.equal(s2.address()!.port, 8081);
  t.ok(s3.address()!.port >= 49152, 'listen() without a port: ephemeral');
  t.equal(s1.ref(), s1);
  t.equal(s1.unref(), s1);
  s1.on('connection', (s: Socket) => s.resume());
  s1.maxConnections = 1;
  let dropped = 0;
  s1.on('drop', () => dropped++);
  const a = connect(net.a.tcp, { host: B_IP, port: 8080 });
  const b = connect(net.a.tcp, { host: B_IP, port: 8080 });
  let bErr: (Error & { code?: string }) | undefined;
  b.on('error', (e) => (bErr = e));
  a.on('error', () => undefined);
  await settle(net.clock, () => bErr !== undefined || dropped > 0);
  await settle(net.clock, () => bErr !== undefined);
  t.equal(dropped, 1);
  t.equal(bErr!.code, 'ECONNRESET', 'beyond maxConnections: reset');
  let count = -1;
  s1.getConnections((_e, n) => (count = n));
  await settle(net.clock, () => count >= 0);
  t.equal(count, 1);
  t.equal(a.readyState, 'open');
  t.same(a.address(), { address: '10.0.0.1', family: 'IPv4', port: a.localPort });
  a.destroySoon();
  let closed = false;
  s1.close(() => (closed = true));
  await settle(net.clock, () => closed);
  t.equal(a.readyState, 'closed');
  s2.close();
  s3.close();
});
