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

/**
 * Where the test's own status requests come from: 10.0.0.1 (the kernel side's address), or a
 * second address of the kernel side once 10.0.0.1 is over its connection cap.
 */
let statusFrom = '10.0.0.1';

/** `/_stack.json` (with `query`), fetched from inside the namespace. */
async function stackJson(ns: Netns, query = ''): Promise<StackStatus> {
  const r = await ns.run(['curl', '-sS', '--max-time', '20', '--interface', statusFrom, `http://10.0.0.2/_stack.json${query}`], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as StackStatus;
}

/** The stack's counters from `/_stack.json`. */
async function counters(ns: Netns): Promise<Record<string, number>> {
  return (await stackJson(ns)).counters;
}

/**
 * Hold `n` TCP connections to 10.0.0.2:`port` from the namespace, each sending `send` once and
 * then never reading (python3 with a small receive buffer; ended on teardown).
 */
async function holdConnections(ns: Netns, n: number, port: number, send = ''): Promise<void> {
  const script = `import socket, time
s = []
for i in range(${n}):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(10)
    c.connect(('10.0.0.2', ${port}))
    c.sendall(${JSON.stringify(send)}.encode())
    s.append(c)
print('open', flush=True)
time.sleep(120)`;
  const child = ns.spawn(['python3', '-c', script]);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', () => reject(new Error(`the client script ended: ${err}`)));
  });
}

/** Connections on the stack with local port `port`, from `/_stack.json?all=1`. */
async function connectionsOn(ns: Netns, port: number): Promise<number> {
  return (await stackJson(ns, '?all=1')).connections.filter((c) => c.local === `10.0.0.2:${port}`).length;
}

/** Poll `check` until it holds (bounded by `ms`); returns whether it did. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
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
    await holdConnections(ns, 600, 9);
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

  t.test('abandoned connections are reclaimed: send timeout, per-address cap, service idle timeout (issue 10 item 2)', async (t) => {
    const ns = Netns.create(t);
    const stack = await startTapstack(ns, ['--send-timeout', '2000', '--service-idle-timeout', '2000']);
    ns.runSync(['ip', 'addr', 'add', '10.0.0.3/24', 'dev', 'tap0']);
    statusFrom = '10.0.0.3';
    t.teardown(() => (statusFrom = '10.0.0.1'));

    // A client that asks for 4 MiB and never reads: its window closes, nothing moves.
    await holdConnections(ns, 1, 80, 'GET /download/4MiB.bin HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
    t.ok(await eventually(async () => (await counters(ns))['http.close.sendTimeout'] === 1, 20_000), 'the non-reading client is cut by the 2 s send timeout');
    t.ok(await eventually(async () => (await connectionsOn(ns, 80)) === 1, 10_000), 'and its connection is gone (only our own /_stack.json request is left)');

    // 600 slowloris connections from 10.0.0.1; another client address must still be served.
    await holdConnections(ns, 600, 80, 'GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n');
    const other = await ns.run(['curl', '-sS', '--max-time', '20', '--interface', '10.0.0.3', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.0.0.2/'], { timeoutMs: 30_000 });
    t.equal(other.stdout, '200', 'a client at 10.0.0.3 is served while 10.0.0.1 holds 600 connections');
    // Each refusal is counted when the web server takes the connection, which may come after the
    // client's connect() returned (the handshake completes in TCP first).
    let rejected: number | undefined;
    await eventually(async () => (rejected = (await counters(ns))['http.reject.maxConnectionsPerIp']) !== undefined && rejected >= 536, 20_000);
    t.ok(rejected! >= 536, `${rejected} of the 600 got 503 past 64 for one address`);

    // Echo clients that vanish: their packets are dropped from now on, so only the idle timeout can end them.
    await holdConnections(ns, 50, 7, 'hello');
    t.ok(await eventually(async () => (await connectionsOn(ns, 7)) === 50, 20_000), '50 echo connections open');
    ns.runSync(['nft', 'add table inet vanish; add chain inet vanish out { type filter hook output priority 0; }; add rule inet vanish out tcp dport 7 drop; add chain inet vanish in { type filter hook input priority 0; }; add rule inet vanish in tcp sport 7 drop']);
    t.ok(await eventually(async () => (await connectionsOn(ns, 7)) === 0, 20_000), 'all 50 reclaimed by the 2 s service idle timeout');
    t.equal((await counters(ns))['service.echo.close.idle'], 50);
    t.equal((await stack.stop()).code, 0);
  });
}
