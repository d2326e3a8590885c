// The packetdrill runner's own tests: a script that must fail for each kind of mismatch does
// fail, with the line, the expected and actual segment and the connection state in the report;
// the dialect's conveniences (super-segments, blocking calls, skipped lines) behave as documented.
import t from 'tap';
import { formatResult, parseScript, runScript, ScriptError } from '../../lib/packetdrill/index.js';

/** A passive open with timestamps off, the connection accepted as fd 4. */
const OPEN = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 3>
+.1 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
`;

async function run(body: string, flags = {}) {
  return runScript(parseScript(OPEN + body, 'x.pkt', flags));
}

t.test('a correct script passes', async (t) => {
  const r = await run(`+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1 win 32768\n+.1 < . 1:1(0) ack 1001 win 257\n`);
  t.ok(r.ok, formatResult(r));
});

const mustFail: Array<[string, string, RegExp]> = [
  ['flags', `+0 write(4, ..., 1000) = 1000\n+0 > F. 1:1001(1000) ack 1\n`, /flags P\., the script says F\./],
  ['seq', `+0 write(4, ..., 1000) = 1000\n+0 > P. 2:1002(1000) ack 1\n`, /seq 1, the script says 2/],
  ['len', `+0 write(4, ..., 500) = 500\n+0 > P. 1:1001(1000) ack 1\n`, /length 500, the script says 1000/],
  ['ack', `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 7\n`, /ack 1, the script says 7/],
  ['win', `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1 win 100\n`, /win 32768, the script says 100/],
  ['option', `+0 < P. 1:1001(1000) ack 1 win 257\n+0 < P. 2001:3001(1000) ack 1 win 257\n+0 > . 1:1(0) ack 1001 <nop,nop,sack 2001:2500>\n`, /sack 2001:3001, the script says 2001:2500/],
  ['timing', `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n+.2 > P. 1:1001(1000) ack 1\n`, /sent at 0\.400s, the script expects it at 0\.300s ± 4 ms/],
  ['missing', `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n+.1 < . 1:1(0) ack 1001 win 257\n+0 > P. 1001:2001(1000) ack 1\n`, /no segment by 0\.204s/],
  ['unexpected', `+0 write(4, ..., 1000) = 1000\n+.1 < . 1:1(0) ack 1001 win 257\n`, /tapstack sent a segment the script does not expect/],
  ['return', `+0 write(4, ..., 1000) = 999\n`, /write\(\) returned 1000, the script says 999/],
  ['errno', `+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 1000) = -1 ECONNRESET (Connection reset)\n`, /read\(\) failed with EAGAIN, the script says ECONNRESET/],
  ['value', `+0 ioctl(4, SIOCINQ, [5]) = 0\n`, /SIOCINQ is 0, the script says 5/],
  ['unsupported', `+0 setsockopt(4, IPPROTO_TCP, TCP_USER_TIMEOUT, [1000], 4) = 0\n`, /no socket option TCP_USER_TIMEOUT/],
];

for (const [kind, body, why] of mustFail) {
  t.test(`a ${kind} mismatch fails with a clear report`, async (t) => {
    const r = await run(body);
    t.notOk(r.ok, 'fails');
    t.equal(r.failure?.kind, kind);
    t.match(r.failure?.message, why);
    t.match(r.failure?.message, /^x\.pkt:\d+: /, 'names the line');
    t.match(r.failure?.message, /\nscript: {3}\S/, 'quotes the script line');
    t.match(r.failure?.message, /\nstate: {4}(ESTABLISHED|CLOSED|no connection)/, 'shows the connection state');
    if (['flags', 'seq', 'len', 'ack', 'win', 'option', 'timing'].includes(kind)) {
      t.match(r.failure?.message, /\nexpected: \[/, 'shows the expected segment');
      t.match(r.failure?.message, /\nactual: {3}.*\[PSH, ACK\]|\nactual: {3}.*\[ACK\]/, 'shows the actual segment');
    }
  });
}

t.test('the state line has the sender numbers', async (t) => {
  const r = await run(`+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n+.3 > P. 1:1001(1000) ack 2\n`);
  t.match(r.failure?.message, /SND\.UNA=1 SND\.NXT=1001 .*cwnd=\d+ .*RTO=\d+ms/);
});

t.test('--tolerance_usecs widens the timing window', async (t) => {
  const body = `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n+.31 > P. 1:1001(1000) ack 1\n+.1 < . 1:1(0) ack 1001 win 257\n`;
  t.notOk((await run(body)).ok, '10 ms late fails at 4 ms');
  const r = await run(body, { toleranceMs: 20 });
  t.ok(r.ok, formatResult(r));
});

t.test('super-segments: a long `<` line is cut at the MSS, a long `>` line matches several segments', async (t) => {
  const r = await run(`+0 < P. 1:2921(2920) ack 1 win 257\n+0 > . 1:1(0) ack 2921\n+0 read(4, ..., 5000) = 2920\n+0 write(4, ..., 3000) = 3000\n+0 > P. 1:3001(3000) ack 2921\n+.1 < . 2921:2921(0) ack 3001 win 257\n`);
  t.ok(r.ok, formatResult(r));
});

t.test('a blocking read returns when the data arrives', async (t) => {
  const r = await run(`+0...0.3 read(4, ..., 1000) = 1000\n+.2 < P. 1:1001(1000) ack 1 win 257\n+0 > . 1:1(0) ack 1001\n`);
  t.ok(r.ok, formatResult(r));
  const late = await run(`+0...0.2 read(4, ..., 1000) = 1000\n+.2 < P. 1:1001(1000) ack 1 win 257\n+0 > . 1:1(0) ack 1001\n`);
  t.equal(late.failure?.kind, 'timing', formatResult(late));
});

t.test('shell and Python lines are reported as skipped, never run', async (t) => {
  const r = await run("+0 `sysctl -q net.ipv4.tcp_sack=0`\n%{\nprint('hi')\n}%\n");
  t.ok(r.ok);
  t.same(
    r.skipped.map((s) => s.what),
    ['shell', 'python'],
  );
  t.match(formatResult(r), /2 line\(s\) skipped, not run: shell at line \d+, python at line \d+/);
});

t.test('a malformed line is a parse error naming the line', async (t) => {
  t.throws(() => parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > P. 1:1001(999) ack 1\n', 'y.pkt'), new ScriptError('y.pkt', 2, '1:1001 is 1000 bytes, not (999): +0 > P. 1:1001(999) ack 1'));
  t.throws(() => parseScript('--ip_version=ipv6\n', 'y.pkt'), /IPv4 only/);
  t.throws(() => parseScript('write(4, ..., 1) = 1\n', 'y.pkt'), /starts with its time/);
});

t.test('`*` matches a segment whenever it comes; `a~b` within the range', async (t) => {
  const star = await run(`+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n* > P. 1:1001(1000) ack 1\n+.1 < . 1:1(0) ack 1001 win 257\n`);
  t.ok(star.ok, formatResult(star));
  const range = `+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1\n+.25~+.35 > P. 1:1001(1000) ack 1\n+.1 < . 1:1(0) ack 1001 win 257\n`;
  t.ok((await run(range)).ok, 'the RTO at +0.3 is inside +0.25~+0.35');
  const early = await run(range.replace('+.25~+.35', '+.35~+.5'));
  t.equal(early.failure?.kind, 'timing');
  t.match(early.failure?.message, /sent at 0\.400s, the script expects it in \[0\.450s, 0\.600s\]/);
});

t.test('--tcp_ts_tick_usecs checks our TSval against the script', async (t) => {
  const ts = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 0 ecr 1000,nop,wscale 3>
+.1 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 1100 ecr 0>
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1 <nop,nop,TS val VAL ecr 1100>
`;
  const ok = await runScript(parseScript(ts.replace('VAL', '100'), 'ts.pkt', { tsTickUsecs: 1000 }));
  t.ok(ok.ok, formatResult(ok));
  const bad = await runScript(parseScript(ts.replace('VAL', '150'), 'ts.pkt', { tsTickUsecs: 1000 }));
  t.equal(bad.failure?.kind, 'option');
  t.match(bad.failure?.message, /TS val 100 \(in script ticks\), the script says 150/);
  const unchecked = await runScript(parseScript(ts.replace('VAL', '150'), 'ts.pkt'));
  t.ok(unchecked.ok, 'without the flag TSval is not checked');
});

t.test('--trace --explain: the run is narrated', async (t) => {
  const lines: string[] = [];
  const r = await runScript(parseScript(OPEN, 'x.pkt'), { trace: (l) => lines.push(l), explain: true });
  t.ok(r.ok);
  t.ok(lines.some((l) => /TX #\d+ 10\.0\.0\.2:8080 > 10\.0\.0\.1:40000 \[SYN, ACK\] Seq=0 Ack=1/.test(l)), 'relative numbers');
  t.ok(lines.some((l) => /↳ Handshake 2\/3/.test(l)), 'explanations');
  t.ok(lines.some((l) => /state 10\.0\.0\.2:8080 .*SYN-RECEIVED -> ESTABLISHED/.test(l)), 'state changes');
});

t.test('header lines set TCP tunables; unknown ones are refused', async (t) => {
  const s = parseScript('--tapstack_tcp_rack=false\n--tapstack_tcp_delayedAckMs=200\n--tolerance_usecs=10000\n', 'h.pkt');
  t.same(s.options.tcp, { rack: false, delayedAckMs: 200 });
  t.equal(s.options.toleranceMs, 10);
  t.throws(() => parseScript('--tapstack_tcp_nosuch=1\n', 'h.pkt'), /no TCP tunable nosuch/);
});

t.test('--mss cuts injected super-segments at the given size', async (t) => {
  const script = (flags = {}) => parseScript(OPEN + `+0 < P. 1:2001(2000) ack 1 win 257\n+0 > . 1:1(0) ack 2001\n`, 'x.pkt', flags);
  const rx = async (flags = {}) => {
    const lines: string[] = [];
    const r = await runScript(script(flags), { trace: (l) => lines.push(l) });
    t.ok(r.ok, formatResult(r));
    return lines.filter((l) => / RX .*Len=[1-9]/.test(l)).map((l) => /Len=(\d+)/.exec(l)![1]);
  };
  t.same(await rx({ mss: 1000 }), ['1000', '1000']);
  t.same(await rx(), ['1460', '540'], 'by default at the MSS tapstack announced');
});
