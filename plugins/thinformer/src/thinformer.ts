/**
 * Thinformer attention (Algorithm 1 of Carrell, Gong, Shetty, Dwivedi, Mackey — "Low-Rank
 * Thinning", ICML 2025, https://arxiv.org/abs/2502.12063; spec §2): KH-Compress(g) picks a
 * coreset of 2^g·sqrt(n) key–value pairs per (batch, head), then every query runs plain softmax
 * attention against that coreset only.
 *
 *   Ô(q) = Σ_{j∈S_out} exp(s·q·k_j) v_j / Σ_{j∈S_out} exp(s·q·k_j)
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 * Time O(4^g · n · log n · (dk + dv)) for the coreset plus O(nq · 2^g·sqrt(n) · (dk + dv)) for
 * the attention, with n = 4^floor(log4 nk). Non-causal, as in the paper (causal: causalThinformer.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { compressPlan } from './compressPlan';
import { coresetOfRange, keyValueData, type CoresetOptions, type CoresetTimings } from './thinformerCoreset';

/** Options of `thinformerAttention`: those of KH-Compress(g). */
export type ThinformerAttentionOptions = CoresetOptions;

/**
 * Rows `indices` ([b·h, m] positions into the key axis) of every slice of `data` ([b·h, nk, d],
 * row-major) → [b, h, m, d]. Gathered in JS: tf.gather and tf.slice copy their whole source on wasm.
 */
function gatherRows(data: Float32Array, shape: readonly [number, number, number, number], indices: Int32Array, m: number): Tensor4D {
  const [b, h, nk, d] = shape;
  const out = new Float32Array(b * h * m * d);
  for (let s = 0; s < b * h; s++) {
    for (let j = 0; j < m; j++) {
      const from = (s * nk + indices[s * m + j]) * d;
      out.set(data.subarray(from, from + d), (s * m + j) * d);
    }
  }
  return tf.tensor4d(out, [b, h, m, d]);
}

/**
 * Non-causal Thinformer attention. Pass `timings` to accumulate the coreset's kernel/walk split.
 *
 * @example
 * const out = thinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0 }); // [b, h, nq, dv]
 */
export function thinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: ThinformerAttentionOptions, timings?: CoresetTimings): Tensor4D {
  const scale = options.scale ?? 1 / Math.sqrt(q.shape[3]);
  const [b, h, nk, dk] = k.shape;
  // every key survives (nk a power of four, no halving): attend to k and v themselves
  if (compressPlan(nk, options.g, options.delta).nOut === nk) return softmaxAttention(kernels, q, k, v, { scale });
  const data = keyValueData(k, v);
  const { indices, plan } = coresetOfRange(kernels, data, 0, nk, { ...options, scale }, timings);
  return tf.tidy(() => {
    const keys = gatherRows(data.keys, [b, h, nk, dk], indices, plan.nOut); // [b, h, nOut, dk]
    const values = gatherRows(data.values, [b, h, nk, data.dv], indices, plan.nOut); // [b, h, nOut, dv]
    return softmaxAttention(kernels, q, keys, values, { scale });
  });
}
