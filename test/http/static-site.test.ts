// The static site over node:http on loopback: status codes, headers, conditional GET, gzip,
// ranges, traversal attempts, methods. The same handler later runs on tapstack's sockets.
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { makeSite, start, get, rawExchange, statusOf, BIG_TEXT, INDEX_HTML, MTIME } from '../helpers/http-helpers.js';
import { seededFile } from '../../lib/http/virtual-file.js';

const site = makeSite();
const virtual = seededFile(100_000, 7);
const srv = await start({ root: site.root, keepAliveTimeoutMs: 200, virtualFiles: { '/download/x.bin': virtual } });
t.teardown(async () => {
  await srv.close();
  site.remove();
});
const { port } = srv;

t.test('GET / serves index.html with the real server headers', async (t) => {
  const r = await get(port, '/');
  t.equal(r.status, 200);
  t.equal(r.body.toString(), INDEX_HTML);
  t.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(r.headers['content-length'], String(Buffer.byteLength(INDEX_HTML)));
  t.equal(r.headers.server, 'tapstack');
  t.ok(r.headers.date !== undefined && !Number.isNaN(Date.parse(r.headers.date)), 'Date present');
  t.equal(r.headers['last-modified'], MTIME.toUTCString());
  t.match(r.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/, 'strong ETag from mtime and size');
  t.equal(r.headers['accept-ranges'], 'bytes');
  t.equal(r.headers['cache-control'], 'no-cache');
  t.equal(r.headers.vary, 'Accept-Encoding');
});

t.test('Content-Type by extension', async (t) => {
  t.equal((await get(port, '/small.css')).headers['content-type'], 'text/css; charset=utf-8');
  t.equal((await get(port, '/big.txt')).headers['content-type'], 'text/plain; charset=utf-8');
  t.equal((await get(port, '/data.bin')).headers['content-type'], 'application/octet-stream');
  t.equal((await get(port, '/download/x.bin')).headers['content-type'], 'application/octet-stream');
});

t.test('missing files and the favicon are 404 with a small HTML body', async (t) => {
  for (const path of ['/favicon.ico', '/nope.html', '/sub/nope', '/big.txt/', '/index.html/x']) {
    const r = await get(port, path);
    t.equal(r.status, 404, path);
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    t.match(r.body.toString(), /<title>404 Not Found<\/title>/);
    t.ok(r.body.length < 512, 'small body');
    t.equal(r.headers['content-length'], String(r.body.length));
    t.equal(r.headers.server, 'tapstack');
  }
});

t.test('directories: index.html, 301 to the slash form, 404 without an index', async (t) => {
  const r = await get(port, '/sub/');
  t.equal(r.status, 200);
  t.equal(r.body.toString(), '<p>sub index</p>\n');
  const redirect = await get(port, '/sub?x=1');
  t.equal(redirect.status, 301);
  t.equal(redirect.headers.location, '/sub/?x=1');
  const merged = await get(port, '//sub');
  t.equal(merged.status, 301);
  t.equal(merged.headers.location, '/sub/', 'never a protocol-relative //host redirect');
  t.equal((await get(port, '/noindex/')).status, 404);
  t.equal((await get(port, '/noindex/file.txt')).status, 200);
  t.equal((await get(port, '/a%20b.txt')).body.toString(), 'space\n', 'percent-decoded once');
  t.equal((await get(port, '/%252e%252e')).body.toString(), 'literal percent name\n', 'double encoding is not decoded twice');
  t.equal((await get(port, '/inside-link.txt')).body.toString(), BIG_TEXT, 'a symlink inside the root is fine');
});

t.test('HEAD: the same headers, no body', async (t) => {
  const g = await get(port, '/big.txt');
  const h = await get(port, '/big.txt', {}, 'HEAD');
  t.equal(h.status, 200);
  t.equal(h.body.length, 0);
  t.equal(h.headers['content-length'], g.headers['content-length']);
  t.equal(h.headers.etag, g.headers.etag);
  const hz = await get(port, '/big.txt', { 'Accept-Encoding': 'gzip' }, 'HEAD');
  const gz = await get(port, '/big.txt', { 'Accept-Encoding': 'gzip' });
  t.equal(hz.headers['content-encoding'], 'gzip');
  t.equal(hz.headers['content-length'], gz.headers['content-length']);
  t.equal((await get(port, '/favicon.ico', {}, 'HEAD')).status, 404);
});

t.test('conditional GET: If-None-Match and If-Modified-Since give 304 both ways', async (t) => {
  const first = await get(port, '/big.txt');
  const etag = first.headers.etag!;
  const lm = first.headers['last-modified']!;
  const inm = await get(port, '/big.txt', { 'If-None-Match': etag });
  t.equal(inm.status, 304);
  t.equal(inm.body.length, 0);
  t.equal(inm.headers.etag, etag);
  t.equal(inm.headers['last-modified'], lm);
  t.equal(inm.headers['content-type'], undefined);
  t.equal((await get(port, '/big.txt', { 'If-None-Match': `"other", ${etag}` })).status, 304, 'list');
  t.equal((await get(port, '/big.txt', { 'If-None-Match': '*' })).status, 304);
  t.equal((await get(port, '/big.txt', { 'If-None-Match': `W/${etag}` })).status, 304, 'weak comparison');
  t.equal((await get(port, '/big.txt', { 'If-None-Match': '"nope"' })).status, 200);
  t.equal((await get(port, '/big.txt', { 'If-Modified-Since': lm })).status, 304);
  t.equal((await get(port, '/big.txt', { 'If-Modified-Since': new Date(MTIME.getTime() + 60_000).toUTCString() })).status, 304);
  t.equal((await get(port, '/big.txt', { 'If-Modified-Since': new Date(MTIME.getTime() - 1000).toUTCString() })).status, 200, 'modified since');
  t.equal((await get(port, '/big.txt', { 'If-Modified-Since': 'garbage' })).status, 200, 'invalid date ignored');
  // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since, both ways.
  t.equal((await get(port, '/big.txt', { 'If-None-Match': '"nope"', 'If-Modified-Since': lm })).status, 200);
  t.equal((await get(port, '/big.txt', { 'If-None-Match': etag, 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 304);
  // The gzip response's weak tag also revalidates.
  const gz = await get(port, '/big.txt', { 'Accept-Encoding': 'gzip' });
  t.equal(gz.headers.etag, `W/${etag}`);
  const again = await get(port, '/big.txt', { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag! });
  t.equal(again.status, 304);
  t.equal(again.headers.vary, 'Accept-Encoding');
  // If-Match / If-Unmodified-Since.
  t.equal((await get(port, '/big.txt', { 'If-Match': '"nope"' })).status, 412);
  t.equal((await get(port, '/big.txt', { 'If-Match': etag })).status, 200);
  t.equal((await get(port, '/big.txt', { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 412);
});

t.test('gzip when accepted and compressible; identity otherwise', async (t) => {
  const gz = await get(port, '/big.txt', { 'Accept-Encoding': 'gzip, deflate, br' });
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.equal(gz.headers.vary, 'Accept-Encoding');
  t.equal(gz.headers['content-length'], String(gz.body.length), 'small files: gzipped in memory, with a length');
  t.ok(gz.body.length < BIG_TEXT.length / 4);
  t.equal(gunzipSync(gz.body).toString(), BIG_TEXT);
  t.equal((await get(port, '/big.txt', { 'Accept-Encoding': 'gzip;q=0, deflate' })).headers['content-encoding'], undefined, 'q=0 refuses');
  t.equal((await get(port, '/big.txt', { 'Accept-Encoding': '*' })).headers['content-encoding'], 'gzip');
  t.equal((await get(port, '/big.txt')).headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
  t.equal((await get(port, '/small.css', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'], undefined, 'too small to bother');
  t.equal((await get(port, '/data.bin', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'], undefined, 'not compressible');
  t.equal((await get(port, '/data.bin')).headers.vary, undefined);
});

t.test('big compressible files are gzipped as a stream, chunked', async (t) => {
  const s = await start({ root: site.root, site: { gzipInMemoryMaxBytes: 1000 } });
  t.teardown(() => s.close());
  const r = await get(s.port, '/big.txt', { 'Accept-Encoding': 'gzip' });
  t.equal(r.headers['content-encoding'], 'gzip');
  t.equal(r.headers['transfer-encoding'], 'chunked');
  t.equal(r.headers['content-length'], undefined);
  t.equal(gunzipSync(r.body).toString(), BIG_TEXT);
  const { text } = await rawExchange(s.port, 'GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
  t.match(text, /\r\nTransfer-Encoding: chunked\r\n/);
  t.match(text, /\r\n0\r\n\r\n$/, 'ends with the last chunk');
  const log = s.log.find((l) => l.includes('"GET /big.txt HTTP/1.1" 200'));
  t.match(log, new RegExp(` 200 ${r.body.length} `), 'the log counts the gzipped bytes sent');
});

t.test('ranges: 206, suffix, open-ended, 416, If-Range, multi-range ignored', async (t) => {
  const whole = Buffer.from(BIG_TEXT);
  const r = await get(port, '/big.txt', { Range: 'bytes=10-19', 'Accept-Encoding': 'gzip' });
  t.equal(r.status, 206);
  t.equal(r.headers['content-range'], `bytes 10-19/${whole.length}`);
  t.equal(r.headers['content-length'], '10');
  t.equal(r.headers['content-encoding'], undefined, 'ranges are of the identity body');
  t.same(r.body, whole.subarray(10, 20));
  const open = await get(port, '/big.txt', { Range: `bytes=${whole.length - 5}-` });
  t.equal(open.status, 206);
  t.same(open.body, whole.subarray(whole.length - 5));
  const suffix = await get(port, '/big.txt', { Range: 'bytes=-7' });
  t.equal(suffix.headers['content-range'], `bytes ${whole.length - 7}-${whole.length - 1}/${whole.length}`);
  t.same(suffix.body, whole.subarray(whole.length - 7));
  const clamp = await get(port, '/big.txt', { Range: 'bytes=0-99999999' });
  t.equal(clamp.status, 206);
  t.equal(clamp.body.length, whole.length);
  const bad = await get(port, '/big.txt', { Range: `bytes=${whole.length}-` });
  t.equal(bad.status, 416);
  t.equal(bad.headers['content-range'], `bytes */${whole.length}`);
  t.equal((await get(port, '/empty.txt', { Range: 'bytes=0-' })).status, 416);
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-1,5-6' })).status, 200, 'several ranges: whole file');
  t.equal((await get(port, '/big.txt', { Range: 'lines=1-2' })).status, 200, 'other unit ignored');
  t.equal((await get(port, '/big.txt', { Range: 'bytes=9-3' })).status, 200, 'invalid range ignored');
  const etag = r.headers.etag!;
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-0', 'If-Range': etag })).status, 206, 'If-Range matches');
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-0', 'If-Range': '"stale"' })).status, 200, 'If-Range stale: whole file');
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-0', 'If-Range': `W/${etag}` })).status, 200, 'weak tag never matches');
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-0', 'If-Range': MTIME.toUTCString() })).status, 206, 'If-Range date');
  t.equal((await get(port, '/big.txt', { Range: 'bytes=0-0', 'If-Range': new Date(0).toUTCString() })).status, 200);
  t.equal((await get(port, '/empty.txt')).body.length, 0);
});

t.test('a virtual file: Content-Length, stable bytes, resume like curl -C -', async (t) => {
  const whole = await get(port, '/download/x.bin');
  t.equal(whole.status, 200);
  t.equal(whole.headers['content-length'], '100000');
  t.equal(whole.headers['last-modified'], new Date(virtual.mtimeMs).toUTCString());
  const sha = createHash('sha256').update(whole.body).digest('hex');
  t.equal(sha, createHash('sha256').update(virtual.content()).digest('hex'));
  const head = whole.body.subarray(0, 40_000);
  const rest = await get(port, '/download/x.bin', { Range: 'bytes=40000-', 'If-Range': whole.headers.etag! });
  t.equal(rest.status, 206);
  t.equal(createHash('sha256').update(Buffer.concat([head, rest.body])).digest('hex'), sha);
  t.equal((await get(port, '/download/x.bin', { Range: 'bytes=100000-' })).status, 416, 'curl -C - on a complete file');
  t.equal((await get(port, '/download/x.bin', { 'If-None-Match': whole.headers.etag! })).status, 304);
});

t.test('a failing file is a 500 and the server goes on', async (t) => {
  const broken = { size: 10, mtimeMs: 0, content: (): Buffer => { throw new Error('disk on fire'); } };
  const s = await start({ root: site.root, virtualFiles: { '/broken.txt': broken } });
  t.teardown(() => s.close());
  const r = await get(s.port, '/broken.txt');
  t.equal(r.status, 500);
  t.equal(r.headers.etag, undefined, 'no validators on the error');
  t.match(r.body.toString(), /500 Internal Server Error/);
  t.equal((await get(s.port, '/broken.txt', {}, 'HEAD')).status, 200, 'HEAD never reads the content');
  t.equal((await get(s.port, '/')).status, 200);
});

t.test('methods: 405 with Allow, OPTIONS 204', async (t) => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
    const r = await get(port, '/', {}, m);
    t.equal(r.status, 405, m);
    t.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
  }
  const post = await rawExchange(port, 'POST /big.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  t.equal(statusOf(post.text), 405);
  const unknown = await rawExchange(port, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(statusOf(unknown.text), 400, 'a method llhttp does not know is a bad request');
  const o = await get(port, '/', {}, 'OPTIONS');
  t.equal(o.status, 204);
  t.equal(o.headers.allow, 'GET, HEAD, OPTIONS');
});

t.test('traversal, encoded forms, dotfiles and symlinks out of the root are 404', async (t) => {
  const attempts = [
    '/../../etc/passwd',
    '/..',
    '/sub/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2E%2E/etc/passwd',
    '/..%2f..%2fetc/passwd',
    '/sub%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e%5c%2e%2e%5cetc%5cpasswd',
    '/..\\..\\etc\\passwd',
    '/sub\\index.html',
    '/index.html%00.txt',
    '/%00',
    '/.git/config',
    '/.hidden',
    '/%2ehidden',
    '/sub/./index.html',
    '/escape.txt',
    '/escape-dir/secret.txt',
    '/escape-dir/',
    '/to-hidden.txt',
    '/%252e%252e/%252e%252e/etc/passwd',
  ];
  for (const path of attempts) {
    const { text } = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.equal(statusOf(text), 404, path);
    t.notMatch(text, /root:|SECRET|\[core\]|hidden\n/, `${path}: nothing leaks`);
  }
  const abs = await rawExchange(port, 'GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(abs.text), 404, 'absolute-form too');
  const absOk = await rawExchange(port, 'GET http://x/sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(absOk.text), 200, 'absolute-form is accepted (RFC 9112 §3.2.2)');
  const badPct = await rawExchange(port, 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(badPct.text), 400, 'malformed percent-encoding');
  const star = await rawExchange(port, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(star.text), 400);
});
