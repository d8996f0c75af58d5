import type * as tf from '@tensorflow/tfjs-core';
import { throwIfWebGpuFailed, useBackend } from '@swapformer/core';

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

/** Runs `fn` on webgpu, failing on any device error it left, and restores the suite's backend after. */
export async function onWebgpu<T>(fn: () => Promise<T>): Promise<T> {
  try {
    await useBackend('webgpu');
    const result = await fn();
    await throwIfWebGpuFailed('the device Thinformer');
    return result;
  } finally {
    await useBackend(suiteBackend);
  }
}

/** Host values of a tensor built on the current backend, read asynchronously, disposed. */
export async function read(x: tf.Tensor): Promise<number[]> {
  const values = Array.from(await x.data());
  x.dispose();
  return values;
}
