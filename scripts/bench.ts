// `npm run bench` (as root): tapstack against the Linux kernel in the same run, on this machine.
// tapstack serves from a TAP in one namespace; the kernel reference serves the same Node code on
// a veth pair between two namespaces. Measured: 100 MiB to discard, 100 MiB each way through
// echo, node:http keep-alive requests/s (wrk) and new connections/s (ab), ping RTT.
// Every load is bounded in bytes and seconds; every namespace is deleted at the end.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Netns, RunningStack, repoRoot, type HasTeardown } from './netns.js';

const { values: opt } = parseArgs({
  options: {
    mib: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '2000' },
  },
});
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
type Row = { what: string; unit: string; stack: number; kernel: number; higherIsBetter: boolean };

async function startServer(ns: Netns, mode: 'stack' | 'kernel'): Promise<RunningStack> {
  const server = new RunningStack(ns.spawn([process.execPath, path.join(repoRoot, 'dist/scripts/bench-server.js'), mode]));
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
    { what: `${MIB} MiB to discard`, unit: 'Mbit/s', stack: ours.discard!, kernel: theirs.discard!, higherIsBetter: true },
    { what: `${MIB} MiB each way through echo`, unit: 'Mbit/s', stack: ours.echo!, kernel: theirs.echo!, higherIsBetter: true },
    { what: `node:http keep-alive (wrk -c10 ${SECONDS}s)`, unit: 'req/s', stack: ours.wrk!, kernel: theirs.wrk!, higherIsBetter: true },
    { what: `node:http new connections (ab -n ${REQUESTS} -c10)`, unit: 'req/s', stack: ours.ab!, kernel: theirs.ab!, higherIsBetter: true },
    { what: 'ping RTT (average of 20)', unit: 'ms', stack: ours.rtt!, kernel: theirs.rtt!, higherIsBetter: false },
  ];
  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(`\n${'measure'.padEnd(w)}  ${'tapstack'.padStart(12)}  ${'kernel'.padStart(12)}  ratio (tapstack / kernel)`);
  for (const r of rows) {
    const fmt = (n: number): string => `${n.toFixed(r.unit === 'ms' ? 3 : 0)} ${r.unit}`;
    console.log(`${r.what.padEnd(w)}  ${fmt(r.stack).padStart(12)}  ${fmt(r.kernel).padStart(12)}  ${(r.stack / r.kernel).toFixed(3)}`);
  }
  console.log(`\nerrors: wrk ${ours.wrkErrors} (kernel ${theirs.wrkErrors}), ab failed ${ours.abFailed} (kernel ${theirs.abFailed})`);
} finally {
  await cleanup();
}
