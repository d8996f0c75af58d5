/**
 * The operands of KDEformer's block and residual products for one (b, h) slice, in slot order
 * (see blockLayout): sorted, padded queries, per-block transposed keys, Vaug = [V, 1], and the
 * sampled keys and weighted values of the residual (https://arxiv.org/abs/2302.02451).
 *
 * Two ways to build the same numbers:
 * - `copiedOperands`: typed-array copies uploaded as new tensors. This is fast on wasm, where
 *   `tf.gather` of n rows costs ~15× a JS copy, but the result is cut off from q, k, v on the tape.
 * - `gatheredOperands`: row gathers and one-hot products of the slice's own tensors, so gradients
 *   flow back to q, k and v. Used while a gradient tape records.
 *
 * Shape legend: nb blocks, qb queries per block, bk keys per block, dk, dv1 = dv + 1, m samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { gatherRows } from '@swapformer/kernels';
import type { BlockLayout } from './blockLayout';

export interface SlotOperands {
  /** `[nb, qb, dk]` sorted queries times s; zeros in padding slots. */
  readonly q: Tensor3D;
  /** `[nb, dk, bk]` sorted keys, transposed per block; zeros in padding slots. */
  readonly kT: Tensor3D;
  /** `[nb, bk, dv1]` sorted Vaug rows; zeros (also in the ones column) in padding slots. */
  readonly v: Tensor3D;
  /** Residual operands: `[dk, m]` keys and `[m, dv1]` Vaug rows times `weights`, for key slots `slots`. */
  sampled(slots: Int32Array, weights: Float32Array): { readonly kT: Tensor2D; readonly v: Tensor2D };
}

/** One slice's rows in the downloaded q, k, v arrays. */
export interface SliceData {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly qOffset: number;
  readonly kOffset: number;
  readonly vOffset: number;
  readonly dk: number;
  readonly dv: number;
}

/**
 * Operands as JS copies (no gradient).
 *
 * @example const ops = copiedOperands(data, layout, 0.125); // inside tf.tidy
 */
export function copiedOperands(data: SliceData, layout: BlockLayout, scale: number): SlotOperands {
  const { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb } = layout;
  const { dk, dv } = data;
  const dv1 = dv + 1;
  const q = new Float32Array(nb * qb * dk);
  for (let p = 0; p < nb * qb; p++) {
    const i = layout.querySlots[p];
    if (i < 0) continue;
    for (let c = 0; c < dk; c++) q[p * dk + c] = data.q[data.qOffset + i * dk + c] * scale;
  }
  const kT = new Float32Array(nb * dk * bk);
  const v = new Float32Array(nb * bk * dv1);
  for (let u = 0; u < nb * bk; u++) {
    const j = layout.keySlots[u];
    if (j < 0) continue;
    const t = Math.floor(u / bk);
    for (let c = 0; c < dk; c++) kT[(t * dk + c) * bk + (u - t * bk)] = data.k[data.kOffset + j * dk + c];
    v.set(data.v.subarray(data.vOffset + j * dv, data.vOffset + (j + 1) * dv), u * dv1);
    v[u * dv1 + dv] = 1;
  }
  return {
    q: tf.tensor3d(q, [nb, qb, dk]),
    kT: tf.tensor3d(kT, [nb, dk, bk]),
    v: tf.tensor3d(v, [nb, bk, dv1]),
    sampled(slots, weights) {
      const m = slots.length;
      const kS = new Float32Array(dk * m);
      const vS = new Float32Array(m * dv1);
      slots.forEach((u, l) => {
        const j = layout.keySlots[u];
        for (let c = 0; c < dk; c++) kS[c * m + l] = data.k[data.kOffset + j * dk + c];
        for (let c = 0; c < dv1; c++) vS[l * dv1 + c] = (c < dv ? data.v[data.vOffset + j * dv + c] : 1) * weights[l];
      });
      return { kT: tf.tensor2d(kS, [dk, m]), v: tf.tensor2d(vS, [m, dv1]) };
    },
  };
}

/**
 * Operands gathered from the slice's tensors (differentiable w.r.t. q, k, v on every backend:
 * `gatherRows` for the permutations, a one-hot product for the samples, which may repeat).
 *
 * @example const ops = gatheredOperands(qSlice, kSlice, vSlice, layout, 0.125); // inside tf.tidy
 */
export function gatheredOperands(q: Tensor2D, k: Tensor2D, v: Tensor2D, layout: BlockLayout, scale: number): SlotOperands {
  const { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb } = layout;
  const dk = q.shape[1];
  const [nk, dv] = v.shape;
  const dv1 = dv + 1;
  const vAug = tf.concat([v, tf.ones([nk, 1])], 1) as Tensor2D; // [nk, dv1]
  return {
    q: tf.reshape(gatherRows(tf.mul(q, scale) as Tensor2D, layout.querySlots), [nb, qb, dk]),
    kT: tf.transpose(tf.reshape(gatherRows(k, layout.keySlots), [nb, bk, dk]), [0, 2, 1]),
    v: tf.reshape(gatherRows(vAug, layout.keySlots), [nb, bk, dv1]),
    sampled(slots, weights) {
      const m = slots.length;
      const pick = new Float32Array(m * nk); // [m, nk], row l selects sample l's key
      const weighted = new Float32Array(m * nk);
      slots.forEach((u, l) => {
        pick[l * nk + layout.keySlots[u]] = 1;
        weighted[l * nk + layout.keySlots[u]] = weights[l];
      });
      return {
        kT: tf.transpose(tf.matMul(tf.tensor2d(pick, [m, nk]), k)) as Tensor2D, // [dk, m]
        v: tf.matMul(tf.tensor2d(weighted, [m, nk]), vAug), // [m, dv1]
      };
    },
  };
}
