// End to end against the Linux kernel (issue 5): the web server on tapstack's TCP, driven by
// curl, wget, ab, wrk, a slowloris client and headless Chromium inside a namespace, with offloads
// on (the default); its core (a page, keep-alive, the 4 MiB download, a clean capture) also off.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import path from 'node:path';
import { e2eScratchDir, Netns, stackJson, startTapstack, tsharkProblems } from '../helpers/netns.js';

const DOWNLOAD_SHA256 = '64cf9505558063fb8ee9a413a73b7a28467840d9baedcabd8c6c499b9081e457';

/** Distinct byte values in a PNG's pixel data: a blank screenshot has a handful, a page hundreds. */
function pngVariety(file: string): number {
  const png = readFileSync(file);
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    if (png.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return new Set(inflateSync(Buffer.concat(idat))).size;
}

const dir = e2eScratchDir(t, 'http');
if (dir !== undefined) {
  t.test('curl, wget, ab, wrk, slowloris and Chromium against the web server on tapstack', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'http.pcap');
    const log = path.join(dir, 'access.log');
    const stack = await startTapstack(ns, ['--pcap', pcap, '--access-log', log]);
    const curl = (args: string[]) => ns.run(['curl', '-sS', '--max-time', '20', ...args], { timeoutMs: 30_000 });

    const index = await curl(['-v', 'http://10.0.0.2/']);
    t.match(index.stderr, /< HTTP\/1\.1 200 OK/, 'curl -v /: 200');
    t.match(index.stderr, /< Server: tapstack/i);
    t.match(index.stderr, /< Content-Type: text\/html; charset=utf-8/i);
    t.match(index.stderr, /< Date: /i);
    t.match(index.stdout, /<html/i, 'the teaching page');

    const fav = await curl(['-v', 'http://10.0.0.2/favicon.ico']);
    t.match(fav.stderr, /< HTTP\/1\.1 404 Not Found/, '/favicon.ico: 404 Not Found');
    t.match(fav.stdout, /404/, 'with a small HTML body');

    const gz = await curl(['-v', '--compressed', 'http://10.0.0.2/']);
    t.match(gz.stderr, /< Content-Encoding: gzip/i, '--compressed: gzip');
    // Each load draws its own connection (the live ladder): the rest of the page is the same.
    const withoutLadder = (page: string): string => page.replace(/<figure class="ladder">[\s\S]*?<\/figure>/, '');
    t.equal(withoutLadder(gz.stdout), withoutLadder(index.stdout), 'and it decompresses to the same page');

    const head = await curl(['-I', 'http://10.0.0.2/style.css']);
    t.match(head.stdout, /HTTP\/1\.1 200 OK[\s\S]*Content-Type: text\/css/i, '-I: HEAD with headers');
    t.match(head.stdout, /Last-Modified: /i);
    t.match(head.stdout, /ETag: /i);

    const range = await curl(['-v', '-r', '0-99', 'http://10.0.0.2/']);
    t.match(range.stderr, /< HTTP\/1\.1 206 Partial Content/, '-r 0-99: 206');
    t.match(range.stderr, /< Content-Range: bytes 0-99\//i);
    t.equal(range.stdout.length, 100);

    const reuse = await curl(['-v', 'http://10.0.0.2/', 'http://10.0.0.2/style.css', 'http://10.0.0.2/favicon.ico']);
    t.match(reuse.stderr, /Re-using existing connection|Reusing existing connection/, 'keep-alive: one connection for several URLs');
    t.equal((reuse.stderr.match(/Connected to 10\.0\.0\.2/g) ?? []).length, 1, 'only one TCP connection was opened');

    const dl = path.join(dir, '4MiB.bin');
    const big = await curl(['-o', dl, 'http://10.0.0.2/download/4MiB.bin']);
    t.equal(big.code, 0);
    t.equal(createHash('sha256').update(readFileSync(dl)).digest('hex'), DOWNLOAD_SHA256, 'the 4 MiB file arrives with the published sha256');

    const mirror = path.join(dir, 'mirror');
    const wget = await ns.run(['wget', '-q', '-r', '-np', '-e', 'robots=off', '-P', mirror, 'http://10.0.0.2/'], { timeoutMs: 60_000 });
    t.equal(wget.code, 0, `wget -r of the whole site exits 0 ${wget.stderr}`);
    const got = readdirSync(path.join(mirror, '10.0.0.2'), { recursive: true }).map(String);
    t.ok(got.includes('index.html') && got.includes('style.css') && got.includes('parallel.html'), `wget fetched the site (${got.length} files)`);

    // Slowloris: clients trickling an endless header must not stop others being served.
    for (let i = 0; i < 5; i++) ns.spawn(['bash', '-c', `(printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n'; for j in 1 2 3 4 5 6 7 8; do sleep 1; printf 'X-a: b\\r\\n'; done) | nc 10.0.0.2 80 > /dev/null`]);
    await ns.waitFor(['bash', '-c', "ss -Htn state established dst 10.0.0.2:80 | wc -l"], /^[5-9]|^\d\d/, 10_000);
    const during = await curl(['-o', '/dev/null', '-w', '%{http_code} %{time_total}', 'http://10.0.0.2/']);
    t.match(during.stdout, /^200 /, `served while 5 slowloris clients hang on (${during.stdout})`);

    // A static page: ab counts a response whose length differs from the first as failed, and the
    // index page's live ladder differs on every connection.
    const ab = await ns.run(['ab', '-q', '-n', '2000', '-c', '10', 'http://10.0.0.2/parallel.html'], { timeoutMs: 120_000 });
    t.match(ab.stdout, /Complete requests:\s+2000/, 'ab -n 2000 -c 10: all complete');
    t.match(ab.stdout, /Failed requests:\s+0\b/, 'ab: zero failed');
    t.notMatch(ab.stdout, /Non-2xx responses/, 'ab: all 2xx');

    // wrk counts a response slower than its --timeout (2 s by default) as a socket error: 10 s,
    // so that a loaded machine (two test files, coverage) is not read as a failing server.
    const wrk = await ns.run(['wrk', '-t1', '-c10', '-d5s', '--timeout', '10s', 'http://10.0.0.2/'], { timeoutMs: 60_000 });
    t.match(wrk.stdout, /Requests\/sec:/, 'wrk ran');
    t.notMatch(wrk.stdout, /Socket errors|Non-2xx/, 'wrk -d 5s: zero errors');
    t.comment(`wrk: ${/Requests\/sec:\s+[\d.]+/.exec(wrk.stdout)?.[0] ?? '?'}; ab: ${/Requests per second:\s+[\d.]+/.exec(ab.stdout)?.[0] ?? '?'}`);

    // A real browser: the page renders, its own favicon request gets 404, parallel resources load.
    const profile = mkdtempSync(path.join(dir, 'chromium-'));
    const shot = path.join(dir, 'index.png');
    const chromium = ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', `--user-data-dir=${profile}`, '--window-size=1024,768'];
    const browse = await ns.run([...chromium, `--screenshot=${shot}`, 'http://10.0.0.2/'], { timeoutMs: 60_000 });
    t.ok(statSync(shot, { throwIfNoEntry: false })?.size, `Chromium took a screenshot ${browse.stderr.slice(-300)}`);
    t.ok(pngVariety(shot) > 20, `the page is not blank (${pngVariety(shot)} distinct pixel byte values)`);
    const parallel = await ns.run([...chromium, '--dump-dom', 'http://10.0.0.2/parallel.html'], { timeoutMs: 60_000 });
    t.match(parallel.stdout, /<html/i, 'Chromium loaded parallel.html');
    const statusShot = path.join(dir, 'status.png');
    await ns.run([...chromium, `--screenshot=${statusShot}`, 'http://10.0.0.2/_stack'], { timeoutMs: 60_000 });
    t.ok(pngVariety(statusShot) > 20, '/_stack renders');
    const statusDom = await ns.run([...chromium, '--dump-dom', 'http://10.0.0.2/_stack'], { timeoutMs: 60_000 });
    t.match(statusDom.stdout, /<table/i, '/_stack renders its table');

    const st = await stackJson(ns);
    t.equal(st.interface.offload, 'on', 'offloads on by default');
    t.ok((st.counters['link.tx.superFrames'] ?? 0) > 0, `responses left as TSO super-frames (${st.counters['link.tx.superFrames']})`);

    t.equal((await stack.stop()).code, 0, 'clean exit');
    const access = readFileSync(log, 'utf8');
    t.match(access, /"GET \/favicon\.ico HTTP\/1\.1" 404 \d+ "[^"]*" "[^"]*Chrom/, "the browser's own favicon request was answered 404 (access log)");
    const parallelAssets = access.split('\n').filter((l) => /Chrom/.test(l) && /"GET \/(img|js|parallel)/.test(l));
    t.ok(parallelAssets.length >= 6, `the parallel page's resources were all fetched (${parallelAssets.length} requests)`);
    t.notMatch(parallelAssets.join('\n'), /" [45]\d\d /, 'none of them failed');
    t.match(access, /^10\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "curl\//m, 'combined log format');

    const problems = await tsharkProblems(pcap);
    t.equal(problems.stdout, '', 'the capture has no malformed frame and no bad checksum');
  });

  t.test('--offload off: a page, keep-alive, the 4 MiB download intact, a clean capture', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'http-off.pcap');
    const stack = await startTapstack(ns, ['--pcap', pcap, '--offload', 'off']);
    const curl = (args: string[]) => ns.run(['curl', '-sS', '--max-time', '20', ...args], { timeoutMs: 30_000 });
    const reuse = await curl(['-v', 'http://10.0.0.2/', 'http://10.0.0.2/style.css']);
    t.match(reuse.stderr, /< HTTP\/1\.1 200 OK/, 'curl -v /: 200');
    t.match(reuse.stderr, /Re-using existing connection|Reusing existing connection/, 'keep-alive');
    const dl = path.join(dir, '4MiB-off.bin');
    t.equal((await curl(['-o', dl, 'http://10.0.0.2/download/4MiB.bin'])).code, 0);
    t.equal(createHash('sha256').update(readFileSync(dl)).digest('hex'), DOWNLOAD_SHA256, 'the 4 MiB file arrives with the published sha256');
    const st = await stackJson(ns);
    t.equal(st.interface.offload, 'off', '/_stack says off');
    t.equal(st.counters['link.tx.superFrames'] ?? 0, 0, 'no super-frame sent');
    t.equal((await stack.stop()).code, 0, 'clean exit');
    t.equal((await tsharkProblems(pcap)).stdout, '', 'the capture has no malformed frame and no bad checksum');
  });
}
