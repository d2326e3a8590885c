// --trace / --explain plumbing: the tracer with teaching mode's narrator on real Linux frames,
// the layout of packet, explanation and state lines, later (timer) lines, and the CLI flags.
import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { TracerLink } from '../../lib/link/tracer.js';
import { TraceNarrator, NOTE_PREFIX } from '../../lib/explain/index.js';
import { Explainer } from '../../lib/explain/explainer.js';
import { parseCliArgs, UsageError } from '../../lib/cli-options.js';
import { FakeLink } from '../helpers/fake-link.js';
import { LINUX_ARP_REQUEST, LINUX_PING, LINUX_TCP_SYN } from '../helpers/linux-frames.js';

function traced(opts: { explain?: boolean; lang?: 'en' | 'zh' }) {
  const inner = new FakeLink();
  const lines: string[] = [];
  const clock = new FakeClock(1000);
  const narrator = new TraceNarrator({ clock, ...opts });
  const tr = new TracerLink(inner, (l) => void lines.push(l), { clock, narrator });
  tr.onFrame(() => undefined);
  return { inner, lines, clock, tr, narrator };
}

t.test('--trace: numbered packet lines with relative TCP numbers and state lines, no explanations', async (t) => {
  const { inner, lines, clock, tr } = traced({});
  inner.inject(LINUX_ARP_REQUEST);
  clock.advance(2);
  inner.inject(LINUX_TCP_SYN);
  t.same(lines, [
    '0.000000 RX #1 ARP who-has 10.0.0.2 tell 10.0.0.1',
    '0.002000 RX #2 10.0.0.1:33334 > 10.0.0.2:7 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=3705123234 TSecr=0 WS=1024',
    '0.002000 state 10.0.0.1:33334 ↔ 10.0.0.2:7 CLOSED -> SYN-SENT',
  ]);
  await tr.close();
});

t.test('--explain: one or two sentences under each packet, in English or Chinese', async (t) => {
  const en = traced({ explain: true });
  en.inner.inject(LINUX_ARP_REQUEST);
  en.inner.inject(LINUX_PING);
  t.equal(en.lines[0], '0.000000 RX #1 ARP who-has 10.0.0.2 tell 10.0.0.1');
  t.equal(en.lines[1], `${NOTE_PREFIX}ARP request, broadcast to every host on the link: 10.0.0.1 needs the MAC address of 10.0.0.2 before it can send it an IP packet.`);
  t.equal(en.lines[2], '0.000000 RX #2 10.0.0.1 > 10.0.0.2 ICMP echo request id=29117 seq=1 len=56');
  t.match(en.lines[3], /^ {4}↳ ping: ICMP echo request id=29117 seq=1 from 10\.0\.0\.1 with 56 bytes of data; the IP packet is 20 \(IP header\) \+ 8 \(ICMP header\) \+ 56 = 84 bytes/);
  const zh = traced({ explain: true, lang: 'zh' });
  zh.inner.inject(LINUX_TCP_SYN);
  t.match(zh.lines[1], /三次握手第 1 步：客户端（10\.0\.0\.1:33334）请求建立连接。/);
  t.match(zh.lines[2], /最大报文段长度 MSS=1460.*选择确认 SACK.*窗口缩放/);
  await en.tr.close();
  await zh.tr.close();
});

t.test('lines that come later (a TIME-WAIT ending) go to the same sink with their own stamp', async (t) => {
  const { lines, clock, narrator, tr } = traced({ explain: true });
  clock.advance(60_000);
  narrator.explainer.onLater!([{ who: '10.0.0.2:80', peer: '10.0.0.1:53818', from: 'TIME-WAIT', to: 'CLOSED', notes: [{ kind: 'timeWaitOver', ms: 60_000 }] }]);
  t.same(lines, ['60.000000 state 10.0.0.2:80 ↔ 10.0.0.1:53818 TIME-WAIT -> CLOSED', `${NOTE_PREFIX}60 s of TIME-WAIT are over: the connection is forgotten.`]);
  await tr.close();
});

t.test('the explainer never throws on garbage', async (t) => {
  const ex = new Explainer();
  for (const f of [Buffer.alloc(0), Buffer.alloc(13), Buffer.alloc(60, 0xff), Buffer.concat([LINUX_TCP_SYN.subarray(0, 40), Buffer.alloc(4)])]) {
    const e = ex.frame('RX', f);
    t.type(e.line, 'string');
  }
  const bad = Buffer.from(LINUX_TCP_SYN);
  bad[bad.length - 1] ^= 1;
  t.match(ex.frame('RX', bad).line, /\[SYN\] Seq=0 .*\[bad cksum\]$/);
});

t.test('CLI: --explain implies --trace; --lang en|zh', async (t) => {
  const plain = parseCliArgs([]);
  t.equal(plain.trace, false);
  t.equal(plain.explain, false);
  t.equal(plain.lang, 'en');
  const ex = parseCliArgs(['--explain', '--lang', 'zh']);
  t.equal(ex.trace, true);
  t.equal(ex.explain, true);
  t.equal(ex.lang, 'zh');
  t.throws(() => parseCliArgs(['--lang', 'fr']), UsageError);
  t.throws(() => parseCliArgs(['--lang', 'fr']), /--lang: expected en or zh, got "fr"/);
});
