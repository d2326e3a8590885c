// The echo and discard services are bounded (issue 10 item 2): a connection cap, an idle
// timeout that reclaims clients that went away, keep-alive on. Two stacks, fake time.
import t from 'tap';
import { connect, startDiscardService, startEchoService, type Socket } from '../../lib/socket/index.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

/** A client that records how it ended. */
function client(net: ReturnType<typeof makeTcpNet>, port: number): { c: Socket; error: () => string | undefined; closed: () => boolean } {
  const c = connect(net.a.tcp, { host: B_IP, port });
  let error: string | undefined;
  let closed = false;
  c.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
  c.on('close', () => (closed = true));
  c.resume();
  return { c, error: () => error, closed: () => closed };
}

t.test('an echo connection idle for the idle timeout is reset and its TCB freed; activity keeps it', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  startEchoService(net.b.tcp, 7, { idleTimeoutMs: 10_000 });
  const busy = client(net, 7);
  const idle = client(net, 7);
  await settle(net.clock, () => busy.c.readyState === 'open' && idle.c.readyState === 'open');
  const from = net.clock.now();
  const keepBusy = setInterval(() => busy.c.write('x'), 0);
  t.teardown(() => clearInterval(keepBusy));
  // Our client never writes again, as if it had gone: only the idle timeout can reclaim it.
  await settle(net.clock, () => idle.closed(), 30_000, 100);
  const after = net.clock.now() - from;
  t.ok(after >= 10_000 && after < 11_000, `reset after the 10 s idle timeout (${after} ms)`);
  t.equal(idle.error(), 'ECONNRESET');
  t.equal(busy.closed(), false, 'a connection in use is kept');
  t.equal([...net.b.tcp.core.connections()].length, 1, 'only the busy one is left on the server');
  t.equal(net.b.counters.get('service.echo.close.idle'), 1);
});

t.test('beyond maxConnections a new connection is reset; keep-alive is on', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  startDiscardService(net.b.tcp, 9, { maxConnections: 2 });
  const kept = [client(net, 9), client(net, 9)];
  await settle(net.clock, () => kept.every((k) => k.c.readyState === 'open'));
  const third = client(net, 9);
  await settle(net.clock, () => third.closed());
  t.equal(third.error(), 'ECONNRESET', 'the third is reset');
  t.equal(net.b.counters.get('service.discard.reject.maxConnections'), 1);
  t.ok(kept.every((k) => !k.closed()), 'the first two stay');
  t.ok([...net.b.tcp.core.connections()].every((c) => c.keepAliveOn), 'keep-alive on every service connection');
});
