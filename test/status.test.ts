import t from 'tap';
import { connect, createServer } from '../lib/socket/index.js';
import { onOwnSubnet, statusOf } from '../lib/status.js';
import { makeTcpNet, settle, A_IP, B_IP } from './helpers/tcp-net.js';

t.test('the status snapshot shows the interface, ARP, connections, listeners, TIME-WAIT and counters', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const status = statusOf(net.b.stack, net.b.tcp, 'tap9');
  createServer(net.b.tcp, (s) => s.on('data', () => {}).on('end', () => s.end())).listen(80);
  const c = connect(net.a.tcp, { host: B_IP, port: 80 });
  c.on('data', () => {});
  await settle(net.clock, () => c.readyState === 'open');
  c.write('hello');
  await settle(net.clock, () => net.b.stack.counters.get('tcp.rx.bytes') + net.b.stack.counters.get('rx.handled.tcp') > 0);

  let s = status();
  t.same(s.interface, { tap: 'tap9', mac: s.interface.mac, ip: `${B_IP}/24`, mtu: 1500, pathMtu: 1500, offload: 'off' });
  t.match(s.interface.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  t.match(s.arp, [{ ip: A_IP, state: 'reachable' }], 'the peer is in the ARP cache');
  t.ok(s.arp[0]!.expiresInMs! > 0);
  t.same(s.listeners, [{ port: 80, synQueue: 0, acceptQueue: 0, backlog: s.listeners[0]!.backlog }]);
  t.equal(s.connections.length, 1);
  const conn = s.connections[0]!;
  t.equal(conn.local, `${B_IP}:80`);
  t.match(conn.remote, new RegExp(`^${A_IP.replace(/\./g, '\\.')}:\\d+$`));
  t.equal(conn.state, 'ESTABLISHED');
  t.equal(conn.mss, 1448, 'MSS 1460 less 12 bytes of timestamp option, as Linux sends');
  t.equal(conn.retransmissions, 0);
  t.equal(conn.sndUnaRelative, 1, 'our SYN acknowledged: relative SND.UNA 1');
  t.equal(conn.rcvNxtRelative, 1, 'the SYN received: relative RCV.NXT 1');
  await settle(net.clock, () => status().connections[0]!.rcvNxtRelative === 6);
  t.equal(status().connections[0]!.rcvNxt, (conn.rcvNxt + 5) >>> 0, '"hello" received: relative RCV.NXT 6, 5 bytes on');
  t.equal(conn.ssthresh, null, 'no loss yet: ssthresh is still "arbitrarily high"');
  t.equal(conn.receiveHoles, 0);
  t.ok(s.counters['rx.handled.tcp']! > 0, 'counters included');

  // The client closes first, so the server side is the one that does not end in TIME-WAIT.
  c.end();
  await settle(net.clock, () => c.destroyed);
  s = status();
  t.same(s.connections, [], 'no live connection left on the server');
  const clientSide = statusOf(net.a.stack, net.a.tcp, 'tap8')();
  t.equal(clientSide.timeWait.length, 1, 'the side that closed first holds TIME-WAIT');
  t.equal(clientSide.timeWait[0]!.remote, `${B_IP}:80`);
  t.equal(clientSide.timeWait[0]!.expiresInMs, 60_000, '2 x MSL (30 s) left, on fake time');
});

t.test('the snapshot counts every connection but describes only the first `limit`', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  createServer(net.b.tcp, (s) => s.resume()).listen(80);
  const clients = Array.from({ length: 5 }, () => connect(net.a.tcp, { host: B_IP, port: 80 }).resume());
  await settle(net.clock, () => clients.every((c) => c.readyState === 'open'));
  const s = statusOf(net.b.stack, net.b.tcp, 'tap9')(2);
  t.equal(s.connections.length, 2);
  t.same(s.summary, { connections: 5, states: { ESTABLISHED: 5 }, timeWait: 0 });
  t.equal(statusOf(net.b.stack, net.b.tcp, 'tap9')().connections.length, 5, 'no limit: all of them');
});

t.test('onOwnSubnet: --status local admits the stack\'s own subnet only', async (t) => {
  const net = makeTcpNet();
  t.teardown(() => net.close());
  const local = onOwnSubnet(net.b.stack);
  t.equal(local(A_IP), true, 'the peer on the same /24');
  t.equal(local('10.0.1.1'), false, 'routed in from another subnet');
  t.equal(local('::1'), false);
  t.equal(local(undefined), false);
});
