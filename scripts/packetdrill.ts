// `npm run packetdrill -- [flags] FILE.pkt...`: run packetdrill-language scripts against tapstack's
// TCP on a memory wire with fake time (lib/packetdrill). Prints `ok FILE` or the failure report
// per script; exits 1 if any failed, 2 on a usage mistake.
import { parseArgs } from 'node:util';
import { applyFlag, formatResult, runFile, type ScriptOptions } from '../lib/packetdrill/index.js';

const USAGE = `Usage: packetdrill [--tolerance_usecs=N] [--mss=N] [--tcp_ts_tick_usecs=N] [--ip_version=ipv4]
                   [--trace] [--explain] [--lang en|zh] FILE.pkt...

Runs each script against tapstack's TCP on a memory wire with fake time; a failure shows the
script line, the expected and the actual segment, and the connection's state.
  --trace            print every frame (relative numbers) and TCP state change on stderr
  --explain          --trace, with plain-language explanations under each frame
  --lang LANG        language of --explain: en (default) or zh
`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        tolerance_usecs: { type: 'string' },
        mss: { type: 'string' },
        tcp_ts_tick_usecs: { type: 'string' },
        ip_version: { type: 'string' },
        trace: { type: 'boolean' },
        explain: { type: 'boolean' },
        lang: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`packetdrill: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flags: Partial<ScriptOptions> = {};
  try {
    for (const name of ['tolerance_usecs', 'mss', 'tcp_ts_tick_usecs', 'ip_version'] as const) {
      const value = v[name];
      if (value !== undefined) applyFlag(flags, `--${name}=${value}`, (m) => new Error(m));
    }
    if (v.lang !== undefined && v.lang !== 'en' && v.lang !== 'zh') throw new Error('--lang is en or zh');
  } catch (e) {
    process.stderr.write(`packetdrill: ${(e as Error).message}\n`);
    return 2;
  }
  if (parsed.positionals.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const trace = v.trace === true || v.explain === true;
  let failed = 0;
  for (const file of parsed.positionals) {
    let text: string;
    try {
      const r = await runFile(file, { flags, ...(trace ? { trace: process.stderr, explain: v.explain === true, lang: v.lang as 'en' | 'zh' | undefined } : {}) });
      if (!r.ok) failed++;
      text = formatResult(r);
    } catch (e) {
      failed++;
      text = `FAIL ${file}\n${(e as Error).message}`;
    }
    process.stdout.write(text + '\n');
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
