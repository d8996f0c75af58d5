/**
 * Exact softmax attention (the reference every approximation is measured against).
 *
 *   O = softmax(s · Q Kᵀ + bias) V,   s = 1/sqrt(dk) by default
 *
 * Shapes: q [b, h, nq, dk], k [b, hkv, nk, dk], v [b, hkv, nk, dv] → [b, h, nq, dv]; hkv divides h
 * (grouped-query attention: k/v heads are repeated to the query heads for the kernel call only,
 * except on the webgpu flash program, which reads them in place).
 * Time O(b·h·nq·nk·(dk + dv)). Memory O(nq·nk) per slice on the dense path, or
 * O(queryBlock·keyBlock) on the chunked online-softmax path chosen for long sequences.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { expandKeyValueHeads, type KernelContext } from '@swapformer/core';
import { canUseWebGpuFusedAttention, chunkedSoftmaxAttention, denseSoftmaxAttention } from '@swapformer/kernels';

export interface ExactAttentionOptions {
  readonly scale?: number;
  readonly causal?: boolean;
  readonly mask?: Tensor2D;
  /** `auto` picks the chunked path when nq·nk exceeds `chunkThreshold`. */
  readonly path: 'auto' | 'dense' | 'chunked';
  readonly chunkThreshold: number;
  readonly queryBlock: number;
  readonly keyBlock: number;
}

/** Which path `exactAttention` takes for these sizes. */
export function exactPathFor(nq: number, nk: number, options: Pick<ExactAttentionOptions, 'path' | 'chunkThreshold'>): 'dense' | 'chunked' {
  if (options.path !== 'auto') return options.path;
  return nq * nk > options.chunkThreshold ? 'chunked' : 'dense';
}

/** Exact attention, dense or chunked (equal up to float rounding); `kernels` (the container's) pick and run the kernels. */
export function exactAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: ExactAttentionOptions): Tensor4D {
  const path = exactPathFor(q.shape[2], k.shape[2], options);
  const kernelOptions = { scale: options.scale, causal: options.causal, mask: options.mask, queryBlock: options.queryBlock, keyBlock: options.keyBlock };
  const heads = q.shape[1];
  // the WebGPU flash program reads grouped k/v heads in place; every other kernel needs them repeated
  if (k.shape[1] === heads || canUseWebGpuFusedAttention(kernels, q, v)) return path === 'chunked' ? chunkedSoftmaxAttention(kernels, q, k, v, kernelOptions) : denseSoftmaxAttention(kernels, q, k, v, kernelOptions);
  return tf.tidy(() => {
    const [kFull, vFull] = [expandKeyValueHeads(k, heads), expandKeyValueHeads(v, heads)];
    return path === 'chunked' ? chunkedSoftmaxAttention(kernels, q, kFull, vFull, kernelOptions) : denseSoftmaxAttention(kernels, q, kFull, vFull, kernelOptions);
  });
}
