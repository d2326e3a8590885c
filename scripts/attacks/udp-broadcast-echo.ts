// udp-broadcast-echo: 200 datagrams to the echo port at the subnet's and the limited broadcast
// address (one spoofed packet would make every echo host answer: "fraggle"). Held when the stack
// answers none of them and still echoes a unicast datagram.
import { startTapstack, type Netns } from '../netns.js';
import { counters, STACK_IP, type Attack } from './attack.js';

const SEND_PY = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(('10.0.0.1', 0))
for i in range(100):
    for dst in ('10.0.0.255', '255.255.255.255'):
        s.sendto(b'x' * 512, (dst, 7))
`;

export const udpBroadcastEcho: Attack = {
  name: 'udp-broadcast-echo',
  describe: '200 UDP datagrams to port 7 at 10.0.0.255 and 255.255.255.255; no echo may come back',
  async run(ns: Netns) {
    await startTapstack(ns, ['--access-log', '/dev/null']);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const before = await counters(ns);
    const send = await ns.run(['python3', '-c', SEND_PY], { timeoutMs: 15_000 });
    if (send.code !== 0) throw new Error(`sending broadcasts failed: ${send.stderr}`);
    // Read once the stack has taken all 200 (each is either echoed or ignored), rather than after a
    // fixed pause a loaded machine may outlast; bounded, in case some never arrive.
    const taken = (c: typeof before): number => c('udp.tx.datagrams') + c('udp.echo.broadcastIgnored') - before('udp.tx.datagrams') - before('udp.echo.broadcastIgnored');
    let after = await counters(ns);
    const end = Date.now() + 10_000;
    while (taken(after) < 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      after = await counters(ns);
    }
    const echoed = after('udp.tx.datagrams') - before('udp.tx.datagrams');
    // nc waits this long for the echo after sending: room for a loaded machine.
    const unicast = await ns.run(['nc', '-u', '-w', '3', STACK_IP, '7'], { input: 'still here\n' });
    const works = unicast.stdout === 'still here\n';
    return {
      verdict: echoed === 0 && works ? 'held' : echoed === 0 ? 'degraded' : 'failed',
      figures: { sent: 200, echoed, ignored: after('udp.echo.broadcastIgnored') - before('udp.echo.broadcastIgnored'), unicastEcho: works ? 'yes' : 'no' },
    };
  },
};
