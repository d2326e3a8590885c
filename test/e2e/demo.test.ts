// `npm run demo` end to end (issue 6): the built script as root runs every classic experiment
// against tapstack in its own namespace and its output shows each expected result; afterwards no
// namespace and no process of it is left, also when it is interrupted with Ctrl-C.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { e2eSkipReason, ensureTools, repoRoot, tsharkProblems } from '../helpers/netns.js';

const demoJs = path.join(repoRoot, 'dist/scripts/demo.js');
const skip = e2eSkipReason() ?? (existsSync(demoJs) ? undefined : 'dist/scripts/demo.js is missing: build with `npx tsc -p tsconfig.build.json`') ?? ensureTools();
if (skip !== undefined) t.comment(`skipping the demo: ${skip}`);

const PATH = process.env.PATH ?? '/usr/bin:/bin';

type Run = { code: number | null; signal: NodeJS.Signals | null; out: string };

/** Run the built demo with a clean environment (tap's loaders must not follow it); `interruptAt` sends SIGINT once stdout matches. */
function runDemo(args: string[], interruptAt?: RegExp): Promise<Run> {
  return new Promise((resolve) => {
    // `env -i`: tap wraps spawn to inject its loaders through the environment; the demo runs bare.
    const child = spawn('env', ['-i', `PATH=${PATH}`, process.execPath, demoJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (interruptAt !== undefined && !sent && interruptAt.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

/** Nothing of the demo is left: its namespace is gone and the stacks it started have exited. */
function nothingLeft(t: Test, out: string): void {
  const ns = /^namespace (ts-\d+-\d+):/m.exec(out)?.[1];
  t.ok(ns, 'the demo names its namespace');
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  t.notOk(list.split('\n').some((l) => l.split(' ')[0] === ns), `namespace ${ns} deleted`);
  for (const m of out.matchAll(/\(pid (\d+)\)/g)) {
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    t.notOk(alive, `tapstack pid ${m[1]} has exited`);
  }
}

t.test('the whole demo: each experiment shows its expected result', { skip: skip ?? false, timeout: 130_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tapstack-demo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const started = Date.now();
  const r = await runDemo(['--out', dir]);
  t.equal(r.code, 0, 'exit 0', { output: r.out.slice(-3000) });
  t.ok(Date.now() - started < 100_000, `bounded (${Math.round((Date.now() - started) / 1000)} s)`);
  const o = r.out;
  // ARP and ping
  t.match(o, /RX #\d+ ARP who-has 10\.0\.0\.2 tell 10\.0\.0\.1\n {7}↳ ARP request/, 'ARP request, explained');
  t.match(o, /TX #\d+ ARP 10\.0\.0\.2 is-at /, 'ARP reply');
  t.match(o, /3 packets transmitted, 3 received/, 'ping: 3 replies');
  t.match(o, /ICMP echo reply .*\n {7}↳ Echo reply from 10\.0\.0\.2 to #\d+/);
  // DF probes at 1500
  t.match(o, /1480 bytes from 10\.0\.0\.2/, 'DF 1472 fits');
  t.match(o, /ping: local error: message too long, mtu=1500/, 'DF 1473 refused locally');
  // curl keep-alive, favicon 404
  t.match(o, /Re-using existing connection/, 'one keep-alive connection');
  t.match(o, /\[SYN\] Seq=0 Win=\d+ Len=0 MSS=1460 SACK_PERM TSval=\d+ TSecr=0 WS=\d+/, 'the SYN with relative Seq=0');
  t.match(o, /↳ Ack=\d+ = 1 \+ \d+ bytes of "GET \/ HTTP\/1\.1" \(#\d+\)/, 'the ACK arithmetic of the request');
  t.match(o, /"HTTP\/1\.1 404 Not Found"/, 'the favicon 404');
  t.match(o, /1448 = MSS 1460 − 12 bytes of timestamp option/, 'MSS-sized segments');
  // DNS and wget (issue 11): ARP, the query and its answer, the GET, the headers, the access log line
  t.match(o, /== \d+\. DNS and wget[^\n]*\n[^\n]*\n\$ wget -S -O \/dev\/null http:\/\/tapstack\.test\/[\s\S]*?RX #\d+ ARP who-has 10\.0\.0\.2 tell 10\.0\.0\.1/, 'ARP again after the flush');
  t.match(o, /RX #\d+ 10\.0\.0\.1:\d+ > 10\.0\.0\.2:53 UDP len=\d+ DNS Standard query 0x[0-9a-f]{4} A tapstack\.test\n.*\n {7}↳ DNS query/, 'the DNS query, explained');
  t.match(o, /TX #\d+ 10\.0\.0\.2:53 > 10\.0\.0\.1:\d+ UDP len=\d+ DNS Standard query response 0x[0-9a-f]{4} A tapstack\.test A 10\.0\.0\.2\n.*\n {7}↳ DNS answer to #\d+/, 'its answer, explained');
  t.match(o, /↳ \d+ bytes of data: "GET \/ HTTP\/1\.1" from the client[\s\S]*?"HTTP\/1\.1 200 OK"/, 'the GET and the answer');
  t.match(o, /\| +HTTP\/1\.1 200 OK\n(?:.*\n)*? {2}\| +Content-Type: text\/html/, 'wget -S shows the headers');
  t.match(o, /access log \(its stdout\):\n {2}\| 10\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "Wget\//, 'the access log line');
  // the idle close: TIME-WAIT on tapstack
  t.match(o, /after 5\.\d s idle, the keep-alive timeout/, 'the server closes the idle connection');
  t.match(o, /state 10\.0\.0\.2:80 ↔ 10\.0\.0\.1:\d+ FIN-WAIT-2 -> TIME-WAIT\n {7}↳ The server \(10\.0\.0\.2:80\) closed first/, 'tapstack in TIME-WAIT, explained');
  t.match(o, /TIME-WAIT 10\.0\.0\.2:80 <-> 10\.0\.0\.1:\d+, expires in 5\d\.\d s/, '/_stack.json shows it');
  // path MTU 1480
  t.match(o, /From 10\.0\.0\.2 icmp_seq=1 Frag needed and DF set \(mtu = 1480\)/, '1453 refused by the path');
  t.match(o, /ICMP frag needed mtu=1480 .*\n {7}↳ ICMP type 3 code 4.*largest ping payload that fits is 1480 − 20 − 8 = 1452 bytes/, 'frag-needed explained');
  t.match(o, /1460 bytes from 10\.0\.0\.2/, '1452 gets through');
  t.match(o, /path MTU to 10\.0\.0\.2: 1480 \(largest DF payload 1452 = 1480 - 20 IP - 8 ICMP\)/, 'pmtu-probe finds 1452');
  // targeted loss: the two drops, SACK and fast retransmits named by the core
  t.match(o, /206 300000 bytes/, 'the download completes despite the loss');
  // The kernel's ACKs for the hole carry SACK blocks; tshark (and the trace) call them Dup ACKs
  // only while the advertised window stays the same, and early in a transfer it still grows.
  t.match(o, /SLE=\d+ SRE=\d+.*\n(.*\n)? {7}↳ SACK: bytes \d+–\d+ arrived beyond the hole/, 'ACKs with SACK blocks for the hole');
  t.equal((o.match(/ DROP #\d+ 10\.0\.0\.2:80 > .*\(--drop 'tx tcp sport=80 len>0 nth=(40|100)'\)/g) ?? []).length, 2, 'the same two drops');
  // The tag follows Wireshark's duplicate-ACK rule, which timing decides: on a loaded machine the
  // first SACK can come later than RACK's reordering window, RACK resends before a second
  // duplicate ACK and the tag is a plain "[TCP Retransmission]". The cause, from the core, is what
  // shows recovery without the timer.
  t.match(o, /\[TCP (Fast )?Retransmission\]\n {7}↳ Retransmission of bytes \d+–\d+, first sent as #\d+: (fast retransmit|SACK recovery|RACK)/, 'a fast retransmit, its cause from the core');
  // the pcaps
  for (const f of ['1-basics.pcap', '2-pmtu.pcap', '3-loss.pcapng']) t.ok(existsSync(path.join(dir, `tapstack-demo-${f}`)), `${f} written`);
  t.match(o, new RegExp(`Captures for Wireshark[^\\n]*\\n  ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/tapstack-demo-1-basics\\.pcap`), 'says where');
  const ts = await tsharkProblems(path.join(dir, 'tapstack-demo-1-basics.pcap'));
  t.equal(ts.stdout, '', 'tshark finds nothing wrong in the basics capture');
  nothingLeft(t, o);
});

t.test('Chinese explanations pass through; Ctrl-C cleans up', { skip: skip ?? false, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tapstack-demo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runDemo(['--lang', 'zh', '--out', dir], /== 4\. /);
  t.equal(r.code, 130, 'exit 130 after SIGINT', { output: r.out.slice(-2000) });
  t.match(r.out, /↳ ARP 请求，广播给链路上所有主机/, 'explanations in Chinese');
  t.match(r.out, /demo: SIGINT: cleaning up/);
  nothingLeft(t, r.out);
});

t.test('not root: a clear error', { skip: skip ?? false }, async (t) => {
  const r = spawnSync('env', ['-i', `PATH=${PATH}`, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, demoJs], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.equal(r.stderr, 'demo: needs root on Linux (network namespaces and a TAP device): sudo npm run demo\n');
});
