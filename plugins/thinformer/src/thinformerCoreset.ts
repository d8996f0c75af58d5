/**
 * KH-Compress(g) with the attention kernel: the Thinformer coreset of key–value pairs
 * (Carrell, Gong, Shetty, Dwivedi, Mackey — "Low-Rank Thinning", ICML 2025,
 * https://arxiv.org/abs/2502.12063; spec §2).
 *
 *   1. stride-thin the nk keys to n = 4^floor(log4 nk) evenly spaced positions;
 *   2. unless n < 4^(g+1), run R = log4 n − g rounds: cut the sequence into consecutive buckets
 *      of S = 4^(g+1)·2^round points and halve each bucket by kernel halving (self-balancing
 *      walk on the pair-difference Gram matrix of κ), keeping the surviving halves in order;
 *   3. return the 2^g·sqrt(n) survivors as positions into the original key axis.
 *
 * Shapes: k [b, h, nk, dk], v [b, h, nk, dv] → indices [b, h, nOut] (int32, increasing).
 * Time O(4^g · n · log n · (dk + dv)) for the kernels, O(4^g · n · log n) scalar walk updates;
 * memory O(n · 4^(g+1)) per (b, h) slice for G, processed in slice groups of at most 16 MiB.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, type KernelContext } from '@swapformer/core';
import { compressPlan, type CompressPlan } from './compressPlan';
import { pairDifferenceGrams, type ThinnedPairs } from './pairDifferenceGrams';
import { selfBalancingWalk } from './selfBalancingWalk';
import { wasmPairDifferenceGrams, wasmPairGramSupported } from './wasmPairDifferenceGrams';

/** Default of `CoresetOptions.gramBudget`: 4 Mi floats (16 MiB). */
const GRAM_BUDGET = 1 << 22;

/** Options of KH-Compress(g). */
export interface CoresetOptions {
  /** Oversampling parameter g ≥ 0: the coreset has 2^g·sqrt(n) pairs. */
  readonly g: number;
  /** Failure parameter δ of kernel halving (reference default 0.5). */
  readonly delta: number;
  /** Seed of the walk thresholds and the symmetrisation coins. */
  readonly seed: number;
  /** Logit scale s (default 1/sqrt(dk)); the kernel uses k̃ = sqrt(s)·k. */
  readonly scale?: number;
  /** Most G entries held at once: slices are halved in groups below it (at least one slice). Results do not depend on it. */
  readonly gramBudget?: number;
  /**
   * Where the bucket Gram matrices are computed: `wasm`, the SIMD kernel of pairGramKernel.ts
   * (default where WebAssembly SIMD exists), or `tfjs`, products on the active backend. Both give
   * G to float32 rounding; a walk decision sitting exactly on its threshold may differ.
   */
  readonly gramKernel?: 'wasm' | 'tfjs';
}

/** Wall-clock split of one coreset computation, in milliseconds (for benchmarks). */
export interface CoresetTimings {
  /** Packing, bucket kernel matMuls on tfjs, pulling κ and forming G. */
  kernelMs: number;
  /** Drawing thresholds and the self-balancing walk. */
  walkMs: number;
}

/** Coreset positions of every (batch, head) slice, as plain JS data. */
export interface CoresetPositions {
  readonly plan: CompressPlan;
  /** [b·h, nOut] positions into the original key axis, increasing within a slice. */
  readonly indices: Int32Array;
}

/** Raw keys and values of every (batch, head) slice, as pulled from k [b, h, nk, dk] and v [b, h, nk, dv]. */
export interface KeyValueData {
  readonly slices: number;
  readonly nk: number;
  readonly dk: number;
  readonly dv: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
}

/** Pulls k and v to JS once (callers that thin several key ranges share it). */
export function keyValueData(k: Tensor4D, v: Tensor4D): KeyValueData {
  const [b, h, nk, dk] = k.shape;
  return { slices: b * h, nk, dk, dv: v.shape[3], keys: k.dataSync() as Float32Array, values: v.dataSync() as Float32Array };
}

/** Stride-thinned copies of keys lo, lo + stride, … (scaled by sqrt(scale)) and values, plus c and β per slice. */
function thinPairs(data: KeyValueData, lo: number, plan: CompressPlan, scale: number): ThinnedPairs {
  const { slices, dk, dv } = data;
  const { n, stride } = plan;
  const keys = new Float32Array(slices * n * dk);
  const values = new Float32Array(slices * n * dv);
  const shift = new Float64Array(slices);
  const beta = new Float64Array(slices);
  const root = Math.sqrt(scale);
  for (let s = 0; s < slices; s++) {
    let maxNorm = 0;
    let maxAbs = 0;
    for (let j = 0; j < n; j++) {
      const row = s * data.nk + lo + j * stride;
      const kTo = (s * n + j) * dk;
      let norm = 0;
      for (let e = 0; e < dk; e++) {
        const x = Math.fround(data.keys[row * dk + e] * root);
        keys[kTo + e] = x;
        norm += x * x;
      }
      if (norm > maxNorm) maxNorm = norm;
      const vTo = (s * n + j) * dv;
      for (let e = 0; e < dv; e++) {
        const x = data.values[row * dv + e];
        values[vTo + e] = x;
        if (Math.abs(x) > maxAbs) maxAbs = Math.abs(x);
      }
    }
    shift[s] = maxNorm;
    beta[s] = maxAbs;
  }
  return { slices, n, dk, dv, keys, values, shift, beta };
}

/** The stride-thinned positions lo, lo + stride, … of every slice: the coreset when no halving applies. */
function stridePositions(slices: number, lo: number, plan: CompressPlan): Int32Array {
  const indices = new Int32Array(slices * plan.n);
  for (let s = 0; s < slices; s++) for (let j = 0; j < plan.n; j++) indices[s * plan.n + j] = lo + j * plan.stride;
  return indices;
}

/**
 * KH-Compress(g) on the keys [lo, hi) of every slice: positions into the key axis (in [lo, hi)),
 * as JS data. Pass `timings` to accumulate the kernel/walk split.
 *
 * @example const { indices, plan } = coresetOfRange(kernels, keyValueData(k, v), 0, 1024, { g: 2, delta: 0.5, seed: 0, scale: 0.125 });
 */
export function coresetOfRange(kernels: KernelContext, data: KeyValueData, lo: number, hi: number, options: CoresetOptions & { readonly scale: number }, timings?: CoresetTimings): CoresetPositions {
  const { slices } = data;
  const plan = compressPlan(hi - lo, options.g, options.delta);
  const { n, stride, nOut } = plan;
  if (plan.rounds.length === 0) return { plan, indices: stridePositions(slices, lo, plan) };
  let started = performance.now();
  if (options.gramKernel !== undefined && options.gramKernel !== 'wasm' && options.gramKernel !== 'tfjs') {
    throw new RangeError(`thinformer coreset: gramKernel must be 'wasm' or 'tfjs', got ${JSON.stringify(options.gramKernel)}`);
  }
  const useWasm = (options.gramKernel ?? (wasmPairGramSupported(kernels) ? 'wasm' : 'tfjs')) === 'wasm';
  const pairs = thinPairs(data, lo, plan, options.scale);
  // current survivors of every slice, as positions into the thinned sequence
  let points = new Int32Array(slices * n);
  for (let s = 0; s < slices; s++) for (let j = 0; j < n; j++) points[s * n + j] = j;
  plan.rounds.forEach((round, r) => {
    const { points: m, bucketSize: S, threshold } = round;
    const M = S / 2;
    const rng = createSeededRandom(deriveSeed(options.seed, 'halve', r));
    const uniforms = rng.fillUniform(new Float32Array(slices * round.buckets * M), -threshold, threshold);
    // one symmetrisation coin per halving call, shared by all slices and buckets (as the reference)
    const flip = rng.uniform() < 0.5;
    const next = new Int32Array((slices * m) / 2);
    // slices go through in groups so G stays within the budget; the draws above are indexed globally
    const group = Math.max(1, Math.floor((options.gramBudget ?? GRAM_BUDGET) / (round.buckets * M * M)));
    for (let from = 0; from < slices; from += group) {
      const to = Math.min(slices, from + group);
      const gram = useWasm ? wasmPairDifferenceGrams(kernels, pairs, points, m, S, from, to) : pairDifferenceGrams(pairs, points, m, S, from, to);
      if (timings) timings.kernelMs += performance.now() - started;
      started = performance.now();
      const buckets = (to - from) * round.buckets;
      const swaps = selfBalancingWalk(gram, buckets, M, uniforms.subarray(from * round.buckets * M, to * round.buckets * M), flip);
      // bucket t of a slice holds points [t·S, (t+1)·S) and leaves its survivors at [t·M, (t+1)·M)
      const first = (from * m) / 2;
      for (let p = 0; p < swaps.length; p++) next[first + p] = points[2 * (first + p) + swaps[p]];
      if (timings) timings.walkMs += performance.now() - started;
      started = performance.now();
    }
    points = next;
  });
  const indices = new Int32Array(slices * nOut);
  for (let p = 0; p < indices.length; p++) indices[p] = lo + points[p] * stride;
  return { plan, indices };
}

/**
 * KH-Compress(g) on all keys: the coreset positions of every slice as JS data (no tensors kept).
 *
 * @example const { indices, plan } = coresetPositions(kernels, k, v, { g: 2, delta: 0.5, seed: 0 }); // [b·h, plan.nOut]
 */
export function coresetPositions(kernels: KernelContext, k: Tensor4D, v: Tensor4D, options: CoresetOptions, timings?: CoresetTimings): CoresetPositions {
  const [b, h, nk, dk] = k.shape;
  const plan = compressPlan(nk, options.g, options.delta);
  // without halving only positions are needed: skip pulling k and v
  if (plan.rounds.length === 0) return { plan, indices: stridePositions(b * h, 0, plan) };
  return coresetOfRange(kernels, keyValueData(k, v), 0, nk, { ...options, scale: options.scale ?? 1 / Math.sqrt(dk) }, timings);
}

/**
 * The Thinformer coreset of every (batch, head) slice: `[b, h, nOut]` int32 positions into the
 * key axis, increasing, with nOut = 2^g·sqrt(n) (or n when no halving applies).
 *
 * @example
 * const idx = thinformerCoreset(kernels, k, v, { g: 2, delta: 0.5, seed: 0 }); // k: [1, 4, 3136, 64] → [1, 4, 128]
 */
export function thinformerCoreset(kernels: KernelContext, k: Tensor4D, v: Tensor4D, options: CoresetOptions): Tensor3D {
  const [b, h] = k.shape;
  const { indices, plan } = coresetPositions(kernels, k, v, options);
  return tf.tensor3d(indices, [b, h, plan.nOut], 'int32');
}
