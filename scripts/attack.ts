// `npm run attack -- NAME [NAME...]` (as root): hostile traffic against a tapstack that each attack
// starts in a namespace of its own, bounded in time and count, with one verdict line each:
//   NAME: held|degraded|failed  figure=value ...
// `all` runs every attack, `--list` names them. The namespaces and every process started in them
// are removed after each attack, also on failure and on Ctrl-C. Exit status: 0 when every attack
// ran (whatever its verdict), 1 when one could not run, 2 for a usage mistake.
import { Netns, rootScript } from './netns.js';
import { formatVerdict } from './attacks/attack.js';
import { ATTACKS } from './attacks/index.js';

const USAGE = `Usage: npm run attack -- NAME [NAME...] | all | --list\n\nAttacks:\n${ATTACKS.map((a) => `  ${a.name.padEnd(20)}${a.describe}`).join('\n')}\n`;

const args = process.argv.slice(2);
if (args.includes('--list') || args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const names = args.includes('all') ? ATTACKS.map((a) => a.name) : args;
const unknown = names.filter((n) => !ATTACKS.some((a) => a.name === n));
if (names.length === 0 || unknown.length > 0) {
  process.stderr.write(`attack: ${names.length === 0 ? 'name at least one attack' : `no attack named ${unknown.join(', ')}`}\n\n${USAGE}`);
  process.exit(2);
}
const { owner, cleanup } = rootScript('attack');

let exitCode = 0;
for (const name of names) {
  const attack = ATTACKS.find((a) => a.name === name)!;
  process.stderr.write(`attack: ${name}: ${attack.describe}\n`);
  try {
    const result = await attack.run(Netns.create(owner));
    process.stdout.write(`${formatVerdict(name, result)}\n`);
  } catch (e) {
    process.stdout.write(`${name}: could not run: ${(e as Error).message.split('\n')[0]}\n`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
}
process.exit(exitCode);
