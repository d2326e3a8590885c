// End to end against the Linux kernel (issue 10): the web server's resources stay bounded
// under abuse: a stalled reader of the access log on stdout, /_stack with many connections.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { e2eScratchDir, Netns, startTapstack, type RunningStack } from '../helpers/netns.js';
import type { StackStatus } from '../../lib/http/status-page.js';

/** Resident memory of a process, in MiB (from /proc: `ip netns exec` execs the command in place). */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** `/_stack.json` (with `query`), fetched from inside the namespace. */
async function stackJson(ns: Netns, query = ''): Promise<StackStatus> {
  const r = await ns.run(['curl', '-sS', '--max-time', '20', `http://10.0.0.2/_stack.json${query}`], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as StackStatus;
}

/** The stack's counters from `/_stack.json`. */
async function counters(ns: Netns): Promise<Record<string, number>> {
  return (await stackJson(ns)).counters;
}

/** Hold `n` idle TCP connections to 10.0.0.2:`port` open from the namespace (python3, ended on teardown). */
function holdConnections(ns: Netns, n: number, port: number): void {
  const script = `import socket, sys, time
s = []
for i in range(${n}):
    c = socket.create_connection(('10.0.0.2', ${port}), timeout=10)
    s.append(c)
print('open', flush=True)
time.sleep(120)`;
  ns.spawn(['python3', '-c', script]);
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

  t.test('/_stack.json with 600 connections: a summary and the first 100, ?all=1 for the rest; --status off and local (issue 10 item 6)', async (t) => {
    const ns = Netns.create(t);
    const stack = await startTapstack(ns, ['--status', 'local']);
    holdConnections(ns, 600, 9);
    await ns.waitFor(['bash', '-c', 'ss -Htn state established dst 10.0.0.2:9 | wc -l'], /^(6\d\d|[7-9]\d\d)$/m, 60_000);
    const first = await stackJson(ns);
    t.ok(first.summary.connections >= 600, `the summary counts ${first.summary.connections} connections`);
    t.equal(first.connections.length, 100, 'the first 100 are listed');
    const all = await stackJson(ns, '?all=1');
    t.ok(all.connections.length >= 600, `?all=1 lists ${all.connections.length}`);
    t.equal(all.connections.length, all.summary.connections, 'every one of them (under the 5000 cap)');
    const page = await ns.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', 'http://10.0.0.2/_stack'], { timeoutMs: 30_000 });
    t.match(page.stdout, /^200 /, `--status local: the kernel side, on the stack's subnet, sees /_stack (${page.stdout} bytes)`);
    t.equal((await stack.stop()).code, 0);

    const off = await startTapstack(ns, ['--status', 'off']);
    const gone = await ns.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.0.0.2/_stack.json'], { timeoutMs: 30_000 });
    t.equal(gone.stdout, '404', '--status off: /_stack.json is 404');
    t.equal((await off.stop()).code, 0);
  });
}
