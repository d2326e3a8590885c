// `npm run demo [-- --lang zh] [--out DIR]` (root): the classic experiments of CLASSIC-CAPTURES.md
// with the real kernel tools against tapstack, each step titled, with the stack's explained trace
// (--explain) printed as it goes. Everything happens in a throwaway network namespace
// (scripts/netns.ts) that is deleted at the end — also on Ctrl-C and on failure — with every
// process started in it. Three runs of the stack, one pcap each (written to --out, default the
// current directory): the basics (ARP, ping, DF probes, curl keep-alive, DNS and wget, the idle
// close and TIME-WAIT), a narrower path (--path-mtu 1480: the 1452/1453 boundary, ping and pmtu-probe), and
// targeted loss (--drop: the same two data segments dropped every run, SACK blocks and fast
// retransmits, each drop at its place in trace and pcapng).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Netns, repoRoot, startTapstack, type RunningStack, type RunResult } from './netns.js';

const USAGE = `Usage: npm run demo [-- --lang en|zh] [--out DIR]

Walks through the classic TCP/IP experiments against tapstack in a throwaway network namespace,
with the kernel's own tools (arping, ping, curl, wget, nc, pmtu-probe), printing tapstack's explained
trace after each step. Needs root (network namespaces and a TAP device). Takes about half a minute.

  --lang LANG   language of the explanations: en (default) or zh
  --out DIR     where the pcap files go (default: the current directory)
  -h, --help    this text
`;

const STACK = '10.0.0.2';
/** The loss step's drops: tapstack's 40th and 100th data segments on port 80 (retransmissions count too). */
const DROPS = ['tx tcp sport=80 len>0 nth=40', 'tx tcp sport=80 len>0 nth=100'];
const NOTE = '    ↳ ';

/** Step titles and the one thing to notice, per language (the explanations come from the stack). */
const TEXT = {
  en: {
    start: 'Starting tapstack',
    arp: 'ARP: who has 10.0.0.2?',
    arpNote: 'Before the first IP packet, the kernel must learn 10.0.0.2\'s MAC address: a broadcast request, a unicast reply, then it is cached.',
    ping: 'ping: ICMP echo',
    df: 'DF probes: 1472 bytes fit, 1473 do not',
    dfNote: '1472 + 8 ICMP + 20 IP = 1500 = the tap\'s MTU. 1473 would need 1501 bytes and DF forbids fragments: the kernel refuses it locally, no packet leaves (nothing in the trace).',
    curl: 'curl -v: / and /favicon.ico on one keep-alive connection',
    curlNote: 'One handshake, two requests ("Re-using existing connection"), the favicon answered 404; curl closes first when it exits, so TIME-WAIT is on the client (the kernel) this time.',
    dns: 'DNS and wget: the name tapstack.test, then the page (the nginx + wget capture)',
    dnsNote: 'The namespace\'s resolv.conf says "nameserver 10.0.0.2", and its ARP cache is flushed: ARP first, then wget asks tapstack over UDP for tapstack.test, gets 10.0.0.2, opens the connection and sends its GET. The server writes one access-log line per request.',
    accessLog: 'tapstack\'s access log (its stdout):',
    idle: 'The idle keep-alive connection: the server closes first and sits in TIME-WAIT',
    idleNote: 'nc sends one request and stays silent; after the 5 s keep-alive timeout tapstack sends its FIN first, so tapstack is the side in TIME-WAIT (2×MSL = 60 s).',
    status: 'tapstack\'s own view (/_stack.json): TIME-WAIT entries',
    pmtu: 'A narrower path: tapstack restarted with --path-mtu 1480',
    pmtuPing: 'ping -M do: 1453 is refused with "frag needed, mtu 1480", 1452 gets through',
    pmtuNote: '1452 + 8 + 20 = 1480 fits; 1453 needs 1481. The kernel learns mtu 1480 from the ICMP error and caches it (ip route get).',
    probe: 'scripts/pmtu-probe: the same search, automated',
    loss: `Targeted loss (${DROPS.map((d) => `--drop '${d}'`).join(' ')}): SACK blocks and fast retransmits`,
    lossNote: 'A 300 kB download; tapstack\'s 40th and 100th data segments are dropped between the stack and the tap, the same two every run. Below: each drop, the duplicate ACKs with their SACK blocks, and the retransmissions with the cause tapstack\'s TCP core gives.',
    more: (n: number) => `… and ${n} more such packets (all in the pcap)`,
    summary: (r: number, f: number, d: number) => `In all, tapstack saw ${d} duplicate ACKs and sent ${r} retransmissions, ${f} of them fast (duplicate ACKs or SACK recovery, without waiting for the timer).`,
    pcaps: 'Captures for Wireshark (open them with `wireshark FILE` or `tshark -r FILE`):',
    done: 'Done: namespace and processes removed.',
  },
  zh: {
    start: '启动 tapstack',
    arp: 'ARP：谁是 10.0.0.2？',
    arpNote: '发第一个 IP 包之前，内核必须先知道 10.0.0.2 的 MAC 地址：广播请求、单播应答，然后写入 ARP 缓存。',
    ping: 'ping：ICMP 回显',
    df: 'DF 探测：1472 字节放得下，1473 放不下',
    dfNote: '1472 + 8（ICMP）+ 20（IP）= 1500 = tap 的 MTU。1473 需要 1501 字节，DF 又禁止分片：内核在本机就拒绝了，包根本没发出去（抓包里什么也没有）。',
    curl: 'curl -v：在同一条 keep-alive 连接上请求 / 和 /favicon.ico',
    curlNote: '一次三次握手，两个请求（“Re-using existing connection”），favicon 返回 404；curl 退出时先关闭连接，所以这次 TIME-WAIT 在客户端（内核）一侧。',
    dns: 'DNS 与 wget：先查名字 tapstack.test，再取网页（nginx + wget 那份抓包）',
    dnsNote: '命名空间的 resolv.conf 写着“nameserver 10.0.0.2”，ARP 缓存也已清空：先是 ARP，然后 wget 通过 UDP 向 tapstack 查询 tapstack.test，得到 10.0.0.2，再建立连接、发送 GET。服务器为每个请求写一行访问日志。',
    accessLog: 'tapstack 的访问日志（它的标准输出）：',
    idle: '空闲的 keep-alive 连接：服务器先关闭，进入 TIME-WAIT',
    idleNote: 'nc 发一个请求后就不再说话；5 秒 keep-alive 超时后 tapstack 先发 FIN，所以进入 TIME-WAIT（2×MSL = 60 秒）的是 tapstack。',
    status: 'tapstack 自己看到的（/_stack.json）：TIME-WAIT 表',
    pmtu: '更窄的路径：用 --path-mtu 1480 重启 tapstack',
    pmtuPing: 'ping -M do：1453 被拒绝（“需要分片，mtu 1480”），1452 可以通过',
    pmtuNote: '1452 + 8 + 20 = 1480 放得下；1453 需要 1481。内核从 ICMP 差错报文学到 mtu 1480 并缓存起来（ip route get）。',
    probe: 'scripts/pmtu-probe：同样的二分查找，自动完成',
    loss: `定点丢包（${DROPS.map((d) => `--drop '${d}'`).join(' ')}）：选择确认 SACK 与快速重传`,
    lossNote: '下载 300 kB；tapstack 的第 40 和第 100 个数据报文段在协议栈与 tap 之间被丢弃，每次运行都是这两个。下面是每次丢弃、带 SACK 块的重复 ACK，以及重传和 TCP 核心给出的原因。',
    more: (n: number) => `……还有 ${n} 个这样的包（都在 pcap 里）`,
    summary: (r: number, f: number, d: number) => `合计：tapstack 收到 ${d} 个重复 ACK，重传 ${r} 次，其中 ${f} 次是快速重传（重复 ACK 或 SACK 恢复，不等定时器）。`,
    pcaps: '供 Wireshark 打开的抓包文件（`wireshark 文件` 或 `tshark -r 文件`）：',
    done: '完成：命名空间和进程都已清理。',
  },
} as const;

type Lang = keyof typeof TEXT;

/** Cleanups run once, last registered first (the namespace's deletion ends its processes). */
class Cleanup {
  readonly #fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    while (this.#fns.length > 0) {
      try {
        await this.#fns.pop()!();
      } catch {
        // keep cleaning up
      }
    }
  }
}

const out = (s = ''): void => void process.stdout.write(s + '\n');
let stepNo = 0;
function title(s: string): void {
  stepNo++;
  const head = `== ${stepNo}. ${s} `;
  out();
  out(head + '='.repeat(Math.max(4, 78 - head.length)));
}
function note(s: string): void {
  out(`   ${s}`);
}

/** Print a command and its output, indented. */
function shown(argv: string[], r: RunResult, maxLines = 40): void {
  out(`$ ${argv.map((a) => (/[\s'"%$|;()]/.test(a) && argv.length > 1 ? `'${a}'` : a)).join(' ')}`);
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
  for (const l of lines.slice(0, maxLines)) out(`  | ${l}`);
  if (lines.length > maxLines) out(`  | … (${lines.length - maxLines} more lines)`);
  if (r.code !== 0) out(`  (exit ${r.code ?? r.signal})`);
}

/** The trace, split into entries: a packet or state line and the explanation lines under it. */
function entries(text: string): string[][] {
  const all: string[][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(NOTE) && all.length > 0) all[all.length - 1]!.push(line);
    else all.push([line]);
  }
  return all;
}

/** Follows the stack's stderr (the trace): what came since the last call, once it went quiet. */
class TraceTail {
  #from = 0;
  constructor(readonly stack: RunningStack) {}
  async next(quietMs = 400, maxMs = 4000): Promise<string> {
    const start = Date.now();
    let len = this.stack.stderr.length;
    let since = Date.now();
    while (Date.now() - start < maxMs) {
      await sleep(50);
      if (this.stack.stderr.length !== len) {
        len = this.stack.stderr.length;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) break;
    }
    const text = this.stack.stderr.slice(this.#from);
    this.#from = this.stack.stderr.length;
    // Only whole lines; a partial last line waits for the next call.
    const cut = text.lastIndexOf('\n') + 1;
    this.#from -= text.length - cut;
    return text.slice(0, cut);
  }
  async print(quietMs?: number): Promise<string> {
    const text = await this.next(quietMs);
    if (text.trim() !== '') {
      out('   trace:');
      for (const l of text.trimEnd().split('\n')) out(`   ${l}`);
    }
    return text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function start(ns: Netns, args: string[], lang: Lang, pcap: string): Promise<{ stack: RunningStack; tail: TraceTail }> {
  const argv = ['--explain', '--lang', lang, '--pcap', pcap, ...args];
  const stack = await startTapstack(ns, argv);
  out(`$ tapstack ${argv.join(' ')}   (pid ${stack.proc.pid})`);
  for (const l of stack.stdout.trimEnd().split('\n')) out(`  | ${l}`);
  const tail = new TraceTail(stack);
  // The start-up announcements (gratuitous ARP) and the kernel's first frames.
  await tail.print(1200);
  return { stack, tail };
}

/** Run `argv` in the namespace, print it and its output, then the trace it caused. */
async function step(ns: Netns, tail: TraceTail, argv: string[], opts: { timeoutMs?: number; maxLines?: number; quietMs?: number; label?: string[] } = {}): Promise<RunResult> {
  const r = await ns.run(argv, { timeoutMs: opts.timeoutMs ?? 20_000 });
  shown(opts.label ?? argv, r, opts.maxLines);
  await tail.print(opts.quietMs);
  return r;
}

async function demo(lang: Lang, outDir: string, cleanup: Cleanup): Promise<void> {
  const T = TEXT[lang];
  // The loss run's capture keeps its dropped frames with a comment each: pcapng.
  const pcaps = [1, 2, 3].map((n) => path.resolve(outDir, `tapstack-demo-${n}-${['basics', 'pmtu', 'loss'][n - 1]}.${n === 3 ? 'pcapng' : 'pcap'}`));
  const ns = Netns.create(cleanup);
  out(`namespace ${ns.name}: the kernel is 10.0.0.1 on tap0, tapstack is ${STACK}`);

  // ---- run 1: the basics
  title(T.start);
  let { stack, tail } = await start(ns, [], lang, pcaps[0]!);

  title(T.arp);
  note(T.arpNote);
  await step(ns, tail, ['ping', '-c', '1', '-W', '3', STACK]);
  shown(['ip', 'neigh', 'show', 'dev', 'tap0'], await ns.run(['ip', 'neigh', 'show', 'dev', 'tap0']));

  title(T.ping);
  await step(ns, tail, ['ping', '-c', '3', '-i', '0.2', STACK]);

  title(T.df);
  note(T.dfNote);
  await step(ns, tail, ['ping', '-c', '1', '-M', 'do', '-s', '1472', STACK]);
  await step(ns, tail, ['ping', '-c', '1', '-M', 'do', '-s', '1473', STACK]);

  title(T.curl);
  note(T.curlNote);
  await step(ns, tail, ['curl', '-sS', '-v', '-o', '/dev/null', '-o', '/dev/null', `http://${STACK}/`, `http://${STACK}/favicon.ico`], { maxLines: 60 });

  title(T.dns);
  note(T.dnsNote);
  ns.useNameserver(STACK);
  await ns.run(['ip', 'neigh', 'flush', 'dev', 'tap0']);
  await step(ns, tail, ['wget', '-S', '-O', '/dev/null', 'http://tapstack.test/'], { maxLines: 30 });
  out(`   ${T.accessLog}`);
  for (const l of stack.stdout.split('\n').filter((l) => l.includes('Wget'))) out(`  | ${l}`);

  title(T.idle);
  note(T.idleNote);
  // nc's stdin stays open (sleep) so nc itself never closes first; it ends once the server has.
  await step(ns, tail, ['sh', '-c', `r=$( (printf 'GET /favicon.ico HTTP/1.1\\r\\nHost: ${STACK}\\r\\nUser-Agent: nc\\r\\n\\r\\n'; sleep 7) | nc -w 10 ${STACK} 80); echo "$r" | head -n 1`], {
    timeoutMs: 20_000,
    label: [`(printf 'GET /favicon.ico HTTP/1.1\\r\\nHost: ${STACK}\\r\\n\\r\\n'; sleep 7) | nc -w 10 ${STACK} 80`],
  });

  title(T.status);
  const st = await ns.run(['curl', '-sS', '--max-time', '5', `http://${STACK}/_stack.json`]);
  await tail.next();
  try {
    const s = JSON.parse(st.stdout) as { timeWait: { local: string; remote: string; expiresInMs: number }[] };
    out(`$ curl -s http://${STACK}/_stack.json   # .timeWait`);
    for (const e of s.timeWait) out(`  | TIME-WAIT ${e.local} <-> ${e.remote}, expires in ${(e.expiresInMs / 1000).toFixed(1)} s`);
    if (s.timeWait.length === 0) out('  | (none)');
  } catch {
    shown(['curl', `http://${STACK}/_stack.json`], st);
  }
  await stack.stop();

  // ---- run 2: a narrower path
  title(T.pmtu);
  ({ stack, tail } = await start(ns, ['--path-mtu', '1480'], lang, pcaps[1]!));
  await ns.run(['ip', 'route', 'flush', 'cache']);
  await ns.run(['ping', '-c', '1', '-W', '3', STACK]);
  await tail.next();
  title(T.pmtuPing);
  note(T.pmtuNote);
  await step(ns, tail, ['ping', '-c', '1', '-M', 'do', '-s', '1453', STACK]);
  shown(['ip', 'route', 'get', STACK], await ns.run(['ip', 'route', 'get', STACK]));
  await step(ns, tail, ['ping', '-c', '1', '-M', 'do', '-s', '1452', STACK]);
  title(T.probe);
  await ns.run(['ip', 'route', 'flush', 'cache']);
  await step(ns, tail, [process.execPath, path.join(repoRoot, 'dist/scripts/pmtu-probe.js'), STACK]);
  await stack.stop();

  // ---- run 3: targeted loss
  title(T.loss);
  note(T.lossNote);
  ({ stack, tail } = await start(ns, DROPS.flatMap((d) => ['--drop', d]), lang, pcaps[2]!));
  await ns.run(['ping', '-c', '1', '-W', '3', STACK]);
  await tail.next();
  const argv = ['curl', '-sS', '-o', '/dev/null', '-r', '0-299999', '-w', '%{http_code} %{size_download} bytes in %{time_total} s\\n', `http://${STACK}/download/4MiB.bin`];
  const r = await ns.run(argv, { timeoutMs: 30_000 });
  shown(argv, r);
  const trace = await tail.next(600, 8000);
  // Every drop and every retransmission, and the first few duplicate ACKs after each drop.
  let afterDrop = Infinity;
  let skipped = 0;
  out('   trace (excerpt):');
  for (const e of entries(trace)) {
    if (/ DROP #/.test(e[0]!)) afterDrop = 0;
    const key = / DROP #|Retransmission\]/.test(e[0]!);
    const sack = /SLE=|Dup ACK/.test(e[0]!);
    if (key || (sack && afterDrop++ < 3)) for (const l of e) out(`   ${l}`);
    else if (sack) skipped++;
  }
  if (skipped > 0) out(`   ${T.more(skipped)}`);
  const count = (re: RegExp): number => entries(trace).filter((e) => re.test(e[0]!)).length;
  out(`   ${T.summary(count(/\[TCP (Fast )?Retransmission\]/), count(/\[TCP Fast Retransmission\]/), count(/\[TCP Dup ACK #/))}`);
  await stack.stop();

  out();
  out(T.pcaps);
  for (const p of pcaps) if (existsSync(p)) out(`  ${p}`);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { lang: { type: 'string', default: 'en' }, out: { type: 'string', default: '.' }, help: { type: 'boolean', short: 'h', default: false } }, strict: true }));
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.lang !== 'en' && values.lang !== 'zh') {
    process.stderr.write(`demo: --lang: expected en or zh, got "${values.lang}"\n`);
    return 2;
  }
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    process.stderr.write('demo: needs root on Linux (network namespaces and a TAP device): sudo npm run demo\n');
    return 1;
  }
  if (!existsSync('/dev/net/tun')) {
    process.stderr.write('demo: /dev/net/tun is missing (modprobe tun, or give the container --device /dev/net/tun)\n');
    return 1;
  }
  if (!existsSync(path.join(repoRoot, 'dist/lib/cli.js'))) {
    process.stderr.write('demo: dist/ is missing: run `npm install` (it builds)\n');
    return 1;
  }
  mkdirSync(values.out, { recursive: true });
  const cleanup = new Cleanup();
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\ndemo: ${sig}: cleaning up\n`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await demo(values.lang, values.out, cleanup);
    return 0;
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (!stopping) {
      await cleanup.run();
      out(TEXT[values.lang as Lang].done);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
