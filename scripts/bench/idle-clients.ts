// Idle connections for `npm run bench`'s memory and idle rows, run inside the client namespace:
// opens COUNT TCP connections to IP:PORT (at most 200 handshakes at a time), sends one line on
// each and waits for its echo, so every connection has sent and received data once; prints
// `open N failed M`, then holds them all idle until stdin closes (or TIMEOUT_S passes) and exits.
// Usage: idle-clients IP PORT COUNT TIMEOUT_S
import net from 'node:net';

const [ip, portText, countText, openText, holdText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sockets: net.Socket[] = [];
let failed = 0;
let next = 0;
const t0 = Date.now();
const openUntil = t0 + Number(openText) * 1000;

/** One connection: resolves once its line came back (true) or it failed (false). */
function openOne(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    s.setTimeout(20_000, () => s.destroy(new Error('timeout')));
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('idle\n'));
    s.once('data', () => {
      s.setTimeout(0);
      sockets.push(s);
      resolve(true);
    });
  });
}

async function worker(): Promise<void> {
  while (next < count && Date.now() < openUntil) {
    next++;
    if (!(await openOne())) failed++;
  }
}

await Promise.all(Array.from({ length: Math.min(200, count) }, worker));
process.stdout.write(`open ${sockets.length} failed ${failed} seconds ${(Date.now() - t0) / 1000}\n`);
const end = (): never => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
setTimeout(end, Number(holdText) * 1000).unref();
process.stdin.on('end', end).resume();
