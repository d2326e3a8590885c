// Request target → path segments under the site root, refusing everything that could leave the
// root or reveal hidden files: `..` in any encoding, encoded slashes, backslashes, NUL, dotfiles,
// and symlinks whose real path is outside the root. Decoding happens once, so a double-encoded
// `%252e%252e` stays the literal (missing) name `%2e%2e`.
import { realpath } from 'node:fs/promises';
import { join, relative, sep, isAbsolute } from 'node:path';

/** The outcome of parsing a request target. */
export type TargetPath =
  /** Safe decoded segments (no empty ones), the encoded ones for redirects, and whether the path ended in `/`. */
  | { kind: 'ok'; segments: string[]; encoded: string[]; trailingSlash: boolean; query: string }
  /** Malformed (bad percent-encoding, not origin- or absolute-form): 400. */
  | { kind: 'bad' }
  /** Traversal, dotfile, encoded slash, backslash or NUL: answered 404 so nothing is revealed. */
  | { kind: 'forbidden' };

/** A plain path: only unreserved characters and slashes, no query, no `%`; with no `/.` it needs no decoding or checks. */
const PLAIN_PATH = /^\/[A-Za-z0-9_~/.-]*$/;

/** Parse a request target (`req.url`) into safe segments; see TargetPath. */
export function parseTarget(url: string): TargetPath {
  if (PLAIN_PATH.test(url) && !url.includes('/.')) {
    // The common case, answered as the general path below would: no segment starts with a dot.
    const segments = url.split('/').filter((s) => s !== '');
    return { kind: 'ok', segments, encoded: segments.slice(), trailingSlash: url.endsWith('/'), query: '' };
  }
  let target = url;
  // RFC 9112 §3.2.2: servers must accept absolute-form; only the path part matters here.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (abs !== null) target = target.slice(abs[0].length) || '/';
  if (!target.startsWith('/')) return { kind: 'bad' };
  const q = target.search(/[?#]/);
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 || target[q] === '#' ? '' : target.slice(q).replace(/#.*$/s, '');
  const segments: string[] = [];
  const encoded: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw.includes('\\') || raw.includes('\0')) return { kind: 'forbidden' };
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad' };
    }
    if (seg === '') continue; // `//` merges, as nginx's merge_slashes does
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return { kind: 'forbidden' };
    if (seg.startsWith('.')) return { kind: 'forbidden' }; // `.`, `..` and every dotfile
    segments.push(seg);
    encoded.push(raw);
  }
  return { kind: 'ok', segments, encoded, trailingSlash: rawPath.endsWith('/'), query };
}

/**
 * The real path of `segments` under `rootReal` (itself a real path), or null when it does not
 * exist, resolves outside the root (symlink escape), or passes through a dot-named file.
 */
export async function resolveInRoot(rootReal: string, segments: readonly string[]): Promise<string | null> {
  const candidate = join(rootReal, ...segments);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return null;
  }
  return isInside(rootReal, real) ? real : null;
}

/** True when `real` is `rootReal` or below it and no component below the root starts with a dot. */
export function isInside(rootReal: string, real: string): boolean {
  if (real === rootReal) return true;
  const rel = relative(rootReal, real);
  if (rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith('..' + sep)) return false;
  return !rel.split(sep).some((part) => part.startsWith('.'));
}
