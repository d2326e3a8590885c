// `npm run attack` (issue 10, Tests): the verdict lines round-trip through their parser, and a
// fast subset of the attacks runs for real against tapstack in namespaces (root only), each
// printing one parseable line. These three exercise fixes of this branch and must hold.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { formatVerdict, parseVerdictLine, percentile } from '../../scripts/attacks/attack.js';
import { ATTACKS } from '../../scripts/attacks/index.js';
import { e2eScratchDir, repoRoot } from '../helpers/netns.js';

t.test('verdict lines: format and parse', async (t) => {
  const line = formatVerdict('syn-flood', { verdict: 'degraded', figures: { requests: '48/50', p95: 1.2345, cookies: 9 } });
  t.equal(line, 'syn-flood: degraded  requests=48/50 p95=1.234 cookies=9');
  t.same(parseVerdictLine(line), { name: 'syn-flood', verdict: 'degraded', figures: { requests: '48/50', p95: '1.234', cookies: '9' } });
  t.same(parseVerdictLine('idle-scan: held'), { name: 'idle-scan', verdict: 'held', figures: {} });
  t.equal(parseVerdictLine('idle-scan: could not run: no hping3'), undefined);
  t.equal(parseVerdictLine('attack: idle-scan: IP ID ...'), undefined);
  t.equal(percentile([5, 1, 4, 2, 3], 95), 5);
  t.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  t.same(new Set(ATTACKS.map((a) => a.name)).size, ATTACKS.length, 'names are unique');
  t.same(ATTACKS.map((a) => a.name).sort(), ['access-log', 'arp-flood', 'arp-spoof', 'idle-scan', 'slowloris', 'status-json', 'syn-flood', 'udp-broadcast-echo', 'zero-window']);
});

t.test('usage mistakes: exit 2 with the list of attacks', async (t) => {
  const r = spawnSync('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, path.join(repoRoot, 'dist/scripts/attack.js'), 'no-such-attack'], { encoding: 'utf8' });
  if (r.status === null || /Cannot find module/.test(r.stderr)) {
    t.comment('skipped: dist/scripts/attack.js is not built');
    return;
  }
  t.equal(r.status, 2);
  t.match(r.stderr, /no attack named no-such-attack/);
  t.match(r.stderr, /syn-flood/);
});

const dir = e2eScratchDir(t, 'attacks');
if (dir !== undefined) {
  t.test('idle-scan, udp-broadcast-echo and arp-spoof run for real and hold', async (t) => {
    const names = ['idle-scan', 'udp-broadcast-echo', 'arp-spoof'];
    // `env -i`: tap wraps spawn to inject its loaders through the environment; the script runs bare.
    const r = spawnSync('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, path.join(repoRoot, 'dist/scripts/attack.js'), ...names], { encoding: 'utf8', timeout: 180_000 });
    t.equal(r.status, 0, `every attack ran: ${r.stdout}${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    t.equal(lines.length, names.length, 'one line per attack');
    for (const [i, line] of lines.entries()) {
      const v = parseVerdictLine(line);
      t.ok(v !== undefined, `parses: ${line}`);
      t.equal(v?.name, names[i]);
      t.equal(v?.verdict, 'held', line);
    }
    t.equal(parseVerdictLine(lines[0]!)?.figures['idDeltas'], '1,1,1', 'the IP ID seen by the attacker moved by its own probes only');
  });
}
