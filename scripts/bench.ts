// `npm run bench` (as root): tapstack against the Linux kernel in the same run, on this machine.
// tapstack serves from a TAP in one namespace; the kernel reference serves the same Node code on
// a veth pair between two namespaces. Measured: 100 MiB to discard, 100 MiB each way through
// echo, the web server (node:http, bundled site) keep-alive requests/s (wrk) and new
// connections/s (ab), ping RTT; then goodput under nft random loss
// (1 %, 5 %: `--losses`, `--loss-mib`) against kernel-to-kernel, as a ratio.
// Every load is bounded in bytes and seconds; every namespace is deleted at the end.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Netns, RunningStack, repoRoot, type HasTeardown } from './netns.js';

const { values: opt } = parseArgs({
  options: {
    mib: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '2000' },
    'loss-mib': { type: 'string', default: '20' },
    losses: { type: 'string', default: '1,5' },
    offload: { type: 'string', default: 'on' },
  },
});
const LOSS_MIB = Number(opt['loss-mib']);
const LOSSES = opt.losses.split(',').filter((x) => x !== '').map(Number);
const MIB = Number(opt.mib);
const SECONDS = Number(opt.seconds);
const REQUESTS = Number(opt.requests);

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces and a TAP device)');
  process.exit(1);
}
const tools = spawnSync(path.join(repoRoot, 'scripts/install-test-tools.sh'), { stdio: 'inherit' });
if (tools.status !== 0) process.exit(1);

const cleanups: (() => unknown)[] = [];
const owner: HasTeardown = { teardown: (fn) => void cleanups.push(fn) };
async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) await fn();
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

type Target = { name: string; ip: string; client: Netns };
type Row = { what: string; unit: string; stack: number; kernel: number };

async function startServer(ns: Netns, mode: 'stack' | 'kernel'): Promise<RunningStack> {
  const server = new RunningStack(ns.spawn([process.execPath, path.join(repoRoot, 'dist/scripts/bench-server.js'), mode, opt.offload]));
  await server.waitFor(/^ready$/m);
  return server;
}

/** Seconds for one bounded shell command in the client namespace. */
async function timed(ns: Netns, cmd: string, timeoutMs: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await ns.run(['bash', '-c', cmd], { timeoutMs });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code} ${r.stderr}`);
  return secs;
}

async function measure(t: Target): Promise<Record<string, number>> {
  const bytes = MIB * 1024 * 1024;
  const out: Record<string, number> = {};
  const ping = await t.client.run(['ping', '-c', '20', '-i', '0.01', '-q', t.ip]);
  out.rtt = Number(/= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1] ?? NaN);
  out.discard = (bytes * 8) / 1e6 / (await timed(t.client, `head -c ${bytes} /dev/zero | nc -N ${t.ip} 9`, 300_000));
  out.echo = (2 * bytes * 8) / 1e6 / (await timed(t.client, `head -c ${bytes} /dev/zero | nc -N ${t.ip} 7 > /dev/null`, 300_000));
  const wrk = await t.client.run(['wrk', '-t1', '-c10', `-d${SECONDS}s`, `http://${t.ip}/`], { timeoutMs: (SECONDS + 30) * 1000 });
  out.wrk = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1] ?? NaN);
  out.wrkErrors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(wrk.stdout)?.[1] ?? 0) + Number(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(wrk.stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  const ab = await t.client.run(['ab', '-q', '-n', String(REQUESTS), '-c', '10', `http://${t.ip}/`], { timeoutMs: 120_000 });
  out.ab = Number(/Requests per second:\s+([\d.]+)/.exec(ab.stdout)?.[1] ?? NaN);
  out.abFailed = Number(/Failed requests:\s+(\d+)/.exec(ab.stdout)?.[1] ?? NaN);
  return out;
}

/** nft rules dropping `pct` % of TCP segments forwarded (and, for the stack, arriving from tap0). */
function lossRules(dir: string, ns: Netns, pct: number, tapIngress: boolean): void {
  const file = path.join(dir, `loss-${ns.name}.nft`);
  const drop = `meta l4proto tcp numgen random mod 1000 < ${Math.round(pct * 10)} counter drop`;
  const lines = ['table inet lossy', 'delete table inet lossy', 'table inet lossy {',
    // Forward: toward the stack (oifname tap0) — or both directions between kernel namespaces.
    `  chain fw { type filter hook forward priority 0; policy accept; ${tapIngress ? 'oifname "tap0" ' : ''}${drop}; }`];
  if (tapIngress) lines.push(`  chain pre { type filter hook prerouting priority -300; policy accept; iifname "tap0" ${drop}; }`);
  lines.push('}', '');
  writeFileSync(file, lines.join('\n'));
  const r = ns.runSync(['nft', '-f', file]);
  if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
}

/** A veth pair `a` (in `x`, address ax) — `b` (in `y`, address by). */
function veth(name: string, x: Netns, ax: string, y: Netns, by: string): void {
  spawnSync('ip', ['link', 'add', `${name}a`, 'netns', x.name, 'type', 'veth', 'peer', 'name', `${name}b`, 'netns', y.name]);
  x.runSync(['ip', 'addr', 'add', ax, 'dev', `${name}a`]);
  y.runSync(['ip', 'addr', 'add', by, 'dev', `${name}b`]);
  x.runSync(['ip', 'link', 'set', `${name}a`, 'up']);
  y.runSync(['ip', 'link', 'set', `${name}b`, 'up']);
  // One drop = one segment (NETWORK-TESTING.md): no segmentation offloads on the path.
  for (const [ns, dev] of [[x, `${name}a`], [y, `${name}b`]] as const) ns.runSync(['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
}

/**
 * Goodput under loss, tapstack against kernel-to-kernel in the same run: a client namespace
 * routed through a forwarding namespace with nft random loss, to tapstack (on the forwarder's
 * tap) or to a kernel server namespace (behind a second veth). `LOSS_MIB` to discard and through
 * echo (so each way), bounded by a timeout.
 */
async function lossTable(dir: string): Promise<Array<{ what: string; stack: number; kernel: number }>> {
  const bytes = LOSS_MIB * 1024 * 1024;
  const run = async (client: Netns, ip: string) => {
    const discard = (bytes * 8) / 1e6 / (await timed(client, `timeout 170 bash -c 'head -c ${bytes} /dev/zero | nc -N ${ip} 9'`, 180_000));
    const echo = (2 * bytes * 8) / 1e6 / (await timed(client, `timeout 170 bash -c 'head -c ${bytes} /dev/zero | nc -N ${ip} 7 > /dev/null'`, 180_000));
    return { discard, echo };
  };
  const id = process.pid % 10000;
  // tapstack: client 10.8.1.2 -- router (10.8.1.1 | tap0 10.0.0.1, forwarding) -- stack 10.0.0.2.
  const router = Netns.create(owner);
  const sclient = Netns.create(owner);
  veth(`tsl${id}`, sclient, '10.8.1.2/24', router, '10.8.1.1/24');
  router.runSync(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sclient.runSync(['ip', 'route', 'add', '10.0.0.0/24', 'via', '10.8.1.1']);
  const stack = new RunningStack(router.spawn([process.execPath, path.join(repoRoot, 'dist/lib/cli.js'), '--port', '0']));
  await stack.waitFor(/Ctrl-C to stop/);
  // kernel: client 10.8.2.2 -- router2 (forwarding) -- server 10.8.3.2 (bench-server, kernel mode).
  const router2 = Netns.create(owner);
  const kclient = Netns.create(owner);
  const kserver = Netns.create(owner);
  veth(`tsk${id}`, kclient, '10.8.2.2/24', router2, '10.8.2.1/24');
  veth(`tss${id}`, kserver, '10.8.3.2/24', router2, '10.8.3.1/24');
  router2.runSync(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  kclient.runSync(['ip', 'route', 'add', '10.8.3.0/24', 'via', '10.8.2.1']);
  kserver.runSync(['ip', 'route', 'add', '10.8.2.0/24', 'via', '10.8.3.1']);
  const kernelServer = await startServer(kserver, 'kernel');
  const rows: Array<{ what: string; stack: number; kernel: number }> = [];
  try {
    for (const pct of LOSSES) {
      lossRules(dir, router, pct, true);
      lossRules(dir, router2, pct, false);
      const ours = await run(sclient, '10.0.0.2');
      const theirs = await run(kclient, '10.8.3.2');
      rows.push({ what: `${pct} % loss: ${LOSS_MIB} MiB to discard`, stack: ours.discard, kernel: theirs.discard });
      rows.push({ what: `${pct} % loss: ${LOSS_MIB} MiB each way through echo`, stack: ours.echo, kernel: theirs.echo });
    }
  } finally {
    await stack.stop();
    await kernelServer.stop();
  }
  return rows;
}

try {
  const dir = mkdtempSync(path.join(tmpdir(), 'tapstack-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  // tapstack: the stack on tap0 in one namespace, the clients on the kernel side of the tap.
  const stackNs = Netns.create(owner);
  const stackServer = await startServer(stackNs, 'stack');
  console.error('bench: measuring tapstack ...');
  const ours = await measure({ name: 'tapstack', ip: '10.0.0.2', client: stackNs });
  await stackServer.stop();

  // The kernel: the same server code on node:net, client and server namespaces joined by veth.
  const server = Netns.create(owner);
  const client = Netns.create(owner);
  const veth = `tsb${process.pid % 100000}`;
  spawnSync('ip', ['link', 'add', `${veth}a`, 'netns', client.name, 'type', 'veth', 'peer', 'name', `${veth}b`, 'netns', server.name]);
  client.runSync(['ip', 'addr', 'add', '10.9.0.1/24', 'dev', `${veth}a`]);
  server.runSync(['ip', 'addr', 'add', '10.9.0.2/24', 'dev', `${veth}b`]);
  client.runSync(['ip', 'link', 'set', `${veth}a`, 'up']);
  server.runSync(['ip', 'link', 'set', `${veth}b`, 'up']);
  const kernelServer = await startServer(server, 'kernel');
  console.error('bench: measuring the kernel over veth ...');
  const theirs = await measure({ name: 'kernel', ip: '10.9.0.2', client });
  await kernelServer.stop();

  const rows: Row[] = [
    { what: `${MIB} MiB to discard`, unit: 'Mbit/s', stack: ours.discard!, kernel: theirs.discard! },
    { what: `${MIB} MiB each way through echo`, unit: 'Mbit/s', stack: ours.echo!, kernel: theirs.echo! },
    { what: `web server, keep-alive (wrk -c10 ${SECONDS}s)`, unit: 'req/s', stack: ours.wrk!, kernel: theirs.wrk! },
    { what: `web server, new connections (ab -n ${REQUESTS} -c10)`, unit: 'req/s', stack: ours.ab!, kernel: theirs.ab! },
    { what: 'ping RTT (average of 20)', unit: 'ms', stack: ours.rtt!, kernel: theirs.rtt! },
  ];
  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(`\n${'measure'.padEnd(w)}  ${'tapstack'.padStart(12)}  ${'kernel'.padStart(12)}  ratio (tapstack / kernel)`);
  for (const r of rows) {
    const fmt = (n: number): string => `${n.toFixed(r.unit === 'ms' ? 3 : 0)} ${r.unit}`;
    console.log(`${r.what.padEnd(w)}  ${fmt(r.stack).padStart(12)}  ${fmt(r.kernel).padStart(12)}  ${(r.stack / r.kernel).toFixed(3)}`);
  }
  console.log(`\nerrors: wrk ${ours.wrkErrors} (kernel ${theirs.wrkErrors}), ab failed ${ours.abFailed} (kernel ${theirs.abFailed})`);

  if (LOSSES.length > 0) {
    console.error('bench: loss table ...');
    const lossRows = await lossTable(dir);
    const lw = Math.max(...lossRows.map((r) => r.what.length));
    console.log(`\n${'under random loss (nft, each direction)'.padEnd(lw)}  ${'tapstack'.padStart(12)}  ${'kernel'.padStart(12)}  ratio (tapstack / kernel)`);
    for (const r of lossRows) {
      console.log(`${r.what.padEnd(lw)}  ${`${r.stack.toFixed(0)} Mbit/s`.padStart(12)}  ${`${r.kernel.toFixed(0)} Mbit/s`.padStart(12)}  ${(r.stack / r.kernel).toFixed(3)}`);
    }
  }
} finally {
  await cleanup();
}
