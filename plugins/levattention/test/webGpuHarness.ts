/**
 * Test helpers for running one computation on cpu and on webgpu from the same host inputs, the
 * results read asynchronously (webgpu in Node has no synchronous reads), with a tensor-leak check.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, throwIfWebGpuFailed, useBackend, type KernelContext } from '@swapformer/core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { levAttention, type LevAttentionOptions } from '../src';

export interface Inputs {
  readonly shapes: number[][];
  readonly values: Float32Array[];
}

/** Host copies of q, k, v (and a `[b, nk]` mask), so each backend builds its own tensors. */
export async function hostInputs(tensors: tf.Tensor[]): Promise<Inputs> {
  const values = await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  const shapes = tensors.map((t) => t.shape);
  tf.dispose(tensors);
  return { shapes, values };
}

/** `[b, h, n, d]` normal inputs whose keys have heavy-tailed norms (well-separated scores), with a mask hiding every 7th key. */
export function spreadInputs(b: number, h: number, nq: number, nk: number, d: number, seed: number): Inputs {
  const rng = createSeededRandom(seed);
  const normal = (size: number) => rng.fillNormal(new Float32Array(size), 0, 1);
  const keys = normal(b * h * nk * d);
  for (let row = 0; row < b * h * nk; row++) keys.subarray(row * d, (row + 1) * d).forEach((x, c, a) => (a[c] = x * Math.exp(rng.normal())));
  const mask = Float32Array.from({ length: b * nk }, (_, i) => Number(i % 7 !== 3)); // batch row 1 hides key 0 when nk = 24
  return {
    shapes: [
      [b, h, nq, d],
      [b, h, nk, d],
      [b, h, nk, d],
      [b, nk],
    ],
    values: [normal(b * h * nq * d), keys, normal(b * h * nk * d), mask],
  };
}

/** `fn(q, k, v, mask)` on `backend`, its result read asynchronously. */
export async function runOn(backend: 'cpu' | 'webgpu', inputs: Inputs, fn: (t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  const tensors = inputs.values.map((v, i) => tf.tensor(v, inputs.shapes[i]));
  const before = tf.memory().numTensors;
  const out = fn(tensors);
  const list = Array.isArray(out) ? out : [out];
  const values = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(list);
  expect(tf.memory().numTensors - before, `tensors left on ${backend}`).to.equal(0);
  tf.dispose(tensors);
  if (backend === 'webgpu') await throwIfWebGpuFailed('LevAttention on webgpu');
  return values;
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** `levAttention` on `[q, k, v, mask]` as `runOn` passes them, with the key-padding mask only when `masked`. */
export function attention(context: KernelContext, options: LevAttentionOptions, masked: boolean): (t: tf.Tensor[]) => tf.Tensor {
  return ([q, k, v, mask]) => levAttention(context, q as Tensor4D, k as Tensor4D, v as Tensor4D, { ...options, mask: masked ? (mask as Tensor2D) : undefined });
}
