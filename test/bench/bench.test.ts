// `npm run bench` (issue 9 "The benchmark"): its flags, its medians and ratios, and one real run
// of its fastest rows (ping and the small-packet round trip against tapstack, the kernel and the
// C TAP floor built with cc) whose JSON has the documented shape and which leaves no namespace
// behind. Speed is not asserted: the figures are the bench's output, not a test.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { e2eSkipReason, ensureTools, repoRoot } from '../helpers/netns.js';
import { parseBenchArgs, ROW_IDS } from '../../scripts/bench/options.js';
import { median, COMPARED_ROWS } from '../../scripts/bench/rows.js';
import { formatReport, summarize, type BenchReport } from '../../scripts/bench/report.js';
import type { Target } from '../../scripts/bench/targets.js';

t.test('flags: defaults, --only, --offload, clear errors', async (t) => {
  const d = parseBenchArgs([]);
  t.equal(d.rounds, 3);
  t.equal(d.offload, 'both');
  t.equal(d.warmup, 5000);
  t.equal(parseBenchArgs(['--warmup', '0']).warmup, 0, 'no warm-up');
  t.throws(() => parseBenchArgs(['--warmup', '-1']), /--warmup/);
  t.same([...d.only], [...ROW_IDS], 'every row by default');
  const o = parseBenchArgs(['--rounds', '1', '--only', 'ping,small', '--offload', 'off', '--json']);
  t.same([...o.only], ['ping', 'small']);
  t.equal(o.offload, 'off');
  t.equal(o.json, true);
  t.throws(() => parseBenchArgs(['--only', 'ping,fast']), /--only: no row "fast"/);
  t.throws(() => parseBenchArgs(['--offload', 'maybe']), /--offload: expected on, off or both/);
  t.throws(() => parseBenchArgs(['--rounds', '0']), /--rounds: expected a number from 1 to 100/);
  t.throws(() => parseBenchArgs(['--rounds', '1.5']), /--rounds: expected a whole number/);
  t.equal(d.baseline, undefined);
  t.equal(parseBenchArgs(['--baseline', repoRoot]).baseline, repoRoot, 'a checkout with a build');
  t.throws(() => parseBenchArgs(['--baseline', '/nonexistent']), /--baseline: no built tapstack in "\/nonexistent"/);
});

t.test('medians and ratios to the references of the same run', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([NaN, 5]), 5, 'a failed round is left out');
  t.ok(Number.isNaN(median([])));
  const fake = (id: string, kind: Target['kind']) => ({ id, label: id, kind }) as Target;
  const targets = [fake('tapstack', 'stack'), fake('kernel', 'kernel'), fake('floor', 'floor')];
  const ping = COMPARED_ROWS.find((r) => r.id === 'ping')!;
  const r = summarize(ping, 'ping', targets, { tapstack: [80, 90, 70], kernel: [20, 10, 30], floor: [40, 40, 40] }, []);
  t.same(r.median, { tapstack: 80, kernel: 20, floor: 40 });
  t.same(r.ratio, { tapstack: { kernel: 4, floor: 2 } });
  const report: BenchReport = {
    date: 'now', host: { cpus: 2, loadAverageStart: 8, loadAverageEnd: 9 }, rounds: 3,
    targets: targets.map(({ id, label, kind }) => ({ id, label, kind })), skipped: ['--offload off: why'], rows: [r], tapstackOnly: [], loss: [],
  };
  const text = formatReport(report);
  t.match(text, /the machine was busy, the figures are noisy/);
  t.match(text, /skipped: --offload off: why/);
  t.match(text, /ping\s+µs\s+80\.0\s+20\.0\s+40\.0\s+4\.00\s+2\.00/);
});

const benchJs = path.join(repoRoot, 'dist/scripts/bench.js');
const skip = e2eSkipReason() ?? (existsSync(benchJs) ? undefined : 'dist/scripts/bench.js is missing: build with `npx tsc -p tsconfig.build.json`') ?? ensureTools();
if (skip !== undefined) t.comment(`skipping the bench run: ${skip}`);

t.test('a real run of the fastest rows: --rounds 1 --only download,ping,small --json', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  // `env -i`: tap injects its loaders through the environment; the bench runs as users run it.
  const child = spawn('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, benchJs, '--rounds', '1', '--only', 'download,ping,small', '--downloads', '3', '--pings', '20', '--warmup', '50', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
  const code = await new Promise((r) => child.on('close', r));
  clearTimeout(timer);
  t.equal(code, 0, 'exit 0', { stderr: stderr.slice(-3000) });
  t.match(stderr, /warm-up: 50 ping round trips to tapstack/, 'untimed round trips first');
  t.match(stderr, /warm-up: download at a tenth of its size to tapstack/, 'and an untimed download');
  t.notMatch(stderr, /warm-up of .* failed/, 'no warm-up failed');
  const report = JSON.parse(stdout) as BenchReport;
  t.equal(report.rounds, 1);
  const kinds = report.targets.map((x) => x.kind);
  t.ok(kinds.includes('stack') && kinds.includes('kernel') && kinds.includes('floor') && kinds.includes('node-floor'), 'tapstack, the kernel, the C floor and the Node floor measured');
  t.same(report.rows.map((r) => r.id), ['download', 'ping', 'small'], 'only the rows asked for');
  const [download, ...roundTrips] = report.rows;
  t.equal(download!.unit, 'Mbit/s');
  for (const target of report.targets.filter((x) => x.kind === 'stack' || x.kind === 'kernel')) {
    t.ok(download!.median[target.id]! > 0, `download: ${target.id} served 3 × 4 MiB (${download!.median[target.id]} Mbit/s)`);
  }
  for (const row of roundTrips) {
    t.equal(row.unit, 'µs');
    for (const target of report.targets) {
      t.equal(row.samples[target.id]?.length, 1, `${row.id}: one sample of ${target.id}`);
      t.ok(row.median[target.id]! > 0, `${row.id}: ${target.id} answered (${row.median[target.id]} µs)`);
    }
    for (const target of report.targets.filter((x) => x.kind === 'stack')) {
      t.ok(row.ratio[target.id]!.kernel! > 0 && row.ratio[target.id]!.floor! > 0, `${row.id}: ${target.id} ratios to kernel and floor`);
    }
  }
  t.same(report.tapstackOnly, []);
  t.same(report.loss, []);
  t.match(stderr, /bench: round 1\/1: ping on /, 'progress on stderr');
  const leftover = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`ts-${child.pid}-`));
  // `env` execs node, so the bench's pid (its namespaces' prefix) is the child's.
  t.same(leftover, [], 'every namespace of the run deleted');
});
