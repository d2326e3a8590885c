// End to end (issue 11, seed 004): tapstack answers DNS for its own name on UDP 53. `dig` in the
// namespace gets each RCODE of the server's table; with the namespace's resolv.conf pointing at
// 10.0.0.2 (ip netns exec reads /etc/netns/NAME/resolv.conf), `curl http://tapstack.test/` does
// the lookup and the HTTP exchange, and one explained trace shows both, in that order.
import t from 'tap';
import path from 'node:path';
import { bannerOffload, e2eScratchDir, Netns, startTapstack, tsharkProblems } from '../helpers/netns.js';

const dir = e2eScratchDir(t, 'dns');
if (dir !== undefined) {
  t.test('dig gets every answer; curl http://tapstack.test/ is one explained trace', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'dns.pcap');
    const stack = await startTapstack(ns, ['--explain', '--pcap', pcap]);
    t.match(stack.stdout, /DNS {8}tapstack\.test -> 10\.0\.0\.2 on port 53 \(UDP and TCP\)/, 'the banner says so');
    const dig = (args: string[]) => ns.run(['dig', '+tries=2', '+time=2', '@10.0.0.2', ...args], { timeoutMs: 15_000 });

    const a = await dig(['tapstack.test']);
    t.match(a.stdout, /status: NOERROR/);
    t.match(a.stdout, /flags: qr aa rd;/, 'authoritative, no recursion available');
    t.match(a.stdout, /^tapstack\.test\.\s+300\s+IN\s+A\s+10\.0\.0\.2$/m, 'the A record');
    t.match(a.stdout, /WARNING: recursion requested but not available/);
    t.equal((await dig(['+short', 'TapStack.TEST'])).stdout, '10.0.0.2\n', 'case-insensitive');
    const aaaa = await dig(['tapstack.test', 'AAAA']);
    t.match(aaaa.stdout, /status: NOERROR.*\n.*ANSWER: 0, AUTHORITY: 1/, 'AAAA: NODATA with the SOA');
    t.match((await dig(['www.tapstack.test'])).stdout, /status: NXDOMAIN/);
    t.match((await dig(['example.com'])).stdout, /status: REFUSED/);
    const any = await dig(['+notcp', 'tapstack.test', 'ANY']);
    t.match(any.stdout, /ANSWER: 1,/, 'ANY over UDP: one record, no amplification');
    // dig asks ANY over TCP by default: tapstack answers DNS over TCP too (RFC 7766).
    const tcp = await dig(['tapstack.test', 'ANY']);
    t.match(tcp.stdout, /status: NOERROR[\s\S]*ANSWER: 1,[\s\S]*\(TCP\)/, 'ANY over TCP');
    t.match((await dig(['+tcp', '+short', 'tapstack.test'])).stdout, /^10\.0\.0\.2$/m, '+tcp');

    // The namespace's own resolver: glibc reads /etc/resolv.conf, which ip netns exec replaces.
    ns.useNameserver('10.0.0.2');
    const before = stack.stderr.length;
    const curl = await ns.run(['curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %{remote_ip}', 'http://tapstack.test/'], { timeoutMs: 20_000 });
    t.equal(curl.stdout, '200 10.0.0.2', `curl resolved the name and got the page ${curl.stderr}`);
    // The trace is the stack's stderr: wait until the response's lines are there.
    for (let i = 0; i < 400 && !/"HTTP\/1\.1 200 OK"/.test(stack.stderr.slice(before)); i++) await new Promise((r) => setTimeout(r, 50)); // up to 20 s
    const trace = stack.stderr.slice(before);
    const query = trace.search(/RX #\d+ 10\.0\.0\.1:\d+ > 10\.0\.0\.2:53 UDP len=\d+ DNS Standard query 0x[0-9a-f]{4} A tapstack\.test\n.*\n {4}↳ DNS query 0x[0-9a-f]{4} from 10\.0\.0\.1:\d+: "what is the A record of tapstack\.test\?"/);
    const answer = trace.search(/TX #\d+ 10\.0\.0\.2:53 > 10\.0\.0\.1:\d+ UDP len=\d+ DNS Standard query response 0x[0-9a-f]{4} A tapstack\.test A 10\.0\.0\.2\n.*\n {4}↳ DNS answer to #\d+ \(same id 0x[0-9a-f]{4}\): tapstack\.test is 10\.0\.0\.2, straight from the name's own server \(AA: authoritative\); the client may cache this for 300 s/);
    const syn = trace.search(/RX #\d+ 10\.0\.0\.1:\d+ > 10\.0\.0\.2:80 \[SYN\]/);
    const get = trace.search(/↳ \d+ bytes of data: "GET \/ HTTP\/1\.1" from the client/);
    t.ok(query >= 0 && answer > query && syn > answer && get > syn, 'one trace: the query, its answer, then the handshake and the GET', { trace: trace.slice(0, 4000) });

    await stack.stop();
    const ts = await tsharkProblems(pcap);
    t.equal(ts.stdout, '', 'tshark finds nothing wrong in the capture');
    const tshark = await ns.run(['tshark', '-n', '-r', pcap, '-Y', 'dns.flags.response == 1 && dns.a == 10.0.0.2', '-T', 'fields', '-e', 'dns.qry.name'], { timeoutMs: 30_000 });
    t.match(tshark.stdout, /^tapstack\.test$/m, 'tshark reads our answer as DNS');
  });

  // --explain (above) turns offloads off; here they are on, as by default: DNS over TCP too.
  t.test('--dns off: nothing on UDP 53 (ICMP port unreachable); --name picks the name, over UDP and TCP with offloads on', async (t) => {
    const ns = Netns.create(t);
    let stack = await startTapstack(ns, ['--dns', 'off', '--port', '0']);
    const off = await ns.run(['dig', '+tries=1', '+time=2', '@10.0.0.2', 'tapstack.test'], { timeoutMs: 15_000 });
    t.match(off.stdout + off.stderr, /connection refused/, 'dig is refused');
    await stack.stop();
    stack = await startTapstack(ns, ['--name', 'www.example.lan', '--port', '0']);
    t.equal(bannerOffload(stack), 'on', 'offloads on');
    const on = await ns.run(['dig', '+short', '+tries=2', '+time=2', '@10.0.0.2', 'www.example.lan'], { timeoutMs: 15_000 });
    t.equal(on.stdout, '10.0.0.2\n');
    const tcp = await ns.run(['dig', '+tcp', '+short', '+tries=2', '+time=2', '@10.0.0.2', 'www.example.lan'], { timeoutMs: 15_000 });
    t.equal(tcp.stdout, '10.0.0.2\n', 'over TCP (RFC 7766)');
    await stack.stop();
  });
}
