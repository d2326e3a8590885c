// The loss rows of `npm run bench`: goodput under nft random loss, tapstack against
// kernel-to-kernel in the same run. A client namespace routed through a forwarding namespace
// that drops a share of TCP segments, to tapstack (on the forwarder's tap) or to a kernel server
// namespace (behind a second veth); `--loss-mib` to discard and through echo, each bounded in time.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Netns, RunningStack, repoRoot, startTapstack, type HasTeardown } from '../netns.js';
import type { BenchOptions } from './options.js';

/** One loss row: Mbit/s of tapstack, of the kernel, and of the `--baseline` build when given. */
export type LossRow = { what: string; stack: number; kernel: number; baseline?: number };

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

/** A veth pair `a` (in `x`, address ax) — `b` (in `y`, address by), without segmentation offloads. */
function veth(name: string, x: Netns, ax: string, y: Netns, by: string): void {
  spawnSync('ip', ['link', 'add', `${name}a`, 'netns', x.name, 'type', 'veth', 'peer', 'name', `${name}b`, 'netns', y.name]);
  x.runSync(['ip', 'addr', 'add', ax, 'dev', `${name}a`]);
  y.runSync(['ip', 'addr', 'add', by, 'dev', `${name}b`]);
  x.runSync(['ip', 'link', 'set', `${name}a`, 'up']);
  y.runSync(['ip', 'link', 'set', `${name}b`, 'up']);
  // One drop = one segment (NETWORK-TESTING.md): no segmentation offloads on the path.
  for (const [ns, dev] of [[x, `${name}a`], [y, `${name}b`]] as const) ns.runSync(['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
}

/** Seconds for one bounded shell command in `ns`. */
async function seconds(ns: Netns, cmd: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await ns.run(['timeout', '170', 'bash', '-c', cmd], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code} ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The loss rows for each of `--losses`. */
export async function lossRows(owner: HasTeardown, dir: string, o: BenchOptions): Promise<LossRow[]> {
  const bytes = o.lossMib * 1024 * 1024;
  const run = async (client: Netns, ip: string) => ({
    discard: (bytes * 8) / 1e6 / (await seconds(client, `head -c ${bytes} /dev/zero | nc -N ${ip} 9`)),
    echo: (2 * bytes * 8) / 1e6 / (await seconds(client, `head -c ${bytes} /dev/zero | nc -N ${ip} 7 > /dev/null`)),
  });
  const id = process.pid % 10000;
  // tapstack: client 10.8.n.2 -- router (10.8.n.1 | tap0 10.0.0.1, forwarding) -- stack 10.0.0.2.
  const stackPath = async (veths: string, net: number, cli?: string) => {
    const router = Netns.create(owner);
    const client = Netns.create(owner);
    veth(`${veths}${id}`, client, `10.8.${net}.2/24`, router, `10.8.${net}.1/24`);
    router.runSync(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    client.runSync(['ip', 'route', 'add', '10.0.0.0/24', 'via', `10.8.${net}.1`]);
    return { router, client, stack: await startTapstack(router, ['--port', '0'], cli) };
  };
  const { router, client: sclient, stack } = await stackPath('tsl', 1);
  const base = o.baseline === undefined ? undefined : await stackPath('tsb', 4, path.join(o.baseline, 'dist/lib/cli.js'));
  // kernel: client 10.8.2.2 -- router2 (forwarding) -- server 10.8.3.2 (kernel-server.js).
  const router2 = Netns.create(owner);
  const kclient = Netns.create(owner);
  const kserver = Netns.create(owner);
  veth(`tsk${id}`, kclient, '10.8.2.2/24', router2, '10.8.2.1/24');
  veth(`tss${id}`, kserver, '10.8.3.2/24', router2, '10.8.3.1/24');
  router2.runSync(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  kclient.runSync(['ip', 'route', 'add', '10.8.3.0/24', 'via', '10.8.2.1']);
  kserver.runSync(['ip', 'route', 'add', '10.8.2.0/24', 'via', '10.8.3.1']);
  const kernelServer = new RunningStack(kserver.spawn([process.execPath, path.join(repoRoot, 'dist/scripts/bench/kernel-server.js'), dir]));
  const rows: LossRow[] = [];
  try {
    await kernelServer.waitFor(/^ready$/m);
    for (const pct of o.losses) {
      lossRules(dir, router, pct, true);
      lossRules(dir, router2, pct, false);
      if (base !== undefined) lossRules(dir, base.router, pct, true);
      const ours = await run(sclient, '10.0.0.2');
      const theirs = await run(kclient, '10.8.3.2');
      const before = base === undefined ? undefined : await run(base.client, '10.0.0.2');
      rows.push({ what: `${pct} % loss: ${o.lossMib} MiB to discard`, stack: ours.discard, kernel: theirs.discard, baseline: before?.discard });
      rows.push({ what: `${pct} % loss: ${o.lossMib} MiB each way through echo`, stack: ours.echo, kernel: theirs.echo, baseline: before?.echo });
    }
  } finally {
    await stack.stop();
    await base?.stack.stop();
    await kernelServer.stop();
  }
  return rows;
}
