// One access-log line per request in the Combined Log Format of Apache and nginx:
//   10.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "GET / HTTP/1.1" 200 1234 "-" "curl/7.88.1"
// Times are UTC. Quotes, backslashes and non-printable bytes inside quoted fields are escaped
// (`\"`, `\\`, `\xHH`) so a hostile request cannot forge or split lines.

import { createWriteStream } from 'node:fs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Something lines can be written to: a stream (stdout, a file) or anything with `write`. */
export interface LogSink {
  write(line: string): unknown;
  /** Bytes accepted but not yet handed on (a Writable's own); the web server bounds it. */
  readonly writableLength?: number;
}

/** The fields of one log line. */
export interface AccessLogEntry {
  /** Client address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is shown as IPv4. */
  remoteAddress: string | undefined;
  /** Wall-clock time, ms since the epoch. */
  time: number;
  /** The request line as received (`GET / HTTP/1.1`), or undefined when none was parsed. */
  requestLine: string | undefined;
  status: number;
  /** Body bytes sent (`-` when 0, as in the Common Log Format). */
  bytes: number;
  referer: string | undefined;
  userAgent: string | undefined;
}

/** The last second formatted, reused: a busy server logs many lines per second. */
let lastSecond = NaN;
let lastText = '';

/** `[21/Nov/2026:05:51:00 +0000]` for a time in ms since the epoch. */
export function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastText = formatClfTime(ms);
    lastSecond = second;
  }
  return lastText;
}

function formatClfTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
}

/** Escape a field for inside double quotes. */
export function escapeLogField(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\uffff"\\]/g, (c) => {
    if (c === '"') return '\\"';
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0').toUpperCase()}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function quoted(s: string | undefined): string {
  return s === undefined || s === '' ? '"-"' : `"${escapeLogField(s)}"`;
}

/** One Combined Log Format line, with the trailing newline. */
export function formatAccessLog(e: AccessLogEntry): string {
  let host = e.remoteAddress ?? '-';
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
  return `${host} - - ${clfTime(e.time)} ${quoted(e.requestLine)} ${e.status} ${e.bytes > 0 ? e.bytes : '-'} ${quoted(e.referer)} ${quoted(e.userAgent)}\n`;
}

/** An append-mode log file (`--access-log FILE`); `close()` flushes and closes it. */
export function openAccessLog(file: string): LogSink & { close(): Promise<void> } {
  const stream = createWriteStream(file, { flags: 'a' });
  stream.on('error', () => undefined); // a failing log must not take the server down
  return {
    write: (line: string) => stream.write(line),
    get writableLength() {
      return stream.writableLength;
    },
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}
