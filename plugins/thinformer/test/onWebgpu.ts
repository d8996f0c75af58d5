import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { throwIfWebGpuFailed, useBackend, type KernelContext } from '@swapformer/core';
import { createDeviceUploadCache } from '@swapformer/kernels';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { causalThinformerAttention, deviceCausalThinformerAttention, type CausalThinformerOptions } from '../src';

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

/**
 * Causal Thinformer on the suite's backend and on webgpu for the same seeded q, k, v ([1, 2, nq,
 * 2048], d 8): both outputs, with the device call checked for tensor leaks. The device runs it
 * twice through one upload cache (as the operator does): the second call, on cached draws, must
 * give the first one's output.
 */
export async function causalOnHostAndDevice(kernels: KernelContext, nq: number, inputSeed: number, options: CausalThinformerOptions): Promise<{ host: number[]; device: number[] }> {
  const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq, nk: 2048, dk: 8 }, inputSeed, 0.5);
  const data = [await q.data(), await k.data(), await v.data()];
  const shapes = [q.shape, k.shape, v.shape];
  const host = await read(causalThinformerAttention(kernels, q, k, v, options));
  tf.dispose([q, k, v]);
  const device = await onWebgpu(async () => {
    const [qd, kd, vd] = data.map((x, i) => tf.tensor4d(x as Float32Array, shapes[i] as [number, number, number, number]));
    const before = tf.memory().numTensors;
    const uploads = createDeviceUploadCache();
    const out = await read(deviceCausalThinformerAttention(kernels, qd, kd, vd, options, uploads));
    expect(await read(deviceCausalThinformerAttention(kernels, qd, kd, vd, options, uploads)), 'the second call, on cached draws').to.deep.equal(out);
    expect(tf.memory().numTensors, 'no tensor leaks').to.equal(before);
    tf.dispose([qd, kd, vd]);
    return out;
  });
  return { host, device };
}
