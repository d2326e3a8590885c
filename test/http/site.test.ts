// The bundled teaching site, served by createWebServer() with its defaults: every page and every
// resource it links to answers 200, there is no favicon (the 404 is part of the lesson), and the
// generated download matches the sha256 published on the download page.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { start, get, RawClient } from '../helpers/http-helpers.js';
import { bundledSiteRoot } from '../../lib/http/web-server.js';

const root = bundledSiteRoot();
const s = await start({});
t.teardown(() => s.close());

/** Local links (href/src) of an HTML page, resolved against its URL. */
function links(html: string, base: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/\b(?:href|src)="([^"#]+)"/g)) {
    const u = new URL(m[1]!, `http://h${base}`);
    if (u.host === 'h') out.push(u.pathname + u.search);
  }
  return out;
}

t.test('the site has the promised parts and no favicon', async (t) => {
  for (const f of ['index.html', 'style.css', 'parallel.html', 'download/index.html']) {
    t.ok(existsSync(join(root, f)), f);
  }
  t.notOk(existsSync(join(root, 'favicon.ico')), 'no favicon');
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else total += statSync(join(d, e.name)).size;
    }
  };
  walk(root);
  t.ok(total < 100_000, `no big binary in the repository (${total} bytes)`);
});

t.test('every page and every link answers 200 (except the status page without a stack)', async (t) => {
  const seen = new Set<string>();
  const queue = ['/'];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const r = await get(s.port, path, {}, path.endsWith('.bin') ? 'HEAD' : 'GET');
    if (path.startsWith('/_stack')) {
      t.equal(r.status, 404, `${path}: 404 until a stack provides status`);
      continue;
    }
    t.equal(r.status, 200, path);
    if (String(r.headers['content-type']).startsWith('text/html')) queue.push(...links(r.body.toString(), path.endsWith('/') ? path : path.replace(/[^/]*$/, '')));
  }
  for (const p of ['/', '/style.css', '/parallel.html', '/parallel.css', '/js/parallel.js', '/img/layer-6.svg', '/download/', '/download/4MiB.bin']) {
    t.ok(seen.has(p), `reached ${p}`);
  }
});

t.test('favicon 404, like lighttpd in the classic capture', async (t) => {
  const r = await get(s.port, '/favicon.ico');
  t.equal(r.status, 404);
  t.match(r.body.toString(), /404 Not Found/);
  t.match(s.log.find((l) => l.includes('"GET /favicon.ico HTTP/1.1" 404 ')), /^127\.0\.0\.1 - - \[/);
});

t.test('default keep-alive announcement and content types', async (t) => {
  const c = new RawClient(s.port);
  await c.connected;
  c.write('GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nAccept-Encoding: gzip\r\n\r\n');
  await c.waitFor(/\r\n\r\n/);
  t.match(c.text, /\r\nKeep-Alive: timeout=5\r\n/);
  t.match(c.text, /\r\nContent-Encoding: gzip\r\n/);
  c.destroy();
  t.equal((await get(s.port, '/img/layer-6.svg')).headers['content-type'], 'image/svg+xml; charset=utf-8');
  t.equal((await get(s.port, '/js/parallel.js')).headers['content-type'], 'text/javascript; charset=utf-8');
});

t.test('the 4 MiB download: generated, stable sha256, as published on the download page', async (t) => {
  const page = (await get(s.port, '/download/')).body.toString();
  const published = /id="sha256-4MiB">([0-9a-f]{64})</.exec(page)?.[1];
  const r = await get(s.port, '/download/4MiB.bin');
  t.equal(r.status, 200);
  t.equal(r.headers['content-length'], '4194304');
  t.equal(r.body.length, 4194304);
  t.equal(createHash('sha256').update(r.body).digest('hex'), published);
  const tail = await get(s.port, '/download/4MiB.bin', { Range: 'bytes=4194000-' });
  t.equal(tail.status, 206);
  t.same(tail.body, r.body.subarray(4194000));
});
