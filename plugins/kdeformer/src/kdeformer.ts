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
 *
 * Time O(b·h·(n·dk·r + nq·(bk + m)·(dk + dv))), memory O(nq·(bk + m)) per slice: linear in n
 * for fixed b and m.
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, nv visible keys, dk, dv, dv1 = dv + 1,
 * nb blocks, bk keys per block, qb queries per block, rows = nb·qb, m samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, MASKED_LOGIT } from '@swapformer/core';
import { bucketIds, drawHyperplanes, sortByBucket } from './angularLsh';
import { blockLayout, type BlockLayout } from './blockLayout';
import { drawWithReplacement, samplingProbabilities, topEigenvalue } from './residualSampling';

export interface KdeformerAttentionOptions {
  /** Keys per block of the exact block-diagonal part (the option b). */
  readonly blockSize: number;
  /** Importance samples for the off-block residual; 0 skips it (the option m). */
  readonly samples: number;
  /** Hyperplanes of the angular LSH, 2^r buckets (the option r). */
  readonly projections: number;
  /** Seed of the hyperplanes and of the power-iteration start. */
  readonly seed: number;
  /** Seed of the residual samples (default: `seed`). */
  readonly sampleSeed?: number;
  /** Logit scale s, default 1/sqrt(dk). */
  readonly scale?: number;
  /** `[b, nk]` key-padding mask, 1 keep / 0 hide: hidden keys take no part at all. */
  readonly mask?: Tensor2D;
}

/** The unnormalised sums of one call, in the original query order. */
export interface KdeformerParts {
  /** `[b, h, nq, dv + 1]` exact block-diagonal sums, scaled by exp(−shift). */
  readonly block: Tensor4D;
  /** `[b, h, nq, dv + 1]` sampled off-block sums, scaled by exp(−shift) (zeros when m = 0). */
  readonly residual: Tensor4D;
  /** `[b, h, nq, 1]` per-row exponent shift c_i. */
  readonly shift: Tensor4D;
}

interface SliceSums {
  readonly layout: BlockLayout;
  readonly block: Float32Array; // [rows, dv1]
  readonly residual: Float32Array | null; // [rows, dv1]
  readonly shift: Float32Array; // [rows]
}

interface Inputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly mask: Float32Array | null;
  readonly dims: { readonly b: number; readonly h: number; readonly nq: number; readonly nk: number; readonly dk: number; readonly dv: number };
}

function visibleKeys(inputs: Inputs, bi: number): Int32Array {
  const { nk } = inputs.dims;
  if (!inputs.mask) return Int32Array.from({ length: nk }, (_, j) => j);
  const keep: number[] = [];
  for (let j = 0; j < nk; j++) if (inputs.mask[bi * nk + j] !== 0) keep.push(j);
  return Int32Array.from(keep);
}

/** Steps 1–5 for one slice, in slot order (see blockLayout). */
function sliceSums(inputs: Inputs, bi: number, hi: number, options: KdeformerAttentionOptions): SliceSums {
  const { h, nq, nk, dk, dv } = inputs.dims;
  const dv1 = dv + 1;
  const slice = bi * h + hi;
  const [qOff, kOff, vOff] = [slice * nq * dk, slice * nk * dk, slice * nk * dv];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const r = options.projections;

  // Hash and sort (signs of projections do not depend on the positive scale).
  const planes = drawHyperplanes(createSeededRandom(deriveSeed(options.seed, 'lsh', bi, hi)), dk, r);
  const visible = visibleKeys(inputs, bi);
  const sortedKeys = sortByBucket(bucketIds(inputs.k, kOff, nk, dk, planes, r), visible, 1 << r);
  const allQueries = Int32Array.from({ length: nq }, (_, i) => i);
  const sortedQueries = sortByBucket(bucketIds(inputs.q, qOff, nq, dk, planes, r), allQueries, 1 << r);
  const layout = blockLayout(sortedKeys, nk, sortedQueries, options.blockSize);
  const { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb } = layout;
  const rows = nb * qb;
  const nv = visible.length;
  if (nb === 0) return { layout, block: new Float32Array(0), residual: null, shift: new Float32Array(0) };

  // Sorted, padded copies: queries pre-multiplied by s, keys transposed per block for plain
  // batched products, and Vaug with the ones column.
  const qBlocks = new Float32Array(rows * dk); // [nb, qb, dk]
  for (let p = 0; p < rows; p++) {
    const i = layout.querySlots[p];
    if (i < 0) continue;
    for (let c = 0; c < dk; c++) qBlocks[p * dk + c] = inputs.q[qOff + i * dk + c] * scale;
  }
  const slots = nb * bk;
  const kBlocksT = new Float32Array(nb * dk * bk); // [nb, dk, bk]
  const vBlocks = new Float32Array(slots * dv1); // [nb, bk, dv1]
  const augNorms = new Float64Array(nv); // ‖vaug‖ in rank (= slot) order
  for (let u = 0; u < nv; u++) {
    const j = layout.keySlots[u];
    const t = Math.floor(u / bk);
    const col = u - t * bk;
    for (let c = 0; c < dk; c++) kBlocksT[(t * dk + c) * bk + col] = inputs.k[kOff + j * dk + c];
    let sq = 1;
    for (let c = 0; c < dv; c++) {
      const value = inputs.v[vOff + j * dv + c];
      vBlocks[u * dv1 + c] = value;
      sq += value * value;
    }
    vBlocks[u * dv1 + dv] = 1;
    augNorms[u] = Math.sqrt(sq);
  }

  let sums: Omit<SliceSums, 'layout'> | undefined;
  tf.tidy(() => {
    const q3 = tf.tensor3d(qBlocks, [nb, qb, dk]);
    const v3 = tf.tensor3d(vBlocks, [nb, bk, dv1]);
    let logits = tf.matMul(q3, tf.tensor3d(kBlocksT, [nb, dk, bk])); // [nb, qb, bk]
    if (slots > nv) {
      const pad = new Float32Array(slots);
      pad.fill(MASKED_LOGIT, nv);
      logits = tf.add(logits, tf.tensor3d(pad, [nb, 1, bk]));
    }
    let shift = tf.reshape(tf.max(logits, 2), [rows, 1]); // [rows, 1]

    let residualLogits: Tensor2D | null = null;
    let sampledValues: Tensor2D | null = null;
    const m = options.samples;
    if (m > 0) {
      const vAug = tf.reshape(v3, [slots, dv1]); // padding rows are 0
      const gram = tf.matMul(tf.transpose(vAug), vAug).dataSync(); // [dv1, dv1]; transposeA would take the slow batched kernel
      const sigma2 = topEigenvalue(Float64Array.from(gram), dv1, createSeededRandom(deriveSeed(options.seed, 'power', bi, hi)));
      const p = samplingProbabilities(augNorms, sigma2);
      const drawn = drawWithReplacement(p, m, createSeededRandom(deriveSeed(options.sampleSeed ?? options.seed, 'samples', bi, hi)));
      const kSampledT = new Float32Array(dk * m); // [dk, m]
      const vWeighted = new Float32Array(m * dv1); // [m, dv1], vaug_j / (m·P_j)
      const onBlockBias = new Float32Array(nb * m); // [nb, m]: pairs already in the block part drop out
      for (let l = 0; l < m; l++) {
        const u = drawn[l];
        const j = layout.keySlots[u];
        onBlockBias[Math.floor(u / bk) * m + l] = MASKED_LOGIT;
        for (let c = 0; c < dk; c++) kSampledT[c * m + l] = inputs.k[kOff + j * dk + c];
        const weight = 1 / (m * p[u]);
        for (let c = 0; c < dv1; c++) vWeighted[l * dv1 + c] = vBlocks[u * dv1 + c] * weight;
      }
      const raw = tf.reshape(tf.matMul(tf.reshape(q3, [rows, dk]), tf.tensor2d(kSampledT, [dk, m])), [nb, qb, m]); // rank-2 product
      residualLogits = tf.reshape(tf.add(raw, tf.tensor3d(onBlockBias, [nb, 1, m])), [rows, m]) as Tensor2D;
      shift = tf.maximum(shift, tf.max(residualLogits, 1, true));
      sampledValues = tf.tensor2d(vWeighted, [m, dv1]);
    }

    const block = tf.matMul(tf.exp(tf.sub(logits, tf.reshape(shift, [nb, qb, 1]))), v3); // [nb, qb, dv1]
    const residual = residualLogits && sampledValues ? tf.matMul(tf.exp(tf.sub(residualLogits, shift)), sampledValues) : null; // [rows, dv1]
    sums = {
      block: block.dataSync() as Float32Array,
      residual: residual ? (residual.dataSync() as Float32Array) : null,
      shift: shift.dataSync() as Float32Array,
    };
  });
  return { layout, ...sums! };
}

function readInputs(q: Tensor4D, k: Tensor4D, v: Tensor4D, mask?: Tensor2D): Inputs {
  const [b, h, nq, dk] = q.shape;
  return {
    q: q.dataSync() as Float32Array,
    k: k.dataSync() as Float32Array,
    v: v.dataSync() as Float32Array,
    mask: mask ? (tf.tidy(() => tf.cast(mask, 'float32').dataSync()) as Float32Array) : null,
    dims: { b, h, nq, nk: k.shape[2], dk, dv: v.shape[3] },
  };
}

function forEachSlice(inputs: Inputs, options: KdeformerAttentionOptions, visit: (slice: number, sums: SliceSums) => void): void {
  for (let bi = 0; bi < inputs.dims.b; bi++) {
    for (let hi = 0; hi < inputs.dims.h; hi++) visit(bi * inputs.dims.h + hi, sliceSums(inputs, bi, hi, options));
  }
}

/**
 * KDEformer attention: q `[b, h, nq, dk]`, k `[b, h, nk, dk]`, v `[b, h, nk, dv]` → `[b, h, nq, dv]`.
 * Non-causal. Deterministic given the seeds.
 *
 * @example const out = kdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function kdeformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): Tensor4D {
  const inputs = readInputs(q, k, v, options.mask);
  const { b, h, nq, dv } = inputs.dims;
  const dv1 = dv + 1;
  const out = new Float32Array(b * h * nq * dv); // rows with no visible key stay 0
  forEachSlice(inputs, options, (slice, sums) => {
    if (sums.layout.blocks === 0) return;
    for (let i = 0; i < nq; i++) {
      const row = sums.layout.querySlotOf[i] * dv1;
      const den = sums.block[row + dv] + (sums.residual ? sums.residual[row + dv] : 0);
      for (let c = 0; c < dv; c++) out[(slice * nq + i) * dv + c] = (sums.block[row + c] + (sums.residual ? sums.residual[row + c] : 0)) / den;
    }
  });
  return tf.tensor4d(out, [b, h, nq, dv]);
}

/**
 * The pieces of `kdeformerAttention` before the division: `exp(shift) · (block + residual)` is
 * the unnormalised estimate `[Σ_j w_ij·vaug_j]`, and `exp(shift) · residual` alone is an
 * unbiased estimate of the exact off-block sum. For tests and diagnostics.
 *
 * @example const { block, residual, shift } = kdeformerParts(q, k, v, { blockSize: 8, samples: 16, projections: 3, seed: 1, sampleSeed: 7 });
 */
export function kdeformerParts(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): KdeformerParts {
  const inputs = readInputs(q, k, v, options.mask);
  const { b, h, nq, dv } = inputs.dims;
  const dv1 = dv + 1;
  const block = new Float32Array(b * h * nq * dv1);
  const residual = new Float32Array(b * h * nq * dv1);
  const shift = new Float32Array(b * h * nq);
  forEachSlice(inputs, options, (slice, sums) => {
    if (sums.layout.blocks === 0) return;
    for (let i = 0; i < nq; i++) {
      const row = sums.layout.querySlotOf[i];
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
