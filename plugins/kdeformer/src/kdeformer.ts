/**
 * KDEformer attention, practical form (Algorithm 3 of Zandieh, Han, Daliri, Karbasi,
 * "KDEformer: Accelerating Transformers via Kernel Density Estimation", ICML 2023,
 * https://arxiv.org/abs/2302.02451), for each (b, h) slice:
 *
 *   1. scale the logits by s; append a ones column to V (Vaug), so the last output column
 *      accumulates the softmax denominator;
 *   2. hash keys and queries with r random hyperplanes (Gray-code bucket ids) and sort both;
 *   3. exact part: block t of sorted queries against block t of sorted keys (bk keys each);
 *   4. residual: m keys drawn i.i.d. from P_j ∝ ‖vaug_j‖/σ² + 1/nv, each pair (i, j) weighted
 *      by exp(s·q_i·k_j)·1[block(i) ≠ block(j)] / (m·P_j), an unbiased estimate of the
 *      off-block sum;
 *   5. O = Ŷ[:, :dv] / Ŷ[:, dv] with Ŷ = Y_block + Y_res.
 *
 * Each row i is computed with exponents shifted by c_i, the largest of its evaluated logits
 * (block pairs and off-block samples). The shift cancels between numerator and denominator,
 * nothing overflows, and the largest term is exp(0) = 1, so the denominator is never 0.
 * Hashing, sorting and sampling are discrete and run in JS. While a gradient tape records, the
 * operands are gathered with tf ops, so gradients reach q, k and v (the sampling weights 1/(m·P_j)
 * act as constants, which keeps the gradient of the estimate unbiased). Otherwise they are built
 * from faster typed-array copies.
 *
 * Time O(b·h·(n·dk·r + nq·(bk + m)·(dk + dv))), memory O(nq·(bk + m)) per slice: linear in n
 * for fixed b and m.
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, nv visible keys, dk, dv, dv1 = dv + 1,
 * nb blocks, bk keys per block, qb queries per block, rows = nb·qb, m samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { fusedKernelApplies, gatherRows, MASKED_LOGIT } from '@swapformer/kernels';
import { fusedKdeformerAttention } from './fusedKdeformer';
import { planSlice, readInputs, residualSamples, type Inputs, type SlicePlan } from './slicePlan';
import { copiedOperands, gatheredOperands, type SlotOperands } from './slotOperands';
import type { KdeformerAttentionOptions } from './kdeformerOptions';

/** The unnormalised sums of one call, in the original query order. */
export interface KdeformerParts {
  /** `[b, h, nq, dv + 1]` exact block-diagonal sums, scaled by exp(−shift). */
  readonly block: Tensor4D;
  /** `[b, h, nq, dv + 1]` sampled off-block sums, scaled by exp(−shift) (zeros when m = 0). */
  readonly residual: Tensor4D;
  /** `[b, h, nq, 1]` per-row exponent shift c_i. */
  readonly shift: Tensor4D;
}

/** Steps 4–5 for one slice, in slot order; tensors belong to the caller's tidy. */
interface SliceSums {
  readonly block: Tensor2D; // [rows, dv1]
  readonly residual: Tensor2D | null; // [rows, dv1]
  readonly shift: Tensor2D; // [rows, 1]
}

function sliceSums(plan: SlicePlan, ops: SlotOperands, bi: number, hi: number, options: KdeformerAttentionOptions): SliceSums {
  const { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb } = plan.layout;
  const rows = nb * qb;
  const slots = nb * bk;
  const nv = plan.augNorms.length;
  const dv1 = plan.data.dv + 1;
  let logits = tf.matMul(ops.q, ops.kT); // [nb, qb, bk]
  if (slots > nv) {
    const pad = new Float32Array(slots).fill(MASKED_LOGIT, nv); // empty slots of the last block
    logits = tf.add(logits, tf.tensor3d(pad, [nb, 1, bk]));
  }
  let shift = tf.reshape(tf.max(logits, 2), [rows, 1]) as Tensor2D; // [rows, 1]
  let residual: Tensor2D | null = null;
  const m = options.samples;
  if (m > 0) {
    const { drawn, weights } = residualSamples(plan, tf.reshape(ops.v, [slots, dv1]) as Tensor2D, options, bi, hi);
    const onBlock = new Float32Array(nb * m); // [nb, m]: pairs already in the block part drop out
    drawn.forEach((u, l) => (onBlock[Math.floor(u / bk) * m + l] = MASKED_LOGIT));
    const sampled = ops.sampled(drawn, weights);
    const raw = tf.reshape(tf.matMul(tf.reshape(ops.q, [rows, plan.data.dk]), sampled.kT), [nb, qb, m]); // rank-2 product
    const residualLogits = tf.reshape(tf.add(raw, tf.tensor3d(onBlock, [nb, 1, m])), [rows, m]);
    shift = tf.maximum(shift, tf.max(residualLogits, 1, true)) as Tensor2D;
    residual = tf.matMul(tf.exp(tf.sub(residualLogits, shift)), sampled.v) as Tensor2D;
  }
  const block = tf.reshape(tf.matMul(tf.exp(tf.sub(logits, tf.reshape(shift, [nb, qb, 1]))), ops.v), [rows, dv1]) as Tensor2D;
  return { block, residual, shift };
}

/** Visits every slice with its plan and its sums downloaded (the fast, tape-free path). */
function forEachSlice(kernels: KernelContext, inputs: Inputs, options: KdeformerAttentionOptions, visit: (slice: number, plan: SlicePlan, sums: { block: Float32Array; residual: Float32Array | null; shift: Float32Array }) => void): void {
  const scale = options.scale ?? 1 / Math.sqrt(inputs.dims.dk);
  for (let bi = 0; bi < inputs.dims.b; bi++) {
    for (let hi = 0; hi < inputs.dims.h; hi++) {
      const plan = planSlice(kernels, inputs, bi, hi, options);
      if (plan.layout.blocks === 0) continue; // no visible key: the slice's rows stay 0
      tf.tidy(() => {
        const sums = sliceSums(plan, copiedOperands(plan.data, plan.layout, scale), bi, hi, options);
        visit(bi * inputs.dims.h + hi, plan, {
          block: sums.block.dataSync() as Float32Array,
          residual: sums.residual ? (sums.residual.dataSync() as Float32Array) : null,
          shift: sums.shift.dataSync() as Float32Array,
        });
      });
    }
  }
}

/** The tape-recording path: the same sums from gathered operands, divided and un-permuted with tf ops. */
function differentiableKdeformer(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, inputs: Inputs, options: KdeformerAttentionOptions): Tensor4D {
  const { b, h, nq, nk, dk: d, dv } = inputs.dims;
  const scale = options.scale ?? 1 / Math.sqrt(d);
  return tf.tidy(() => {
    // Slices by tf.slice, not tf.unstack: tfjs's Unpack gradient fails when there is one slice.
    const slice = (t: Tensor4D, bi: number, hi: number, n: number, w: number) => tf.reshape(tf.slice(t, [bi, hi, 0, 0], [1, 1, n, w]), [n, w]) as Tensor2D;
    const outs: Tensor2D[] = [];
    for (let bi = 0; bi < b; bi++) {
      for (let hi = 0; hi < h; hi++) {
        const plan = planSlice(kernels, inputs, bi, hi, options);
        if (plan.layout.blocks === 0) {
          outs.push(tf.zeros([nq, dv]));
          continue;
        }
        const ops = gatheredOperands(slice(q, bi, hi, nq, d), slice(k, bi, hi, nk, d), slice(v, bi, hi, nk, dv), plan.layout, scale);
        const sums = sliceSums(plan, ops, bi, hi, options);
        const y = sums.residual ? tf.add(sums.block, sums.residual) : sums.block; // [rows, dv1]
        const rows = y.shape[0];
        const out = tf.div(tf.slice(y, [0, 0], [rows, dv]), tf.slice(y, [0, dv], [rows, 1])) as Tensor2D;
        outs.push(gatherRows(out, plan.layout.querySlotOf));
      }
    }
    return tf.reshape(tf.stack(outs), [b, h, nq, dv]) as Tensor4D;
  });
}

/**
 * KDEformer attention: q `[b, h, nq, dk]`, k `[b, h, nk, dk]`, v `[b, h, nk, dv]` → `[b, h, nq, dv]`.
 * Non-causal. Deterministic given the seeds. Differentiable w.r.t. q, k, v while a gradient tape
 * records (`tf.grad`, `tf.variableGrads`).
 *
 * @example const out = kdeformerAttention(kernels, q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function kdeformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): Tensor4D {
  const inputs = readInputs(q, k, v, options.mask);
  if (tf.engine().isTapeOn()) return differentiableKdeformer(kernels, q, k, v, inputs, options);
  if (options.fused !== false && fusedKernelApplies(kernels, q, k, v)) return fusedKdeformerAttention(kernels, inputs, options);
  const { b, h, nq, dv } = inputs.dims;
  const dv1 = dv + 1;
  const out = new Float32Array(b * h * nq * dv); // rows with no visible key stay 0
  forEachSlice(kernels, inputs, options, (slice, plan, sums) => {
    for (let i = 0; i < nq; i++) {
      const row = plan.layout.querySlotOf[i] * dv1;
      const den = sums.block[row + dv] + (sums.residual ? sums.residual[row + dv] : 0);
      for (let c = 0; c < dv; c++) out[(slice * nq + i) * dv + c] = (sums.block[row + c] + (sums.residual ? sums.residual[row + c] : 0)) / den;
    }
  });
  return tf.tensor4d(out, [b, h, nq, dv]);
}

/**
 * The pieces of `kdeformerAttention` before the division: `exp(shift) · (block + residual)` is
 * the unnormalised estimate `[Σ_j w_ij·vaug_j]`, and `exp(shift) · residual` alone is an
 * unbiased estimate of the exact off-block sum. For tests and diagnostics (no gradient).
 *
 * @example const { block, residual, shift } = kdeformerParts(kernels, q, k, v, { blockSize: 8, samples: 16, projections: 3, seed: 1, sampleSeed: 7 });
 */
export function kdeformerParts(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): KdeformerParts {
  const inputs = readInputs(q, k, v, options.mask);
  const { b, h, nq, dv } = inputs.dims;
  const dv1 = dv + 1;
  const block = new Float32Array(b * h * nq * dv1);
  const residual = new Float32Array(b * h * nq * dv1);
  const shift = new Float32Array(b * h * nq);
  forEachSlice(kernels, inputs, options, (slice, plan, sums) => {
    for (let i = 0; i < nq; i++) {
      const row = plan.layout.querySlotOf[i];
      shift[slice * nq + i] = sums.shift[row];
      block.set(sums.block.subarray(row * dv1, (row + 1) * dv1), (slice * nq + i) * dv1);
      if (sums.residual) residual.set(sums.residual.subarray(row * dv1, (row + 1) * dv1), (slice * nq + i) * dv1);
    }
  });
  return {
    block: tf.tensor4d(block, [b, h, nq, dv1]),
    residual: tf.tensor4d(residual, [b, h, nq, dv1]),
    shift: tf.tensor4d(shift, [b, h, nq, 1]),
  };
}
