// Pure pieces of the web server: path safety, validators, ranges, gzip negotiation, MIME types,
// the access-log format and the seeded download file.
import t from 'tap';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parseTarget, isInside } from '../../lib/http/safe-path.js';
import { parseRange, evaluatePreconditions, ifRangeAllows, makeETag, weakETag, parseETagList, weakMatch, strongMatch } from '../../lib/http/conditional.js';
import { acceptsGzip, GzipCache } from '../../lib/http/compression.js';
import { mimeTypeFor, isCompressible } from '../../lib/http/mime.js';
import { formatAccessLog, clfTime, escapeLogField, openAccessLog } from '../../lib/http/access-log.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededBytes, seededFile, defaultVirtualFiles } from '../../lib/http/virtual-file.js';
import { rawErrorResponse, errorBody } from '../../lib/http/error-page.js';

t.test('parseTarget', async (t) => {
  t.same(parseTarget('/a/b%20c/?q=1#f'), { kind: 'ok', segments: ['a', 'b c'], encoded: ['a', 'b%20c'], trailingSlash: true, query: '?q=1' });
  t.same(parseTarget('/'), { kind: 'ok', segments: [], encoded: [], trailingSlash: true, query: '' });
  t.same(parseTarget('//a//b'), { kind: 'ok', segments: ['a', 'b'], encoded: ['a', 'b'], trailingSlash: false, query: '' });
  t.same(parseTarget('http://host:80/x?y'), { kind: 'ok', segments: ['x'], encoded: ['x'], trailingSlash: false, query: '?y' });
  t.equal(parseTarget('http://host').kind, 'ok');
  for (const bad of ['*', 'x', '/%', '/%e0%a4%a']) t.equal(parseTarget(bad).kind, 'bad', bad);
  for (const f of ['/..', '/a/../b', '/.', '/.env', '/%2e%2e', '/a%2fb', '/a%5cb', '/a\\b', '/a%00', '/%2E%2e/x']) {
    t.equal(parseTarget(f).kind, 'forbidden', f);
  }
  t.same((parseTarget('/%252e%252e') as { segments: string[] }).segments, ['%2e%2e'], 'decoded once only');
  t.ok(isInside('/srv/www', '/srv/www'));
  t.ok(isInside('/srv/www', '/srv/www/a/b'));
  t.notOk(isInside('/srv/www', '/srv/www2/a'));
  t.notOk(isInside('/srv/www', '/srv'));
  t.notOk(isInside('/srv/www', '/srv/www/.git/config'));
});

t.test('parseRange', async (t) => {
  t.same(parseRange(undefined, 100), { kind: 'none' });
  t.same(parseRange('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
  t.same(parseRange('bytes=90-', 100), { kind: 'range', start: 90, end: 99 });
  t.same(parseRange('bytes=-10', 100), { kind: 'range', start: 90, end: 99 });
  t.same(parseRange('bytes=-1000', 100), { kind: 'range', start: 0, end: 99 });
  t.same(parseRange('BYTES = 5 - 5', 100), { kind: 'range', start: 5, end: 5 });
  t.same(parseRange('bytes=0-999999999999999999999', 100), { kind: 'range', start: 0, end: 99 });
  t.same(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
  for (const ignored of ['bytes=5-1', 'bytes=0-1,3-4', 'bytes=-', 'bytes=a-b', 'items=0-1', '']) {
    t.same(parseRange(ignored, 100), { kind: 'none' }, ignored);
  }
});

t.test('validators and preconditions (RFC 9110 §13.2.2 order)', async (t) => {
  const tag = makeETag(1234, 1_700_000_000_123);
  t.equal(tag, `"${(1_700_000_000_123).toString(16)}-4d2"`);
  t.equal(weakETag(tag), `W/${tag}`);
  t.equal(weakETag(weakETag(tag)), `W/${tag}`);
  t.same(parseETagList(`"a", W/"b" ,"c"`), ['"a"', 'W/"b"', '"c"']);
  t.equal(parseETagList(' * '), '*');
  t.ok(weakMatch('W/"a"', '"a"'));
  t.notOk(strongMatch('W/"a"', '"a"'));
  t.ok(strongMatch('"a"', '"a"'));
  const lm = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const d = (ms: number): string => new Date(ms).toUTCString();
  const pre = (h: Record<string, string>, m = 'GET'): string => evaluatePreconditions(m, h, tag, lm);
  t.equal(pre({}), 'proceed');
  t.equal(pre({ 'if-none-match': tag }), 'not-modified');
  t.equal(pre({ 'if-none-match': tag }, 'POST'), 'failed');
  t.equal(pre({ 'if-modified-since': d(lm) }), 'not-modified', 'sub-second mtime still matches its own Last-Modified');
  t.equal(pre({ 'if-modified-since': d(lm) }, 'POST'), 'proceed', 'IMS only for GET/HEAD');
  t.equal(pre({ 'if-modified-since': `${d(lm)}, ${d(lm)}` }), 'proceed', 'a list is not a valid date');
  t.equal(pre({ 'if-none-match': '"x"', 'if-modified-since': d(lm) }), 'proceed');
  t.equal(pre({ 'if-match': '"x"', 'if-none-match': tag }), 'failed', 'If-Match first');
  t.equal(pre({ 'if-match': '*' }), 'proceed');
  t.equal(pre({ 'if-unmodified-since': d(lm) }), 'proceed');
  t.equal(pre({ 'if-unmodified-since': d(lm - 2000) }), 'failed');
  t.equal(pre({ 'if-match': tag, 'if-unmodified-since': d(0) }), 'proceed', 'IUS ignored with If-Match');
  t.ok(ifRangeAllows(undefined, tag, lm));
  t.ok(ifRangeAllows(tag, tag, lm));
  t.notOk(ifRangeAllows(weakETag(tag), tag, lm));
  t.ok(ifRangeAllows(d(lm), tag, lm));
  t.notOk(ifRangeAllows(d(lm + 1000), tag, lm));
  t.notOk(ifRangeAllows('junk', tag, lm));
});

t.test('acceptsGzip', async (t) => {
  t.ok(acceptsGzip('gzip'));
  t.ok(acceptsGzip('deflate, gzip;q=0.5'));
  t.ok(acceptsGzip('x-gzip'));
  t.ok(acceptsGzip('GZIP'));
  t.ok(acceptsGzip('*'));
  t.ok(acceptsGzip(['br', 'gzip']));
  t.notOk(acceptsGzip(undefined));
  t.notOk(acceptsGzip(''));
  t.notOk(acceptsGzip('identity'));
  t.notOk(acceptsGzip('gzip;q=0'));
  t.notOk(acceptsGzip('gzip;q=0.000, *'), 'explicit refusal beats *');
  t.notOk(acceptsGzip('*;q=0'));
});

t.test('GzipCache compresses once and stays within its budget', async (t) => {
  const cache = new GzipCache(3000);
  let reads = 0;
  const make = (seed: number) => async () => {
    reads++;
    return seededBytes(2000, seed); // incompressible: ~2 KiB each gzipped
  };
  const a1 = await cache.get('a', make(1));
  const a2 = await cache.get('a', make(1));
  t.equal(a1, a2);
  t.equal(reads, 1);
  t.same(gunzipSync(a1), seededBytes(2000, 1));
  await cache.get('b', make(2));
  await new Promise((r) => setImmediate(r));
  t.ok(cache.bytes <= 3000, `evicted down to ${cache.bytes}`);
  await cache.get('a', make(1));
  t.equal(reads, 3, 'a was evicted, so read again');
});

t.test('MIME types', async (t) => {
  t.equal(mimeTypeFor('/x/index.html'), 'text/html; charset=utf-8');
  t.equal(mimeTypeFor('A.CSS'), 'text/css; charset=utf-8');
  t.equal(mimeTypeFor('a.js'), 'text/javascript; charset=utf-8');
  t.equal(mimeTypeFor('d.svg'), 'image/svg+xml; charset=utf-8');
  t.equal(mimeTypeFor('p.png'), 'image/png');
  t.equal(mimeTypeFor('noext'), 'application/octet-stream');
  t.equal(mimeTypeFor('dir.d/noext'), 'application/octet-stream');
  t.ok(isCompressible('text/html; charset=utf-8'));
  t.ok(isCompressible('image/svg+xml; charset=utf-8'));
  t.ok(isCompressible('application/json'));
  t.notOk(isCompressible('image/png'));
  t.notOk(isCompressible('application/octet-stream'));
});

t.test('access-log format', async (t) => {
  t.equal(clfTime(Date.UTC(2026, 10, 21, 5, 51, 0)), '[21/Nov/2026:05:51:00 +0000]');
  t.equal(clfTime(Date.UTC(2027, 0, 3, 4, 5, 6)), '[03/Jan/2027:04:05:06 +0000]');
  t.equal(escapeLogField('a"b\\c\x00\x1b\xff'), 'a\\"b\\\\c\\x00\\x1B\\xFF');
  const base = { remoteAddress: '10.0.0.1', time: Date.UTC(2026, 10, 21, 5, 51, 0), requestLine: 'GET / HTTP/1.1', status: 200, bytes: 1234, referer: undefined, userAgent: 'curl/7.88.1' };
  t.equal(formatAccessLog(base), '10.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "GET / HTTP/1.1" 200 1234 "-" "curl/7.88.1"\n');
  t.equal(formatAccessLog({ ...base, remoteAddress: '::ffff:10.0.0.1', bytes: 0, status: 304 }), '10.0.0.1 - - [21/Nov/2026:05:51:00 +0000] "GET / HTTP/1.1" 304 - "-" "curl/7.88.1"\n');
  t.equal(formatAccessLog({ ...base, remoteAddress: undefined, requestLine: undefined, status: 408, bytes: 0, userAgent: undefined }), '- - - [21/Nov/2026:05:51:00 +0000] "-" 408 - "-" "-"\n');
  t.equal(formatAccessLog({ ...base, requestLine: 'GET /x\nforged HTTP/1.1' }).split('\n').length, 2, 'one line, always');
});

t.test('openAccessLog appends to a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tapstack-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  for (const line of ['one\n', 'two\n']) {
    const log = openAccessLog(file);
    log.write(line);
    await log.close();
  }
  t.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
});

t.test('seeded files are stable', async (t) => {
  t.equal(createHash('sha256').update(seededBytes(4 * 1024 * 1024, 1)).digest('hex'), '64cf9505558063fb8ee9a413a73b7a28467840d9baedcabd8c6c499b9081e457');
  t.same(seededBytes(7, 3), seededBytes(8, 3).subarray(0, 7), 'a prefix of a longer file');
  t.same(seededBytes(10, 0), seededBytes(10, 0));
  const f = seededFile(10, 5);
  t.equal(f.content(), f.content(), 'generated once');
  t.equal(f.mtimeMs, Date.UTC(2026, 0, 1));
  t.equal(defaultVirtualFiles()['/download/4MiB.bin']!.size, 4194304);
});

t.test('raw error responses', async (t) => {
  const raw = rawErrorResponse(503, new Date(Date.UTC(2026, 10, 21)), { 'Retry-After': '1' }).toString();
  const body = errorBody(503);
  t.equal(
    raw,
    'HTTP/1.1 503 Service Unavailable\r\nServer: tapstack\r\nDate: Sat, 21 Nov 2026 00:00:00 GMT\r\n' +
      `Content-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`,
  );
});
