/**
 * Runs in the page before the suites: imports the backends (as an app would), points
 * tfjs-backend-wasm at its binaries, starts wasm in a root hook (like test/setup/mochaSetup.ts in
 * Node), and runs mocha once every module has registered its suites.
 */
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@swapformer/core';

interface MochaRun {
  on(event: string, listener: (test: { fullTitle(): string }, error?: Error) => void): MochaRun;
}
declare const mocha: { run(done?: (failures: number) => void): MochaRun };
declare const before: (fn: () => Promise<void>) => void;

export function setupPageSuites(): void {
  setWasmPaths(new URL('wasm/', location.href).href);
  before(async () => {
    await useBackend('wasm');
  });
  const failures: Array<{ title: string; message: string }> = [];
  let passes = 0;
  let pending = 0;
  (window as unknown as { __mochaDone: Promise<unknown> }).__mochaDone = new Promise((resolve) => {
    // after every import has run: the suites are registered
    setTimeout(() => {
      mocha
        .run(() => resolve({ passes, pending, failures }))
        .on('pass', () => void passes++)
        .on('pending', () => void pending++)
        .on('fail', (test, error) => void failures.push({ title: test.fullTitle(), message: String(error?.message ?? error).slice(0, 500) }));
    }, 0);
  });
}
