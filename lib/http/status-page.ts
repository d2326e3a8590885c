// The live status page of the stack itself: `/_stack` (HTML tables, refreshed by the browser
// every second) and `/_stack.json`, rendered from a StackStatus snapshot the stack provides,
// bounded in size and cached for the refresh interval, optionally restricted to some clients.
// This file defines the snapshot's shape; it never reaches into the stack.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './error-page.js';

/** The TAP interface and the stack's own addresses. */
export interface InterfaceStatus {
  tap: string;
  mac: string;
  ip: string;
  mtu: number;
  pathMtu: number;
  /** TCP offloads on the link (TSO out, GRO and checksum in): "on" or "off". */
  offload?: 'on' | 'off';
}

/** One ARP cache entry; `mac` is null while unresolved, `expiresInMs` null for static entries. */
export interface ArpEntryStatus {
  ip: string;
  mac: string | null;
  state: string;
  expiresInMs: number | null;
}

/** One TCP connection: its 4-tuple (`ip:port`), RFC 9293 state and the TCB variables worth watching. */
export interface ConnectionStatus {
  local: string;
  remote: string;
  state: string;
  sndUna: number;
  sndNxt: number;
  /** SND.UNA and SND.NXT less our ISS, as Wireshark's relative numbers (our SYN is 0). */
  sndUnaRelative: number;
  sndNxtRelative: number;
  sndWnd: number;
  sndWscale: number;
  rcvNxt: number;
  /** RCV.NXT less the peer's ISN (IRS); null before the peer's SYN arrived. */
  rcvNxtRelative: number | null;
  rcvWnd: number;
  rcvWscale: number;
  mss: number;
  /** Smoothed RTT, null before the first sample. */
  srttMs: number | null;
  rtoMs: number;
  cwnd: number;
  /** Slow-start threshold; null while it is still "arbitrarily high" (RFC 5681 §3.1), shown as ∞. */
  ssthresh: number | null;
  retransmissions: number;
  /** Holes in what we received: out-of-order blocks our SACK options report (RFC 2018). */
  receiveHoles: number;
  /** Congestion control in use ('cubic', 'newreno'). */
  congestionControl?: string;
  /** Loss recovery in progress: 'sack' (RFC 6675), 'newreno' (RFC 6582), 'rto' (after a timeout) or 'none'. */
  recovery?: string;
  /** RFC 6675 pipe: bytes the sender estimates in flight. */
  pipe?: number;
  /** Holes in the sender's SACK scoreboard (un-SACKed ranges below the highest SACKed byte). */
  sackHoles?: number;
}

/** A connection in TIME-WAIT and the time left before it is forgotten. */
export interface TimeWaitStatus {
  local: string;
  remote: string;
  /** Whole milliseconds. */
  expiresInMs: number;
}

/** A listening port with the depth of its queues. */
export interface ListenerStatus {
  port: number;
  synQueue: number;
  acceptQueue: number;
  backlog: number;
}

/** How many connections there are, whether or not each is listed. */
export interface StatusSummary {
  /** Live connections (any state but LISTEN, TIME-WAIT and CLOSED). */
  connections: number;
  /** Live connections per RFC 9293 state. */
  states: Record<string, number>;
  /** Connections in TIME-WAIT. */
  timeWait: number;
}

/** Everything `/_stack` shows, as returned by the `status` function given to createWebServer. */
export interface StackStatus {
  interface: InterfaceStatus;
  summary: StatusSummary;
  arp: ArpEntryStatus[];
  connections: ConnectionStatus[];
  timeWait: TimeWaitStatus[];
  listeners: ListenerStatus[];
  counters: Record<string, number>;
}

/** The URL paths of the status page. */
export const STATUS_PATHS = { html: '/_stack', json: '/_stack.json' } as const;

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function cell(v: unknown): string {
  return `<td>${escapeHtml(v ?? '—')}</td>`;
}

/** A table in its own box, which scrolls sideways when the table is wider than the page. */
function table(caption: string, head: string[], rows: unknown[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body =
    rows.length === 0
      ? `<tr><td colspan="${head.length}" class="none">none</td></tr>`
      : rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `<div class="box">\n<table>\n<caption>${escapeHtml(caption)}</caption>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>\n</div>\n`;
}

/** A time left, in whole milliseconds below 10 s, in whole seconds from there. */
export function formatExpiry(ms: number | null): string | null {
  if (ms === null) return null;
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

/** A sequence number relative to its ISN, with the absolute one after it. */
function relative(rel: number | null, abs: number): string {
  return rel === null ? String(abs) : `${rel} (${abs})`;
}

/** The `/_stack` HTML page for a snapshot; every value is escaped. */
export function renderStatusHtml(s: StackStatus, refreshSeconds = 1): string {
  const i = s.interface;
  const states = Object.entries(s.summary.states).map(([state, n]) => `${state} ${n}`).join(', ');
  const parts = [
    table('Interface', ['tap', 'MAC', 'IP', 'MTU', 'path MTU', 'offloads'], [[i.tap, i.mac, i.ip, i.mtu, i.pathMtu, i.offload ?? 'off']]),
    table('Summary', ['connections', 'by state', 'listed', 'TIME-WAIT', 'listed'],
      [[s.summary.connections, states, s.connections.length, s.summary.timeWait, s.timeWait.length]]),
    table(
      'ARP cache',
      ['IP', 'MAC', 'state', 'expires in'],
      s.arp.map((a) => [a.ip, a.mac, a.state, formatExpiry(a.expiresInMs)]),
    ),
    table(
      'Connections',
      ['local', 'remote', 'state', 'SND.UNA rel (abs)', 'SND.NXT rel (abs)', 'SND.WND', 'snd scale', 'RCV.NXT rel (abs)', 'RCV.WND', 'rcv scale',
        'MSS', 'SRTT (ms)', 'RTO (ms)', 'cwnd', 'ssthresh', 'retransmissions', 'receive holes',
        'cc', 'recovery', 'pipe', 'SACK holes'],
      s.connections.map((c) => [c.local, c.remote, c.state, relative(c.sndUnaRelative, c.sndUna), relative(c.sndNxtRelative, c.sndNxt),
        c.sndWnd, c.sndWscale, relative(c.rcvNxtRelative, c.rcvNxt), c.rcvWnd, c.rcvWscale, c.mss,
        c.srttMs === null ? null : round(c.srttMs), round(c.rtoMs), c.cwnd, c.ssthresh ?? '∞',
        c.retransmissions, c.receiveHoles, c.congestionControl ?? null, c.recovery ?? null, c.pipe ?? null, c.sackHoles ?? null]),
    ),
    table('TIME-WAIT', ['local', 'remote', 'expires in'], s.timeWait.map((t) => [t.local, t.remote, formatExpiry(t.expiresInMs)])),
    table('Listeners', ['port', 'SYN queue', 'accept queue', 'backlog'], s.listeners.map((l) => [l.port, l.synQueue, l.acceptQueue, l.backlog])),
    table('Counters', ['name', 'value'], Object.entries(s.counters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${Math.max(1, Math.round(refreshSeconds))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tapstack status — ${escapeHtml(i.ip)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fdfdfb}
h1{font-size:1.3rem}.box{max-width:100%;overflow-x:auto;margin:0 0 1.5rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.3rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
th{background:#eef}td:first-child,th:first-child{text-align:left}.none{color:#888;text-align:center}
</style>
</head>
<body>
<h1>tapstack on ${escapeHtml(i.tap)} (${escapeHtml(i.ip)})</h1>
<p>Refreshes every ${Math.max(1, Math.round(refreshSeconds))} s. Machine-readable: <a href="${STATUS_PATHS.json}">${STATUS_PATHS.json}</a>.
Long tables list their first entries; <a href="${STATUS_PATHS.html}?all=1">?all=1</a> lists more.</p>
${parts.join('')}</body>
</html>
`;
}

/** The `/_stack.json` body: the snapshot as indented JSON. */
export function renderStatusJson(s: StackStatus): string {
  return JSON.stringify(s, null, 2) + '\n';
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Options of createStatusPage. */
export interface StatusPageOptions {
  /** Clock for the cache, ms (the web server's wall clock). */
  now: () => number;
  /** Who may see the page (by remote address); others get 403. Default: everyone. */
  allowed?: (remoteAddress: string | undefined) => boolean;
}

/** The page's refresh interval; a rendered page is reused for as long. */
const REFRESH_MS = 1000;
/** Connections and TIME-WAIT entries listed by default, and at most with `?all=1`. */
export const STATUS_LIMITS = { first: 100, all: 5000 } as const;

/**
 * A handler for the two status paths: returns false (and does nothing) for any other path, so the
 * caller passes the request on. Its cost is bounded whatever the number of connections (issue 10:
 * 15,000 connections made an 8 MB page costing 2.3 s of CPU per request): the snapshot lists the
 * first STATUS_LIMITS.first connections (`?all=1`: up to STATUS_LIMITS.all), and each rendered
 * variant is reused for the refresh interval, so request loops cost one rendering a second.
 */
export function createStatusPage(
  status: (limit: number) => StackStatus,
  options: StatusPageOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const cache = new Map<string, { until: number; body: Buffer }>();
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== STATUS_PATHS.html && path !== STATUS_PATHS.json) return false;
    if (options.allowed?.(req.socket.remoteAddress) === false) {
      sendError(res, 403);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, { Allow: 'GET, HEAD' });
      return true;
    }
    const all = q >= 0 && new URLSearchParams(url.slice(q + 1)).get('all') === '1';
    const isJson = path === STATUS_PATHS.json;
    const key = `${path}${all ? '?all' : ''}`;
    const now = options.now();
    let entry = cache.get(key);
    if (entry === undefined || now >= entry.until) {
      const limit = all ? STATUS_LIMITS.all : STATUS_LIMITS.first;
      const full = status(limit);
      const snapshot = { ...full, connections: full.connections.slice(0, limit), timeWait: full.timeWait.slice(0, limit) };
      const body = Buffer.from(isJson ? renderStatusJson(snapshot) : renderStatusHtml(snapshot, REFRESH_MS / 1000));
      cache.set(key, (entry = { until: now + REFRESH_MS, body }));
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', isJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
    res.setHeader('Content-Length', entry.body.length);
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : entry.body);
    return true;
  };
}
