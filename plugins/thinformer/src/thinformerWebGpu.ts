/**
 * KH-Compress(g) on tfjs-webgpu, with no read of tensor values back to the host (Node's webgpu
 * cannot read synchronously, and a read per round would stall the queue). Same algorithm, same
 * draws as the host path (thinformerCoreset.ts), so the same coreset up to float32 rounding:
 *
 *   1. per slice, c = max‖k̃‖² and β = max|v| over the stride-thinned points, k̃ = sqrt(s)·k
 *      (one dispatch; the thinning is an index rule, never a copy);
 *   2. per round, one dispatch: a workgroup per bucket runs the self-balancing walk. Pair i's
 *      sign needs a_i = ⟨σ, ψ_i⟩ after every earlier sign, so the M steps run in order inside
 *      the workgroup (one barrier each) while the a_j updates spread over its threads; the G
 *      entries each step needs are formed from κ evaluated on the fly, never stored.
 * So a coreset of R rounds is R + 1 dispatches: in Node each tfjs-webgpu dispatch costs
 * ≈ 0.2 ms of host work, which at these sizes is more than the GPU work (a first form with κ as
 * batched tfjs products took ≈ 10 dispatches per round).
 *
 * The thresholds U_i ~ Uniform(−Λ, Λ) and the symmetrisation coin are data-independent, so they
 * are drawn on the host from the same seeded stream as the host path and uploaded. The running
 * sums a_j are kept as float32 pairs (TwoSum compensation): the host walk sums in float64, and a
 * plain float32 sum drifts enough over M ≈ 10³ terms to flip decisions near their threshold.
 *
 * Shape legend: s slices (b·h), n thinned points, m points entering a round, S bucket size,
 * M = S/2 pairs, B = m/S buckets per slice. Work per round O(s·m·S·(dk + dv)), memory O(s·m).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { compressPlan, type CompressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';

const WORKGROUP = 256;

/** Coreset positions kept on the device. */
export interface DeviceCoreset {
  readonly plan: CompressPlan;
  /** [s, nOut] int32 positions into the key axis, increasing within a slice. */
  readonly indices: Tensor2D;
}

/** WGSL: max tree over `red[0..256)` into red[0] (constant bounds keep barriers in uniform control flow). */
const TREE_MAX = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { red[tid] = max(red[tid], red[tid + stride]); }
          workgroupBarrier();
        }`;

/**
 * Per slice, over the stride-thinned points lo + j·stride (j < n): c = max‖k̃‖² with
 * k̃ = sqrt(s)·k rounded per coordinate as the host does, and β = max|v| → [s, 2].
 */
function sliceStats(k: Tensor3D, v: Tensor3D, lo: number, plan: CompressPlan, root: number): Tensor2D {
  const [slices, nk, dk] = k.shape;
  const dv = v.shape[2];
  return runWebGpuProgram(
    {
      variableNames: ['K', 'V'],
      outputShape: [slices, 2],
      shaderKey: `swapformerThinformerStats_${dk}_${dv}`,
      dispatch: [slices, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'nk : i32, lo : i32, n : i32, stride : i32, slices : i32, root : f32,',
      getUserCode: () => `
        var<workgroup> red : array<f32, ${WORKGROUP}>;
        fn main(index : i32) {
          let slice = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
          let tid = i32(localIndex);
          var norm = 0.0;
          var largest = 0.0;
          for (var j = tid; j < uniforms.n; j += ${WORKGROUP}) {
            let row = slice * uniforms.nk + uniforms.lo + j * uniforms.stride;
            var sq = 0.0;
            for (var c = 0; c < ${dk}; c++) { let x = K[row * ${dk} + c] * uniforms.root; sq = sq + x * x; }
            norm = max(norm, sq);
            for (var c = 0; c < ${dv}; c++) { largest = max(largest, abs(V[row * ${dv} + c])); }
          }
          red[tid] = norm;
          workgroupBarrier();
          ${TREE_MAX}
          let shift = red[0];
          workgroupBarrier();
          red[tid] = largest;
          workgroupBarrier();
          ${TREE_MAX}
          if (tid == 0 && ${WORKGROUP_INDEX} < uniforms.slices) {
            result[slice * 2] = shift;
            result[slice * 2 + 1] = red[0];
          }
        }`,
    },
    [k, v],
    [int(nk), int(lo), int(plan.n), int(plan.stride), int(slices), float32Uniform(root)],
  ) as Tensor2D;
}

/**
 * WGSL of one halving round for buckets of M pairs, κ computed on the fly from the raw rows:
 *   κ(a, b) = exp(⟨k̃_a, k̃_b⟩ − c) · (⟨v_a, v_b⟩ + β²),  k̃ = sqrt(s)·k,
 * so a round is one dispatch and no [S, S] kernel is ever stored. Thread t owns a_j for
 * j = t + 256·e, e < PER. Step i's owner decides the sign and publishes it (double-buffered, so
 * one barrier per step); every thread then adds ±G[i, j] to its a_j for j > i, with
 * G[i, j] = (κ(2i,2j) − κ(2i,2j+1)) − (κ(2i+1,2j) − κ(2i+1,2j+1)) in float32, the host's order.
 */
function walkWgsl(pairs: number, dk: number, dv: number): string {
  const per = Math.ceil(pairs / WORKGROUP);
  const S = 2 * pairs;
  return `
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> runningMax : f32;
    fn kappa(a : i32, b : i32, shift : f32, beta2 : f32) -> f32 {
      var logit = 0.0;
      for (var c = 0; c < ${dk}; c++) { logit = logit + (K[a * ${dk} + c] * uniforms.root) * (K[b * ${dk} + c] * uniforms.root); }
      var dot = 0.0;
      for (var c = 0; c < ${dv}; c++) { dot = dot + V[a * ${dv} + c] * V[b * ${dv} + c]; }
      return exp(logit - shift) * (dot + beta2);
    }
    fn main(index : i32) {
      let bucket = ${WORKGROUP_INDEX};
      let valid = bucket < uniforms.buckets;
      let b = min(bucket, uniforms.buckets - 1);
      let slice = b / uniforms.bucketsPerSlice;
      let tid = i32(localIndex);
      let shift = stats[slice * 2];
      let beta2 = stats[slice * 2 + 1] * stats[slice * 2 + 1];
      let rowBase = slice * uniforms.nk + uniforms.lo;
      var hi : array<f32, ${per}>;
      var lo : array<f32, ${per}>;
      for (var e = 0; e < ${per}; e++) { hi[e] = 0.0; lo[e] = 0.0; }
      if (tid == 0) { runningMax = 0.0; }
      workgroupBarrier();
      for (var i = 0; i < ${pairs}; i++) {
        let even = rowBase + i32(points[b * ${S} + 2 * i]) * uniforms.stride;
        let odd = rowBase + i32(points[b * ${S} + 2 * i + 1]) * uniforms.stride;
        if (tid == i % ${WORKGROUP}) {
          let gii = (kappa(even, even, shift, beta2) - kappa(even, odd, shift, beta2)) - (kappa(odd, even, shift, beta2) - kappa(odd, odd, shift, beta2));
          let r = sqrt(max(gii, 0.0)); // cancellation can make G_ii slightly negative
          let c = max(runningMax, r);
          runningMax = c;
          let threshold = uniformDraws[b * ${pairs} + i] * r * c;
          var swap = 0;
          if (i > 0 && threshold <= hi[i / ${WORKGROUP}]) { swap = 1; }
          signs[i & 1] = swap;
          if (valid) { result[b * ${pairs} + i] = points[b * ${S} + 2 * i + (swap ^ uniforms.flip)]; }
        }
        workgroupBarrier();
        let sign = 1.0 - 2.0 * f32(signs[i & 1]);
        for (var e = 0; e < ${per}; e++) {
          let j = tid + e * ${WORKGROUP};
          if (j > i && j < ${pairs}) {
            let e2 = rowBase + i32(points[b * ${S} + 2 * j]) * uniforms.stride;
            let o2 = rowBase + i32(points[b * ${S} + 2 * j + 1]) * uniforms.stride;
            let g = (kappa(even, e2, shift, beta2) - kappa(even, o2, shift, beta2)) - (kappa(odd, e2, shift, beta2) - kappa(odd, o2, shift, beta2));
            // TwoSum: hi + lo carries the running sum to about twice float32's precision
            let x = sign * g;
            let s = hi[e] + x;
            let bb = s - hi[e];
            lo[e] = lo[e] + ((hi[e] - (s - bb)) + (x - bb));
            let t = s + lo[e];
            lo[e] = lo[e] - (t - s);
            hi[e] = t;
          }
        }
      }
    }
  `;
}

/** One halving round of every bucket of a group of slices: points [g, m] → survivors [g·m/2] (float32 positions into the thinned sequence). */
function runRound(k: Tensor3D, v: Tensor3D, stats: Tensor2D, points: Tensor2D, draws: Float32Array, flip: boolean, S: number, lo: number, stride: number, root: number): Tensor {
  const [slices, m] = points.shape;
  const [, nk, dk] = k.shape;
  const dv = v.shape[2];
  const pairs = S / 2;
  const buckets = (slices * m) / S;
  return tf.tidy(() =>
    runWebGpuProgram(
      {
        variableNames: ['K', 'V', 'stats', 'points', 'uniformDraws'],
        outputShape: [buckets * pairs],
        shaderKey: `swapformerThinformerRound_${pairs}_${dk}_${dv}`,
        dispatch: [buckets, 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'buckets : i32, bucketsPerSlice : i32, nk : i32, lo : i32, stride : i32, flip : i32, root : f32,',
        getUserCode: () => walkWgsl(pairs, dk, dv),
      },
      [k, v, stats, points, tf.tensor1d(draws)],
      [int(buckets), int(m / S), int(nk), int(lo), int(stride), int(flip ? 1 : 0), float32Uniform(root)],
    ),
  );
}

/**
 * KH-Compress(g) on keys [lo, hi) of every slice of k [s, nk, dk], v [s, nk, dv], on the webgpu
 * backend. The result's positions equal the host path's (`coresetOfRange`) up to walk decisions
 * sitting within float32 rounding of their threshold.
 *
 * @example const { indices } = deviceCoresetOfRange(k3, v3, 0, 4096, { g: 2, delta: 0.5, seed: 0, scale: 0.125 }); // [s, 128]
 */
export function deviceCoresetOfRange(k: Tensor3D, v: Tensor3D, lo: number, hi: number, options: CoresetOptions & { readonly scale: number }): DeviceCoreset {
  const slices = k.shape[0];
  const plan = compressPlan(hi - lo, options.g, options.delta);
  const { n, stride, nOut } = plan;
  const strided = Int32Array.from({ length: n }, (_, j) => lo + j * stride);
  if (plan.rounds.length === 0) return { plan, indices: tf.tidy(() => tf.tile(tf.tensor2d(strided, [1, n], 'int32'), [slices, 1])) as Tensor2D };
  // the host rounds k·sqrt(s) to float32 from a float64 root; the device multiplies by the float32 root
  const root = Math.fround(Math.sqrt(options.scale));
  return {
    plan,
    indices: tf.tidy(() => {
      const stats = sliceStats(k, v, lo, plan, root); // [s, 2]: c, β
      let points = tf.tile(tf.tensor2d(Float32Array.from({ length: n }, (_, j) => j), [1, n]), [slices, 1]) as Tensor2D;
      plan.rounds.forEach((round, r) => {
        const { points: m, bucketSize: S, buckets, threshold } = round;
        const M = S / 2;
        // the host path's draws, in its order: every slice's thresholds, then one shared coin
        const rng = createSeededRandom(deriveSeed(options.seed, 'halve', r));
        const draws = rng.fillUniform(new Float32Array(slices * buckets * M), -threshold, threshold);
        const flip = rng.uniform() < 0.5;
        points = tf.reshape(runRound(k, v, stats, points, draws, flip, S, lo, stride, root), [slices, m / 2]) as Tensor2D;
      });
      return tf.cast(tf.add(tf.mul(tf.reshape(points, [slices, nOut]), stride), lo), 'int32') as Tensor2D;
    }),
  };
}

/** Rows `indices` [s, m] (int32) of x [s, n, d] → [s, m, d]. */
export function gatherSliceRows(x: Tensor3D, indices: Tensor2D): Tensor3D {
  return tf.gather(x, indices, 1, 1) as Tensor3D;
}

/** [b, h, n, d] → [b·h, n, d]. */
export function asSlices(x: Tensor4D): Tensor3D {
  const [b, h, n, d] = x.shape;
  return tf.reshape(x, [b * h, n, d]) as Tensor3D;
}
