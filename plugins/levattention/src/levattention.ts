/**
 * LevAttention (Kannan, Bhattacharyya, Kacham, Woodruff, "LevAttention: Time, Space, and
 * Streaming Efficient Algorithm for Heavy Attentions", ICLR 2025, https://arxiv.org/abs/2410.05462),
 * the operator of the paper's ViT experiments, per (b, h) slice:
 *
 *   1. leverage scores τ_j = k_jᵀ (KᵀK + λI)⁻¹ k_j of the keys (the universal set's selector);
 *   2. keep the top-k keys by τ, or those with τ_j ≥ ε, optionally always keeping key 0 (CLS);
 *   3. O = softmax(s·Q K_Uᵀ) V_U, ordinary softmax attention of every query against the kept keys.
 *
 * Time O(b·h·(nk·dk² + dk³ + nq·|U|·(dk + dv))), memory O(nk·dk + nq·|U|): linear in n for a
 * fixed budget. An optional local window w (our extension, localWindow.ts) adds the band
 * |t − j| < w to every query's keys, in the same softmax: O(nq·(|U| + w)) scores. The causal form (online scores, per-prefix selection) is in causalLevAttention.ts;
 * on backends without synchronous reads (webgpu in Node) the non-causal form runs entirely as
 * device ops (deviceLevAttention.ts) and the causal form as WGSL programs plus ops
 * (causalLevAttentionWebGpu.ts).
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, dk, dv, u kept keys per slice.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { canReadSync, requireSyncReads, type KernelContext } from '@swapformer/core';
import { denseSoftmaxAttention, gatherRows } from '@swapformer/kernels';
import { causalLevAttention } from './causalLevAttention';
import { CAUSAL_WEBGPU_MAX_DIM, canRunCausalLevAttentionOnWebGpu, causalLevAttentionWebGpu } from './causalLevAttentionWebGpu';
import { levAttentionOnDevice, sliceVisibility } from './deviceLevAttention';
import { canRunLevAttentionOnWebGpu, levAttentionWebGpu } from './levAttentionWebGpu';
import { selectKeys } from './keySelection';
import { hostKeptKeys, localWindowAttention, localWindowOf } from './localWindow';
import { sliceLeverageScores } from './leverageScores';
import type { LevAttentionOptions } from './levAttentionOptions';

/**
 * The kept keys of every slice (ascending key indices), from batch leverage scores.
 *
 * @example const kept = levAttentionSelection(k, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: false, ridge: 1e-6 }); // kept[b·h + hi]
 */
export function levAttentionSelection(k: Tensor4D, options: LevAttentionOptions): Int32Array[] {
  const { scores, visible } = sliceLeverageScores(k, options.ridge, options.mask);
  const h = k.shape[1];
  return scores.map((row, s) => selectKeys(row, options, visible ? visible[Math.floor(s / h)] : null));
}

/**
 * LevAttention: q `[b, h, nq, dk]`, k `[b, h, nk, dk]`, v `[b, h, nk, dv]` → `[b, h, nq, dv]`.
 * Deterministic. With topK ≥ nk it is exact softmax attention.
 *
 * @example const out = levAttention(kernels, q, k, v, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: true, ridge: 1e-6 });
 */
export function levAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: LevAttentionOptions): Tensor4D {
  if (options.causal) {
    if (canReadSync()) return causalLevAttention(q, k, v, options);
    // webgpu: online scores and per-prefix selection as WGSL programs (causalLevAttentionWebGpu.ts)
    if (canRunCausalLevAttentionOnWebGpu(k)) return causalLevAttentionWebGpu(q, k, v, options);
    requireSyncReads('causal LevAttention', `its online scores run in JS unless on webgpu with a head dim of at most ${CAUSAL_WEBGPU_MAX_DIM}`, 'the non-causal form');
    return causalLevAttention(q, k, v, options); // not reached: requireSyncReads threw
  }
  // No synchronous reads (webgpu in Node): scores, selection and attention as device ops
  // (top-k without mask or tape on webgpu: 6 WGSL/matMul dispatches instead of ≈ 190 ops).
  if (!canReadSync()) return canRunLevAttentionOnWebGpu(kernels, k, v, options) ? levAttentionWebGpu(q, k, v, options) : levAttentionOnDevice(kernels, q, k, v, options);
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const slices = b * h;
  const kept = levAttentionSelection(k, options);
  const window = localWindowOf(options);
  if (window > 0) {
    const selections = kept.map((keys) => ({ keys })); // kept for every query
    return tf.tidy(() => localWindowAttention(q, k, v, hostKeptKeys(k, v, selections), sliceVisibility(options.mask, h), { window, causal: false, scale: options.scale }));
  }
  // Every slice gathers `width` keys; slices that keep fewer (threshold rule, padding masks)
  // fill the rest with zero rows that the softmax mask hides.
  const width = Math.max(1, ...kept.map((u) => u.length));
  const index = new Int32Array(slices * width).fill(-1);
  const keep = new Float32Array(slices * width);
  kept.forEach((u, s) => {
    u.forEach((j, t) => {
      index[s * width + t] = s * nk + j;
      keep[s * width + t] = 1;
    });
  });
  const padded = kept.some((u) => u.length < width);
  return tf.tidy(() => {
    // gatherRows keeps the gradient path to k and v on every backend.
    const kU = tf.reshape(gatherRows(tf.reshape(k, [slices * nk, dk]), index), [slices, 1, width, dk]) as Tensor4D;
    const vU = tf.reshape(gatherRows(tf.reshape(v, [slices * nk, dv]), index), [slices, 1, width, dv]) as Tensor4D;
    // (b, h) folded into the batch axis, so the core kernel's per-batch mask is a per-slice mask.
    const out = denseSoftmaxAttention(kernels, tf.reshape(q, [slices, 1, nq, dk]) as Tensor4D, kU, vU, {
      scale: options.scale,
      mask: padded ? tf.tensor2d(keep, [slices, width]) : undefined,
    });
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
