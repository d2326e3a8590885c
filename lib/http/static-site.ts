// The static site: a node:http request handler serving files under a root directory the way
// small real servers do (lighttpd, nginx). It owns the file policy only: which path maps to
// which file, validators and conditional requests, ranges, gzip, and the error pages. It does not
// parse HTTP (llhttp does) nor handle connections, timeouts, limits or logging (web-server.ts).
import { constants as fsConstants, realpathSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable, type Duplex } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mimeTypeFor, isCompressible } from './mime.js';
import { parseTarget, resolveInRoot } from './safe-path.js';
import { makeETag, weakETag, evaluatePreconditions, ifRangeAllows, parseRange } from './conditional.js';
import { acceptsGzip, GzipCache } from './compression.js';
import { sendError } from './error-page.js';
import type { VirtualFile } from './virtual-file.js';

/** The methods a static resource supports, as sent in `Allow`. */
export const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';

/** How the static site behaves; only `root` is required. */
export interface StaticSiteOptions {
  /** The directory served (resolved with realpath once, at creation). */
  root: string;
  /** In-memory files by URL path (e.g. `/download/4MiB.bin`), looked up before the file system. */
  virtualFiles?: Record<string, VirtualFile>;
  /** The file served for a directory URL ending in `/` (default `index.html`). */
  indexFile?: string;
  /** Cache-Control for files; default `no-cache` so a reload revalidates and shows a 304. null: none. */
  cacheControl?: string | null;
  /** Compressible files smaller than this are sent as they are (default 256 bytes). */
  gzipMinBytes?: number;
  /** Files up to this size are gzipped whole in memory and sent with Content-Length; bigger ones are streamed chunked (default 1 MiB). */
  gzipInMemoryMaxBytes?: number;
  /** Budget of the gzipped-file cache (default 8 MiB). */
  gzipCacheBytes?: number;
}

/** One file to answer with, from disk or memory. */
interface Entity {
  size: number;
  mtimeMs: number;
  contentType: string;
  /** Cache key for the gzipped form. */
  key: string;
  /** A stream of bytes start..end inclusive; hands over any open file to the stream. */
  stream(start: number, end: number): Readable;
  readAll(): Promise<Buffer>;
}

/** A node:http request listener serving `options.root`; it always answers (2xx, 3xx, 4xx or 500). */
export function createStaticSite(options: StaticSiteOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const rootReal = realpathSync(options.root);
  const indexFile = options.indexFile ?? 'index.html';
  const virtualFiles = new Map(Object.entries(options.virtualFiles ?? {}));
  const cacheControl = options.cacheControl === undefined ? 'no-cache' : options.cacheControl;
  const gzipMin = options.gzipMinBytes ?? 256;
  const gzipInMemoryMax = options.gzipInMemoryMaxBytes ?? 1024 * 1024;
  const cache = new GzipCache(options.gzipCacheBytes);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, { Allow: ALLOWED_METHODS });
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendError(res, 405, { Allow: ALLOWED_METHODS });
      return;
    }
    const target = parseTarget(req.url ?? '/');
    if (target.kind === 'bad') return sendError(res, 400);
    if (target.kind === 'forbidden') return sendError(res, 404);

    const urlPath = '/' + target.segments.join('/');
    const virtual = virtualFiles.get(urlPath);
    if (virtual !== undefined && !target.trailingSlash) {
      return serveEntity(req, res, virtualEntity(urlPath, virtual));
    }

    const real = await resolveInRoot(rootReal, target.segments);
    if (real === null) return sendError(res, 404);
    let st;
    try {
      st = await stat(real);
    } catch {
      return sendError(res, 404);
    }
    let filePath = real;
    if (st.isDirectory()) {
      if (!target.trailingSlash) {
        // Relative references in the index page resolve against the directory only with the slash.
        const location = '/' + target.encoded.join('/') + '/' + target.query;
        return sendError(res, 301, { Location: location });
      }
      const index = await resolveInRoot(rootReal, [...target.segments, indexFile]);
      if (index === null) return sendError(res, 404);
      filePath = index;
    } else if (target.trailingSlash) {
      return sendError(res, 404); // `/file.html/`: a file is not a directory
    }
    const entity = await openFile(filePath);
    if (entity === null) return sendError(res, 404);
    await serveEntity(req, res, entity.entity).finally(() => entity.release());
  }

  async function serveEntity(req: IncomingMessage, res: ServerResponse, e: Entity): Promise<void> {
    const method = req.method ?? 'GET';
    const etag = makeETag(e.size, e.mtimeMs);
    const compressible = isCompressible(e.contentType);
    res.setHeader('Content-Type', e.contentType);
    res.setHeader('Last-Modified', new Date(e.mtimeMs).toUTCString());
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (cacheControl !== null) res.setHeader('Cache-Control', cacheControl);
    if (compressible) res.setHeader('Vary', 'Accept-Encoding');

    const pre = evaluatePreconditions(method, req.headers, etag, e.mtimeMs);
    if (pre === 'not-modified') {
      res.statusCode = 304;
      res.removeHeader('Content-Type'); // RFC 9110 §15.4.5: only validators and cache headers
      res.removeHeader('Accept-Ranges');
      res.end();
      return;
    }
    if (pre === 'failed') return sendError(res, 412);

    if (req.headers.range !== undefined && ifRangeAllows(firstValue(req.headers['if-range']), etag, e.mtimeMs)) {
      const r = parseRange(req.headers.range, e.size);
      if (r.kind === 'unsatisfiable') {
        return sendError(res, 416, { 'Content-Range': `bytes */${e.size}` });
      }
      if (r.kind === 'range') {
        res.statusCode = 206;
        res.setHeader('Content-Range', `bytes ${r.start}-${r.end}/${e.size}`);
        res.setHeader('Content-Length', r.end - r.start + 1);
        return send(req, res, () => [e.stream(r.start, r.end)]);
      }
    }

    if (compressible && e.size >= gzipMin && acceptsGzip(req.headers['accept-encoding'])) {
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('ETag', weakETag(etag));
      if (e.size <= gzipInMemoryMax) {
        const gz = await cache.get(`${e.key}\0${etag}`, () => e.readAll());
        res.setHeader('Content-Length', gz.length);
        res.end(method === 'HEAD' ? undefined : gz);
        return;
      }
      // Length unknown until zlib is done: node:http sends it chunked (HTTP/1.1) or closes (HTTP/1.0).
      return send(req, res, () => [e.stream(0, e.size - 1), createGzip()]);
    }
    res.setHeader('Content-Length', e.size);
    if (e.size === 0) {
      res.end();
      return;
    }
    return send(req, res, () => [e.stream(0, e.size - 1)]);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        for (const h of ['Content-Encoding', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges', 'Vary']) res.removeHeader(h);
        sendError(res, 500);
      } else res.destroy(err as Error);
    });
  };
}

/**
 * Pipe a body (a source and optional transforms; nothing for HEAD) into the response; an error on
 * any of them after the headers went out cuts the connection, the only honest signal left.
 */
function send(req: IncomingMessage, res: ServerResponse, body: () => [Readable, ...Duplex[]]): Promise<void> {
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    pipeline([...body(), res], () => resolve());
  });
}

/** 64 KiB views of a buffer, so a big in-memory file flows with backpressure like a file does. */
function* slices(buf: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

function virtualEntity(urlPath: string, v: VirtualFile): Entity {
  return {
    size: v.size,
    mtimeMs: v.mtimeMs,
    contentType: v.contentType ?? mimeTypeFor(urlPath),
    key: `virtual:${urlPath}`,
    stream: (start, end) => Readable.from(slices(v.content().subarray(start, end + 1)), { objectMode: false }),
    readAll: () => Promise.resolve(v.content()),
  };
}

/** Open a regular file without following a swapped-in symlink or blocking on a FIFO. */
async function openFile(path: string): Promise<{ entity: Entity; release: () => Promise<void> } | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  } catch {
    return null;
  }
  let handedOver = false;
  const release = async (): Promise<void> => {
    if (!handedOver) await fh.close().catch(() => undefined);
  };
  const st = await fh.stat().catch(() => null);
  if (st === null || !st.isFile()) {
    await release();
    return null;
  }
  const entity: Entity = {
    size: st.size,
    mtimeMs: st.mtimeMs,
    contentType: mimeTypeFor(path),
    key: `file:${path}`,
    stream: (start, end) => {
      handedOver = true;
      return fh.createReadStream({ start, end, autoClose: true });
    },
    readAll: () => fh.readFile(),
  };
  return { entity, release };
}


function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
