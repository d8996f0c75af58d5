/** Mocha root hooks when this package is tested on its own: pick the tfjs backend once (SWAPFORMER_BACKEND, default wasm). */
import { useBackend, type BackendRequest } from '@swapformer/core';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as BackendRequest);
  },
};
