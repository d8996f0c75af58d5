/**
 * KDEformer on the CPU backends as two calls of core's fused softmax-attention kernel per slice
 * (WebAssembly SIMD, worker threads), instead of batched tfjs-wasm products (~1.5 GFLOP/s).
 *
 * The estimate of a query row i in block t is
 *
 *   Ŷ_i = Σ_{j ∈ block t} exp(s·q_i·k_j)·vaug_j + Σ_{l : block(u_l) ≠ t} exp(s·q_i·k_{u_l} + log w_l)·vaug_{u_l}
 *
 * with w_l = 1/(m·P_{u_l}), and O_i = Ŷ_i[:dv] / Ŷ_i[dv]. Both sums are softmax attention up
 * to their normalisation: the blocks as nb small slices of bk keys, the residual as the same nb
 * slices against one shared set of m sampled keys with key bias log w_l, hidden where a sample
 * lies in block t itself. The kernel's row statistics (max, sum of exponentials) turn each
 * output back into its sum, and the two are added under a common shift. Same hashing, layout
 * and draws as the tfjs-op path, so the result agrees with it up to float32 rounding.
 * Time O(nq·(bk + m)·(dk + dv)) per slice; memory O(nq·dk + (nk + m)·(dk + dv)).
 *
 * Shape legend: nb blocks, qb queries per block, bk keys per block, m samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { fusedSoftmaxAttentionWithStats } from '@swapformer/kernels';
import type { KdeformerAttentionOptions } from './kdeformerOptions';
import { planSlice, residualSamples, type Inputs, type SlicePlan } from './slicePlan';

/** `[slots, dv + 1]` Vaug rows in slot order (zeros in padding slots), for the sampling distribution. */
function slotValues(plan: SlicePlan): Tensor2D {
  const { keySlots } = plan.layout;
  const { v, vOffset, dv } = plan.data;
  const out = new Float32Array(keySlots.length * (dv + 1));
  keySlots.forEach((j, u) => {
    if (j < 0) return;
    out.set(v.subarray(vOffset + j * dv, vOffset + (j + 1) * dv), u * (dv + 1));
    out[u * (dv + 1) + dv] = 1;
  });
  return tf.tensor2d(out, [keySlots.length, dv + 1]);
}

/** Rows `indices` of `src` (`width` columns from `offset`) packed densely, times `factor`; −1 leaves a zero row. */
function packRows(src: Float32Array, offset: number, width: number, indices: ArrayLike<number>, factor = 1): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let p = 0; p < indices.length; p++) {
    const j = indices[p];
    if (j < 0) continue;
    const from = offset + j * width;
    for (let c = 0; c < width; c++) out[p * width + c] = src[from + c] * factor;
  }
  return out;
}

/** O of one slice `[nq, dv]` in the original query order. */
function fusedSlice(kernels: KernelContext, plan: SlicePlan, options: KdeformerAttentionOptions, scale: number, bi: number, hi: number): Float32Array {
  const { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb, keySlots, querySlots, querySlotOf } = plan.layout;
  const { q, k, v, qOffset, kOffset, vOffset, dk, dv } = plan.data;
  const queries = packRows(q, qOffset, dk, querySlots, scale); // [nb, qb, dk] times s; padding slots are never read back
  // block t against its own bk keys (padding slots of the last block hidden)
  const blockMask = Float32Array.from(keySlots, (j) => (j < 0 ? 0 : 1));
  const block = fusedSoftmaxAttentionWithStats(kernels, queries, packRows(k, kOffset, dk, keySlots), packRows(v, vOffset, dv, keySlots), { b: nb, h: 1, nq: qb, nk: bk, dk, dv }, { scale: 1, mask: blockMask });
  const m = options.samples;
  const out = new Float32Array(querySlotOf.length * dv);
  if (m === 0) {
    querySlotOf.forEach((p, i) => out.set(block.out.subarray(p * dv, (p + 1) * dv), i * dv));
    return out;
  }
  // every block against the m samples (one shared set), weighted by the key bias log w_l and
  // hidden where the sample lies in the block itself
  const { drawn, weights } = tf.tidy(() => residualSamples(plan, slotValues(plan), options, bi, hi));
  const sampled = Int32Array.from(drawn, (u) => keySlots[u]);
  const offBlock = new Float32Array(nb * m).fill(1);
  const logWeights = new Float32Array(nb * m);
  for (let t = 0; t < nb; t++) for (let l = 0; l < m; l++) logWeights[t * m + l] = Math.log(weights[l]);
  drawn.forEach((u, l) => (offBlock[Math.floor(u / bk) * m + l] = 0));
  const residual = fusedSoftmaxAttentionWithStats(kernels, queries, packRows(k, kOffset, dk, sampled), packRows(v, vOffset, dv, sampled), { b: nb, h: 1, nq: qb, nk: m, dk, dv }, { scale: 1, mask: offBlock, keyBias: logWeights, sharedKeys: true });
  // Ŷ = out·l·exp(max − c) from both parts, c the larger of the two row maxima
  const [bOut, bMax, bSum, rOut, rMax, rSum] = [block.out, block.rowMax, block.rowSum, residual.out, residual.rowMax, residual.rowSum];
  for (let i = 0; i < querySlotOf.length; i++) {
    const p = querySlotOf[i];
    const c = Math.max(bMax[p], rMax[p]);
    const wb = bSum[p] * Math.exp(bMax[p] - c);
    const wr = rSum[p] * Math.exp(rMax[p] - c);
    const inv = 1 / (wb + wr); // ≥ exp(0) from the block part: every block holds a visible key
    for (let col = 0; col < dv; col++) out[i * dv + col] = (bOut[p * dv + col] * wb + rOut[p * dv + col] * wr) * inv;
  }
  return out;
}

/**
 * KDEformer attention through the fused CPU kernel; see the file comment. Call only where
 * the kernels' `fusedKernelApplies(kernels, q, k, v)` holds.
 *
 * @example const out = fusedKdeformerAttention(kernels, inputs, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function fusedKdeformerAttention(kernels: KernelContext, inputs: Inputs, options: KdeformerAttentionOptions): Tensor4D {
  const { b, h, nq, dk, dv } = inputs.dims;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const out = new Float32Array(b * h * nq * dv); // rows with no visible key stay 0
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const plan = planSlice(kernels, inputs, bi, hi, options);
      if (plan.layout.blocks === 0) continue;
      out.set(fusedSlice(kernels, plan, options, scale, bi, hi), (bi * h + hi) * nq * dv);
    }
  }
  return tf.tensor4d(out, [b, h, nq, dv]);
}
