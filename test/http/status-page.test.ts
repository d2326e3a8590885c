// The live status page: /_stack (HTML, refreshing, escaped) and /_stack.json (the snapshot).
import t from 'tap';
import { makeSite, start, get } from '../helpers/http-helpers.js';
import { escapeHtml, formatExpiry, renderStatusHtml, type StackStatus } from '../../lib/http/status-page.js';

const EVIL = '<script>alert("x")</script>&\'';

function snapshot(): StackStatus {
  return {
    interface: { tap: 'tap0', mac: '02:00:00:00:00:02', ip: '10.0.0.2', mtu: 1500, pathMtu: 1480 },
    summary: { connections: 1, states: { ESTABLISHED: 1 }, timeWait: 1 },
    arp: [
      { ip: '10.0.0.1', mac: '02:00:00:00:00:01', state: 'REACHABLE', expiresInMs: 59_000 },
      { ip: '10.0.0.9', mac: null, state: 'INCOMPLETE', expiresInMs: 1000 },
    ],
    connections: [
      {
        local: '10.0.0.2:80', remote: '10.0.0.1:49312', state: 'ESTABLISHED',
        sndUna: 4_000_001_000, sndNxt: 4_000_002_460, sndUnaRelative: 1001, sndNxtRelative: 2461, sndWnd: 64240, sndWscale: 7,
        rcvNxt: 402, rcvNxtRelative: 73, rcvWnd: 65535, rcvWscale: 7, mss: 1460,
        srttMs: 0.42, rtoMs: 200, cwnd: 14600, ssthresh: null, retransmissions: 1, receiveHoles: 0,
      },
    ],
    timeWait: [{ local: '10.0.0.2:80', remote: '10.0.0.1:49300', expiresInMs: 41_234.5 }],
    listeners: [{ port: 80, synQueue: 0, acceptQueue: 1, backlog: 128 }],
    counters: { 'tcp.rx.segments': 10, [EVIL]: 1, 'arp.rx.request': 2 },
  };
}

t.test('escapeHtml escapes the five special characters', async (t) => {
  t.equal(escapeHtml(EVIL), '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
  t.equal(escapeHtml(42), '42');
});

t.test('formatExpiry: whole milliseconds below 10 s, whole seconds from there', async (t) => {
  t.same([formatExpiry(0), formatExpiry(1234.6), formatExpiry(9999.4), formatExpiry(10_000), formatExpiry(59_600), formatExpiry(null)], ['0 ms', '1235 ms', '9999 ms', '10 s', '60 s', null]);
});

t.test('the HTML page: refresh, tables, every value escaped', async (t) => {
  const s = snapshot();
  s.interface.tap = EVIL;
  s.connections[0]!.state = EVIL;
  s.arp[0]!.state = EVIL;
  const html = renderStatusHtml(s);
  t.match(html, /<meta http-equiv="refresh" content="1">/);
  t.notMatch(html, /<script>/, 'no injected markup');
  t.notMatch(html, /alert\("x"\)/);
  t.match(html, /&#60;script&#62;alert\(&#34;x&#34;\)/);
  for (const caption of ['Interface', 'Summary', 'ARP cache', 'Connections', 'TIME-WAIT', 'Listeners', 'Counters']) {
    t.match(html, new RegExp(`<caption>${caption}</caption>`), caption);
  }
  t.match(html, /<td>10\.0\.0\.1:49312<\/td>/);
  t.match(html, /<td>41 s<\/td>/, 'TIME-WAIT expiry in whole seconds');
  t.match(html, /<td>1000 ms<\/td>/, 'a short ARP expiry in whole milliseconds');
  t.match(html, /<td>∞<\/td>/, 'ssthresh not yet set: ∞');
  t.match(html, /<td>1001 \(4000001000\)<\/td><td>2461 \(4000002460\)<\/td>/, 'SND.UNA and SND.NXT relative, absolute next to them');
  t.match(html, /<td>73 \(402\)<\/td>/, 'RCV.NXT too');
  t.match(html, /<div class="box">\n<table>\n<caption>Connections/, 'each table in a box that scrolls');
  t.match(html, /<td>—<\/td>/, 'null shown as a dash');
  const empty = renderStatusHtml({ ...snapshot(), connections: [], timeWait: [] }, 2);
  t.match(empty, /content="2"/);
  t.match(empty, /class="none">none</);
});

t.test('served at /_stack and /_stack.json; absent without a status function', async (t) => {
  const site = makeSite();
  let calls = 0;
  const s = await start({ root: site.root, status: () => (calls++, snapshot()) });
  const plain = await start({ root: site.root });
  t.teardown(async () => {
    await s.close();
    await plain.close();
    site.remove();
  });
  const html = await get(s.port, '/_stack');
  t.equal(html.status, 200);
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(html.headers['cache-control'], 'no-store');
  t.match(html.body.toString(), /<caption>Connections<\/caption>/);
  const json = await get(s.port, '/_stack.json?x=1');
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8');
  const parsed = JSON.parse(json.body.toString()) as StackStatus;
  t.same(parsed, snapshot(), 'the JSON is the snapshot');
  t.same(Object.keys(parsed), ['interface', 'summary', 'arp', 'connections', 'timeWait', 'listeners', 'counters']);
  t.same(Object.keys(parsed.connections[0]!), [
    'local', 'remote', 'state', 'sndUna', 'sndNxt', 'sndUnaRelative', 'sndNxtRelative', 'sndWnd', 'sndWscale', 'rcvNxt', 'rcvNxtRelative', 'rcvWnd', 'rcvWscale',
    'mss', 'srttMs', 'rtoMs', 'cwnd', 'ssthresh', 'retransmissions', 'receiveHoles',
  ]);
  const head = await get(s.port, '/_stack', {}, 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.body.length, 0);
  t.equal(head.headers['content-length'], html.headers['content-length']);
  t.equal((await get(s.port, '/_stack', {}, 'POST')).status, 405);
  t.equal(calls, 2, 'one snapshot per page variant: the HEAD within the refresh interval reused the GET\'s');
  t.equal((await get(plain.port, '/_stack')).status, 404);
  const broken = await start({ root: site.root, status: () => { throw new Error('no snapshot'); } });
  t.equal((await get(broken.port, '/_stack')).status, 500, 'a failing snapshot is a 500');
  t.equal((await get(broken.port, '/')).status, 200);
  await broken.close();
  t.equal((await get(plain.port, '/_stack.json')).status, 404);
});

/** A snapshot with `n` connections and `n` TIME-WAIT entries, listing every one whatever the limit asked. */
function crowded(n: number): StackStatus {
  const base = snapshot();
  const conn = base.connections[0]!;
  return {
    ...base,
    summary: { connections: n, states: { ESTABLISHED: n }, timeWait: n },
    connections: Array.from({ length: n }, (_, i) => ({ ...conn, remote: `10.0.0.1:${10_000 + i}` })),
    timeWait: Array.from({ length: n }, (_, i) => ({ local: '10.0.0.2:80', remote: `10.0.0.1:${10_000 + i}`, expiresInMs: 1 })),
  };
}

t.test('bounded: the first 100 connections, ?all=1 for up to 5000, the summary counts them all', async (t) => {
  const site = makeSite();
  let n = 250;
  const limits: number[] = [];
  let clock = 0;
  const s = await start({ root: site.root, now: () => clock, status: (limit) => (limits.push(limit), crowded(n)) });
  t.teardown(async () => {
    await s.close();
    site.remove();
  });
  const first = JSON.parse((await get(s.port, '/_stack.json')).body.toString()) as StackStatus;
  t.equal(first.connections.length, 100, 'the first 100 connections');
  t.equal(first.timeWait.length, 100, 'and the first 100 TIME-WAIT entries');
  t.same(first.summary, { connections: 250, states: { ESTABLISHED: 250 }, timeWait: 250 }, 'the summary counts all 250');
  const all = JSON.parse((await get(s.port, '/_stack.json?all=1')).body.toString()) as StackStatus;
  t.equal(all.connections.length, 250, '?all=1 lists the rest');
  const html = (await get(s.port, '/_stack')).body.toString();
  t.equal(html.match(/<td>10\.0\.0\.1:1\d{4}<\/td>/g)?.length, 200, 'the HTML page lists 100 of each too');
  t.match(html, /href="\/_stack\?all=1"/, 'and links to the rest');
  t.same(limits, [100, 5000, 100], 'the snapshot is asked for no more than it shows');
  n = 6000;
  clock += 1000; // the refresh interval passed: render again
  const capped = JSON.parse((await get(s.port, '/_stack.json?all=1')).body.toString()) as StackStatus;
  t.equal(capped.connections.length, 5000, 'the hard cap holds even against a snapshot that lists more');
  t.equal(capped.summary.connections, 6000);
});

t.test('cached for the refresh interval: a request loop costs one snapshot a second', async (t) => {
  const site = makeSite();
  let calls = 0;
  let clock = 0;
  const s = await start({ root: site.root, now: () => clock, status: () => (calls++, crowded(calls)) });
  t.teardown(async () => {
    await s.close();
    site.remove();
  });
  const bodies = [];
  for (let i = 0; i < 20; i++) bodies.push((await get(s.port, '/_stack.json')).body.toString());
  t.equal(calls, 1, '20 requests within the interval, one snapshot');
  t.equal(new Set(bodies).size, 1, 'the same body each time');
  clock += 999;
  await get(s.port, '/_stack.json');
  t.equal(calls, 1);
  clock += 1;
  const fresh = JSON.parse((await get(s.port, '/_stack.json')).body.toString()) as StackStatus;
  t.equal(calls, 2, 'a fresh snapshot once the interval is over');
  t.equal(fresh.summary.connections, 2);
});

t.test('statusAllowed: a client it refuses gets 403, the rest of the site is unchanged', async (t) => {
  const site = makeSite();
  const seen: (string | undefined)[] = [];
  const s = await start({ root: site.root, status: snapshot, statusAllowed: (addr) => (seen.push(addr), false) });
  t.teardown(async () => {
    await s.close();
    site.remove();
  });
  t.equal((await get(s.port, '/_stack')).status, 403);
  t.equal((await get(s.port, '/_stack.json?all=1')).status, 403);
  t.equal((await get(s.port, '/')).status, 200);
  t.same(seen, ['127.0.0.1', '127.0.0.1'], 'asked with the client address');
});
