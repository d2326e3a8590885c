// The static site: a node:http request handler serving files under a root directory the way
// small real servers do (lighttpd, nginx). It owns the file policy only: which path maps to
// which file, validators and conditional requests, ranges, gzip, and the error pages. It does not
// parse HTTP (llhttp does) nor handle connections, timeouts, limits or logging (web-server.ts).
// Path lookups, stats and small files' content come from an open-file cache (file-cache.ts,
// trusted for 1 s by default), so a request for a cached small file touches no disk at all;
// big files are opened and streamed from disk on every request.
import { realpathSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable, type Duplex } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mimeTypeFor } from './mime.js';
import { parseTarget } from './safe-path.js';
import { weakETag, evaluatePreconditions, ifRangeAllows, parseRange } from './conditional.js';
import { acceptsGzip, GzipCache } from './compression.js';
import {
  FileCache,
  OPEN_FLAGS,
  fileInfo,
  representation,
  sameFile,
  sameVersion,
  type FileCacheOptions,
  type FileInfo,
  type Lookup,
  type Representation,
} from './file-cache.js';
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
  /**
   * The open-file cache (file-cache.ts): path resolution, stat and small files' content, trusted
   * for `validMs` (default 1000 ms; a change on disk shows within that window; 0 disables it).
   */
  fileCache?: FileCacheOptions;
}

/** One representation to answer with, from disk or memory; `content`, when set, is sent with one write. */
interface Entity extends Representation {
  /** A stream of bytes start..end inclusive (hands over any open file to the stream); used when `content` is undefined. */
  stream?(start: number, end: number): Readable;
  /** The whole body; used when `content` is undefined. */
  readAll?(): Promise<Buffer>;
}

/** The static site's request listener, with its open-file cache exposed for inspection. */
export interface StaticSite {
  (req: IncomingMessage, res: ServerResponse): void;
  readonly fileCache: FileCache;
}

/** A node:http request listener serving `options.root`; it always answers (2xx, 3xx, 4xx or 500). */
export function createStaticSite(options: StaticSiteOptions): StaticSite {
  const rootReal = realpathSync(options.root);
  const indexFile = options.indexFile ?? 'index.html';
  const virtualFiles = new Map(Object.entries(options.virtualFiles ?? {}).map(([path, v]) => [path, virtualEntity(path, v)]));
  const cacheControl = options.cacheControl === undefined ? 'no-cache' : options.cacheControl;
  const gzipMin = options.gzipMinBytes ?? 256;
  const gzipInMemoryMax = options.gzipInMemoryMaxBytes ?? 1024 * 1024;
  const cache = new GzipCache(options.gzipCacheBytes);
  const files = new FileCache(rootReal, options.fileCache);

  /** Answer one request; `recheck` is set on the second pass after a big file turned out to be replaced. */
  async function handle(req: IncomingMessage, res: ServerResponse, recheck = false): Promise<void> {
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

    if (virtualFiles.size > 0 && !target.trailingSlash) {
      const virtual = virtualFiles.get('/' + target.segments.join('/'));
      if (virtual !== undefined) return serveEntity(req, res, virtual);
    }

    // Answers come synchronously from the cache while fresh; only a check waits.
    const found = files.lookup(target.segments);
    const what = found instanceof Promise ? await found : found;
    let file: FileInfo;
    let fileSegments = target.segments;
    if (what.kind === 'none') return sendError(res, 404);
    if (what.kind === 'dir') {
      if (!target.trailingSlash) {
        // Relative references in the index page resolve against the directory only with the slash.
        const location = '/' + target.encoded.join('/') + '/' + target.query;
        return sendError(res, 301, { Location: location });
      }
      fileSegments = [...target.segments, indexFile];
      const index = files.lookup(fileSegments);
      const indexWhat: Lookup = index instanceof Promise ? await index : index;
      if (indexWhat.kind !== 'file') return sendError(res, 404);
      file = indexWhat;
    } else if (target.trailingSlash) {
      return sendError(res, 404); // `/file.html/`: a file is not a directory
    } else {
      file = what;
    }
    if (file.content !== undefined) return serveEntity(req, res, file);
    // A big file: opened now, and its metadata taken from this descriptor.
    const opened = await openFile(file);
    if (opened === null || !sameFile(file, opened.stat)) {
      // Gone, or another file is at that path now (replaced, or a directory on the way swapped for
      // a symlink): forget the cached answer and check the whole path again before sending
      // anything, so a cached "allowed" never serves a different file.
      files.invalidate(fileSegments);
      if (!recheck) {
        await opened?.release();
        return handle(req, res, true);
      }
      if (opened === null) return sendError(res, 404);
    } else if (!sameVersion(file, opened.stat)) {
      files.invalidate(fileSegments); // changed in place: served as it is now, metadata refreshed next time
    }
    await serveEntity(req, res, opened.entity).finally(() => opened.release());
  }

  async function serveEntity(req: IncomingMessage, res: ServerResponse, e: Entity): Promise<void> {
    const method = req.method ?? 'GET';
    const etag = e.etag;
    const compressible = e.compressible;
    res.setHeader('Content-Type', e.contentType);
    res.setHeader('Last-Modified', e.lastModified);
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (cacheControl !== null) res.setHeader('Cache-Control', cacheControl);
    if (compressible) res.setHeader('Vary', 'Accept-Encoding');

    const headers = req.headers;
    const pre = evaluatePreconditions(method, headers, etag, e.mtimeMs);
    if (pre === 'not-modified') {
      res.statusCode = 304;
      res.removeHeader('Content-Type'); // RFC 9110 §15.4.5: only validators and cache headers
      res.removeHeader('Accept-Ranges');
      res.end();
      return;
    }
    if (pre === 'failed') return sendError(res, 412);

    if (headers.range !== undefined && ifRangeAllows(firstValue(headers['if-range']), etag, e.mtimeMs)) {
      const r = parseRange(headers.range, e.size);
      if (r.kind === 'unsatisfiable') {
        return sendError(res, 416, { 'Content-Range': `bytes */${e.size}` });
      }
      if (r.kind === 'range') {
        res.statusCode = 206;
        res.setHeader('Content-Range', `bytes ${r.start}-${r.end}/${e.size}`);
        res.setHeader('Content-Length', r.end - r.start + 1);
        return send(req, res, e, r.start, r.end);
      }
    }

    if (compressible && e.size >= gzipMin && acceptsGzip(headers['accept-encoding'])) {
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('ETag', weakETag(etag));
      if (e.size <= gzipInMemoryMax) {
        const content = e.content;
        const gz = await cache.get(e.gzipKey, content !== undefined ? () => Promise.resolve(content) : () => e.readAll!());
        res.setHeader('Content-Length', gz.length);
        res.end(method === 'HEAD' ? undefined : gz);
        return;
      }
      // Length unknown until zlib is done: node:http sends it chunked (HTTP/1.1) or closes (HTTP/1.0).
      if (method === 'HEAD') {
        res.end();
        return;
      }
      return pipe(res, e.content !== undefined ? Readable.from([e.content], { objectMode: false }) : e.stream!(0, e.size - 1), createGzip());
    }
    res.setHeader('Content-Length', e.size);
    if (e.size === 0) {
      res.end();
      return;
    }
    return send(req, res, e, 0, e.size - 1);
  }

  const site = ((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        for (const h of ['Content-Encoding', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges', 'Vary']) res.removeHeader(h);
        sendError(res, 500);
      } else res.destroy(err as Error);
    });
  }) as StaticSite;
  Object.defineProperty(site, 'fileCache', { value: files });
  return site;
}

/** Send bytes start..end of `e` (nothing for HEAD): one write when in memory, else a stream. */
function send(req: IncomingMessage, res: ServerResponse, e: Entity, start: number, end: number): Promise<void> | void {
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (e.content !== undefined) {
    res.end(start === 0 && end === e.content.length - 1 ? e.content : e.content.subarray(start, end + 1));
    return;
  }
  return pipe(res, e.stream!(start, end));
}

/**
 * Pipe a body (a source and optional transforms) into the response; an error on any of them
 * after the headers went out cuts the connection, the only honest signal left.
 */
function pipe(res: ServerResponse, ...streams: [Readable, ...Duplex[]]): Promise<void> {
  return new Promise((resolve) => {
    pipeline([...streams, res], () => resolve());
  });
}

/** 64 KiB views of a buffer, so a big in-memory file flows with backpressure like a file does. */
function* slices(buf: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

/** A virtual file as an entity; its content is produced only when a body is sent (never for HEAD). */
function virtualEntity(urlPath: string, v: VirtualFile): Entity {
  return {
    ...representation(`virtual:${urlPath}`, v.size, v.mtimeMs, v.contentType ?? mimeTypeFor(urlPath), undefined),
    stream: (start, end) => Readable.from(slices(v.content().subarray(start, end + 1)), { objectMode: false }),
    readAll: () => Promise.resolve(v.content()),
  };
}

/**
 * Open a big file to stream it, without following a swapped-in symlink or blocking on a FIFO;
 * the response's metadata comes from this descriptor's fstat, so it matches the bytes sent.
 */
async function openFile(file: FileInfo): Promise<{ entity: Entity; stat: Stats; release: () => Promise<void> } | null> {
  let fh: FileHandle;
  try {
    fh = await open(file.path, OPEN_FLAGS);
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
  const info = sameVersion(file, st) ? file : fileInfo(file.path, st, undefined);
  const entity: Entity = {
    ...info,
    content: undefined,
    stream: (start, end) => {
      handedOver = true;
      return fh.createReadStream({ start, end, autoClose: true });
    },
    readAll: () => fh.readFile(),
  };
  return { entity, stat: st, release };
}


function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
