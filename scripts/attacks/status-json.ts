// status-json: 2,000 idle connections make /_stack.json big; 4 loops fetch it for 10 s while a
// legitimate client fetches the home page. Held when that client's p95 stays under 0.5 s.
import { startTapstack, type Netns } from '../netns.js';
import { alive, judge, legitCurls, STACK_IP, type Attack } from './attack.js';

const IDLE_PY = `
import socket, time, sys
socks = []
for i in range(2000):
    try:
        socks.append(socket.create_connection(('10.0.0.2', 9), timeout=2))
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(float(sys.argv[1]))
`;

export const statusJson: Attack = {
  name: 'status-json',
  describe: '4 request loops on /_stack.json with 2,000 idle connections open; a legit client measured',
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    ns.runSync(['sysctl', '-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const idle = ns.run(['python3', '-c', IDLE_PY, '25'], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 6000));
    const loop = `end=$((SECONDS+10)); n=0; while [ $SECONDS -lt $end ]; do curl -s -o /dev/null -m 5 http://${STACK_IP}/_stack.json; n=$((n+1)); done; echo $n`;
    const loops = Array.from({ length: 4 }, () => ns.run(['bash', '-c', loop], { timeoutMs: 30_000 }));
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 20, gapMs: 300, maxSeconds: 5 });
    const fetched = (await Promise.all(loops)).reduce((n, r) => n + Number(r.stdout.trim() || 0), 0);
    const opened = Number((await idle).stdout.split('\n')[0]);
    return {
      verdict: alive(stack) ? judge(web, { ratio: 0.99, p95: 0.5 }, { ratio: 0.9 }) : 'failed',
      figures: { idleConnections: opened, statusFetches: fetched, requests: `${web.ok}/${web.total}`, p95: web.p95 },
    };
  },
};
