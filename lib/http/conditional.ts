// Validators and conditional requests (RFC 9110 §8.8, §13) and byte ranges (RFC 9110 §14):
// pure functions over header values, so the rules are tested without a server.
import type { IncomingHttpHeaders } from 'node:http';

/** A strong ETag from size and modification time, like nginx's `"<mtime hex>-<size hex>"`. */
export function makeETag(size: number, mtimeMs: number): string {
  return `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`;
}

/** The weak form of a tag: a gzip-coded body is a different representation, so it may not share a strong tag. */
export function weakETag(tag: string): string {
  return tag.startsWith('W/') ? tag : `W/${tag}`;
}

/** Parse an If-Match / If-None-Match value into its tags, or `'*'`. */
export function parseETagList(value: string): string[] | '*' {
  if (value.trim() === '*') return '*';
  return value.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** RFC 9110 §8.8.3.2 weak comparison: the opaque parts are equal, either tag may be weak. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

/** RFC 9110 §8.8.3.2 strong comparison: both strong and equal. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** An HTTP-date header value in ms, or NaN when absent or invalid (a recipient then ignores it). */
export function parseHttpDate(value: string | undefined): number {
  if (value === undefined || /,.*,/.test(value)) return NaN; // a list: more than one member
  return Date.parse(value);
}

/** The Last-Modified time as sent: whole seconds, because HTTP dates have no finer unit. */
export function httpSeconds(mtimeMs: number): number {
  return Math.floor(mtimeMs / 1000) * 1000;
}

/** What the preconditions say: go on, answer 304, or answer 412. */
export type PreconditionResult = 'proceed' | 'not-modified' | 'failed';

/**
 * Evaluate If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order of
 * RFC 9110 §13.2.2, for a representation with `etag` and `lastModifiedMs`.
 */
export function evaluatePreconditions(
  method: string,
  headers: IncomingHttpHeaders,
  etag: string,
  lastModifiedMs: number,
): PreconditionResult {
  const lm = httpSeconds(lastModifiedMs);
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    // Step 1: If-Match uses the strong comparison.
    const tags = parseETagList(ifMatch);
    if (tags !== '*' && !tags.some((t) => strongMatch(t, etag))) return 'failed';
  } else {
    // Step 2: If-Unmodified-Since only when there is no If-Match.
    const ius = parseHttpDate(headers['if-unmodified-since']);
    if (!Number.isNaN(ius) && lm > ius) return 'failed';
  }
  const isGetHead = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    // Step 3: If-None-Match (weak comparison) takes precedence over If-Modified-Since.
    const tags = parseETagList(ifNoneMatch);
    if (tags === '*' || tags.some((t) => weakMatch(t, etag))) return isGetHead ? 'not-modified' : 'failed';
    return 'proceed';
  }
  if (isGetHead) {
    // Step 4: If-Modified-Since, only for GET/HEAD and only without If-None-Match.
    const ims = parseHttpDate(headers['if-modified-since']);
    if (!Number.isNaN(ims) && lm <= ims) return 'not-modified';
  }
  return 'proceed';
}

/**
 * RFC 9110 §13.1.5: does If-Range let the Range apply? An entity tag must match strongly; a date
 * must equal Last-Modified exactly. Absent If-Range always lets it apply.
 */
export function ifRangeAllows(value: string | undefined, etag: string, lastModifiedMs: number): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return strongMatch(v, etag);
  const d = parseHttpDate(v);
  return !Number.isNaN(d) && d === httpSeconds(lastModifiedMs);
}

/** A Range header against a representation of `size` bytes. */
export type RangeResult =
  /** No usable Range (absent, malformed, other unit, several ranges): send the whole thing, 200. */
  | { kind: 'none' }
  /** One satisfiable range, inclusive bounds: 206. */
  | { kind: 'range'; start: number; end: number }
  /** Syntactically fine but outside the representation: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

/** Parse a single-range `bytes=` Range header (RFC 9110 §14.1.2); several ranges are ignored (a 200 is allowed). */
export function parseRange(value: string | undefined, size: number): RangeResult {
  if (value === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (m === null) return { kind: 'none' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'none' };
  if (a === '') {
    // suffix-range: the last N bytes.
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? Infinity : Number(b);
  if (end < start) return { kind: 'none' }; // invalid range-spec: ignore the field
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}
