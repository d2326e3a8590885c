// End to end (issue 11): `tapstack fetch URL`, the stack as the client. In a namespace, a kernel
// DNS server (fixtures/kernel-dns.ts) and kernel HTTP servers on 10.0.0.1; tapstack resolves the
// name over UDP with its own resolver, ARPs for 10.0.0.1, opens the connection, GETs with
// node:http's client over its socket, and saves the exact bytes. With a keep-alive server the
// stack closes first and its TIME-WAIT is in the explained trace; python's HTTP/1.0 server closes
// first itself. --explain turns offloads off; the fetch beside the server runs with them on.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bannerOffload, e2eScratchDir, Netns, repoRoot, startTapstack, tsLoaderArgs } from '../helpers/netns.js';

const cli = path.join(repoRoot, 'dist/lib/cli.js');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const dir = e2eScratchDir(t, 'fetch');
if (dir !== undefined) {
  t.test('tapstack fetch: DNS, ARP, active open, the exact bytes, the TIME-WAIT explained', async (t) => {
    const ns = Netns.create(t);
    const www = path.join(dir, 'www');
    mkdirSync(www);
    const blob = randomBytes(300_000);
    writeFileSync(path.join(www, 'blob.bin'), blob);
    // The kernel's servers listen on every address: 10.0.0.1 exists once tapstack made the tap.
    const py = ns.spawn(['python3', '-m', 'http.server', '8000', '--bind', '0.0.0.0', '--directory', www]);
    const dns = ns.spawn([process.execPath, ...tsLoaderArgs(), path.join(repoRoot, 'test/e2e/fixtures/kernel-dns.ts'), '53', 'files.test', '10.0.0.1']);
    const keepAlive = ns.spawn([process.execPath, '-e', "require('http').createServer((q, s) => s.end('kept alive\\n')).listen(8001)"]);
    t.teardown(() => void [py, dns, keepAlive].forEach((p) => p.kill()));
    await ns.waitFor(['ss', '-Hlntu'], /:8000\b[\s\S]*|:8001\b/, 15_000);
    await ns.waitFor(['ss', '-Hlnu'], /:53\b/, 15_000);
    await ns.waitFor(['ss', '-Hlnt'], /:8001\b/, 15_000);

    const out = path.join(dir, 'blob.out');
    const r = await ns.run([process.execPath, cli, 'fetch', '--explain', '--dns-server', '10.0.0.1', '-o', out, 'http://files.test:8000/blob.bin'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.slice(-3000) });
    t.equal(r.stdout, '', 'nothing on stdout with -o');
    t.equal(sha(readFileSync(out)), sha(blob), 'the exact bytes (sha256 equal)');
    const e = r.stderr;
    t.match(e, /TX #\d+ ARP who-has 10\.0\.0\.1 tell 10\.0\.0\.2\n {4}↳ ARP request, broadcast to every host on the link: 10\.0\.0\.2 needs the MAC address of 10\.0\.0\.1/, 'ARP for the next hop, explained');
    t.match(e, /TX #\d+ 10\.0\.0\.2:\d+ > 10\.0\.0\.1:53 UDP len=\d+ DNS Standard query 0x[0-9a-f]{4} A files\.test\n.*\n {4}↳ DNS query/, 'the resolver\'s query');
    t.match(e, /RX #\d+ 10\.0\.0\.1:53 > 10\.0\.0\.2:\d+ UDP len=\d+ DNS Standard query response 0x[0-9a-f]{4} A files\.test A 10\.0\.0\.1\n.*\n {4}↳ DNS answer to #\d+/, 'its answer');
    t.match(e, /fetch: files\.test is 10\.0\.0\.1 \(DNS server 10\.0\.0\.1, TTL 60 s\)/);
    t.match(e, /TX #\d+ 10\.0\.0\.2:\d+ > 10\.0\.0\.1:8000 \[SYN\] Seq=0 .*\n {4}↳ Handshake 1\/3: the client \(10\.0\.0\.2:\d+\) asks to open a connection/, 'the active open from the stack');
    t.match(e, /↳ \d+ bytes of data: "GET \/blob\.bin HTTP\/1\.1" from the client \(10\.0\.0\.2:\d+\)/);
    t.match(e, /fetch: \d+ of 300000 bytes \(\d+ %\)/, 'progress');
    t.match(e, /fetch: 200 OK, 300000 bytes from 10\.0\.0\.1, saved to /);
    t.match(e, /fetch: the server closed first, so the TIME-WAIT is on its side/, 'python\'s HTTP/1.0 server closes first');

    const ka = await ns.run([process.execPath, cli, 'fetch', '--explain', 'http://10.0.0.1:8001/'], { timeoutMs: 60_000 });
    t.equal(ka.code, 0, 'exit 0', { stderr: ka.stderr.slice(-3000) });
    t.equal(ka.stdout, 'kept alive\n', 'the body on stdout without -o');
    t.match(ka.stderr, /state 10\.0\.0\.2:(\d+) ↔ 10\.0\.0\.1:8001 FIN-WAIT-2 -> TIME-WAIT\n {4}↳ The client \(10\.0\.0\.2:\1\) closed first, so it waits in TIME-WAIT/, 'the client\'s TIME-WAIT, explained');
    t.match(ka.stderr, /fetch: tapstack \(10\.0\.0\.2:\d+\) closed first, so its end is in TIME-WAIT for 60 s \(2×MSL\)/);

    // --fetch beside the server, offloads on: the same client, and the server keeps running.
    const besideOut = path.join(dir, 'beside.out');
    const beside = await startTapstack(ns, ['--fetch', 'http://10.0.0.1:8000/blob.bin', '-o', besideOut]);
    t.equal(bannerOffload(beside), 'on', 'offloads on');
    for (let i = 0; i < 600 && !/fetch: 200 OK/.test(beside.stderr); i++) await new Promise((r) => setTimeout(r, 50)); // up to 30 s: the stack starts, then fetches
    t.match(beside.stderr, /fetch: 200 OK, 300000 bytes from 10\.0\.0\.1, saved to /, '--fetch beside the server');
    t.equal(sha(readFileSync(besideOut)), sha(blob), 'the exact bytes (sha256 equal)');
    const served = await ns.run(['curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.0.0.2/'], { timeoutMs: 20_000 });
    t.equal(served.stdout, '200', 'and the web server still answers');
    await beside.stop();

    const refused = await ns.run([process.execPath, cli, 'fetch', 'http://10.0.0.1:8009/'], { timeoutMs: 30_000 });
    t.equal(refused.code, 1);
    t.match(refused.stderr, /tapstack fetch: connect ECONNREFUSED 10\.0\.0\.1:8009/);
    const nx = await ns.run([process.execPath, cli, 'fetch', '--dns-server', '10.0.0.1', 'http://nope.test:8000/'], { timeoutMs: 30_000 });
    t.equal(nx.code, 1);
    t.match(nx.stderr, /tapstack fetch: ENOTFOUND nope\.test: NXDOMAIN from 10\.0\.0\.1/);
    const noServer = await ns.run([process.execPath, cli, 'fetch', 'http://files.test:8000/'], { timeoutMs: 30_000 });
    t.match(noServer.stderr, /tapstack fetch: files\.test is a name: give --dns-server IP to resolve it/);
    const missing = await ns.run([process.execPath, cli, 'fetch', 'http://10.0.0.1:8000/missing'], { timeoutMs: 30_000 });
    t.equal(missing.code, 1, '404: exit 1');
    t.match(missing.stderr, /fetch: 404 File not found/);
  });
}
