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

t.test('--offload: on by default, off by default under --trace and --explain, the flag overrides both', async (t) => {
  t.equal(parseCliArgs([]).offload, true);
  t.equal(parseCliArgs(['--trace']).offload, false, 'a trace shows each wire segment as the stack handles it');
  t.equal(parseCliArgs(['--explain']).offload, false);
  t.equal(parseCliArgs(['--explain', '--offload', 'on']).offload, true);
  t.equal(parseCliArgs(['--offload', 'off']).offload, false);
  t.throws(() => parseCliArgs(['--offload', 'yes']), { name: 'UsageError', message: /--offload: expected on or off/ });
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

t.test('--ip and --host-ip refuse addresses a host cannot have (issue 10 item 10)', async (t) => {
  const bad: [string, RegExp][] = [
    ['0.0.0.0/24', /unspecified/],
    ['255.255.255.255/24', /limited broadcast/],
    ['224.0.0.5/24', /multicast/],
    ['240.0.0.1/24', /class E/],
    ['127.0.0.2/8', /loopback/],
    ['10.0.0.0/24', /network address of 10\.0\.0\.0\/24/],
    ['10.0.0.255/24', /broadcast address of 10\.0\.0\.0\/24/],
    ['192.168.0.0/16', /network address of 192\.168\.0\.0\/16/],
  ];
  for (const [ip, re] of bad) {
    t.throws(() => parseCliArgs(['--ip', ip]), { name: 'UsageError', message: re }, `--ip ${ip}`);
    t.throws(() => parseCliArgs(['--host-ip', ip]), { name: 'UsageError', message: /^--host-ip: / }, `--host-ip ${ip}`);
  }
  // RFC 3021: a /31 has no network or broadcast address, both ends are hosts.
  t.equal(parseCliArgs(['--ip', '10.0.0.0/31', '--host-ip', '10.0.0.1/31']).ip, parseIp('10.0.0.0'));
  t.equal(parseCliArgs(['--ip', '10.0.0.255/16']).ip, parseIp('10.0.0.255'), '.255 is a host in a /16');
});

t.test('numbers are plain decimal; negative ones say what is wrong (issue 10 item 10)', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--loss', '0x1'], /--loss: expected a number from 0 to 1, got "0x1"/],
    [['--loss', '1e-1'], /--loss: expected a number/],
    [['--port', '0b101'], /--port: expected a number/],
    [['--delay', 'Infinity'], /--delay: expected a number/],
    [['--delay', ' 5'], /--delay: expected a number/],
    [['--loss', '-1'], /--loss: expected a number from 0 to 1, got "-1"/],
    [['--port', '-80'], /--port: expected a number from 0 to 65535, got "-80"/],
    [['--path-mtu', '-.5'], /--path-mtu: expected a number from 68 to 65535, got "-.5"/],
    [['--seed=-3'], /--seed: expected a number from 0/],
  ];
  for (const [argv, re] of bad) t.throws(() => parseCliArgs(argv), { name: 'UsageError', message: re }, argv.join(' '));
  t.equal(parseCliArgs(['--loss', '.5']).loss, 0.5);
  t.equal(parseCliArgs(['--delay', '20.']).delayMs, 20);
  t.throws(() => parseCliArgs(['--tap', '-x']), { name: 'UsageError', message: /ambiguous/ }, 'a flag-like name is still refused by parseArgs');
});

t.test('--status: on by default, local or off; anything else is a usage error', async (t) => {
  t.equal(parseCliArgs([]).status, 'on');
  t.equal(parseCliArgs(['--status', 'local']).status, 'local');
  t.equal(parseCliArgs(['--status', 'off']).status, 'off');
  t.throws(() => parseCliArgs(['--status', 'private']), { name: 'UsageError', message: /--status: expected on, local or off/ });
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

t.test('resource limits of the web server and the services (issue 10 item 2)', async (t) => {
  const d = parseCliArgs([]);
  t.same([d.sendTimeoutMs, d.maxConnections, d.maxConnectionsPerIp, d.serviceIdleTimeoutMs, d.serviceMaxConnections], [60_000, 512, 64, 300_000, 1024], 'defaults');
  const c = parseCliArgs(['--send-timeout', '2000', '--max-connections', '20000', '--max-connections-per-ip', '8', '--service-idle-timeout', '0', '--service-max-connections', '10']);
  t.same([c.sendTimeoutMs, c.maxConnections, c.maxConnectionsPerIp, c.serviceIdleTimeoutMs, c.serviceMaxConnections], [2000, 20_000, 8, 0, 10]);
  t.throws(() => parseCliArgs(['--send-timeout', '0']), { name: 'UsageError', message: /--send-timeout: expected a number from 1/ });
  t.throws(() => parseCliArgs(['--max-connections-per-ip', '1.5']), { name: 'UsageError', message: /whole number/ });
});

t.test('--min-pmtu: the floor for path MTUs learned from ICMP, 552 by default (as Linux)', async (t) => {
  t.equal(parseCliArgs([]).minPmtu, 552);
  t.equal(parseCliArgs(['--min-pmtu', '1280']).minPmtu, 1280);
  t.throws(() => parseCliArgs(['--min-pmtu', '40']), { name: 'UsageError', message: /--min-pmtu: expected a number from 68 to 65535/ });
});
