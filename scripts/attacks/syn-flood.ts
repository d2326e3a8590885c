// syn-flood: `hping3 --flood --rand-source` SYNs to port 80 for 15 s while a legitimate client
// fetches a page every 200 ms. Held: ≥ 99 % of its requests served with p95 under 1.1 s (at
// most one SYN retransmission). Also shows what the kernel dropped at the tap queue before the
// stack read it, the stack's SYN cookies, and the flood SYNs it dropped unanswered (first-drop,
// lib/tcp/syn-flood-filter.ts).
import { startTapstack, type Netns } from '../netns.js';
import { alive, counters, judge, legitCurls, STACK_IP, type Attack } from './attack.js';

const SECONDS = 15;

export const synFlood: Attack = {
  name: 'syn-flood',
  describe: `hping3 --flood --rand-source -S to port 80 for ${SECONDS} s; a legit curl every 200 ms`,
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    await ns.run(['ping', '-c', '2', '-W', '2', STACK_IP]);
    const droppedBefore = tapTxDropped(ns);
    const flood = ns.run(['timeout', String(SECONDS), 'hping3', '--flood', '--rand-source', '-S', '-p', '80', STACK_IP], { timeoutMs: (SECONDS + 10) * 1000 });
    await new Promise((r) => setTimeout(r, 1000));
    const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 50, gapMs: 200, maxSeconds: 5 });
    await flood;
    const c = await counters(ns);
    return {
      verdict: alive(stack) ? judge(web, { ratio: 0.99, p95: 1.1 }, { ratio: 0.9 }) : 'failed',
      figures: {
        requests: `${web.ok}/${web.total}`, p95: web.p95,
        synsSeen: c('tcp.rx.segments'), cookies: c('tcp.synCookie.sent'), firstDropped: c('tcp.synFlood.firstDropped'), tapQueueDropped: tapTxDropped(ns) - droppedBefore,
      },
    };
  },
};

/** Frames the kernel could not queue to the tap's reader (TX dropped of tap0, as `ip -s link` shows). */
export function tapTxDropped(ns: Netns): number {
  return Number(ns.runSync(['cat', '/sys/class/net/tap0/statistics/tx_dropped']).stdout.trim()) || 0;
}
