// Files that exist only in memory, served like real ones (ETag, Last-Modified, Range, HEAD):
// the bundled site's multi-megabyte download is one, generated from a seed so the repository
// holds no big binary and its sha256 is the same on every machine and every start.

/** A file served from memory at a fixed URL path. */
export interface VirtualFile {
  /** Length in bytes. */
  readonly size: number;
  /** Modification time (ms since the epoch): fixed, so validators survive restarts and `curl -C -` resumes. */
  readonly mtimeMs: number;
  /** Content-Type; by default chosen from the URL's extension. */
  readonly contentType?: string;
  /** The whole content (may be produced lazily on first use and kept). */
  content(): Buffer;
}

/** 2026-01-01T00:00:00Z: the Last-Modified of the generated files. */
export const SEEDED_FILE_MTIME_MS = Date.UTC(2026, 0, 1);

/**
 * `size` pseudo-random bytes from xorshift32 seeded with `seed` (never 0), little-endian words.
 * The algorithm is fixed here (not the stack's Rng) so the bytes, and their sha256, never change.
 */
export function seededBytes(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  if (i < size) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let k = 0; i < size; i++, k++) buf[i] = (x >>> (8 * k)) & 0xff;
  }
  return buf;
}

/** A virtual file of `size` seeded pseudo-random bytes, generated on first request and kept. */
export function seededFile(size: number, seed: number, mtimeMs = SEEDED_FILE_MTIME_MS): VirtualFile {
  let data: Buffer | undefined;
  return {
    size,
    mtimeMs,
    contentType: 'application/octet-stream',
    content: () => (data ??= seededBytes(size, seed)),
  };
}

/** The bundled site's download: `/download/4MiB.bin`, 4 MiB from seed 1 (sha256 in site/download/index.html). */
export function defaultVirtualFiles(): Record<string, VirtualFile> {
  return { '/download/4MiB.bin': seededFile(4 * 1024 * 1024, 1) };
}
