// access-log: the reader of the stack's stdout (where the access log goes) stops reading, and
// 3,000 requests with 15 KB User-Agents arrive. Held when the stack's memory grows by less than
// 50 MB (bounded log buffer, lines dropped and counted) and it still serves.
import { startTapstack, type Netns } from '../netns.js';
import { alive, counters, legitCurls, rssMb, STACK_IP, type Attack } from './attack.js';

export const accessLog: Attack = {
  name: 'access-log',
  describe: 'stdout stalled, 3,000 requests with 15 KB User-Agents; memory must stay bounded',
  async run(ns: Netns) {
    const stack = await startTapstack(ns);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    const pid = stack.proc.pid!;
    const before = rssMb(pid);
    stack.proc.stdout!.pause();
    const ua = 'A'.repeat(15_000);
    // ab keeps one connection alive per client: 3,000 requests, 4 at a time.
    await ns.run(['ab', '-q', '-k', '-n', '3000', '-c', '4', '-s', '5', '-H', `User-Agent: ${ua}`, `http://${STACK_IP}/`], { timeoutMs: 120_000 });
    const after = rssMb(pid);
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 5, gapMs: 100, maxSeconds: 3 });
    const c = await counters(ns);
    stack.proc.stdout!.resume();
    const grew = after - before;
    return {
      verdict: !alive(stack) || web.ok === 0 ? 'failed' : grew < 50 ? 'held' : 'degraded',
      figures: { rssBeforeMb: Math.round(before), rssAfterMb: Math.round(after), requests: `${web.ok}/${web.total}`, logDropped: c('http.log.dropped') },
    };
  },
};
