// The teaching site's index page, drawn live: where the page has the marker `<!--tapstack:ladder-->`,
// tapstack puts the ladder diagram of the very connection that asked for the page (its segments
// as the TCP core recorded them, lib/tcp/segment-history.ts) up to the moment of answering: the
// handshake, the request, and on a kept-alive connection everything before. The response that
// carries the page cannot be in it (it does not exist yet) and the page says so. Each answer is
// different, so it is `Cache-Control: no-store` without validators; HEAD, gzip and a single Range
// work as for a file (RFC 9110 §14: the range is of this response's representation).
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileCache, Lookup } from './file-cache.js';
import { acceptsGzip } from './compression.js';
import { parseRange } from './conditional.js';
import { sendError } from './error-page.js';
import { ladderSvg } from './ladder-svg.js';
import type { HistoryView } from '../tcp/segment-history.js';

const gzipAsync = promisify(gzip);

/** Where the drawing goes in the index page. */
export const LADDER_MARKER = '<!--tapstack:ladder-->';

/** A socket that may know its own segments (tapstack's, from a server with `segmentHistory: true`). */
type MaybeRecording = {
  segmentHistory?: () => HistoryView | undefined;
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
};

/** The figure that replaces the marker: the drawing and what it shows, or why there is none. */
export function ladderFigure(socket: MaybeRecording, keepAliveTimeoutMs: number): string {
  const view = socket.segmentHistory?.();
  if (view === undefined) {
    return '<figure class="ladder"><figcaption>(This server does not record its connections\' segments, so there is no drawing of yours here.)</figcaption></figure>';
  }
  const client = `${socket.remoteAddress}:${socket.remotePort}`;
  const server = `${socket.localAddress}:${socket.localPort}`;
  const svg = ladderSvg(view, { client: `you ${client}`, server: `tapstack ${server}` }, 'tapstack drew this here; this page\'s response starts now');
  const seconds = keepAliveTimeoutMs / 1000;
  return `<figure class="ladder">${svg}<figcaption>Your connection ${client} → ${server}, every segment
as tapstack's TCP recorded it, up to the moment it answered your request for this page: relative
sequence numbers (each side counts from its own initial sequence number, as Wireshark shows them),
windows scaled, times since the first segment. The response that carries this page is not drawn:
when the drawing was made it had not been sent yet. <b>Reload</b> within ${seconds} s and your browser
will most likely send the request on this same connection (HTTP/1.1 keep-alive): the drawing then
goes on with this page's response, your ACKs and the new request, with no new handshake. After
${seconds} s idle tapstack closes the connection first, and a reload starts with a new SYN.</figcaption></figure>`;
}

/**
 * A handler for `/` and `/index.html` (GET, HEAD) that serves the index from `files` with the
 * requesting connection's ladder at the marker; returns false for any other request, and hands
 * the request to `next` when the index has no marker (or is not a small cached file).
 */
export function createLiveIndex(files: FileCache, indexFile: string, keepAliveTimeoutMs: number) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): boolean => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/' && path !== `/${indexFile}`) return false;
    // The drawing is made now, before any await: it shows the connection as of this request.
    const figure = ladderFigure(req.socket as MaybeRecording, keepAliveTimeoutMs);
    const found = files.lookup([indexFile]);
    const answer = (f: Lookup): void | Promise<void> => {
      const page = f.kind === 'file' ? f.content?.toString('utf8') : undefined;
      if (page === undefined || !page.includes(LADDER_MARKER)) return next();
      return send(req, res, Buffer.from(page.replace(LADDER_MARKER, figure)));
    };
    const done = found instanceof Promise ? found.then(answer) : answer(found);
    if (done instanceof Promise) {
      done.catch(() => {
        if (!res.headersSent) sendError(res, 500);
        else res.destroy();
      });
    }
    return true;
  };
}

async function send(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Vary', 'Accept-Encoding');
  const range = parseRange(req.headers.range, body.length);
  if (range.kind === 'unsatisfiable') return sendError(res, 416, { 'Content-Range': `bytes */${body.length}` });
  if (range.kind === 'range') {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${body.length}`);
    body = body.subarray(range.start, range.end + 1);
  } else if (acceptsGzip(req.headers['accept-encoding'])) {
    res.setHeader('Content-Encoding', 'gzip');
    body = await gzipAsync(body);
  }
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}
