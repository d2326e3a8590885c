// Waiting for the kernel to notice a tap's carrier: until linkwatch has run (up to ~1 s after an
// fd attaches) the kernel silently drops what it would send on the tap (NETWORK-TESTING.md).
import { readFile } from 'node:fs/promises';

/** Resolve true once /sys/class/net/NAME/operstate reads "up", or false after `timeoutMs`. */
export async function waitForCarrier(name: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await readFile(`/sys/class/net/${name}/operstate`, 'utf8').catch(() => '');
    if (state.trim() === 'up') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
