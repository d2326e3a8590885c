// Network namespaces for tests, benchmarks and the demo: a throwaway namespace with the kernel
// inside it as our peer, tapstack's CLI started in it. Every packet stays in namespaces made
// here, which are deleted afterwards with the processes started in them (NETWORK-TESTING.md).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (this file runs from scripts/ as TypeScript or from dist/scripts/ as built JS). */
export const repoRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('tapstack: cannot find the package root');
    dir = up;
  }
  return dir;
}

/** Result of a finished command. */
export type RunResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

let counter = 0;

/** Something with a teardown hook (a tap Test, or the cleanup list of a script). */
export type HasTeardown = { teardown(fn: () => unknown): void };

/** A network namespace that deletes itself (and ends the processes it started) on teardown. */
export class Netns {
  readonly #children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  /** Create `ts-<pid>-<n>` with lo up and IPv6 off (no IPv6 chatter on the tap). */
  static create(t: HasTeardown): Netns {
    const ns = new Netns(`ts-${process.pid}-${++counter}`);
    mustRun(['ip', 'netns', 'add', ns.name]);
    t.teardown(() => ns.destroy());
    mustRun(['ip', '-n', ns.name, 'link', 'set', 'lo', 'up']);
    ns.runSync(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    ns.runSync(['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  /** Run a command inside the namespace and wait for it (bounded by `timeoutMs`). */
  run(argv: string[], opts: { timeoutMs?: number; input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = this.spawn(argv, { env: opts.env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      else child.stdin!.end();
    });
  }

  /** Re-run `argv` in the namespace until its output matches `re` (e.g. `ss` showing a listener); throws after `timeoutMs`. */
  async waitFor(argv: string[], re: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.runSync(argv).stdout)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${argv.join(' ')} to match ${re}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Run synchronously (for quick set-up commands). */
  runSync(argv: string[]): RunResult {
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Start a long-running command in the namespace (environment: `env`, default ours); it is killed (by pid) on teardown. */
  spawn(argv: string[], opts: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * Point the namespace's resolver at `nameserver`: `ip netns exec` mounts /etc/netns/NAME/resolv.conf
   * over /etc/resolv.conf for each command it runs. Removed with the namespace.
   */
  useNameserver(nameserver: string): void {
    mkdirSync(this.#etc, { recursive: true });
    writeFileSync(path.join(this.#etc, 'resolv.conf'), `nameserver ${nameserver}\noptions attempts:2 timeout:2\n`);
  }

  get #etc(): string {
    return path.join('/etc/netns', this.name);
  }

  /** End what we started, then delete the namespace (and its /etc/netns files). */
  async destroy(): Promise<void> {
    for (const c of this.#children) {
      c.kill('SIGKILL');
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
    }
    spawnSync('ip', ['netns', 'del', this.name]);
    rmSync(this.#etc, { recursive: true, force: true });
  }
}

function mustRun(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

/** A running `tapstack` CLI inside a namespace. */
export class RunningStack {
  #stdout = '';
  #stderr = '';
  readonly exited: Promise<RunResult>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (b: Buffer) => (this.#stdout += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (this.#stderr += b.toString()));
    this.exited = new Promise((resolve) =>
      proc.on('close', (code, signal) => resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr })),
    );
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Wait until stdout matches `re` (or the process exits, or `timeoutMs` passes). */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.#stdout)) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`tapstack exited early:\n${this.#stdout}${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${this.#stdout}${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGINT, then the exit result (SIGKILL after 10 s). */
  async stop(): Promise<RunResult> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGINT');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

/**
 * The start of a script that needs root (bench, attack): exits 1 with `NAME: needs root` or when
 * the test tools cannot be installed; returns an owner whose teardowns run, newest first, at
 * `cleanup()` and on SIGINT/SIGTERM (then the script exits 130/143).
 */
export function rootScript(name: string): { owner: HasTeardown; cleanup(): Promise<void> } {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${name}: needs root (network namespaces and a TAP device)\n`);
    process.exit(1);
  }
  if (spawnSync(path.join(repoRoot, 'scripts/install-test-tools.sh'), { stdio: ['ignore', 'inherit', 'inherit'] }).status !== 0) process.exit(1);
  const cleanups: (() => unknown)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143)));
  return { owner: { teardown: (fn) => void cleanups.push(fn) }, cleanup };
}

/** Start the built CLI in `ns` with `args` and wait for its banner. */
export async function startTapstack(ns: Netns, args: string[] = [], cli = path.join(repoRoot, 'dist/lib/cli.js')): Promise<RunningStack> {
  const running = new RunningStack(ns.spawn([process.execPath, cli, ...args]));
  await running.waitFor(/Ctrl-C to stop/);
  return running;
}

