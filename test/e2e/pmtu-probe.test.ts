// scripts/pmtu-probe (issue 6): the search on its own (runs everywhere), then the built script
// against the stack in a namespace, as root, with and without an emulated path MTU, and as an
// unprivileged user. The kernel parts skip with the reason when not root / no /dev/net/tun / no dist.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { searchLargestPayload, type ProbeAnswer } from '../../scripts/pmtu-search.js';
import { e2eSkipReason, ensureTools, Netns, repoRoot, startTapstack } from '../helpers/netns.js';

/** A fake path: the interface allows `ifMtu`, a hop `pathMtu` (answering frag-needed with `reported`). */
function fakePath(ifMtu: number, pathMtu: number, opts: { reported?: number; blackHole?: boolean; localMtu?: boolean } = {}) {
  const sizes: number[] = [];
  const probe = async (size: number): Promise<ProbeAnswer> => {
    sizes.push(size);
    const ip = size + 28;
    if (ip > ifMtu) return opts.localMtu ? { kind: 'localTooBig', mtu: ifMtu } : { kind: 'localTooBig' };
    if (ip > pathMtu) return opts.blackHole ? { kind: 'timeout' } : { kind: 'fragNeeded', from: '10.0.0.2', mtu: opts.reported ?? pathMtu };
    return { kind: 'reply', from: '10.0.0.2', rttMs: 0.1 };
  };
  return { sizes, probe };
}

t.test('the search: largest size first, jumps to a frag-needed MTU, bisects otherwise', async (t) => {
  const narrow = fakePath(1500, 1480);
  const jumps: number[][] = [];
  t.same(await searchLargestPayload(0, 1472, narrow.probe, (...j) => jumps.push(j)), { kind: 'found', largest: 1452, probes: 2 });
  t.same(narrow.sizes, [1472, 1452], '1472 refused with mtu 1480, then straight to 1452');
  t.same(jumps, [[1472, 1480, 1452]], 'the jump is announced with the refused size and its MTU');

  const fits = fakePath(1500, 1500);
  t.same(await searchLargestPayload(0, 1472, fits.probe), { kind: 'found', largest: 1472, probes: 1 });

  const local = fakePath(1500, 1480, { localMtu: true });
  t.same(await searchLargestPayload(0, 1600, local.probe), { kind: 'found', largest: 1452, probes: 3 });
  t.same(local.sizes, [1600, 1472, 1452], 'a local EMSGSIZE with the interface MTU jumps too');

  const noMtu = fakePath(1500, 1480, { reported: 0 });
  const noJumps: number[][] = [];
  t.same(await searchLargestPayload(0, 1472, noMtu.probe, (...j) => noJumps.push(j)), { kind: 'found', largest: 1452, probes: 12 }, 'no next-hop MTU: plain bisection');
  t.same(noJumps, [], 'and no jump announced');
  const above: number[][] = [];
  await searchLargestPayload(1460, 1472, fakePath(1500, 1480).probe, (...j) => above.push(j));
  t.same(above, [], 'no jump announced below --min');

  const hole = fakePath(1500, 1006, { blackHole: true });
  const r = await searchLargestPayload(0, 1472, hole.probe);
  t.same(r, { kind: 'found', largest: 978, probes: 12 }, 'a silent black hole is found by bisection');

  const liar = fakePath(1500, 1480, { reported: 1492 });
  t.same(await searchLargestPayload(0, 1472, liar.probe), { kind: 'found', largest: 1452, probes: 12 }, 'a wrong MTU does not stop the search');
  t.same(liar.sizes.slice(0, 3), [1472, 1464, 731], 'the jump to 1464 is refused too; then bisection');

  t.same(await searchLargestPayload(1460, 1472, fakePath(1500, 1480).probe), { kind: 'none', probes: 1 }, 'nothing in range');
  t.same(
    await searchLargestPayload(0, 100, async () => ({ kind: 'error', from: '10.0.0.1', text: 'Destination unreachable (host unreachable)' })),
    { kind: 'error', text: 'Destination unreachable (host unreachable)', probes: 1 },
  );
});

const probeJs = path.join(repoRoot, 'dist/scripts/pmtu-probe.js');
const skip = e2eSkipReason() ?? (existsSync(probeJs) ? undefined : 'dist/scripts/pmtu-probe.js is missing: build with `npx tsc -p tsconfig.build.json`') ?? ensureTools();
if (skip !== undefined) t.comment(`skipping the kernel tests of pmtu-probe: ${skip}`);

/** Wait until the stack answers a plain ping (ARP done, tap carrier up), so no probe is lost to a cold start. */
async function warmUp(t: Test, ns: Netns): Promise<void> {
  const r = await ns.run(['ping', '-c', '1', '-W', '5', '10.0.0.2']);
  t.equal(r.code, 0, 'the stack answers a ping');
}

/**
 * Run the built script in `ns` with a clean environment (tap's NODE_OPTIONS loaders would follow
 * the child, and an unprivileged one cannot write tap's process-info files), optionally as nobody.
 */
function runProbe(ns: Netns, args: string[], asNobody = false) {
  const user = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  return ns.run(['env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, ...user, process.execPath, probeJs, ...args]);
}

t.test('against the stack with --path-mtu 1480: frag-needed with mtu 1480, then 1452 gets through', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(t);
  const stack = await startTapstack(ns, ['--path-mtu', '1480']);
  await warmUp(t, ns);
  const r = await runProbe(ns, ['10.0.0.2']);
  t.equal(r.code, 0, 'exit 0', { stdout: r.stdout, stderr: r.stderr });
  t.match(r.stdout, /^probe 1472 bytes \(IP 1500, DF\): Frag needed and DF set, mtu = 1480 \(from 10\.0\.0\.2\)$/m, 'the 1500-byte probe is refused with mtu 1480');
  t.match(r.stdout, /^probe 1472 bytes .*mtu = 1480 .*\n  1472 \+ 28 > 1480: the path takes at most 1480 bytes, so next 1452 = 1480 - 20 IP - 8 ICMP\nprobe 1452 /m, 'the refused probe, then why the next is 1452');
  t.match(r.stdout, /^probe 1452 bytes \(IP 1480, DF\): reply from 10\.0\.0\.2 in [\d.]+ ms$/m, 'the 1480-byte probe gets its reply');
  t.match(r.stdout, /^path MTU to 10\.0\.0\.2: 1480 \(largest DF payload 1452 = 1480 - 20 IP - 8 ICMP\)$/m, 'reports 1452 / 1480');
  t.equal(r.stderr, '');

  // The kernel learned mtu 1480 from that frag-needed; IP_PMTUDISC_PROBE still puts a 1500-byte probe on the wire.
  t.match((await ns.run(['ip', 'route', 'get', '10.0.0.2'])).stdout, /mtu 1480/, 'the kernel cached the path MTU');
  const again = await runProbe(ns, ['10.0.0.2']);
  t.equal(again.code, 0);
  t.match(again.stdout, /Frag needed and DF set, mtu = 1480/, 'a second run still asks the path, not the kernel cache');
  t.match(again.stdout, /path MTU to 10\.0\.0\.2: 1480 /);
  t.equal((await stack.stop()).code, 0);
});

t.test('against the stack with no narrower path: 1472 / 1500; above the interface MTU a local error', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(t);
  const stack = await startTapstack(ns);
  await warmUp(t, ns);
  const r = await runProbe(ns, ['10.0.0.2']);
  t.equal(r.code, 0, 'exit 0', { stdout: r.stdout, stderr: r.stderr });
  t.match(r.stdout, /^probe 1472 bytes \(IP 1500, DF\): reply from 10\.0\.0\.2 in [\d.]+ ms$/m);
  t.match(r.stdout, /^path MTU to 10\.0\.0\.2: 1500 \(largest DF payload 1472 = 1500 - 20 IP - 8 ICMP\)$/m, 'reports 1472 / 1500');
  t.notMatch(r.stdout, /Frag needed/);

  const over = await runProbe(ns, ['10.0.0.2', '--max', '1600', '--timeout', '2000']);
  t.equal(over.code, 0, 'exit 0', { stdout: over.stdout, stderr: over.stderr });
  t.match(over.stdout, /^probe 1600 bytes \(IP 1628, DF\): local error: message too long, mtu=1500$/m, 'EMSGSIZE from send() is reported');
  t.match(over.stdout, /^path MTU to 10\.0\.0\.2: 1500 /m, 'and counted as too big');
  t.equal((await stack.stop()).code, 0);
});

t.test('not root: a clear error and exit 1', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(t);
  const r = await runProbe(ns, ['10.0.0.2'], true);
  t.equal(r.code, 1, 'exit 1');
  t.equal(r.stderr, 'pmtu-probe: raw sockets need root or CAP_NET_RAW\n');
  t.equal(r.stdout, '');
});

t.test('--version, and --min over the range is refused before any probe', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(t);
  const version = await runProbe(ns, ['--version'], true);
  t.equal(version.code, 0);
  t.match(version.stdout, /^pmtu-probe \(tapstack\) \d+\.\d+\.\d+\n$/);
  const over = await runProbe(ns, ['10.0.0.2', '--min', '2000'], true);
  t.equal(over.code, 2, 'a usage error');
  t.equal(over.stderr, 'pmtu-probe: --min 2000 is over the range: the largest payload is 1472 (assumed MTU 1500 - 20 IP - 8 ICMP)\n');
  t.equal(over.stdout, '', 'no probe sent');
});
