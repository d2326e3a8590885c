// Shared helpers for the web server tests: a throw-away site in a temp dir, a server on an
// ephemeral loopback port, requests through node:http and raw bytes through node:net.
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createWebServer, type WebServer, type WebServerOptions } from '../../lib/http/web-server.js';

/** Enough text to be worth gzipping: 20 KiB of repeated lines. */
export const BIG_TEXT = Array.from({ length: 400 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join('');
export const INDEX_HTML = '<!DOCTYPE html><title>t</title><p>hello from the test root</p>\n';
export const MTIME = new Date('2026-01-02T03:04:05Z');

/** A temporary site: root with files, plus an outside dir for symlink escapes. Call `remove()` after. */
export function makeSite(): { root: string; outside: string; remove: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'tapstack-http-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'SECRET outside the root\n');
  writeFileSync(join(root, 'index.html'), INDEX_HTML);
  writeFileSync(join(root, 'big.txt'), BIG_TEXT);
  writeFileSync(join(root, 'small.css'), 'body{}\n');
  writeFileSync(join(root, 'data.bin'), Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff)));
  writeFileSync(join(root, 'empty.txt'), '');
  writeFileSync(join(root, 'a b.txt'), 'space\n');
  writeFileSync(join(root, '%2e%2e'), 'literal percent name\n');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'index.html'), '<p>sub index</p>\n');
  mkdirSync(join(root, 'noindex'));
  writeFileSync(join(root, 'noindex', 'file.txt'), 'x\n');
  writeFileSync(join(root, '.hidden'), 'hidden\n');
  mkdirSync(join(root, '.git'));
  writeFileSync(join(root, '.git', 'config'), '[core]\n');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync(join(root, 'big.txt'), join(root, 'inside-link.txt'));
  symlinkSync(join(root, '.hidden'), join(root, 'to-hidden.txt'));
  for (const f of ['index.html', 'big.txt', 'small.css', 'data.bin']) utimesSync(join(root, f), MTIME, MTIME);
  return { root, outside, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** A running web server on 127.0.0.1 with its access log captured line by line. */
export interface Running {
  server: WebServer;
  port: number;
  log: string[];
  close(): Promise<void>;
}

/** Start createWebServer(options) on an ephemeral loopback port; logs go to `log`. */
export async function start(options: WebServerOptions): Promise<Running> {
  const log: string[] = [];
  const server = createWebServer({ accessLog: { write: (l: string) => log.push(l) }, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A response read whole. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  httpVersion: string;
}

/** One request over a fresh connection (no agent, no automatic decompression). */
export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), httpVersion: res.httpVersion }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw TCP client that collects everything the server sends and notes who closed first. */
export class RawClient {
  readonly socket: Socket;
  readonly chunks: Buffer[] = [];
  /** Set when the server's FIN arrived, before we ended our side. */
  serverEndedFirst = false;
  endedAt = -1;
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    this.socket.on('error', () => undefined);
    this.connected = new Promise((r) => this.socket.once('connect', () => r()));
    this.socket.on('data', (c: Buffer) => this.chunks.push(c));
    this.ended = new Promise((r) =>
      this.socket.once('end', () => {
        this.serverEndedFirst = !this.socket.writableEnded;
        this.endedAt = performance.now();
        r();
      }),
    );
    this.closed = new Promise((r) => this.socket.once('close', () => r()));
  }

  /** Everything received so far, as latin1 text. */
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolve once the received text matches `re` (or reject after `ms`). */
  waitFor(re: RegExp, ms = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (re.test(this.text)) {
          clearTimeout(timer);
          this.socket.off('data', check);
          resolve(this.text);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.socket.off('data', check);
        reject(new Error(`timed out waiting for ${re} in ${JSON.stringify(this.text.slice(0, 300))}`));
      }, ms);
      if (!check()) this.socket.on('data', check);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Send raw bytes on a new connection and return everything the server sent until it closed. */
export async function rawExchange(port: number, data: string | Buffer, endOurSide = false): Promise<{ text: string; serverEndedFirst: boolean }> {
  const c = new RawClient(port);
  await c.connected;
  c.write(data);
  if (endOurSide) c.socket.end();
  await Promise.race([c.ended, c.closed]);
  const text = c.text;
  c.destroy();
  return { text, serverEndedFirst: c.serverEndedFirst };
}

/** The status code of the first response in raw text. */
export function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m === null ? -1 : Number(m[1]);
}

/** Poll `pred` every few ms until it holds (or fail after `ms`). */
export async function until(pred: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
