/**
 * KDEformer with every data-dependent step on the device (the webgpu backend, which cannot read
 * tensors back synchronously): LSH ids and the stable bucket sort (lshSortWebGpu.ts), σ², the
 * sampling CDF and the draws, and the fused block + residual attention (kdeResidualWebGpu.ts).
 * The random inputs — hyperplanes, the power-iteration start and the sample uniforms — do not
 * depend on the data, so they are drawn on the host from the same seeded streams as the host
 * path (slicePlan.ts) and uploaded: same seeds, same estimator, same error statistics.
 *
 * No key-padding mask and no gradient on this path. Shapes: q [b, h, nq, dk], k [b, h, nk, dk],
 * v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, SwapformerError } from '@swapformer/core';
import { drawHyperplanes } from './angularLsh';
import { blockResidualAttention, drawSamples, MAX_DEVICE_DIM, samplingCdf } from './kdeResidualWebGpu';
import type { KdeformerAttentionOptions } from './kdeformerOptions';
import { bucketSortOnDevice, type DeviceBucketSort } from './lshSortWebGpu';

/** Host-drawn random inputs of every slice, from the host path's seeded streams. */
function drawInputs(b: number, h: number, dk: number, dv: number, options: KdeformerAttentionOptions): { planes: Float32Array; start: Float32Array; uniforms: Float32Array } {
  const r = options.projections;
  const m = options.samples;
  const dv1 = dv + 1;
  const planes = new Float32Array(b * h * r * dk);
  const start = new Float32Array(b * h * dv1);
  const uniforms = new Float32Array(b * h * m);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const slice = bi * h + hi;
      planes.set(drawHyperplanes(createSeededRandom(deriveSeed(options.seed, 'lsh', bi, hi)), dk, r), slice * r * dk);
      const power = createSeededRandom(deriveSeed(options.seed, 'power', bi, hi));
      const x = Float64Array.from({ length: dv1 }, () => power.normal());
      const norm = Math.hypot(...x) || 1;
      x.forEach((value, i) => (start[slice * dv1 + i] = value / norm));
      const draws = createSeededRandom(deriveSeed(options.sampleSeed ?? options.seed, 'samples', bi, hi));
      for (let t = 0; t < m; t++) uniforms[slice * m + t] = draws.uniform();
    }
  }
  return { planes, start, uniforms };
}

/**
 * The key block of each sorted query rank: blockLayout.ts's split (rank ρ sits at key position
 * ρ·nk/nq), which depends only on the sizes when no key is hidden.
 */
function queryBlocks(nq: number, nk: number, keysPerBlock: number): Float32Array {
  const blocks = Math.ceil(nk / keysPerBlock);
  const out = new Float32Array(nq);
  for (let t = 0; t < blocks; t++) {
    const from = Math.min(nq, Math.ceil((t * keysPerBlock * nq) / nk));
    const to = t + 1 === blocks ? nq : Math.min(nq, Math.ceil(((t + 1) * keysPerBlock * nq) / nk));
    out.fill(t, from, to);
  }
  return out;
}

/**
 * KDEformer attention on the device (webgpu). Same options and seeds as `kdeformerAttention`.
 *
 * @example const out = deviceKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function deviceKdeformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): Tensor4D {
  return deviceKdeformer(q, k, v, options, 'rank', false);
}

/**
 * Where queries go: `rank`, the practical algorithm's split of the sorted queries (blockLayout.ts);
 * `bucket`, the block holding the middle of the query's own bucket (bucketQueryKde.ts), which
 * does not depend on the other queries (what the causal split needs).
 */
export type QueryPlacement = 'rank' | 'bucket';

/** [s, nq] query at each entry and [s, nq] its key block, for either placement. */
function placeQueries(qs: Tensor3D, planes: Tensor3D, keys: DeviceBucketSort, nk: number, bk: number, placement: QueryPlacement): { order: Tensor2D; blocks: Tensor2D } {
  const [s, nq] = qs.shape;
  const sortedQueries = bucketSortOnDevice(qs, planes);
  if (placement === 'rank') return { order: sortedQueries.order, blocks: tf.tile(tf.tensor2d(queryBlocks(nq, nk, bk), [1, nq]), [s, 1]) as Tensor2D };
  const ids = tf.cast(sortedQueries.ids, 'int32');
  const first = tf.gather(keys.starts, ids, 1, 1);
  const count = tf.sub(tf.gather(keys.starts, tf.add(ids, tf.scalar(1, 'int32')), 1, 1), first);
  const middle = tf.minimum(tf.add(first, tf.floor(tf.div(count, 2))), nk - 1);
  return { order: tf.tile(tf.reshape(tf.range(0, nq, 1, 'float32'), [1, nq]), [s, 1]) as Tensor2D, blocks: tf.floor(tf.div(middle, bk)) as Tensor2D };
}

/**
 * The output and log D̃ (log of the estimated softmax denominator) of every query, [b, h, nq, 1]:
 * what a log-sum-exp merge of partial attentions needs (causalKdeformer.ts).
 *
 * @example const { out, logSumExp } = deviceKdeformerPart(q, k, v, options);
 */
export function deviceKdeformerPart(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions, placement: QueryPlacement): { out: Tensor4D; logSumExp: Tensor4D } {
  const dv = v.shape[3];
  return tf.tidy(() => {
    const both = deviceKdeformer(q, k, v, options, placement, true);
    return { out: tf.slice(both, [0, 0, 0, 0], [-1, -1, -1, dv]), logSumExp: tf.slice(both, [0, 0, 0, dv], [-1, -1, -1, 1]) };
  });
}

function deviceKdeformer(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions, placement: QueryPlacement, withLogSumExp: boolean): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const [, , nk, dv] = v.shape;
  if (options.mask) {
    throw new SwapformerError('unsupported', `KDEformer on backend '${tf.getBackend()}' takes no key-padding mask (its device path sorts every key).\n  Use backend 'wasm' or 'cpu' for masked calls.`);
  }
  if (dk > MAX_DEVICE_DIM || dv > MAX_DEVICE_DIM) {
    throw new SwapformerError('unsupported', `KDEformer on backend '${tf.getBackend()}' takes head dims up to ${MAX_DEVICE_DIM}, got dk = ${dk}, dv = ${dv}.\n  Use backend 'wasm' or 'cpu' for wider heads.`);
  }
  const s = b * h;
  const m = options.samples;
  const bk = Math.min(options.blockSize, nk);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const drawn = drawInputs(b, h, dk, dv, options);
  return tf.tidy(() => {
    const [qs, ks, vs] = [q, k, v].map((x) => tf.reshape(x, [s, x.shape[2], x.shape[3]]) as Tensor3D);
    const planes = tf.tensor3d(drawn.planes, [s, options.projections, dk]);
    const keys = bucketSortOnDevice(ks, planes);
    const sortedKeys = keys.order;
    const queries = placeQueries(qs, planes, keys, nk, bk, placement);
    let samples: tf.Tensor = tf.zeros([1, 1, 2]);
    if (m > 0) {
      const vaug = tf.concat([vs, tf.ones([s, nk, 1])], 2);
      const gram = tf.matMul(vaug, vaug, true, false) as Tensor3D; // [s, dv1, dv1]; order-free, so unsorted
      const cdf = samplingCdf(gram, tf.tensor2d(drawn.start, [s, dv + 1]), vs, sortedKeys);
      samples = drawSamples(cdf, tf.tensor2d(drawn.uniforms, [s, m]) as Tensor2D, vs, sortedKeys);
    }
    const out = blockResidualAttention(qs, ks, vs, queries.order, sortedKeys, queries.blocks, samples, m, bk, scale, withLogSumExp);
    return tf.reshape(out, [b, h, nq, out.shape[2]]) as Tensor4D;
  });
}
