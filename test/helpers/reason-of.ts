// The WireError reason `fn` throws (a readable string otherwise), for `t.equal(reasonOf(...), 'ip.badIhl')`.
import { WireError } from '../../lib/wire/wire-error.js';

/** The reason of the WireError thrown by `fn`, `'no error'`, or a description of another throw. */
export function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof WireError ? e.reason : `not a WireError: ${String(e)}`;
  }
  return 'no error';
}
