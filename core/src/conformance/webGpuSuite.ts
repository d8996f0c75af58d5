import type { BackendRequest } from '../backend/BackendName';
import { useBackend } from '../backend/useBackend';

/**
 * A mocha `before` hook for suites that run on webgpu: starts the backend once to see that an
 * adapter exists, then restores `restore`. Without one the suite is skipped with the reason —
 * unless `required` (CI sets SWAPFORMER_REQUIRE_WEBGPU=1, which the caller reads), where a
 * missing adapter must fail rather than pass silently.
 *
 * @example before(webGpuSuiteCheck({ restore: 'wasm', required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
 */
export function webGpuSuiteCheck(options: { readonly restore: BackendRequest; readonly required: boolean }): (this: { skip(): void }) => Promise<void> {
  return async function check(this: { skip(): void }) {
    try {
      await useBackend('webgpu');
    } catch (error) {
      if (options.required) throw error;
      console.log(`      (skipped: ${(error as Error).message.split('\n')[0]})`);
      this.skip();
    } finally {
      await useBackend(options.restore);
    }
  };
}
