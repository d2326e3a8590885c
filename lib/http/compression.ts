// gzip negotiation (Accept-Encoding, RFC 9110 §12.5.3) and a bounded cache of gzipped small
// files; the compression itself is zlib's.
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);

/** True when Accept-Encoding allows gzip: `gzip`/`x-gzip` with q>0, or `*` with q>0 when gzip is not named. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const acceptEncoding = Array.isArray(header) ? header.join(',') : header;
  let star: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim());
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
      if (m !== null) q = Number(m[1]);
    }
    const coding = name.toLowerCase();
    if (coding === 'gzip' || coding === 'x-gzip') return q > 0;
    if (coding === '*') star = q;
  }
  return star !== undefined && star > 0;
}

/** Gzipped bodies keyed by file and validator, evicting the oldest entries beyond `maxBytes`. */
export class GzipCache {
  readonly #entries = new Map<string, Promise<Buffer>>();
  readonly #sizes = new Map<string, number>();
  #bytes = 0;

  constructor(readonly maxBytes: number = 8 * 1024 * 1024) {}

  /** The gzip of `read()`'s result for `key`, computed once while cached. */
  get(key: string, read: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Move to the back: Map order is our LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const p = read().then((plain) => gzipAsync(plain));
    this.#entries.set(key, p);
    p.then(
      (buf) => {
        if (this.#entries.get(key) !== p) return;
        this.#sizes.set(key, buf.length);
        this.#bytes += buf.length;
        this.#evict();
      },
      () => this.#entries.delete(key),
    );
    return p;
  }

  /** Bytes of gzipped data held. */
  get bytes(): number {
    return this.#bytes;
  }

  #evict(): void {
    for (const key of this.#entries.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      const size = this.#sizes.get(key);
      if (size === undefined) continue; // still compressing
      this.#entries.delete(key);
      this.#sizes.delete(key);
      this.#bytes -= size;
    }
  }
}
