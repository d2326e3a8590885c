// status-json: 2,000 idle connections make /_stack.json big; 4 loops fetch it for 10 s while a
// legitimate client fetches the home page. Held when that client's p95 stays under 0.5 s.
import { startTapstack, type Netns } from '../netns.js';
import { alive, holdSockets, judge, legitCurls, STACK_IP, type Attack } from './attack.js';

export const statusJson: Attack = {
  name: 'status-json',
  describe: '4 request loops on /_stack.json with 2,000 idle connections open; a legit client measured',
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    ns.runSync(['sysctl', '-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const idle = await holdSockets(ns, 2000, `s = socket.create_connection(('${STACK_IP}', 9), timeout=2)`, 25);
    const loop = `end=$((SECONDS+10)); n=0; while [ $SECONDS -lt $end ]; do curl -s -o /dev/null -m 5 http://${STACK_IP}/_stack.json; n=$((n+1)); done; echo $n`;
    const loops = Array.from({ length: 4 }, () => ns.run(['bash', '-c', loop], { timeoutMs: 30_000 }));
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 20, gapMs: 300, maxSeconds: 5 });
    const fetched = (await Promise.all(loops)).reduce((n, r) => n + Number(r.stdout.trim() || 0), 0);
    const opened = idle.opened;
    await idle.done;
    return {
      verdict: alive(stack) ? judge(web, { ratio: 0.99, p95: 0.5 }, { ratio: 0.9 }) : 'failed',
      figures: { idleConnections: opened, statusFetches: fetched, requests: `${web.ok}/${web.total}`, p95: web.p95 },
    };
  },
};
