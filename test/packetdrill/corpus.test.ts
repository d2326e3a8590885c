// Our packetdrill corpus (test/packetdrill/<group>/*.pkt), each script run against tapstack's TCP
// on a memory wire with fake time. Every script must pass, except those listed in
// KNOWN-FAILURES.md, which must fail (so a fix or a new breakage is noticed either way).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { formatResult, runFile } from '../../lib/packetdrill/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const scripts = readdirSync(here, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.pkt'))
  .sort();
const known = new Set([...readFileSync(join(here, 'KNOWN-FAILURES.md'), 'utf8').matchAll(/^- `([^`]+\.pkt)`/gm)].map((m) => m[1]!));

t.test('the corpus: at least 60 scripts in the groups of packetdrill', async (t) => {
  t.ok(scripts.length >= 60, `${scripts.length} scripts`);
  const groups = new Set(scripts.map((s) => s.split('/')[0]));
  for (const g of ['close', 'shutdown', 'blocking', 'mss', 'ts', 'validate', 'rst', 'syn', 'fast_retransmit', 'sack', 'limited_transmit', 'newreno', 'rto', 'rack', 'tlp', 'persist', 'keepalive', 'delayed_ack', 'nagle', 'icmp', 'time_wait']) {
    t.ok(groups.has(g), `group ${g}`);
  }
});

t.test('every known failure names a script of the corpus', async (t) => {
  for (const k of known) t.ok(scripts.includes(k), k);
});

for (const name of scripts) {
  t.test(name, async (t) => {
    const file = join(here, name);
    const head = readFileSync(file, 'utf8').split('\n')[0]!;
    t.match(head, /^\/\/ RFC \d+/, 'the header comment names the RFC clause');
    const r = await runFile(file);
    const report = formatResult(r).replace(here + '/', '');
    if (known.has(name)) t.notOk(r.ok, `listed in KNOWN-FAILURES.md, so it must still fail\n${report}`);
    else t.ok(r.ok, report);
    t.same(r.skipped, [], 'no line skipped');
  });
}

