// The index page draws the ladder of the connection that loads it (issue 11): on tapstack's own
// TCP (two stacks on the memory wire), the second request on a keep-alive connection gets a page
// whose drawing holds the handshake, the first request, every segment of the first response and
// the second request, with the numbers the wire carried; it is never cached; HEAD and Range work.
import t, { type Test } from 'tap';
import { connect, createServer, type Socket } from '../../lib/socket/index.js';
import { createWebServer } from '../../lib/http/web-server.js';
import { ladderSvg } from '../../lib/http/ladder-svg.js';
import { TCP_FLAGS } from '../../lib/wire/tcp.js';
import { B_IP, makeTcpNet, settle } from '../helpers/tcp-net.js';

const { SYN, ACK, PSH } = TCP_FLAGS;
const REQ = 'GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: test\r\n\r\n';

type Drawn = { dir: string; flags: number; seq: number; ack: number; len: number };

/** The segments a page draws, from their data-* attributes. */
function drawn(page: string): Drawn[] {
  return [...page.matchAll(/<g class="seg (?:in|out)" data-dir="(in|out)" data-flags="(\d+)" data-seq="(\d+)" data-ack="(\d+)" data-len="(\d+)"/g)].map((m) => ({
    dir: m[1]!, flags: Number(m[2]), seq: Number(m[3]), ack: Number(m[4]), len: Number(m[5]),
  }));
}

/** Complete responses (headers + Content-Length body; none for the answers to HEAD, by index in `heads`) in `raw`. */
function responses(raw: Buffer, heads: boolean[] = []): { bytes: number; text: string }[] {
  const out: { bytes: number; text: string }[] = [];
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const head = raw.subarray(at, end).toString('latin1');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const total = end + 4 - at + (heads[out.length] === true ? 0 : length);
    if (raw.length - at < total) return out;
    out.push({ bytes: total, text: raw.subarray(at, at + total).toString('utf8') });
    at += total;
  }
}

function setUp(t: Test, segmentHistory: boolean) {
  const net = makeTcpNet({ faults: { delayMs: 1 } });
  const web = createWebServer({ accessLog: null });
  createServer(net.b.tcp, { segmentHistory }, (s) => web.accept(s)).listen(80);
  t.teardown(async () => {
    web.closeAllConnections();
    await net.close();
  });
  const c: Socket = connect(net.a.tcp, { host: B_IP, port: 80 });
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  return { net, c, raw: () => Buffer.concat(chunks) };
}

t.test('the second page on a connection draws the first exchange with the numbers sent', async (t) => {
  const { net, c, raw } = setUp(t, true);
  c.write(REQ);
  await settle(net.clock, () => responses(raw()).length === 1);
  // The client's ACKs of the first page reach the server before the second request.
  const served = (): { sndUna: number; sndNxt: number } => net.b.tcp.core.connections().next().value!.info();
  await settle(net.clock, () => served().sndUna === served().sndNxt);
  c.write(REQ);
  await settle(net.clock, () => responses(raw()).length === 2);
  const [first, second] = responses(raw()) as [{ bytes: number; text: string }, { bytes: number; text: string }];
  t.match(second.text, /\r\nCache-Control: no-store\r\n/i, 'never cached');
  t.notMatch(second.text, /\r\n(ETag|Last-Modified):/i, 'no validators: each answer is different');
  const segs = drawn(second.text);
  t.match(segs.slice(0, 3), [
    { dir: 'in', flags: SYN, seq: 0, len: 0 },
    { dir: 'out', flags: SYN | ACK, seq: 0, ack: 1, len: 0 },
  ], 'the handshake first');
  const requests = segs.filter((s) => s.dir === 'in' && s.len > 0);
  t.same(requests.map((s) => [s.seq, s.len]), [[1, REQ.length], [1 + REQ.length, REQ.length]], 'both requests, the second the last thing drawn');
  t.same(segs[segs.length - 1], requests[1], 'nothing after the request the page answers');
  const sent = segs.filter((s) => s.dir === 'out' && s.len > 0);
  t.equal(sent.reduce((a, s) => a + s.len, 0), first.bytes, `the first response's segments add up to its ${first.bytes} bytes`);
  let next = 1;
  for (const s of sent) {
    t.equal(s.seq, next, `Seq=${s.seq} follows on`);
    next += s.len;
  }
  t.equal(sent[sent.length - 1]!.flags & PSH, PSH, 'the last piece carries PSH');
  t.ok(segs.some((s) => s.dir === 'in' && s.len === 0 && s.ack === 1 + first.bytes), 'and the ACK of all of it');
  t.match(second.text, /The response that carries this page is not drawn/);
  t.match(second.text, /Reload/);
});

t.test('HEAD and a Range of the live page; no drawing where no history is kept', async (t) => {
  const { net, c, raw } = setUp(t, false);
  c.write(REQ.replace('GET', 'HEAD') + REQ.replace('\r\n\r\n', '\r\nRange: bytes=0-14\r\n\r\n') + REQ);
  await settle(net.clock, () => responses(raw(), [true]).length === 3);
  const [head, range, whole] = responses(raw(), [true]) as { bytes: number; text: string }[];
  t.match(head!.text, /^HTTP\/1\.1 200 OK\r\n/);
  t.ok(head!.text.endsWith('\r\n\r\n'), 'HEAD: no body');
  t.match(range!.text, /^HTTP\/1\.1 206 Partial Content\r\n[\s\S]*Content-Range: bytes 0-14\/\d+\r\n[\s\S]*\r\n\r\n<!DOCTYPE html>$/);
  t.match(whole!.text, /does not record its connections' segments/, 'a server without segmentHistory says there is no drawing');
  t.notMatch(whole!.text, /<svg/);
});

t.test('the SVG: one arrow per segment, a gap where the ring overwrote, the moment of drawing', async (t) => {
  const seg = (dir: 'in' | 'out', seq: number, len: number) => ({ t: 1.5, dir, flags: ACK, seq, ack: 1, len, win: 100, sackPerm: false, ts: false, sackBlocks: 0 });
  const svg = ladderSvg({ head: [seg('in', 1, 5)], omitted: 3, tail: [seg('out', 1, 7)] }, { client: 'you <a>', server: 'tapstack' }, 'now');
  t.equal(drawn(svg).length, 2);
  t.match(svg, /⋮ 3 segments not kept/);
  t.match(svg, /\[ACK\] Seq=1 Ack=1 Win=100 Len=7/);
  t.match(svg, /you &lt;a&gt;/, 'text is escaped');
  t.match(svg, /<text class="now"[^>]*>now<\/text>/);
});
