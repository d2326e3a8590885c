// The one error type of the codecs: a stable machine-readable reason for every parse failure,
// which the stack's single ingress catch turns into a drop counter (DESIGN.md).

/** A malformed input; `reason` is stable (e.g. `ip.badChecksum`) and names the drop counter. */
export class WireError extends Error {
  constructor(readonly reason: string, detail?: string) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
    this.name = 'WireError';
  }
}
