// What `npm run bench` measures, each in namespaces of its own, all started before the first
// round so rounds interleave: tapstack's CLI on a TAP (once per --offload setting), the kernel
// reference (the same Node servers on the kernel's TCP, client and server namespaces joined by
// a veth pair with its offloads on), the C TAP floor (tap-floor.c, built here with `cc`) and
// the same responder in Node on tapstack's TAP addon (node-floor.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Netns, RunningStack, repoRoot, startTapstack, type HasTeardown } from '../netns.js';
import { bundledSiteRoot } from '../../lib/http/web-server.js';
import { LADDER_MARKER } from '../../lib/http/live-index.js';
import { seededBytes } from '../../lib/http/virtual-file.js';

/**
 * The site both web servers serve (`--root`): the bundled index page as a plain file (without
 * the live ladder, which only tapstack could draw) and the 4 MiB download as a file.
 */
export function benchSite(dir: string): string {
  const root = path.join(dir, 'site');
  mkdirSync(path.join(root, 'download'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), readFileSync(path.join(bundledSiteRoot(), 'index.html'), 'utf8').replace(LADDER_MARKER, ''));
  writeFileSync(path.join(root, 'download/4MiB.bin'), seededBytes(4 * 1024 * 1024, 1));
  return root;
}

/** One thing measured: where its clients run and at which address it answers. */
export type Target = {
  /** Stable key in the JSON output: `tapstack`, `tapstack-offload-on`, `tapstack-offload-off`, `kernel`, `floor`, `node-floor`. */
  id: string;
  label: string;
  kind: 'stack' | 'kernel' | 'floor' | 'node-floor';
  ip: string;
  /** The namespace the load generators run in. */
  client: Netns;
  /** The serving process (for its RSS). */
  pid: number;
  stop(): Promise<unknown>;
};

/** Kernel sysctls of a client namespace: ports enough for tens of thousands of connections in a row. */
function roomyPorts(ns: Netns): void {
  ns.runSync(['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
  ns.runSync(['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']);
}

/** The --help text of a built CLI. */
function cliHelp(cli = path.join(repoRoot, 'dist/lib/cli.js')): string {
  return spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout;
}

/** Whether the built CLI has `--offload` (another change adds it); read from its --help. */
export function cliHasOffloadFlag(): boolean {
  return /--offload\b/.test(cliHelp());
}

/**
 * The memory and idle rows hold 10-20 k connections, echo or HTTP: each cap and the HTTP idle
 * timeout raised past that, as far as the CLI (this one or a --baseline's) has the flag.
 */
const ROOMY: [flag: string, value: string][] = [
  ['--service-max-connections', '100000'],
  ['--max-connections', '100000'],
  ['--max-connections-per-ip', '100000'],
  ['--keepalive-timeout', '3600000'],
];

/** The ROOMY flags `cli` knows. */
function roomyFlags(cli: string): string[] {
  const help = cliHelp(cli);
  return ROOMY.filter(([flag]) => new RegExp(`${flag}\\b(?!-)`).test(help)).flat();
}

/**
 * tapstack's CLI in a new namespace, the clients on the kernel side of its tap; `offload`
 * undefined: the CLI's default. `baseline`: another checkout's build (`--baseline DIR`), run with
 * its defaults but the ROOMY flags, for a before/after table measured in the same rounds.
 */
export async function stackTarget(owner: HasTeardown, root: string, offload: 'on' | 'off' | undefined, baseline?: string): Promise<Target> {
  const ns = Netns.create(owner);
  roomyPorts(ns);
  const cli = path.join(baseline ?? repoRoot, 'dist/lib/cli.js');
  const args = ['--root', root, '--access-log', '/dev/null', ...roomyFlags(cli), ...(offload === undefined ? [] : ['--offload', offload])];
  const stack = await startTapstack(ns, args, cli);
  return {
    id: baseline !== undefined ? 'baseline' : offload === undefined ? 'tapstack' : `tapstack-offload-${offload}`,
    label: baseline !== undefined ? 'baseline' : offload === undefined ? 'tapstack' : `tapstack offload ${offload}`,
    kind: 'stack', ip: '10.0.0.2', client: ns, pid: stack.proc.pid!, stop: () => stack.stop(),
  };
}

/** The kernel reference: scripts/bench/kernel-server.js at 10.9.0.2 serving `root`, its clients at 10.9.0.1 over veth. */
export async function kernelTarget(owner: HasTeardown, root: string): Promise<Target> {
  const server = Netns.create(owner);
  const client = Netns.create(owner);
  roomyPorts(client);
  const veth = `tsb${process.pid % 100000}`;
  const r = spawnSync('ip', ['link', 'add', `${veth}a`, 'netns', client.name, 'type', 'veth', 'peer', 'name', `${veth}b`, 'netns', server.name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: ip link add veth: ${r.stderr}`);
  client.runSync(['ip', 'addr', 'add', '10.9.0.1/24', 'dev', `${veth}a`]);
  server.runSync(['ip', 'addr', 'add', '10.9.0.2/24', 'dev', `${veth}b`]);
  client.runSync(['ip', 'link', 'set', `${veth}a`, 'up']);
  server.runSync(['ip', 'link', 'set', `${veth}b`, 'up']);
  // Descriptors for the memory-http row's 10 k connections.
  const proc = new RunningStack(server.spawn(['bash', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath, path.join(repoRoot, 'dist/scripts/bench/kernel-server.js'), root]));
  await proc.waitFor(/^ready$/m);
  return { id: 'kernel', label: 'kernel', kind: 'kernel', ip: '10.9.0.2', client, pid: proc.proc.pid!, stop: () => proc.stop() };
}

/** Build a C program of scripts/bench into `dir` with the system's `cc`; returns its path. */
export function buildC(dir: string, name: string): string {
  const out = path.join(dir, name);
  const r = spawnSync('cc', ['-O2', '-o', out, path.join(repoRoot, 'scripts/bench', `${name}.c`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: cc ${name}.c failed: ${r.error?.message ?? r.stderr}`);
  return out;
}

/** The C TAP responder at 10.0.0.2 on tap0 in a new namespace (ping and UDP echo only). */
export async function floorTarget(owner: HasTeardown, dir: string): Promise<Target> {
  const ns = Netns.create(owner);
  const proc = new RunningStack(ns.spawn([buildC(dir, 'tap-floor'), 'tap0', '10.0.0.2']));
  await proc.waitFor(/^ready$/m);
  ns.runSync(['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'tap0']);
  ns.runSync(['ip', 'link', 'set', 'tap0', 'up']);
  return { id: 'floor', label: 'C TAP floor', kind: 'floor', ip: '10.0.0.2', client: ns, pid: proc.proc.pid!, stop: () => proc.stop() };
}

/** The Node TAP responder (node-floor.ts) at 10.0.0.2 on tap0 in a new namespace (ping and UDP echo only). */
export async function nodeFloorTarget(owner: HasTeardown): Promise<Target> {
  const ns = Netns.create(owner);
  const proc = new RunningStack(ns.spawn([process.execPath, path.join(repoRoot, 'dist/scripts/bench/node-floor.js'), 'tap0', '10.0.0.2']));
  await proc.waitFor(/^ready$/m);
  ns.runSync(['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'tap0']);
  ns.runSync(['ip', 'link', 'set', 'tap0', 'up']);
  return { id: 'node-floor', label: 'Node TAP floor', kind: 'node-floor', ip: '10.0.0.2', client: ns, pid: proc.proc.pid!, stop: () => proc.stop() };
}
