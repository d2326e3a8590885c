// End-to-end test helpers: when the kernel tests can run, the tools they need, the tshark check,
// and the namespace harness shared with the scripts (scripts/netns.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, type Netns, type RunningStack, type RunResult } from '../../scripts/netns.js';

export { Netns, RunningStack, repoRoot, startTapstack, type RunResult } from '../../scripts/netns.js';

/** Why end-to-end tests cannot run here, or undefined when they can (root, Linux, /dev/net/tun). */
export function e2eSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'end-to-end tests need Linux';
  if (process.getuid?.() !== 0) return 'end-to-end tests need root (network namespaces and a TAP device)';
  if (!existsSync('/dev/net/tun')) return 'end-to-end tests need /dev/net/tun';
  if (!existsSync(path.join(repoRoot, 'dist/lib/cli.js'))) return 'dist/lib/cli.js is missing: run `npm install` (it builds)';
  return undefined;
}

/**
 * The start of an end-to-end test file: a scratch directory removed at the end, or undefined
 * (after printing why, and planning no test) when the kernel tests cannot run here.
 */
export function e2eScratchDir(t: { comment(m: string): void; plan(n: number, why?: string): void; teardown(fn: () => unknown): void }, name: string): string | undefined {
  const skip = e2eSkipReason() ?? ensureTools();
  if (skip !== undefined) {
    t.comment(`skipping end-to-end tests: ${skip}`);
    t.plan(0, skip);
    return undefined;
  }
  const dir = mkdtempSync(path.join(tmpdir(), `tapstack-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let toolsChecked: string | undefined;
/** Install missing Debian tools through the project's own script; returns an error text or undefined. */
export function ensureTools(): string | undefined {
  if (toolsChecked !== undefined) return toolsChecked || undefined;
  const r = spawnSync(path.join(repoRoot, 'scripts/install-test-tools.sh'), { encoding: 'utf8' });
  toolsChecked = r.status === 0 ? '' : `install-test-tools failed: ${r.stderr || r.stdout}`;
  return toolsChecked || undefined;
}

/** The tshark filter of NETWORK-TESTING.md: prints every malformed frame or bad checksum. */
export async function tsharkProblems(pcapFile: string, stackIp = '10.0.0.2'): Promise<RunResult> {
  // An ICMP error quotes the start of the offending datagram (RFC 792, RFC 1812 §4.3.2.3: up to
  // 576 bytes), so the quoted TCP/UDP checksum cannot verify; its own checksums still must.
  const icmpError = 'icmp.type in {3, 4, 5, 11, 12}';
  const transport = '_ws.expert.severity==error || tcp.checksum.status==0 || udp.checksum.status==0';
  const problem = `_ws.malformed || ip.checksum.status==0 || icmp.checksum.status==0 || (!(${icmpError}) && (${transport}))`;
  // Linux writes a TCP checksum that folds to 0 as 0xFFFF (skb_checksum_help's CSUM_MANGLED_0):
  // equal in one's complement (RFC 1071), flagged by Wireshark (RFC 1624). Forgiven for the
  // kernel's frames only; ours must never do it.
  const kernelMangledZero = `(tcp.checksum == 0xffff && ip.src != ${stackIp})`;
  return new Promise((resolve) => {
    const child = spawn('tshark', [
      '-n', '-r', pcapFile,
      '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-Y', `(${problem}) && !${kernelMangledZero}`,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // A filter tshark cannot parse prints nothing: make that a visible problem, never a pass.
    child.on('close', (code, signal) => resolve({ code, signal, stdout: code === 0 ? stdout : `tshark failed (${code}): ${stderr}`, stderr }));
  });
}

/** Node flags that load a TypeScript fixture the way this test was loaded (tap's own loader). */
export function tsLoaderArgs(): string[] {
  const fromTap = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  return fromTap.length > 0 ? fromTap : [`--import=${import.meta.resolve('@tapjs/typescript/import')}`];
}

/** What a running stack's banner says of offloads ("on" or "off"): for stacks without /_stack. */
export function bannerOffload(stack: RunningStack): string | undefined {
  return /^ {2}offloads {3}(on|off)\b/m.exec(stack.stdout)?.[1];
}

/** The stack's /_stack.json as seen from `ns` (the web server on 10.0.0.2:80). */
export type StackJson = { interface: { offload: string }; connections: { remote: string; state: string }[]; counters: Record<string, number> };
export async function stackJson(ns: Netns): Promise<StackJson> {
  const r = await ns.run(['curl', '-sS', '--max-time', '10', 'http://10.0.0.2/_stack.json'], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`curl /_stack.json failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StackJson;
}
