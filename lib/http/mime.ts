// Content types by file extension, and which of them are worth gzipping.

/** Extension (lower case, with the dot) → Content-Type; text types carry `charset=utf-8`. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/vnd.microsoft.icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.pcap': 'application/vnd.tcpdump.pcap',
  '.bin': 'application/octet-stream',
};

/** The type for names we do not know: browsers download it rather than guess. */
export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/** The Content-Type for a file name, by its extension (case-insensitive). */
export function mimeTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0 || dot < fileName.lastIndexOf('/')) return DEFAULT_MIME_TYPE;
  return MIME_TYPES[fileName.slice(dot).toLowerCase()] ?? DEFAULT_MIME_TYPE;
}

/** True for types that shrink under gzip (text, JSON, JS, SVG, XML); already-compressed media do not. */
export function isCompressible(contentType: string): boolean {
  const base = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return (
    base.startsWith('text/') ||
    base === 'application/json' ||
    base === 'application/javascript' ||
    base === 'application/xml' ||
    base === 'application/wasm' ||
    base === 'image/svg+xml' ||
    base === 'image/vnd.microsoft.icon'
  );
}
