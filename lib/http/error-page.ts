// Small HTML error responses (404, 405, 400...), the same shape for the static site, the
// status page and the connection-level errors the web server writes itself.
import { STATUS_CODES, type ServerResponse } from 'node:http';

/** `404 Not Found` style text for a status code. */
export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}`;
}

/** The small HTML body of an error response: a title, a heading and the server name, like lighttpd's. */
export function errorBody(status: number): string {
  const text = statusLine(status);
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${text}</title></head>\n` +
    `<body>\n<h1>${text}</h1>\n<hr>\n<p>tapstack</p>\n</body>\n</html>\n`
  );
}

/** The encoded error bodies, made once per status (404s are frequent: every favicon request). */
const bodies = new Map<number, Buffer>();

/** Answer `status` with the small HTML body (headers only for HEAD) plus `headers`. */
export function sendError(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  let body = bodies.get(status);
  if (body === undefined) bodies.set(status, (body = Buffer.from(errorBody(status))));
  res.statusCode = status;
  if (headers !== undefined) for (const k in headers) res.setHeader(k, headers[k]!);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/**
 * A complete raw HTTP/1.1 response for errors written straight onto a socket, outside node:http's
 * request/response cycle (bad request, header overflow, timeouts, too many connections).
 */
export function rawErrorResponse(status: number, date: Date, extraHeaders: Record<string, string> = {}): Buffer {
  const body = errorBody(status);
  let head =
    `HTTP/1.1 ${statusLine(status)}\r\n` +
    `Server: tapstack\r\n` +
    `Date: ${date.toUTCString()}\r\n` +
    `Content-Type: text/html; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const [k, v] of Object.entries(extraHeaders)) head += `${k}: ${v}\r\n`;
  head += 'Connection: close\r\n\r\n';
  return Buffer.from(head + body);
}
