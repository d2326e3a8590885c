// Teaching mode (issue 6): the trace and explanation lines of the classic captures, scripted over
// two real stacks on fake time (scenarios.ts), match the golden files in both languages; the
// traced states of tapstack's own end are exactly the states its TCP core went through; relative
// numbering is per connection and per direction.
// Regenerate the goldens after an intended change: TAPSTACK_UPDATE_GOLDEN=1 npx tap test/explain/explain.test.ts
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from '../../lib/socket/index.js';
import { classic, clientCloses, DROP_RULES, dropRules, icmpPathMtu, lossWithSack, lostFinalAck, retransmitCause, spuriousAfterLostAcks, threeWayClose } from './scenarios.js';
import { makeExplainNet, settle } from './harness.js';
import { clientTimeWait, dnsQueryAnswer } from './client-scenarios.js';
import type { ExplainNet } from './harness.js';

const UPDATE = process.env.TAPSTACK_UPDATE_GOLDEN === '1';

function golden(t: Test, name: string, text: string): void {
  const file = new URL(`./golden/${name}.txt`, import.meta.url);
  if (UPDATE || !existsSync(file)) {
    writeFileSync(file, text);
    t.comment(`wrote golden ${name}.txt`);
  }
  t.equal(text, readFileSync(file, 'utf8'), `${name}.txt`);
}

/** The `to` states of tapstack's end (10.0.0.2) as the trace shows them. */
function tracedStates(net: ExplainNet): string[] {
  return net
    .render('en', false)
    .split('\n')
    .map((l) => /^[\d.]+ state (10\.0\.0\.2:\d+) ↔ 10\.0\.0\.1:\d+ \S+ -> (\S+)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
}

const scenarios: [string, () => Promise<ExplainNet>][] = [
  ['classic', classic],
  ['client-closes', clientCloses],
  ['three-way-close', threeWayClose],
  ['loss-sack', lossWithSack],
  ['icmp-pmtu', icmpPathMtu],
  ['lost-final-ack', lostFinalAck],
  ['spurious-after-lost-acks', spuriousAfterLostAcks],
  ['drop-rules', dropRules],
  // One golden per retransmission cause of tapstack's TCP core (the data segments of /big dropped).
  ['cause-fast', () => retransmitCause([2], { sack: false })],
  // The tail's probe (RFC 8985 §7.2: at the RTO expiry) is lost too, so the RTO fires.
  ['cause-rto', () => retransmitCause([14, 15])],
  ['cause-tlp', () => retransmitCause([13, 14])],
  ['cause-go-back-n', () => retransmitCause([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])],
  // RFC 6675's own rules: with RACK on, the second hole is RACK's (no reordering window in recovery, RFC 8985 §6.2).
  ['cause-sack-rescue', () => retransmitCause([2, 5], { rack: false })],
  ['cause-rack', () => retransmitCause([2, 13, 14])],
  ['dns', dnsQueryAnswer],
  ['client-time-wait', async () => (await clientTimeWait()).net],
];

/** What each cause golden must say (English, Chinese): the cause named by the core, with its numbers. */
const CAUSES: Record<string, [RegExp, RegExp]> = {
  'cause-fast': [/\[TCP Fast Retransmission\]\n {4}↳ Retransmission of bytes 1449–2896, first sent as #\d+: fast retransmit \(RFC 6582 §3\.2, DupThresh duplicate ACKs\)/, /快速重传（RFC 6582 §3\.2, DupThresh duplicate ACKs）/],
  'cause-rto': [/\[TCP Retransmission\]\n {4}↳ Retransmission of bytes \d+–20147, first sent as #\d+: no ACK for it came before tapstack's retransmission timer expired \(RTO 200 ms, RFC 6298\)/, /重传定时器超时（RTO 200 毫秒，RFC 6298）/],
  'cause-tlp': [/↳ Retransmission of bytes \d+–20147, first sent as #\d+: a tail loss probe \(RFC 8985 §7\): no ACK came within the probe timeout \(PTO \d+ ms\)/, /尾部丢包探测（TLP，RFC 8985 §7）：在探测超时（PTO \d+ 毫秒）内/],
  'cause-go-back-n': [/↳ Retransmission of bytes 2897–4344, first sent as #\d+: tapstack resends everything not yet acknowledged from SND\.UNA on, as ACKs return \(go-back-N/, /回退 N/],
  'cause-sack-rescue': [/\[TCP Fast Retransmission\]\n {4}↳ Retransmission of bytes 5793–7240, first sent as #\d+: SACK recovery \(RFC 6675 NextSeg \(1\)\)(.|\n)*\[TCP Fast Retransmission\]\n {4}↳ Retransmission of bytes \d+–20147, first sent as #\d+: a rescue retransmission \(RFC 6675 NextSeg rule 4\)/, /救援重传（RFC 6675 NextSeg 规则 4）/],
  'cause-rack': [/↳ Retransmission of bytes 1449–2896, first sent as #\d+: RACK \(RFC 8985\) marked it lost: .*reordering window \(\d+(\.\d)? ms\)/, /RACK（RFC 8985）判定它丢失/],
};

for (const [name, make] of scenarios) {
  t.test(name, async (t) => {
    const net = await make();
    t.teardown(() => net.close());
    golden(t, `${name}.en`, net.render('en'));
    golden(t, `${name}.zh`, net.render('zh'));
    const cause = CAUSES[name];
    if (cause !== undefined) {
      t.match(net.render('en'), cause[0], 'the cause, as the TCP core decided it');
      t.match(net.render('zh'), cause[1], '原因，由 TCP 核心决定');
    }
    if (name === 'classic') golden(t, `${name}.trace`, net.render('en', false));
    // Our own end's states are exact: the same transitions the TCP core made, in order (the core
    // creates passive connections in CLOSED, the trace starts them in LISTEN; TIME-WAIT's end is
    // the table's, not a transition).
    const traced = tracedStates(net).filter((s, i, all) => !(s.endsWith(' CLOSED') && i > 0 && all[i - 1]!.endsWith(' TIME-WAIT') && all[i - 1]!.split(' ')[0] === s.split(' ')[0]));
    t.same(traced, net.realStates, 'traced states of 10.0.0.2 = its TCP core\'s');
  });
}

t.test('the classic capture says what the learner asks about', async (t) => {
  const net = await classic();
  t.teardown(() => net.close());
  const en = net.render('en');
  t.match(en, /RX #\d+ 10\.0\.0\.1:\d+ > 10\.0\.0\.2:80 \[PSH, ACK\] Seq=1 Ack=1 Win=\d+ Len=401 /, 'the 401-byte request');
  t.match(en, /TX #\d+ 10\.0\.0\.2:80 > 10\.0\.0\.1:\d+ \[ACK\] Seq=1 Ack=402 .*\n {4}↳ Ack=402 = 1 \+ 401 bytes of "GET \/ HTTP\/1\.1"/, 'ack 402 = 1 + 401');
  t.match(en, /Len=1448 .*\n.*\n {4}↳ A full-sized segment: .*1448 = MSS 1460 − 12 bytes of timestamp option/, 'MSS-sized pieces, 1448 = 1460 - 12');
  t.match(en, /"HTTP\/1\.1 404 Not Found"/, 'the favicon 404');
  t.match(en, /state 10\.0\.0\.2:80 ↔ 10\.0\.0\.1:\d+ FIN-WAIT-2 -> TIME-WAIT\n {4}↳ The server \(10\.0\.0\.2:80\) closed first, so it waits in TIME-WAIT for 2×MSL = 60 s \(tapstack's MSL is 30 s; RFC 9293's MSL is 2 minutes, and Linux waits a fixed 60 s\)/);
  t.match(en, /state 10\.0\.0\.2:80 ↔ 10\.0\.0\.1:\d+ TIME-WAIT -> CLOSED/);
  t.match(en, /state 10\.0\.0\.1:\d+ ↔ 10\.0\.0\.2:80 ESTABLISHED -> CLOSE-WAIT/, 'state lines name the connection');
  t.match(en, /TX #\d+ 10\.0\.0\.2:80 > 10\.0\.0\.1:\d+ \[ACK\] Seq=1 Ack=402 Win=262144 .*\n.*\n {4}↳ Win=262144 is the scaled window, as Wireshark shows it: the 16-bit field holds 32768, × 2\^3/, 'the window scaled as Wireshark shows it, raw field and shift explained');
  const zh = net.render('zh');
  t.match(zh, /确认号 Ack=402 = 1 \+ 401 字节（“GET \/ HTTP\/1\.1”）/);
  t.match(zh, /三次握手第 1 步/);
  t.match(zh, /TIME-WAIT 状态，等待 2×MSL = 60 秒（tapstack 的 MSL 是 30 秒；RFC 9293 的 MSL 是 2 分钟，Linux 则固定等 60 秒）/);
});

t.test('dropped ACKs: their DROP lines, then the spurious retransmission they cause, read as such', async (t) => {
  const net = await spuriousAfterLostAcks();
  t.teardown(() => net.close());
  const en = net.render('en');
  t.match(en, /DROP #\d+ 10\.0\.0\.1:\d+ > 10\.0\.0\.2:80 \[ACK\] .*\(the client's ACKs, until tapstack resends\)\n {4}↳ Dropped on purpose \(the client's ACKs, until tapstack resends\) between the tap and the stack: it came from the wire, tapstack never receives it/);
  t.match(en, /TX #\d+ 10\.0\.0\.2:80 > .* \[TCP Spurious Retransmission\]\n {4}↳ Spurious retransmission of bytes \d+–\d+, first sent as #\d+: no ACK for it came before tapstack's retransmission timer expired \(RTO \d+ ms, RFC 6298\), so it is sent again\. Yet the receiver had already acknowledged these bytes \(#\d+\): its ACKs were dropped on their way/);
  t.match(net.render('zh'), /虚假重传（spurious）第 \d+–\d+ 字节（最初是 #\d+）：tapstack 的重传定时器超时（RTO \d+ 毫秒，RFC 6298）.*可是接收方已经确认过这些字节（#\d+）：它的 ACK 在路上被丢弃了/);
});

t.test('--drop rules: each drops exactly what it says, shown with the rule as the reason', async (t) => {
  const net = await dropRules();
  t.teardown(() => net.close());
  const lines = net.render('en', false).split('\n');
  const drops = lines.filter((l) => / DROP #/.test(l));
  const by = (rule: string) => drops.filter((l) => l.endsWith(`(--drop '${rule}')`));
  t.equal(drops.length, 5, 'five frames dropped in all');
  t.match(by(DROP_RULES[0]!), [/ICMP echo request id=16962 seq=1 /], 'the first ping only');
  t.match(by(DROP_RULES[1]!), [/UDP .*:9999 len=3|UDP .*9999/], 'the second of three UDP datagrams');
  t.match(by(DROP_RULES[2]!), [/10\.0\.0\.2:80 > .* Seq=1 Ack=\d+ .*Len=1448 /], 'the first data segment tapstack sends');
  t.match(by(DROP_RULES[3]!), [/10\.0\.0\.1:\d+ > 10\.0\.0\.2:80 \[ACK\] .*Len=0/], 'the third pure ACK to port 80');
  t.match(by(DROP_RULES[4]!), [/10\.0\.0\.2:80 > .*\[FIN, ACK\]/], 'tapstack\'s first FIN');
  const en = net.render('en');
  t.match(en, /\[TCP Fast Retransmission\]\n {4}↳ Retransmission of bytes 1–1448, first sent as #\d+: RACK/, 'the dropped data segment is resent');
  t.match(en, /\[TCP Spurious Retransmission\]\n {4}↳ Spurious retransmission of bytes 1–1448, .*its ACKs were dropped on their way/, 'then again, as its ACK was dropped');
  t.match(en, /\[FIN, ACK\] .*\[TCP Retransmission\]/, 'so is the dropped FIN');
});

t.test('relative numbers are per connection and per direction', async (t) => {
  const net = makeExplainNet({ seed: 11 });
  t.teardown(() => net.close());
  createServer(net.b.tcp, (s) => s.on('data', (d: Buffer) => s.write(Buffer.concat([d, d])))).listen(7);
  const got = [0, 0];
  for (const i of [0, 1]) {
    const c = connect(net.a.tcp, { host: '10.0.0.2', port: 7 });
    c.on('data', (d: Buffer) => (got[i]! += d.length));
    c.write(i === 0 ? 'hello' : 'hi there');
  }
  await settle(net.clock, () => got[0] === 10 && got[1] === 16);
  const lines = net.render('en', false).split('\n');
  const syns = lines.filter((l) => /\[SYN\] Seq=0 Win/.test(l));
  const synAcks = lines.filter((l) => /\[SYN, ACK\] Seq=0 Ack=1 Win/.test(l));
  t.equal(syns.length, 2, 'each connection\'s client starts at 0');
  t.equal(synAcks.length, 2, 'each server side starts at 0 too, acknowledging 1');
  t.ok(lines.some((l) => /> 10\.0\.0\.2:7 \[PSH, ACK\] Seq=1 Ack=1 .*Len=5 /.test(l)), 'first connection: data at 1');
  t.ok(lines.some((l) => /> 10\.0\.0\.2:7 \[PSH, ACK\] Seq=1 Ack=1 .*Len=8 /.test(l)), 'second connection: data at 1 as well');
  t.ok(lines.some((l) => /^[\d.]+ TX #\d+ 10\.0\.0\.2:7 > .*Seq=1 Ack=6 .*Len=10 /.test(l)), 'echo of connection 1: its own numbering');
  t.ok(lines.some((l) => /^[\d.]+ TX #\d+ 10\.0\.0\.2:7 > .*Seq=1 Ack=9 .*Len=16 /.test(l)), 'echo of connection 2: its own numbering');
});

t.test('MSS under --path-mtu: the explanation says whose limit applies', async (t) => {
  const net = makeExplainNet({ seed: 13, pathMtu: 1480 });
  t.teardown(() => net.close());
  createServer(net.b.tcp, (s) => s.write(Buffer.alloc(5000, 0x61))).listen(7);
  let got = 0;
  connect(net.a.tcp, { host: '10.0.0.2', port: 7 }).on('data', (d: Buffer) => (got += d.length));
  await settle(net.clock, () => got === 5000);
  const en = net.render('en');
  t.match(en, /\[SYN, ACK\] .*MSS=1440 /, 'tapstack announces path MTU − 40');
  t.match(en, /↳ How large each side's segments may be: the client \(10\.0\.0\.1:\d+\) up to 1440 bytes \(the other side's MSS\): 1428 bytes of data once timestamps take 12; the server \(10\.0\.0\.2:7\) up to 1440 bytes \(its path MTU 1480 − 20 IP − 20 TCP, smaller than the 1460 of the other side's MSS\): 1428 bytes of data/);
  t.match(en, /TX #\d+ 10\.0\.0\.2:7 > .*Len=1428 .*\n.*\n {4}↳ A full-sized segment/, 'segments of 1428 bytes are full-sized');
  t.match(net.render('zh'), /服务器（10\.0\.0\.2:7）每段最多 1440 字节（它的路径 MTU 1480 − 20 IP − 20 TCP，比对方 MSS 的 1460 小）/);
});
