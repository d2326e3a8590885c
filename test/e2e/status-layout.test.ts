// The status page at 1280 px in headless Chromium (issue 11): the connections table, 23 columns
// of ten-digit sequence numbers, scrolls inside its own box; the page itself never scrolls sideways.
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { e2eScratchDir, Netns } from '../helpers/netns.js';
import { renderStatusHtml, type StackStatus } from '../../lib/http/status-page.js';

/** A busy snapshot: 100 connections with the widest values each column can hold. */
function busy(): StackStatus {
  const connections = Array.from({ length: 100 }, (_, i) => ({
    local: '10.0.0.2:80', remote: `10.0.0.1:${60_000 + i}`, state: 'ESTABLISHED',
    sndUna: 4_294_000_000, sndNxt: 4_294_100_000, sndUnaRelative: 2_147_483_000, sndNxtRelative: 2_147_583_000,
    sndWnd: 4_194_304, sndWscale: 14, rcvNxt: 4_000_000_000, rcvNxtRelative: 1_000_000_000, rcvWnd: 4_194_304, rcvWscale: 14,
    mss: 1448, srttMs: 1234.5, rtoMs: 60_000, cwnd: 4_194_304, ssthresh: null, retransmissions: 123_456, receiveHoles: 4,
    congestionControl: 'newreno', recovery: 'newreno', pipe: 4_194_304, sackHoles: 40,
  }));
  return {
    interface: { tap: 'tap0', mac: '02:00:00:00:00:02', ip: '10.0.0.2/24', mtu: 1500, pathMtu: 1500 },
    summary: { connections: 15_000, states: { ESTABLISHED: 14_000, 'CLOSE-WAIT': 500, 'FIN-WAIT-2': 500 }, timeWait: 100 },
    arp: [{ ip: '10.0.0.1', mac: '02:00:00:00:00:01', state: 'reachable', expiresInMs: 59_000 }],
    connections,
    timeWait: [{ local: '10.0.0.2:80', remote: '10.0.0.1:50000', expiresInMs: 59_999 }],
    listeners: [{ port: 80, synQueue: 0, acceptQueue: 0, backlog: 511 }],
    counters: { 'tcp.rx.segments': 123_456_789, 'http.reject.maxConnectionsPerIp': 536 },
  };
}

/** Written into the page after the tables: the widths Chromium laid out, as JSON. */
const MEASURE = `<script>
const boxes = [...document.querySelectorAll('.box')].map((b) => ({ caption: b.querySelector('caption').textContent, client: b.clientWidth, scroll: b.scrollWidth, right: b.getBoundingClientRect().right }));
const out = document.createElement('pre');
out.id = 'measure';
out.textContent = JSON.stringify({ window: innerWidth, viewport: document.documentElement.clientWidth, page: document.documentElement.scrollWidth, boxes });
document.body.append(out);
</script>`;

const dir = e2eScratchDir(t, 'status-layout');
if (dir !== undefined) {
  t.test('/_stack at 1280 px: every table fits, the wide one scrolls inside its box', async (t) => {
    const ns = Netns.create(t); // Chromium runs where no network leads anywhere
    const file = path.join(dir, 'status.html');
    writeFileSync(file, renderStatusHtml(busy()).replace('</body>', `${MEASURE}\n</body>`));
    const profile = mkdtempSync(path.join(dir, 'chromium-'));
    const r = await ns.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--window-size=1280,800', '--dump-dom', `file://${file}`], { timeoutMs: 60_000 });
    const json = /<pre id="measure">([^<]*)<\/pre>/.exec(r.stdout)?.[1];
    t.ok(json, json !== undefined ? 'Chromium laid the page out' : `no measurement: ${r.stderr.slice(-300)}`);
    if (json === undefined) return;
    const m = JSON.parse(json.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { window: number; viewport: number; page: number; boxes: { caption: string; client: number; scroll: number; right: number }[] };
    t.equal(m.window, 1280, 'a 1280 px wide window');
    t.ok(m.page <= m.viewport, `the page does not scroll sideways (scrollWidth ${m.page}, ${m.viewport} px inside the scroll bar)`);
    for (const b of m.boxes) t.ok(b.right <= m.viewport, `${b.caption}: its box ends within the page (${Math.round(b.right)} px)`);
    const conns = m.boxes.find((b) => b.caption === 'Connections')!;
    t.ok(conns.scroll > conns.client, `the connections table (${conns.scroll} px) scrolls inside its ${conns.client} px box`);
  });
}
