// End to end against the Linux kernel (issue 10): the web server's resources stay bounded
// under abuse. A stalled reader of the access log on stdout.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { e2eScratchDir, Netns, startTapstack, type RunningStack } from '../helpers/netns.js';

/** Resident memory of a process, in MiB (from /proc: `ip netns exec` execs the command in place). */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** The stack's counters from `/_stack.json`, fetched from inside the namespace. */
async function counters(ns: Netns): Promise<Record<string, number>> {
  const r = await ns.run(['curl', '-sS', '--max-time', '20', 'http://10.0.0.2/_stack.json'], { timeoutMs: 30_000 });
  return (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters;
}

const dir = e2eScratchDir(t, 'http-hardening');
if (dir !== undefined) {
  t.test('access log on stdout whose reader stalls: lines are counted and dropped, memory stays bounded (issue 10 item 7)', async (t) => {
    const ns = Netns.create(t);
    const stack: RunningStack = await startTapstack(ns);
    const pid = stack.proc.pid!;
    stack.proc.stdout!.pause(); // we stop reading: the pipe fills, then tapstack's stdout queues
    t.teardown(() => stack.proc.stdout!.resume());
    const userAgent = 'u'.repeat(15_000);
    // One curl, one keep-alive connection, 3000 requests, 45 MB of log lines (ab cuts headers this long).
    const burst = async (): Promise<void> => {
      const curl = await ns.run(['bash', '-c', `curl -sS -A ${userAgent} -w '%{http_code}\\n' 'http://10.0.0.2/?[1-3000]' | grep -c '^200$'`], { timeoutMs: 180_000 });
      t.equal(curl.stdout.trim(), '3000', `3000 requests with 15 KB User-Agents, all 200 ${curl.stderr.slice(0, 200)}`);
    };
    await burst(); // the first burst fills the log's buffer and grows the heap to its working size
    const before = rssMiB(pid);
    await burst();
    const grown = rssMiB(pid) - before;
    const c = await counters(ns);
    t.ok(c['http.log.dropped']! > 5500, `${c['http.log.dropped']} of 6000 log lines dropped and counted`);
    t.ok(grown < 20, `RSS grew ${grown.toFixed(1)} MiB over the second 45 MB of unread lines (${before.toFixed(0)} MiB before)`);
    stack.proc.stdout!.resume();
    t.equal((await stack.stop()).code, 0, 'clean exit once the reader is back');
  });
}
