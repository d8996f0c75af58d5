/**
 * Mocha root hooks shared by every package's tests: pick the tfjs backend once per process.
 * SWAPFORMER_BACKEND selects it (default `wasm`, the Node default of the library itself).
 */
import { useBackend } from '@swapformer/core';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    const requested = process.env.SWAPFORMER_BACKEND ?? 'wasm';
    await useBackend(requested as Parameters<typeof useBackend>[0]);
  },
};
