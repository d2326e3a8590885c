// The open-file cache (lib/http/file-cache.ts) alone and behind the web server: hits, the validity
// window and revalidation, bounds, deleted files, symlink swaps, and the gzip cache on top. Time is
// a fake `now`: nothing sleeps.
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, unlinkSync, renameSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FileCache, type Lookup } from '../../lib/http/file-cache.js';
import { parseTarget } from '../../lib/http/safe-path.js';
import { start, get } from '../helpers/http-helpers.js';

/** A fresh root with an outside directory next to it; removed at the end of the test. */
function tree(t: { teardown(fn: () => unknown): void }): { root: string; outside: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'tapstack-fcache-')));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'SECRET outside the root\n');
  return { root, outside };
}

async function resolve(l: Lookup | Promise<Lookup>): Promise<Lookup> {
  return l;
}

function text(l: Lookup): string | undefined {
  return l.kind === 'file' ? l.content?.toString() : undefined;
}

t.test('a fresh answer is synchronous and counted as a hit; concurrent misses share one check', async (t) => {
  const { root } = tree(t);
  writeFileSync(join(root, 'a.txt'), 'alpha\n');
  let now = 0;
  const c = new FileCache(root, { now: () => now });
  const first = c.lookup(['a.txt']);
  const again = c.lookup(['a.txt']);
  t.ok(first instanceof Promise, 'a miss checks the file system');
  t.equal(again, first, 'a lookup during the check waits for the same check');
  const info = await first;
  t.equal(text(info), 'alpha\n');
  t.equal(c.misses, 1);
  now = 999;
  const hit = c.lookup(['a.txt']);
  t.notOk(hit instanceof Promise, 'fresh: answered without waiting');
  t.equal(hit, info);
  t.equal(c.hits, 2);
  t.equal(c.entries, 1);
  t.equal(c.bytes, 6);
  if (info.kind === 'file') {
    t.equal(info.etag, `"${Math.floor(info.mtimeMs).toString(16)}-6"`);
    t.equal(info.contentType, 'text/plain; charset=utf-8');
    t.equal(info.lastModified, new Date(info.mtimeMs).toUTCString());
  }
});

t.test('after the window a path is checked again: changed files re-read, unchanged ones kept', async (t) => {
  const { root } = tree(t);
  writeFileSync(join(root, 'a.txt'), 'one\n');
  writeFileSync(join(root, 'b.txt'), 'same\n');
  let now = 0;
  const c = new FileCache(root, { validMs: 1000, now: () => now });
  const a1 = await resolve(c.lookup(['a.txt']));
  const b1 = await resolve(c.lookup(['b.txt']));
  writeFileSync(join(root, 'a.txt'), 'two, longer\n');
  now = 999;
  t.equal(text(await resolve(c.lookup(['a.txt']))), 'one\n', 'inside the window: the cached version');
  now = 1000;
  const a2 = c.lookup(['a.txt']);
  t.ok(a2 instanceof Promise, 'window over: checked again');
  t.equal(text(await a2), 'two, longer\n', 'the change is seen');
  t.not(await a2, a1);
  const b2 = await resolve(c.lookup(['b.txt']));
  t.equal(b2, b1, 'unchanged (same inode, size, mtime): the same entry, content not read again');
  t.equal(c.bytes, 'two, longer\n'.length + 'same\n'.length, 'bytes follow the new content');
  // Replaced by rename (how editors save): another inode, same size.
  writeFileSync(join(root, 'b.new'), 'SAME\n');
  renameSync(join(root, 'b.new'), join(root, 'b.txt'));
  now = 2500;
  t.equal(text(await resolve(c.lookup(['b.txt']))), 'SAME\n');
});

t.test('a deleted file is missing after the window; a created one appears', async (t) => {
  const { root } = tree(t);
  writeFileSync(join(root, 'gone.txt'), 'here\n');
  let now = 0;
  const c = new FileCache(root, { validMs: 500, now: () => now });
  t.equal((await resolve(c.lookup(['gone.txt']))).kind, 'file');
  t.equal((await resolve(c.lookup(['new.txt']))).kind, 'none', 'a miss is remembered too');
  unlinkSync(join(root, 'gone.txt'));
  writeFileSync(join(root, 'new.txt'), 'new\n');
  now = 400;
  t.equal((await resolve(c.lookup(['gone.txt']))).kind, 'file', 'still cached inside the window');
  t.equal((await resolve(c.lookup(['new.txt']))).kind, 'none');
  now = 500;
  t.equal((await resolve(c.lookup(['gone.txt']))).kind, 'none', 'deleted: gone after the window');
  t.equal(text(await resolve(c.lookup(['new.txt']))), 'new\n', 'created: seen after the window');
  t.equal(c.bytes, 4);
});

t.test('bounds: entries, bytes, and big files keep metadata only', async (t) => {
  const { root } = tree(t);
  for (let i = 0; i < 6; i++) writeFileSync(join(root, `f${i}.txt`), 'x'.repeat(100));
  writeFileSync(join(root, 'big.bin'), Buffer.alloc(5000, 1));
  const byCount = new FileCache(root, { maxEntries: 3, now: () => 0 });
  for (let i = 0; i < 6; i++) await byCount.lookup([`f${i}.txt`]);
  t.equal(byCount.entries, 3, 'at most maxEntries');
  t.equal(byCount.bytes, 300);
  t.ok(byCount.lookup(['f0.txt']) instanceof Promise, 'the least recently used went first');
  await byCount.lookup(['f0.txt']);
  const long = Array.from({ length: 10 }, () => 'y'.repeat(200));
  t.equal((await byCount.lookup(long)).kind, 'none');
  t.ok(byCount.lookup(long) instanceof Promise, 'very long paths are not remembered');
  t.equal(byCount.entries, 3);
  t.notOk(byCount.lookup(['f5.txt']) instanceof Promise, 'recent ones stay');

  const byBytes = new FileCache(root, { maxBytes: 250, maxFileBytes: 1000, now: () => 0 });
  for (let i = 0; i < 6; i++) await byBytes.lookup([`f${i}.txt`]);
  t.ok(byBytes.bytes <= 250, `bytes ${byBytes.bytes} within maxBytes`);
  t.equal(byBytes.entries, 2);
  await byBytes.lookup(['f4.txt']); // touch: now the most recent
  await byBytes.lookup(['f0.txt']);
  t.notOk(byBytes.lookup(['f4.txt']) instanceof Promise, 'a recently used entry survives eviction');
  const big = await byBytes.lookup(['big.bin']);
  t.equal(big.kind, 'file');
  t.equal(big.kind === 'file' ? big.content : null, undefined, 'over maxFileBytes: no content held');
  t.equal(big.kind === 'file' ? big.size : 0, 5000);
  t.ok(byBytes.bytes <= 250);

  const off = new FileCache(root, { validMs: 0 });
  const l1 = off.lookup(['f1.txt']);
  t.ok(l1 instanceof Promise);
  const info = await l1;
  t.equal(info.kind === 'file' ? info.content : null, undefined, 'disabled: nothing read into memory');
  t.ok(off.lookup(['f1.txt']) instanceof Promise, 'disabled: every lookup checks');
  t.equal(off.entries, 0);
  t.equal(off.bytes, 0);
});

t.test('path safety is the same: outside, hidden, special files and directories', async (t) => {
  const { root, outside } = tree(t);
  writeFileSync(join(root, '.hidden'), 'hidden\n');
  writeFileSync(join(root, 'in.txt'), 'in\n');
  mkdirSync(join(root, 'dir'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync(join(root, '.hidden'), join(root, 'to-hidden.txt'));
  symlinkSync(join(root, 'in.txt'), join(root, 'link.txt'));
  const c = new FileCache(root, { now: () => 0 });
  t.equal((await c.lookup(['escape.txt'])).kind, 'none');
  t.equal((await c.lookup(['escape-dir', 'secret.txt'])).kind, 'none');
  t.equal((await c.lookup(['to-hidden.txt'])).kind, 'none');
  t.equal((await c.lookup(['dir'])).kind, 'dir');
  t.equal((await c.lookup([])).kind, 'dir', 'the root itself');
  const link = await c.lookup(['link.txt']);
  t.equal(link.kind === 'file' ? link.path : '', join(root, 'in.txt'), 'a link inside resolves to its real path');
  if (spawnSync('mkfifo', [join(root, 'fifo')]).status === 0) {
    t.equal((await c.lookup(['fifo'])).kind, 'none', 'a FIFO is never opened');
  }
});

t.test('a symlink swapped out of the root is refused once the window is over', async (t) => {
  const { root, outside } = tree(t);
  writeFileSync(join(root, 'page.txt'), 'inside\n');
  symlinkSync(join(root, 'page.txt'), join(root, 'link.txt'));
  let now = 0;
  const c = new FileCache(root, { validMs: 1000, now: () => now });
  t.equal(text(await c.lookup(['link.txt'])), 'inside\n');
  unlinkSync(join(root, 'link.txt'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
  now = 999;
  t.equal(text(await c.lookup(['link.txt'])), 'inside\n', 'inside the window: the content read while allowed');
  now = 1000;
  t.equal((await c.lookup(['link.txt'])).kind, 'none', 'after the window: outside the root');
});

t.test('the fast path of parseTarget answers as the general one', async (t) => {
  for (const url of ['/', '/a', '/a/', '//a//b/', '/style.css', '/img/layer-1.svg', '/a-b_c~d/e.f', '/.x', '/a/..', '/a/./b', '/a.b./c']) {
    const plain = parseTarget(url);
    const general = parseTarget(url + '?'); // a query forces the general path
    if (general.kind === 'ok') t.same(plain, { ...general, query: '' }, url);
    else t.equal(plain.kind, general.kind, url);
  }
});

t.test('behind the web server', async (t) => {
  const { root, outside } = tree(t);
  const text1 = 'version one of a page long enough to be worth gzipping. '.repeat(20);
  const text2 = 'VERSION TWO, a different length, still worth gzipping.... '.repeat(25);
  writeFileSync(join(root, 'page.txt'), text1);
  writeFileSync(join(root, 'index.html'), '<p>index</p>\n');
  mkdirSync(join(root, 'dir'));
  writeFileSync(join(root, 'dir', 'big.bin'), Buffer.alloc(4000, 'a'));
  writeFileSync(join(outside, 'big.bin'), Buffer.alloc(4000, 'S'));
  let now = 0;
  const s = await start({ root, site: { fileCache: { validMs: 1000, maxFileBytes: 2000, now: () => now } } });
  t.teardown(() => s.close());

  t.test('a change shows after the window, with new validators and a new gzip body', async (t) => {
    const r1 = await get(s.port, '/page.txt');
    const g1 = await get(s.port, '/page.txt', { 'Accept-Encoding': 'gzip' });
    t.equal(r1.body.toString(), text1);
    t.equal(gunzipSync(g1.body).toString(), text1);
    writeFileSync(join(root, 'page.txt'), text2);
    now += 500;
    const r2 = await get(s.port, '/page.txt');
    t.equal(r2.body.toString(), text1, 'inside the window: cached');
    t.equal(r2.headers.etag, r1.headers.etag);
    t.equal((await get(s.port, '/page.txt', { 'If-None-Match': r1.headers.etag! })).status, 304);
    now += 500;
    const r3 = await get(s.port, '/page.txt');
    t.equal(r3.body.toString(), text2, 'after the window: the new content');
    t.equal(r3.headers['content-length'], String(Buffer.byteLength(text2)));
    t.not(r3.headers.etag, r1.headers.etag, 'a new ETag');
    t.equal((await get(s.port, '/page.txt', { 'If-None-Match': r1.headers.etag! })).status, 200, 'the old tag no longer matches');
    const g3 = await get(s.port, '/page.txt', { 'Accept-Encoding': 'gzip' });
    t.equal(gunzipSync(g3.body).toString(), text2, 'the gzip cache follows the new version');
    t.equal(g3.headers.etag, `W/${r3.headers.etag}`);
    const part = await get(s.port, '/page.txt', { Range: 'bytes=0-6' });
    t.equal(part.status, 206);
    t.equal(part.body.toString(), 'VERSION', 'ranges of the cached content');
  });

  t.test('a deleted file is 404 after the window', async (t) => {
    writeFileSync(join(root, 'temp.txt'), 'temporary\n');
    t.equal((await get(s.port, '/temp.txt')).status, 200);
    unlinkSync(join(root, 'temp.txt'));
    t.equal((await get(s.port, '/temp.txt')).body.toString(), 'temporary\n', 'cached inside the window');
    now += 1000;
    t.equal((await get(s.port, '/temp.txt')).status, 404);
    t.equal((await get(s.port, '/')).body.toString(), '<p>index</p>\n', 'directory index through the cache');
  });

  t.test('big files stream from disk: changes in place show at once', async (t) => {
    const r1 = await get(s.port, '/dir/big.bin');
    t.equal(r1.body.length, 4000);
    t.equal(r1.body[0], 0x61);
    writeFileSync(join(root, 'dir', 'big.bin'), Buffer.alloc(3000, 'b'));
    const r2 = await get(s.port, '/dir/big.bin');
    t.equal(r2.headers['content-length'], '3000', 'metadata from the descriptor opened for this request');
    t.equal(r2.body.toString(), 'b'.repeat(3000));
    t.not(r2.headers.etag, r1.headers.etag);
    const part = await get(s.port, '/dir/big.bin', { Range: 'bytes=10-19' });
    t.equal(part.status, 206);
    t.equal(part.body.toString(), 'b'.repeat(10));
  });

  t.test('a directory swapped for a symlink out of the root: a big file is refused at once', async (t) => {
    t.equal((await get(s.port, '/dir/big.bin')).status, 200);
    renameSync(join(root, 'dir'), join(root, 'dir.old'));
    symlinkSync(outside, join(root, 'dir'));
    const r = await get(s.port, '/dir/big.bin');
    t.equal(r.status, 404, 'the descriptor is another inode: the path is checked again, and it is outside');
    t.notMatch(r.body.toString(), /S{10}/, 'nothing from outside');
    now += 1000;
    t.equal((await get(s.port, '/dir/big.bin')).status, 404);
  });

  t.test('a file symlink swapped out of the root: stale inside content at most for the window, then 404', async (t) => {
    writeFileSync(join(root, 'target.txt'), 'allowed\n');
    symlinkSync(join(root, 'target.txt'), join(root, 'swap.txt'));
    t.equal((await get(s.port, '/swap.txt')).body.toString(), 'allowed\n');
    unlinkSync(join(root, 'swap.txt'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'swap.txt'));
    const inWindow = await get(s.port, '/swap.txt');
    t.equal(inWindow.body.toString(), 'allowed\n', 'inside the window: what was read while allowed');
    now += 1000;
    const after = await get(s.port, '/swap.txt');
    t.equal(after.status, 404);
    t.notMatch(after.body.toString(), /SECRET/);
  });
});

t.test('validMs 0: every request sees the disk as it is', async (t) => {
  const { root } = tree(t);
  writeFileSync(join(root, 'a.txt'), 'first\n');
  const s = await start({ root, site: { fileCache: { validMs: 0 } } });
  t.teardown(() => s.close());
  t.equal((await get(s.port, '/a.txt')).body.toString(), 'first\n');
  writeFileSync(join(root, 'a.txt'), 'second!\n');
  t.equal((await get(s.port, '/a.txt')).body.toString(), 'second!\n');
  unlinkSync(join(root, 'a.txt'));
  t.equal((await get(s.port, '/a.txt')).status, 404);
});
