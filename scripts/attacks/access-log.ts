// access-log: the reader of the stack's stdout (where the access log goes) stops reading, and
// 3,000 requests with 15 KB User-Agents arrive. Held when the stack's memory grows by less than
// 50 MB (bounded log buffer, lines dropped and counted) and it still serves.
import { startTapstack, type Netns } from '../netns.js';
import { alive, counters, legitCurls, rssMb, STACK_IP, type Attack } from './attack.js';

// Keep-alive requests with a 15 KB User-Agent, reconnecting when the server closes; prints how many got a 200.
const HUGE_UA_PY = `
import http.client, sys
ua, ok, conn = 'A' * 15000, 0, None
for i in range(int(sys.argv[1])):
    try:
        conn = conn or http.client.HTTPConnection('10.0.0.2', 80, timeout=5)
        conn.request('GET', '/', headers={'User-Agent': ua})
        r = conn.getresponse()
        r.read()
        ok += r.status == 200
    except Exception:
        conn = None
print(ok)
`;

export const accessLog: Attack = {
  name: 'access-log',
  describe: 'stdout stalled, 3,000 requests with 15 KB User-Agents; memory must stay bounded',
  async run(ns: Netns) {
    const stack = await startTapstack(ns);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const pid = stack.proc.pid!;
    const before = rssMb(pid);
    stack.proc.stdout!.pause();
    const ab = await ns.run(['python3', '-c', HUGE_UA_PY, '3000'], { timeoutMs: 120_000 });
    const completed = Number(ab.stdout.trim()) || 0;
    const after = rssMb(pid);
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 5, gapMs: 100, maxSeconds: 3 });
    const c = await counters(ns);
    stack.proc.stdout!.resume();
    const grew = after - before;
    return {
      verdict: !alive(stack) || web.ok === 0 ? 'failed' : grew < 50 && completed > 0 ? 'held' : 'degraded',
      figures: { hugeRequestsServed: completed, rssBeforeMb: Math.round(before), rssAfterMb: Math.round(after), requests: `${web.ok}/${web.total}`, logDropped: c('http.log.dropped') },
    };
  },
};
