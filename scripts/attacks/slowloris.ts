// slowloris: 600 connections from one address (10.0.0.1) that send a request's headers one line
// every few seconds and never finish, while another address (10.0.0.3) fetches pages. Held when
// the other client is served throughout (a per-client limit under the global cap).
import { startTapstack, type Netns } from '../netns.js';
import { alive, judge, legitCurls, STACK_IP, type Attack } from './attack.js';

const SLOW_PY = `
import socket, time, sys
socks = []
for i in range(600):
    try:
        s = socket.create_connection(('10.0.0.2', 80), timeout=2)
        s.send(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n')
        socks.append(s)
    except OSError:
        pass
print(len(socks), flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for s in socks:
        try:
            s.send(b'X-a: b\\r\\n')
        except OSError:
            pass
    time.sleep(2)
`;

export const slowloris: Attack = {
  name: 'slowloris',
  describe: '600 never-finished requests from 10.0.0.1; another client (10.0.0.3) fetches pages',
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    ns.runSync(['ip', 'addr', 'add', '10.0.0.3/24', 'dev', 'tap0']);
    ns.runSync(['sysctl', '-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const slow = ns.run(['python3', '-c', SLOW_PY, '20'], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 4000));
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 20, gapMs: 300, maxSeconds: 3, from: '10.0.0.3' });
    const opened = Number((await slow).stdout.split('\n')[0]);
    return {
      verdict: alive(stack) ? judge(web, { ratio: 0.99, p95: 1 }, { ratio: 0.8 }) : 'failed',
      figures: { slowConnections: opened, otherClient: `${web.ok}/${web.total}`, p95: web.p95 },
    };
  },
};
