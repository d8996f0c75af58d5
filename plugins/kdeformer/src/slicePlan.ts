/**
 * KDEformer's per-slice plan (steps 2–4 of https://arxiv.org/abs/2302.02451), shared by the
 * tfjs-op and the fused CPU paths: the inputs read to JS once, the LSH sort and block layout of
 * each (b, h) slice, and the residual's importance samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, type KernelContext } from '@swapformer/core';
import { bucketIds, drawHyperplanes, sortByBucket } from './angularLsh';
import { blockLayout, type BlockLayout } from './blockLayout';
import type { KdeformerAttentionOptions } from './kdeformerOptions';
import { drawWithReplacement, samplingProbabilities, topEigenvalue } from './residualSampling';
import type { SliceData } from './slotOperands';

/** q, k, v (and the mask) of a call, read to JS once. */
export interface Inputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly mask: Float32Array | null;
  readonly dims: { readonly b: number; readonly h: number; readonly nq: number; readonly nk: number; readonly dk: number; readonly dv: number };
}

/** Steps 2–3 for one slice (JS): hash, sort, block layout, and ‖vaug‖ of the sorted keys. */
export interface SlicePlan {
  readonly layout: BlockLayout;
  readonly data: SliceData;
  /** ‖vaug_j‖ of the visible keys in slot order. */
  readonly augNorms: Float64Array;
}

export function readInputs(q: Tensor4D, k: Tensor4D, v: Tensor4D, mask?: Tensor2D): Inputs {
  const [b, h, nq, dk] = q.shape;
  return {
    q: q.dataSync() as Float32Array,
    k: k.dataSync() as Float32Array,
    v: v.dataSync() as Float32Array,
    mask: mask ? (tf.tidy(() => tf.cast(mask, 'float32').dataSync()) as Float32Array) : null,
    dims: { b, h, nq, nk: k.shape[2], dk, dv: v.shape[3] },
  };
}

/** 0, 1, …, n − 1. */
function indices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

export function planSlice(kernels: KernelContext, inputs: Inputs, bi: number, hi: number, options: KdeformerAttentionOptions): SlicePlan {
  const { h, nq, nk, dk, dv } = inputs.dims;
  const slice = bi * h + hi;
  const data: SliceData = { q: inputs.q, k: inputs.k, v: inputs.v, qOffset: slice * nq * dk, kOffset: slice * nk * dk, vOffset: slice * nk * dv, dk, dv };
  const r = options.projections;
  // Signs of projections do not depend on the positive scale, so hash the raw rows.
  const planes = drawHyperplanes(createSeededRandom(deriveSeed(options.seed, 'lsh', bi, hi)), dk, r);
  const visible = inputs.mask ? indices(nk).filter((j) => inputs.mask![bi * nk + j] !== 0) : indices(nk);
  const sortedKeys = sortByBucket(bucketIds(kernels, inputs.k, data.kOffset, nk, dk, planes, r), visible, 1 << r);
  const sortedQueries = sortByBucket(bucketIds(kernels, inputs.q, data.qOffset, nq, dk, planes, r), indices(nq), 1 << r);
  const layout = blockLayout(sortedKeys, nk, sortedQueries, options.blockSize);
  const augNorms = new Float64Array(sortedKeys.length);
  for (let u = 0; u < sortedKeys.length; u++) {
    const from = data.vOffset + sortedKeys[u] * dv;
    let sq = 1;
    for (let c = from; c < from + dv; c++) sq += inputs.v[c] * inputs.v[c];
    augNorms[u] = Math.sqrt(sq);
  }
  return { layout, data, augNorms };
}

/**
 * Step 4's draws for one slice: m key slots i.i.d. from P_j ∝ ‖vaug_j‖/σ² + 1/nv (σ² the top
 * eigenvalue of VaugᵀVaug) and their weights 1/(m·P_j). `vAug` `[slots, dv1]` has zero padding rows.
 */
export function residualSamples(plan: SlicePlan, vAug: Tensor2D, options: KdeformerAttentionOptions, bi: number, hi: number): { readonly drawn: Int32Array; readonly weights: Float32Array } {
  const m = options.samples;
  const dv1 = vAug.shape[1];
  const gram = tf.tidy(() => tf.matMul(tf.transpose(vAug), vAug).dataSync()); // [dv1, dv1]; transposeA would take the slow batched kernel
  const sigma2 = topEigenvalue(Float64Array.from(gram), dv1, createSeededRandom(deriveSeed(options.seed, 'power', bi, hi)));
  const p = samplingProbabilities(plan.augNorms, sigma2);
  const drawn = drawWithReplacement(p, m, createSeededRandom(deriveSeed(options.sampleSeed ?? options.seed, 'samples', bi, hi))); // key slots
  return { drawn, weights: Float32Array.from(drawn, (u) => 1 / (m * p[u])) };
}
