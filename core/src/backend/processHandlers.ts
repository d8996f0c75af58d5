/** Process events through which a library could take over a program's error handling. */
const GUARDED_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `start` (a backend's initialisation) and then removes the `uncaughtException` and
 * `unhandledRejection` listeners it added. The tfjs WASM backend's Emscripten runtime installs
 * handlers that rethrow from inside tf-backend-wasm.node.js and exit with code 7, so any later
 * error in the user's own code would be reported from there instead of Node's usual exit 1 with
 * the user's stack; its own cleanup of them never matches (a precedence bug in its filter).
 * Listeners the program had before are left alone. A listener the program itself adds while
 * `start` is pending would be removed too; starting a backend is the first thing programs do.
 */
export async function withoutAddedProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  // a page has no process (and no Emscripten process handlers to undo)
  const events = (globalThis as { process?: NodeJS.EventEmitter }).process;
  if (typeof events?.listeners !== 'function') return start();
  // plain EventEmitter typing: process's overloads do not accept a union of event names
  const before = new Map(GUARDED_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  try {
    return await start();
  } finally {
    for (const event of GUARDED_EVENTS) {
      for (const listener of events.listeners(event)) {
        if (!before.get(event)!.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
