// `npm run bench` (as root): tapstack against the Linux kernel and a C TAP floor, in the same run
// on this machine. Targets (scripts/bench/targets.ts) are started once, then each round measures
// every selected row on every target in turn, so a busy moment of the machine hits all of them;
// the medians of the rounds are compared as ratios (tapstack ÷ kernel, ÷ C floor). Then the
// rows measured once per target (memory, idle connections) and the loss table. Every load is bounded in
// count and time; every namespace and process it starts is removed at the end, also on Ctrl-C.
// Flags: scripts/bench/options.ts (`npm run bench -- --help`).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { rootScript } from './netns.js';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './bench/options.js';
import { COMPARED_ROWS, type Tools } from './bench/rows.js';
import { TAPSTACK_ONLY_ROWS, type SingleRow } from './bench/tapstack-only.js';
import { lossRows, type LossRow } from './bench/loss.js';
import { benchSite, buildC, cliHasOffloadFlag, floorTarget, kernelTarget, nodeFloorTarget, stackTarget, type Target } from './bench/targets.js';
import { formatReport, summarize, type BenchReport, type ComparedResult } from './bench/report.js';

let o: BenchOptions;
try {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(BENCH_USAGE);
    process.exit(0);
  }
  o = parseBenchArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n\n${BENCH_USAGE}`);
  process.exit(2);
}
const { owner, cleanup } = rootScript('bench');
const progress = (m: string): void => void process.stderr.write(`bench: ${m}\n`);

const loadAverageStart = loadavg()[0]!;
const skipped: string[] = [];
const compared = COMPARED_ROWS.filter((r) => o.only.has(r.id));
const single = TAPSTACK_ONLY_ROWS.filter((r) => o.only.has(r.id));
let exitCode = 0;
try {
  const dir = mkdtempSync(path.join(tmpdir(), 'tapstack-bench-'));
  owner.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // tapstack once per --offload setting the CLI knows.
  let modes: ('on' | 'off' | undefined)[] = o.offload === 'both' ? ['on', 'off'] : [o.offload];
  if (!cliHasOffloadFlag()) {
    skipped.push(`--offload ${o.offload}: this build of tapstack has no --offload flag (not in \`node dist/lib/cli.js --help\`); tapstack runs with its default only`);
    modes = [undefined];
  }
  const targets: Target[] = [];
  const kinds = new Set([...compared, ...single].flatMap((r) => r.kinds));
  const root = benchSite(dir);
  if (kinds.has('stack')) for (const m of modes) targets.push(await stackTarget(owner, root, m));
  if (o.baseline !== undefined && kinds.has('stack')) targets.push(await stackTarget(owner, root, undefined, o.baseline));
  if (kinds.has('kernel')) targets.push(await kernelTarget(owner, root));
  if (kinds.has('floor')) targets.push(await floorTarget(owner, dir));
  if (kinds.has('node-floor')) targets.push(await nodeFloorTarget(owner));
  const tools: Tools = { udpRtt: o.only.has('small') ? buildC(dir, 'udp-rtt') : '' };
  // ARP and the first connection before anything is timed.
  for (const t of targets) await t.client.run(['ping', '-c', '3', '-i', '0.2', '-W', '1', t.ip], { timeoutMs: 10_000 });
  // The warm-up: every target alike, so tapstack's JIT has compiled the paths a long-running
  // stack runs (the kernel and the C floor have nothing to compile).
  for (const row of compared) {
    if (row.warmup === undefined || o.warmup === 0) continue;
    for (const t of targets.filter((x) => row.kinds.includes(x.kind))) {
      progress(`warm-up: ${row.warmup.what(o)} to ${t.label}`);
      await row.warmup.run(t, o, tools).catch((e: unknown) => progress(`warm-up of ${row.id} on ${t.label} failed: ${(e as Error).message}`));
    }
  }

  const samples = new Map(compared.map((r) => [r.id, {} as Record<string, number[]>]));
  const notes = new Map(compared.map((r) => [r.id, [] as string[]]));
  for (let round = 1; round <= o.rounds; round++) {
    for (const row of compared) {
      const serving = targets.filter((t) => row.kinds.includes(t.kind));
      // Each round starts with another target, so none always runs first (on a warm or cold machine).
      const order = serving.map((_, i) => serving[(i + round - 1) % serving.length]!);
      for (const t of order) {
        progress(`round ${round}/${o.rounds}: ${row.id} on ${t.label}`);
        const s = await row.measure(t, o, tools).catch((e: unknown) => ({ value: NaN, note: (e as Error).message }));
        (samples.get(row.id)![t.id] ??= []).push(s.value);
        if (s.note !== undefined) notes.get(row.id)!.push(`${t.label}, round ${round}: ${s.note}`);
      }
    }
  }
  const rows: ComparedResult[] = compared.map((r) => summarize(r, r.what(o), targets, samples.get(r.id)!, notes.get(r.id)!));

  const tapstackOnly: SingleRow[] = [];
  for (const row of single) {
    for (const t of targets.filter((x) => row.kinds.includes(x.kind))) {
      progress(`${row.id} on ${t.label}`);
      tapstackOnly.push(await row.measure(t, o).catch((e: unknown) => ({ id: row.id, target: t.id, what: row.id, values: {}, notes: [(e as Error).message] })));
    }
  }
  for (const t of targets) await t.stop();

  let loss: LossRow[] = [];
  if (o.only.has('loss') && o.losses.length > 0) {
    progress('loss table');
    loss = await lossRows(owner, dir, o);
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, loadAverageStart, loadAverageEnd: loadavg()[0]! },
    rounds: o.rounds,
    targets: targets.map((t) => ({ id: t.id, label: t.label, kind: t.kind })),
    skipped,
    rows,
    tapstackOnly,
    loss,
  };
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
