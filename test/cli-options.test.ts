import t from 'tap';
import { parseCliArgs, UsageError } from '../lib/cli-options.js';
import { parseIp } from '../lib/wire/ip-address.js';

t.test('defaults are the documented ones', async (t) => {
  const c = parseCliArgs([]);
  t.equal(c.tap, 'tap0');
  t.equal(c.ip, parseIp('10.0.0.2'));
  t.equal(c.prefix, 24);
  t.same(c.hostIp, { ip: parseIp('10.0.0.1'), prefix: 24 });
  t.equal(c.pathMtu, undefined);
  t.equal(c.trace, false);
  t.equal(c.loss, 0);
  t.equal(c.cc, 'cubic', 'CUBIC by default, as in Linux');
  t.equal(c.httpPort, 80);
  t.equal(c.keepAliveTimeoutMs, 5000);
});

t.test('--cc picks the congestion control; anything else is a usage error', async (t) => {
  t.equal(parseCliArgs(['--cc', 'newreno']).cc, 'newreno');
  t.throws(() => parseCliArgs(['--cc', 'bbr']), { name: 'UsageError', message: /--cc: expected cubic or newreno/ });
});

t.test('flags are parsed and validated', async (t) => {
  const c = parseCliArgs(['--tap', 'tapx', '--ip', '192.168.7.2/16', '--host-ip', 'none', '--path-mtu', '1480', '--loss', '0.05', '--delay', '20', '--seed', '7', '--trace', '--pcap', '/tmp/x.pcap']);
  t.equal(c.tap, 'tapx');
  t.equal(c.prefix, 16);
  t.equal(c.hostIp, null);
  t.equal(c.pathMtu, 1480);
  t.equal(c.loss, 0.05);
  t.equal(c.delayMs, 20);
  t.equal(c.seed, 7);
  t.equal(c.trace, true);
  t.equal(c.pcap, '/tmp/x.pcap');
});

t.test('mistakes are UsageErrors with a clear message', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--path-mtu', '40'], /--path-mtu: expected a number from 68/],
    [['--path-mtu', '1400.5'], /whole number/],
    [['--loss', '2'], /--loss/],
    [['--ip', '10.0.0.300/24'], /--ip: not an IPv4 address/],
    [['--ip', '10.0.0.2/33'], /--ip: bad prefix/],
    [['--ip', '10.0.0.1/24'], /must differ/],
    [['--tap', 'a-name-that-is-too-long'], /--tap/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /positional/],
  ];
  for (const [argv, re] of bad) t.throws(() => parseCliArgs(argv), { name: 'UsageError', message: re }, argv.join(' '));
  t.ok(new UsageError('x') instanceof Error);
});

t.test('client side and DNS flags (issue 11): fetch URL, --fetch, -o, --gateway, --dns-server, --name, --dns', async (t) => {
  const d = parseCliArgs([]);
  t.equal(d.name, 'tapstack.test');
  t.equal(d.dns, true, 'the server answers DNS by default');
  t.equal(d.fetch, undefined);
  t.equal(d.fetchOnly, false);
  const f = parseCliArgs(['fetch', 'http://10.0.0.1:8000/x', '-o', '/tmp/x', '--gateway', '10.0.0.254', '--dns-server', '10.0.0.1']);
  t.equal(f.fetch, 'http://10.0.0.1:8000/x');
  t.equal(f.fetchOnly, true);
  t.equal(f.output, '/tmp/x');
  t.equal(f.gateway, parseIp('10.0.0.254'));
  t.equal(f.dnsServer, parseIp('10.0.0.1'));
  t.equal(f.httpPort, 0, 'fetch alone: no web server');
  t.equal(f.dns, false, 'and no DNS server');
  t.equal(parseCliArgs(['fetch', 'http://x/', '--dns', 'on', '--port', '80']).httpPort, 80, 'unless asked for');
  const beside = parseCliArgs(['--fetch', 'http://10.0.0.1/', '--name', 'WWW.Example.LAN.']);
  t.equal(beside.fetchOnly, false);
  t.equal(beside.httpPort, 80);
  t.equal(beside.name, 'www.example.lan');
  const bad: [string[], RegExp][] = [
    [['fetch'], /fetch: expected exactly one URL/],
    [['fetch', 'a', 'b'], /fetch: expected exactly one URL/],
    [['fetch', 'not a url'], /is not a URL/],
    [['fetch', 'https://x/'], /only http:\/\/ URLs/],
    [['--fetch', 'ftp://x/'], /only http:\/\/ URLs/],
    [['-o', 'x'], /--output needs a URL/],
    [['--dns', 'maybe'], /--dns: expected on or off/],
    [['--name', 'bad_name.-x'], /--name: "bad_name\.-x" is not a DNS name/],
    [['--name', `${'a'.repeat(64)}.test`], /--name/],
    [['--gateway', '10.0.0'], /--gateway: /],
    [['--dns-server', 'x'], /--dns-server: /],
  ];
  for (const [argv, re] of bad) t.throws(() => parseCliArgs(argv), { name: 'UsageError', message: re }, argv.join(' '));
});
