// `npm run bench` flags: which rows, how many interleaved rounds, how big each load is.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** The rows in the order they run: compared rows (every target, each round), then tapstack-only rows, then the loss table. */
export const ROW_IDS = ['download', 'discard', 'echo', 'wrk', 'ab', 'ping', 'small', 'memory', 'memory-http', 'keepalive', 'idle', 'loss'] as const;
export type RowId = (typeof ROW_IDS)[number];

/** The validated command line of the benchmark. */
export type BenchOptions = {
  rounds: number;
  json: boolean;
  only: Set<RowId>;
  offload: 'on' | 'off' | 'both';
  /** Another checkout whose built tapstack is measured beside this one (before/after). */
  baseline: string | undefined;
  downloads: number;
  discardMib: number;
  echoMib: number;
  wrkSeconds: number;
  abRequests: number;
  pings: number;
  warmup: number;
  idleConnections: number;
  idleWrkConnections: number;
  keepaliveRequests: number;
  keepaliveSeconds: number;
  lossMib: number;
  losses: number[];
};

export const BENCH_USAGE = `Usage: npm run bench -- [options]      (as root; every load runs in namespaces it creates)
  --rounds N            interleaved rounds of the compared rows and of the idle row; medians
                        are printed (default 3)
  --only ROW,...        run only these rows: ${ROW_IDS.join(', ')}
  --offload on|off|both tapstack's --offload setting(s) to measure (default both)
  --baseline DIR        also measure the tapstack built in checkout DIR (its defaults), in the
                        same rounds: a before/after table (the loss table too)
  --json                one JSON document on stdout instead of the tables
  --downloads N         download row: curl fetches /download/4MiB.bin N times (default 50)
  --discard-mib N       discard row: MiB sent to discard (default 200)
  --echo-mib N          echo row: MiB each way through echo (default 100)
  --wrk-seconds N       wrk row: duration (default 5)
  --ab-requests N       ab row: requests on new connections (default 3000)
  --pings N             ping and small rows: round trips (default 200)
  --warmup N            before the rounds, untimed, on every target, so tapstack's JIT has compiled
                        the paths they time: N round trips for the ping, small and idle rows, one
                        run at a tenth of its size for each throughput row (default 5000; 0: none)
  --idle-connections N  memory and memory-http rows: idle connections (default 10000)
  --idle-wrk N          idle row: idle connections open during wrk and ping (default 20000)
  --keepalive-requests N  keepalive row: requests at least (default 1000000)
  --keepalive-seconds N   keepalive row: time limit (default 300)
  --loss-mib N          loss row: MiB to discard and through echo (default 20)
  --losses P,...        loss row: loss percentages (default 1,5)
`;

/** Parse the benchmark's argv; throws an Error saying what is wrong. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      offload: { type: 'string', default: 'both' },
      baseline: { type: 'string' },
      downloads: { type: 'string', default: '50' },
      'discard-mib': { type: 'string', default: '200' },
      'echo-mib': { type: 'string', default: '100' },
      'wrk-seconds': { type: 'string', default: '5' },
      'ab-requests': { type: 'string', default: '3000' },
      pings: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '5000' },
      'idle-connections': { type: 'string', default: '10000' },
      'idle-wrk': { type: 'string', default: '20000' },
      'keepalive-requests': { type: 'string', default: '1000000' },
      'keepalive-seconds': { type: 'string', default: '300' },
      'loss-mib': { type: 'string', default: '20' },
      losses: { type: 'string', default: '1,5' },
    },
  });
  const only = v.only === undefined ? ROW_IDS : v.only.split(',').filter((x) => x !== '');
  for (const id of only) if (!(ROW_IDS as readonly string[]).includes(id)) throw new Error(`--only: no row "${id}" (rows: ${ROW_IDS.join(', ')})`);
  if (v.baseline !== undefined && !existsSync(path.join(v.baseline, 'dist/lib/cli.js'))) throw new Error(`--baseline: no built tapstack in "${v.baseline}" (dist/lib/cli.js; run npm install there)`);
  if (v.offload !== 'on' && v.offload !== 'off' && v.offload !== 'both') throw new Error(`--offload: expected on, off or both, got "${v.offload}"`);
  return {
    rounds: int('--rounds', v.rounds, 1, 100),
    json: v.json,
    only: new Set(only as RowId[]),
    offload: v.offload,
    baseline: v.baseline,
    downloads: int('--downloads', v.downloads, 1, 10_000),
    discardMib: int('--discard-mib', v['discard-mib'], 1, 100_000),
    echoMib: int('--echo-mib', v['echo-mib'], 1, 100_000),
    wrkSeconds: int('--wrk-seconds', v['wrk-seconds'], 1, 600),
    abRequests: int('--ab-requests', v['ab-requests'], 10, 1_000_000),
    pings: int('--pings', v.pings, 3, 100_000),
    warmup: int('--warmup', v.warmup, 0, 100_000),
    idleConnections: int('--idle-connections', v['idle-connections'], 1, 60_000),
    idleWrkConnections: int('--idle-wrk', v['idle-wrk'], 1, 60_000),
    keepaliveRequests: int('--keepalive-requests', v['keepalive-requests'], 1, 100_000_000),
    keepaliveSeconds: int('--keepalive-seconds', v['keepalive-seconds'], 5, 3600),
    lossMib: int('--loss-mib', v['loss-mib'], 1, 10_000),
    losses: v.losses.split(',').filter((x) => x !== '').map((p) => num('--losses', p, 0, 100)),
  };
}

function num(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag}: expected a number from ${min} to ${max}, got "${text}"`);
  return n;
}

function int(flag: string, text: string, min: number, max: number): number {
  const n = num(flag, text, min, max);
  if (!Number.isInteger(n)) throw new Error(`${flag}: expected a whole number, got "${text}"`);
  return n;
}
