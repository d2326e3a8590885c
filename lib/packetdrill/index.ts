// tapstack's packetdrill runner: scripts in the packetdrill language (timed system calls and the
// exact segments expected on the wire) played against tapstack's TCP on a memory wire with fake
// time. Parse with `parseScript`, run with `runScript` / `runFile`, print with `formatResult`.
// Where the dialect differs from Google's packetdrill: lib/packetdrill/DIALECT.md.
//
//   const r = await runFile('test/packetdrill/close/active-close.pkt', { trace: process.stderr, explain: true });
//   console.log(formatResult(r));   // "ok ..." or "FAIL ..." with the line, expected/actual, state
export { parseScript, applyFlag, DEFAULT_TOLERANCE_MS } from './parser.js';
export { runScript, runFile, type RunOptions, STACK_IP, PEER_IP, STACK_PORT, PEER_PORT } from './runner.js';
export { formatResult, type RunResult, type Failure } from './report.js';
export type { MismatchKind } from './matcher.js';
export { type Script, type ScriptEvent, type ScriptOptions, ScriptError } from './script.js';
