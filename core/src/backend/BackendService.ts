import * as tf from '@tensorflow/tfjs-core';
import type { BackendRequest } from './BackendName';
import { useBackend, type BackendReport } from './useBackend';

/** The container's backend service: which tfjs backend is active, and a way to switch. */
export interface BackendService {
  /** The active tfjs backend name. */
  active(): string;
  use(request: BackendRequest): Promise<BackendReport>;
}

export function createBackendService(): BackendService {
  return {
    active: () => tf.getBackend(),
    use: (request) => useBackend(request),
  };
}
