/**
 * KDEformer with every data-dependent step on the device (the webgpu backend, which cannot read
 * tensors back synchronously): LSH ids and the stable bucket sort of keys and queries together
 * (lshSortWebGpu.ts), σ², the sampling CDF and the draws, and the fused block + residual attention
 * (kdeResidualWebGpu.ts) — four dispatches and one upload per call, since in Node each dispatch
 * costs more host time than these programs take on a GPU. The random inputs — hyperplanes, the
 * power-iteration start and the sample uniforms — do not depend on the data, so they are drawn on
 * the host from the same seeded streams as the host path (deviceGeometry.ts): same seeds, same
 * estimator, same error statistics.
 *
 * No key-padding mask and no gradient on this path. Shapes: q [b, h, nq, dk], k [b, h, nk, dk],
 * v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { uploadFloat32, type DeviceUploadCache, type FusedAttentionDims } from '@swapformer/kernels';
import { deviceGeometry, drawInputs, drawnLength, type QueryPlacement, type SliceSource } from './deviceGeometry';
import { blockResidualAttention, MAX_DEVICE_DIM, sampleResidual } from './kdeResidualWebGpu';
import type { KdeformerAttentionOptions } from './kdeformerOptions';
import { hashTiles, MAX_DEVICE_PROJECTIONS, sortTiles, TILE } from './lshSortWebGpu';

export type { QueryPlacement } from './deviceGeometry';

/**
 * KDEformer attention on the device (webgpu). Same options and seeds as `kdeformerAttention`.
 *
 * @example const out = deviceKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function deviceKdeformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions, uploads?: DeviceUploadCache): Tensor4D {
  return deviceKdeformer(q, k, v, options, 'rank', false, uploads);
}

/**
 * The output and log D̃ (log of the estimated softmax denominator) of every query, [b, h, nq, 1]:
 * what a log-sum-exp merge of partial attentions needs (causalKdeformer.ts).
 *
 * @example const { out, logSumExp } = deviceKdeformerPart(q, k, v, options, 'bucket');
 */
export function deviceKdeformerPart(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions, placement: QueryPlacement): { out: Tensor4D; logSumExp: Tensor4D } {
  const dv = v.shape[3];
  return tf.tidy(() => {
    const both = deviceKdeformer(q, k, v, options, placement, true);
    return { out: tf.slice(both, [0, 0, 0, 0], [-1, -1, -1, dv]), logSumExp: tf.slice(both, [0, 0, 0, dv], [-1, -1, -1, 1]) };
  });
}

function deviceKdeformer(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions, placement: QueryPlacement, withLogSumExp: boolean, uploads?: DeviceUploadCache): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const [, , nk, dv] = v.shape;
  const seed = options.seed;
  const sampleSeed = options.sampleSeed ?? options.seed;
  const own: SliceSource = (bi, hi) => ({ seed, sampleSeed, bi, hi, keyRow: (bi * h + hi) * nk, queryRow: (bi * h + hi) * nq, keys: nk, queries: nq });
  return tf.tidy(() => {
    const out = deviceKdeformerSlices(q, k, v, { b, h, nq, nk, dk, dv }, options, placement, withLogSumExp, own, uploads);
    return tf.reshape(out, [b, h, nq, out.shape[2]]) as Tensor4D;
  });
}

/**
 * The slices a device call sees: b·h of them, each at most nq queries against at most nk keys (the
 * sources give each slice's counts; the rank placement takes full slices only) — the sizes of a
 * fused attention call.
 */
export type SliceView = FusedAttentionDims;

/**
 * The device KDEformer of s = b·h slices → [s, nq, dv] (dv + 1 with `withLogSumExp`), in four
 * dispatches: hash + ‖vaug‖ + partial Gram, the bucket sort with the query blocks, σ² + CDF +
 * draws (m > 0), the attention. q, k, v are any tensors whose flattened rows hold each slice's
 * queries and keys where `sources` says, with each slice's seeds (the causal split batches its
 * parts as extra heads of one call, each with its own seeds and rows).
 */
export function deviceKdeformerSlices(q: Tensor, k: Tensor, v: Tensor, view: SliceView, options: KdeformerAttentionOptions, placement: QueryPlacement, withLogSumExp: boolean, sources: SliceSource, uploads?: DeviceUploadCache): Tensor3D {
  const { b, h, nq, nk, dk, dv } = view;
  const s = b * h;
  if (options.mask) {
    throw new SwapformerError('unsupported', `KDEformer on backend '${tf.getBackend()}' takes no key-padding mask (its device path sorts every key).\n  Use backend 'wasm' or 'cpu' for masked calls.`);
  }
  if (dk > MAX_DEVICE_DIM || dv > MAX_DEVICE_DIM) {
    throw new SwapformerError('unsupported', `KDEformer on backend '${tf.getBackend()}' takes head dims up to ${MAX_DEVICE_DIM}, got dk = ${dk}, dv = ${dv}.\n  Use backend 'wasm' or 'cpu' for wider heads.`);
  }
  if (options.projections > MAX_DEVICE_PROJECTIONS) {
    throw new SwapformerError('unsupported', `KDEformer on backend '${tf.getBackend()}' sorts at most 2^${MAX_DEVICE_PROJECTIONS} buckets, got projections = ${options.projections}.\n  Use projections ≤ ${MAX_DEVICE_PROJECTIONS}, or backend 'wasm' or 'cpu'.`);
  }
  const geo = deviceGeometry(s, nk, nq, dk, dv, TILE, options, placement);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const length = drawnLength(geo);
  // the draws follow from the geometry and every slice's seeds and rows alone
  const key = () => `kdeformer ${JSON.stringify({ geo, sources: Array.from({ length: b * h }, (_, i) => sources(Math.floor(i / h), i % h)) })}`;
  return tf.tidy(() => {
    const drawn = uploads ? uploads.tensor(key(), [length], () => drawInputs(b, h, geo, sources)) : uploadFloat32(drawInputs(b, h, geo, sources), [length]);
    const hashed = hashTiles(k, q, v, drawn, geo);
    const sorted = sortTiles(hashed, drawn, geo);
    const samples = geo.m > 0 ? sampleResidual(sorted, drawn, geo) : drawn;
    return blockResidualAttention(q, k, v, sorted, samples, drawn, geo, scale, withLogSumExp);
  });
}
