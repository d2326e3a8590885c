// An open-file/metadata cache for the static site, like nginx's `open_file_cache` with
// `open_file_cache_valid`: what a URL path resolves to (realpath, the containment decision, stat:
// size, mtime, ETag, type — including "missing" and "not allowed") and the content of small
// files, kept for a short validity window. Without it every request chains realpath, stat, open,
// fstat, read and close through the libuv threadpool, and the site is latency-bound there.
//
// Freshness: an entry is used for `validMs` (default 1000 ms) after its check started; the next
// lookup after that repeats realpath + containment + stat before answering (requests arriving
// meanwhile wait for that check, they are not served stale). A file that changed (other inode,
// size or mtime) is read again; an unchanged one keeps its content. So a changed, created or
// deleted file is noticed at most `validMs` after the change. `validMs: 0` disables caching:
// every request resolves, stats and opens the file again, as without the cache.
//
// Path safety under a cache (the trade-off nginx's open_file_cache makes too): a cached "allowed"
// decision can outlive a symlink swap (a link re-pointed out of the root, a directory replaced by
// such a link) by up to `validMs`, and no longer. Within that window a small file's response is
// the content read while it was allowed, from memory; bytes from outside the root are never read
// for it. A big file is opened on every request by its cached real path with O_NOFOLLOW, and when
// the descriptor is not the cached inode the static site drops the entry and checks the whole path
// again before sending anything (static-site.ts).
//
// Bounds: at most `maxEntries` entries and `maxBytes` bytes of content (least recently used out
// first); only files up to `maxFileBytes` are held in memory, bigger ones keep their metadata and
// are opened (O_NOFOLLOW) and streamed from disk on each request.
import { constants as fsConstants, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isInside } from './safe-path.js';
import { makeETag } from './conditional.js';
import { mimeTypeFor, isCompressible } from './mime.js';

/** Flags for opening a file to serve: never follow a swapped-in symlink, never block on a FIFO. */
export const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/** Limits and freshness of the cache; every one has a default. */
export interface FileCacheOptions {
  /** How long a check (and a file's content) is trusted, ms; 0 disables the cache (default 1000). */
  validMs?: number;
  /** Most paths remembered, found or not (default 4096). */
  maxEntries?: number;
  /** Most bytes of file content held (default 32 MiB). */
  maxBytes?: number;
  /** Files up to this size are held in memory (default 8 MiB); bigger ones stream from disk. */
  maxFileBytes?: number;
  /** Monotonic ms for the validity window (default performance.now); tests pass a fake. */
  now?: () => number;
}

/**
 * What a response needs of one representation (a file, or the static site's in-memory files),
 * precomputed: size, validators and type.
 */
export interface Representation {
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** Last-Modified as sent. */
  readonly lastModified: string;
  readonly contentType: string;
  readonly compressible: boolean;
  /** Key of its gzipped form (names the representation and includes the validator). */
  readonly gzipKey: string;
  /** The whole content when held in memory; undefined: it is opened and streamed. */
  readonly content: Buffer | undefined;
}

/**
 * The Representation of `size` bytes last modified at `mtimeMs`: ETag and Last-Modified from
 * those, compressibility from `contentType`; `key` (e.g. `file:<real path>`) names it in the
 * gzip cache.
 */
export function representation(key: string, size: number, mtimeMs: number, contentType: string, content: Buffer | undefined): Representation {
  const etag = makeETag(size, mtimeMs);
  return {
    size,
    mtimeMs,
    etag,
    lastModified: new Date(mtimeMs).toUTCString(),
    contentType,
    compressible: isCompressible(contentType),
    gzipKey: `${key}\0${etag}`,
    content,
  };
}

/** A regular file inside the root, with what a response needs precomputed. */
export interface FileInfo extends Representation {
  readonly kind: 'file';
  /** Its real path. */
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
}

/** What a path under the root is: nothing servable (missing, outside, hidden, special), a directory, or a file. */
export type Lookup = { readonly kind: 'none' } | { readonly kind: 'dir' } | FileInfo;

/** Longer paths are never remembered, so 404s for long made-up URLs cannot fill memory with keys. */
const MAX_KEY_LENGTH = 1024;

const NONE: Lookup = Object.freeze({ kind: 'none' });
const DIR: Lookup = Object.freeze({ kind: 'dir' });

interface Entry {
  /** When the check that produced (or is producing) `value` started. */
  checkedAt: number;
  value: Lookup | undefined;
  /** The check in progress; lookups meanwhile wait for it. */
  pending: Promise<Lookup> | undefined;
  /** Content bytes accounted to this entry. */
  bytes: number;
}

/** Metadata of a file from a stat, with validators and type precomputed. */
export function fileInfo(path: string, st: Stats, content: Buffer | undefined): FileInfo {
  return { kind: 'file', path, ino: st.ino, dev: st.dev, ...representation(`file:${path}`, st.size, st.mtimeMs, mimeTypeFor(path), content) };
}

/** True when `st` is the same file (inode and device) as `f`, whatever its content now. */
export function sameFile(f: FileInfo, st: Stats): boolean {
  return f.ino === st.ino && f.dev === st.dev;
}

/** True when `st` describes the same file version as `f` (same inode, size and mtime). */
export function sameVersion(f: FileInfo, st: Stats): boolean {
  return sameFile(f, st) && f.size === st.size && f.mtimeMs === st.mtimeMs;
}

/** Path lookups under one root directory (itself a real path), cached as described above. */
export class FileCache {
  readonly validMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxFileBytes: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  /** Lookups answered from a fresh entry (including waits on a check already running). */
  hits = 0;
  /** Lookups that had to check the file system. */
  misses = 0;

  constructor(
    readonly rootReal: string,
    options: FileCacheOptions = {},
  ) {
    this.validMs = Math.max(0, options.validMs ?? 1000);
    this.maxEntries = Math.max(0, options.maxEntries ?? 4096);
    this.maxBytes = Math.max(0, options.maxBytes ?? 32 * 1024 * 1024);
    // 8 MiB: streaming a file reads it into a fresh 64 KiB buffer per chunk, and that garbage
    // (plus the threadpool reads) cost more CPU than the TCP sending it: 4 MiB downloads took
    // 850 ms of CPU per 200 MiB streamed against 360 ms from memory (issue 9).
    this.maxFileBytes = Math.max(0, options.maxFileBytes ?? 8 * 1024 * 1024);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Paths remembered. */
  get entries(): number {
    return this.#entries.size;
  }

  /** Bytes of file content held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * What `segments` (safe, decoded path segments, see parseTarget) name under the root:
   * synchronously when a fresh answer is cached, otherwise a promise.
   */
  lookup(segments: readonly string[]): Lookup | Promise<Lookup> {
    const key = segments.join('/');
    if (this.validMs === 0 || this.maxEntries === 0 || key.length > MAX_KEY_LENGTH) {
      this.misses++;
      return this.#probe(segments, undefined, false);
    }
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (entry.pending !== undefined) {
        this.hits++;
        return entry.pending;
      }
      // Recently used goes to the back: Map order is the LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      if (now - entry.checkedAt < this.validMs && entry.value !== undefined) {
        this.hits++;
        return entry.value;
      }
    } else {
      entry = { checkedAt: now, value: undefined, pending: undefined, bytes: 0 };
      this.#entries.set(key, entry);
      this.#evict();
    }
    this.misses++;
    const e = entry;
    e.checkedAt = now;
    const p = this.#probe(segments, e.value, true);
    e.pending = p;
    p.then(
      (value) => {
        e.pending = undefined;
        e.value = value;
        if (this.#entries.get(key) !== e) return; // evicted meanwhile
        const bytes = value.kind === 'file' && value.content !== undefined ? value.content.length : 0;
        this.#bytes += bytes - e.bytes;
        e.bytes = bytes;
        this.#evict();
      },
      () => {
        // A read error is not remembered: the next request tries again.
        e.pending = undefined;
        if (this.#entries.get(key) === e) this.#remove(key, e);
      },
    );
    return p;
  }

  /** Forget `segments`, e.g. when opening the file showed it changed; the next lookup checks again. */
  invalidate(segments: readonly string[]): void {
    const key = segments.join('/');
    const e = this.#entries.get(key);
    if (e !== undefined && e.pending === undefined) this.#remove(key, e);
  }

  /** Forget everything. */
  clear(): void {
    for (const [key, e] of [...this.#entries]) this.#remove(key, e);
  }

  #remove(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.bytes;
    e.bytes = 0;
  }

  #evict(): void {
    for (const [key, e] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#remove(key, e);
    }
  }

  /**
   * realpath + containment + stat, and the content of a small file (read through a descriptor
   * opened with O_NOFOLLOW, whose fstat gives the metadata, so they match). `previous` is the last
   * answer for the path: when the file is the same version its content is kept without reading.
   */
  async #probe(segments: readonly string[], previous: Lookup | undefined, keep: boolean): Promise<Lookup> {
    let real: string;
    try {
      real = await realpath(join(this.rootReal, ...segments));
    } catch {
      return NONE;
    }
    if (!isInside(this.rootReal, real)) return NONE;
    let st: Stats;
    try {
      st = await stat(real);
    } catch {
      return NONE;
    }
    if (st.isDirectory()) return DIR;
    if (!st.isFile()) return NONE; // FIFOs, sockets, devices: never opened
    if (previous?.kind === 'file' && previous.path === real && sameVersion(previous, st)) return previous;
    if (!keep || st.size > this.maxFileBytes || st.size > this.maxBytes) return fileInfo(real, st, undefined);
    let fh;
    try {
      fh = await open(real, OPEN_FLAGS);
    } catch {
      return NONE; // gone, or a symlink swapped in since the realpath
    }
    try {
      const content = await fh.readFile();
      const fst = await fh.stat();
      if (!fst.isFile()) return NONE;
      // Written to while we read: serve it from disk rather than hold a torn copy.
      const whole = content.length === fst.size && content.length <= this.maxFileBytes;
      return fileInfo(real, fst, whole ? content : undefined);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}
