// The results of `npm run bench`: medians and ratios of the compared rows, then the printed
// tables or one JSON document.
import type { LossRow } from './loss.js';
import { median, type ComparedRow } from './rows.js';
import type { SingleRow } from './tapstack-only.js';
import type { Target } from './targets.js';

/** A compared row after the rounds: every sample, the medians, and tapstack's ratios to the references of the same run. */
export type ComparedResult = {
  id: string;
  what: string;
  unit: string;
  better: 'higher' | 'lower';
  samples: Record<string, number[]>;
  median: Record<string, number>;
  /** Per tapstack target: its median ÷ the kernel's, and ÷ the C floor's where the floor serves the row. */
  ratio: Record<string, { kernel?: number; floor?: number }>;
  notes: string[];
};

/** Everything one run measured, as `--json` prints it. */
export type BenchReport = {
  date: string;
  host: { cpus: number; loadAverageStart: number; loadAverageEnd: number };
  rounds: number;
  targets: { id: string; label: string; kind: Target['kind'] }[];
  skipped: string[];
  rows: ComparedResult[];
  tapstackOnly: SingleRow[];
  loss: LossRow[];
};

/** Medians and ratios of one row from its samples (NaN where a target failed every round). */
export function summarize(row: ComparedRow, what: string, targets: Target[], samples: Record<string, number[]>, notes: string[]): ComparedResult {
  const med: Record<string, number> = {};
  for (const t of targets) if (samples[t.id] !== undefined) med[t.id] = median(samples[t.id]!);
  const ratio: Record<string, { kernel?: number; floor?: number }> = {};
  const kernel = targets.find((t) => t.kind === 'kernel');
  const floor = targets.find((t) => t.kind === 'floor');
  for (const t of targets.filter((x) => x.kind === 'stack')) {
    if (med[t.id] === undefined) continue;
    ratio[t.id] = {
      ...(kernel && med[kernel.id] !== undefined ? { kernel: med[t.id]! / med[kernel.id]! } : {}),
      ...(floor && med[floor.id] !== undefined ? { floor: med[t.id]! / med[floor.id]! } : {}),
    };
  }
  return { id: row.id, what, unit: row.unit, better: row.better, samples, median: med, ratio, notes };
}

/** 684, 42.5, 0.14: three significant digits at most, whole numbers from 100. */
function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isFinite(n)) return 'failed';
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The human-readable report. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`tapstack bench, ${r.date}: ${r.rounds} interleaved round${r.rounds === 1 ? '' : 's'}, medians.`);
  out.push(`Load average ${r.host.loadAverageStart.toFixed(1)} at the start, ${r.host.loadAverageEnd.toFixed(1)} at the end, on ${r.host.cpus} CPUs${r.host.loadAverageStart > r.host.cpus / 2 ? ': the machine was busy, the figures are noisy' : ''}.`);
  for (const s of r.skipped) out.push(`skipped: ${s}`);
  if (r.rows.length > 0) {
    const shown = r.targets.filter((t) => r.rows.some((row) => row.median[t.id] !== undefined));
    const stacks = shown.filter((t) => t.kind === 'stack');
    const hasFloor = r.rows.some((row) => Object.values(row.ratio).some((x) => x.floor !== undefined));
    // Ratio columns by the short name of the setting ("offload on ÷ kernel").
    const short = (t: { label: string }): string => t.label.replace(/^tapstack (?=offload)/, '');
    const head = ['workload', 'unit', ...shown.map((t) => t.label), ...stacks.map((t) => `${short(t)} ÷ kernel`), ...(hasFloor ? stacks.map((t) => `${short(t)} ÷ floor`) : [])];
    const lines = r.rows.map((row) => [
      row.what, row.unit, ...shown.map((t) => fmt(row.median[t.id])),
      ...stacks.map((t) => fmt(row.ratio[t.id]?.kernel)),
      ...(hasFloor ? stacks.map((t) => fmt(row.ratio[t.id]?.floor)) : []),
    ]);
    out.push('', table([head, ...lines]));
    const notes = r.rows.flatMap((row) => row.notes.map((n) => `  ${row.id}: ${n}`));
    if (notes.length > 0) out.push('notes:', ...notes);
  }
  for (const s of r.tapstackOnly) {
    const label = r.targets.find((t) => t.id === s.target)?.label ?? s.target;
    out.push('', `${label}: ${s.what}`, `  ${Object.entries(s.values).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`, ...s.notes.map((n) => `  note: ${n}`));
  }
  if (r.loss.length > 0) {
    const base = r.loss.some((l) => l.baseline !== undefined);
    const head = ['under random loss (nft)', 'tapstack Mbit/s', 'kernel Mbit/s', 'tapstack ÷ kernel', ...(base ? ['baseline Mbit/s', 'tapstack ÷ baseline'] : [])];
    const cells = (l: LossRow) => [l.what, fmt(l.stack), fmt(l.kernel), fmt(l.stack / l.kernel), ...(base ? [fmt(l.baseline ?? NaN), fmt(l.stack / (l.baseline ?? NaN))] : [])];
    out.push('', table([head, ...r.loss.map(cells)]));
  }
  return out.join('\n') + '\n';
}
