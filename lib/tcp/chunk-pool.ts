// A bounded free list of the fixed-size chunks send buffers are made of. An idle connection
// gives its chunks back, so 10 k idle keep-alive connections hold no send memory; a busy stack
// reuses chunks instead of allocating (and later collecting) one per burst.

/** Size of one send-buffer chunk. */
export const CHUNK = 16 * 1024;

/** Free chunks kept for reuse; past this they are left to the garbage collector. */
const MAX_POOLED = 256; // 4 MiB

const free: Buffer[] = [];

/** A chunk of CHUNK bytes (contents undefined). */
export function takeChunk(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

/** Give a chunk back; the caller must hold no view of it any more. */
export function releaseChunk(chunk: Buffer): void {
  if (free.length < MAX_POOLED) free.push(chunk);
}

/** Chunks waiting in the pool (for tests and the status page). */
export function pooledChunks(): number {
  return free.length;
}
