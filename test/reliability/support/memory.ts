/** Heap measurements for the soak tests. */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let collect: (() => void) | null | undefined;

/** A full garbage collection when the runtime allows one (V8's gc, exposed for this process). */
function gc(): (() => void) | null {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** JS heap in use after a full collection (bytes); `exact` says whether a collection could run. */
export function heapAfterGc(): { bytes: number; exact: boolean } {
  const run = gc();
  if (run) {
    run();
    run();
  }
  return { bytes: process.memoryUsage().heapUsed, exact: run !== null };
}
