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
import type { KdeformerAttentionOptions } from './kdeformer';
import { sortByBucketOnDevice } from './lshSortWebGpu';

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
    const sortedKeys = sortByBucketOnDevice(ks, planes);
    const sortedQueries = sortByBucketOnDevice(qs, planes);
    let samples: tf.Tensor = tf.zeros([1, 1, 2]);
    if (m > 0) {
      const vaug = tf.concat([vs, tf.ones([s, nk, 1])], 2);
      const gram = tf.matMul(vaug, vaug, true, false) as Tensor3D; // [s, dv1, dv1]; order-free, so unsorted
      const cdf = samplingCdf(gram, tf.tensor2d(drawn.start, [s, dv + 1]), vs, sortedKeys);
      samples = drawSamples(cdf, tf.tensor2d(drawn.uniforms, [s, m]) as Tensor2D, vs, sortedKeys);
    }
    const out = blockResidualAttention(qs, ks, vs, sortedQueries, sortedKeys, tf.tensor1d(queryBlocks(nq, nk, bk)), samples, m, bk, scale);
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
