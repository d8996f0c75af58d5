/**
 * KH-Compress(g) on tfjs-webgpu, with no read of tensor values back to the host (Node's webgpu
 * cannot read synchronously, and a read per round would stall the queue). Same algorithm, same
 * draws as the host path (thinformerCoreset.ts), so the same coreset up to float32 rounding:
 *
 *   1. stride-thin k̃ = sqrt(s)·k and v to n points per slice; c = max‖k̃‖², β = max|v|  (tfjs ops)
 *   2. per round, κ of every bucket as two batched products [k̃, 1]·[k̃, −c]ᵀ and
 *      [v, β]·[v, β]ᵀ, then exp and a product                                          (tfjs ops)
 *   3. the self-balancing walk of every bucket in one WGSL dispatch, one workgroup per bucket:
 *      pair i's sign needs a_i = ⟨σ, ψ_i⟩ after every earlier sign, so the M steps run in order
 *      inside the workgroup (one barrier each) while the a_j updates spread over its threads;
 *      G's rows are formed from κ on the fly, never stored.
 *
 * The thresholds U_i ~ Uniform(−Λ, Λ) and the symmetrisation coin are data-independent, so they
 * are drawn on the host from the same seeded stream as the host path and uploaded. The running
 * sums a_j are kept as float32 pairs (TwoSum compensation): the host walk sums in float64, and a
 * plain float32 sum drifts enough over M ≈ 10³ terms to flip decisions near their threshold.
 *
 * Shape legend: s slices (b·h), n thinned points, m points entering a round, S bucket size,
 * M = S/2 pairs, B = m/S buckets per slice. κ of a round is [s·B, S, S] = s·m·S floats
 * (4^(g+1)·n per slice, every round); slices are grouped so one group's κ stays within the
 * device's storage-binding budget.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { int32Uniform as int, runWebGpuProgram, scoreBlockBytes, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { compressPlan, type CompressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';

const WORKGROUP = 256;

/** Coreset positions kept on the device. */
export interface DeviceCoreset {
  readonly plan: CompressPlan;
  /** [s, nOut] int32 positions into the key axis, increasing within a slice. */
  readonly indices: Tensor2D;
}

/**
 * WGSL of the walk for buckets of M pairs: thread t owns a_j for j = t + 256·e, e < PER. Step i's
 * owner decides the sign and publishes it (double-buffered, so one barrier per step); every
 * thread then adds ±G[i, j] to its a_j for j > i. G[i, j] is formed from κ's 2×2 block exactly as
 * the host does it: (κ[2i,2j] − κ[2i,2j+1]) − (κ[2i+1,2j] − κ[2i+1,2j+1]) in float32.
 */
function walkWgsl(pairs: number): string {
  const per = Math.ceil(pairs / WORKGROUP);
  const S = 2 * pairs;
  return `
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> runningMax : f32;
    fn gramEntry(base : i32, i : i32, j : i32) -> f32 {
      let even = base + 2 * i * ${S} + 2 * j;
      let odd = even + ${S};
      return (kappa[even] - kappa[even + 1]) - (kappa[odd] - kappa[odd + 1]);
    }
    fn main(index : i32) {
      let bucket = ${WORKGROUP_INDEX};
      let valid = bucket < uniforms.buckets;
      let b = min(bucket, uniforms.buckets - 1);
      let tid = i32(localIndex);
      let base = b * ${S * S};
      var hi : array<f32, ${per}>;
      var lo : array<f32, ${per}>;
      for (var e = 0; e < ${per}; e++) { hi[e] = 0.0; lo[e] = 0.0; }
      if (tid == 0) { runningMax = 0.0; }
      workgroupBarrier();
      for (var i = 0; i < ${pairs}; i++) {
        let owner = i % ${WORKGROUP};
        if (tid == owner) {
          let r = sqrt(max(gramEntry(base, i, i), 0.0)); // cancellation can make G_ii slightly negative
          let c = max(runningMax, r);
          runningMax = c;
          let threshold = uniformDraws[b * ${pairs} + i] * r * c;
          var swap = 0;
          if (i > 0 && threshold <= hi[i / ${WORKGROUP}]) { swap = 1; }
          signs[i & 1] = swap;
          if (valid) {
            let kept = 2 * i + (swap ^ uniforms.flip);
            result[b * ${pairs} + i] = points[b * ${S} + kept];
          }
        }
        workgroupBarrier();
        let sign = 1.0 - 2.0 * f32(signs[i & 1]);
        for (var e = 0; e < ${per}; e++) {
          let j = tid + e * ${WORKGROUP};
          if (j > i && j < ${pairs}) {
            // TwoSum: hi + lo carries the running sum to about twice float32's precision
            let x = sign * gramEntry(base, i, j);
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

/** One halving round of the walk: κ [buckets, S, S], draws [buckets·M], points [buckets·S] → survivors [buckets·M] (float32 positions). */
function runWalk(kappa: Tensor3D, draws: Float32Array, points: Tensor, flip: boolean): Tensor {
  const [buckets, S] = kappa.shape;
  const pairs = S / 2;
  return tf.tidy(() =>
    runWebGpuProgram(
      {
        variableNames: ['kappa', 'uniformDraws', 'points'],
        outputShape: [buckets * pairs],
        shaderKey: `swapformerThinformerWalk_${pairs}`,
        dispatch: [buckets, 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'buckets : i32, flip : i32,',
        getUserCode: () => walkWgsl(pairs),
      },
      [kappa, tf.tensor1d(draws), tf.reshape(points, [-1])],
      [int(buckets), int(flip ? 1 : 0)],
    ),
  );
}

/**
 * κ of every bucket of a group of slices: rows [g, m, dk+1] / [g, m, dv+1] already augmented,
 * gathered at `points` [g, m] (float32 positions into n).
 */
function bucketKernels(keyRows: Tensor3D, keyCols: Tensor3D, valueRows: Tensor3D, points: Tensor2D, S: number): Tensor3D {
  return tf.tidy(() => {
    const [g, m] = points.shape;
    const at = tf.cast(points, 'int32');
    const bucketsOf = (x: Tensor3D) => tf.reshape(tf.gather(x, at, 1, 1), [(g * m) / S, S, x.shape[2]]) as Tensor3D;
    const vb = bucketsOf(valueRows);
    const logits = tf.matMul(bucketsOf(keyRows), bucketsOf(keyCols), false, true); // ⟨k̃_a, k̃_b⟩ − c
    return tf.mul(tf.exp(logits), tf.matMul(vb, vb, false, true)) as Tensor3D; // × (⟨v_a, v_b⟩ + β²)
  });
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
  return {
    plan,
    indices: tf.tidy(() => {
      const at = tf.tensor1d(strided, 'int32');
      const keys = tf.mul(tf.gather(k, at, 1), Math.sqrt(options.scale)) as Tensor3D; // [s, n, dk] k̃
      const values = tf.gather(v, at, 1) as Tensor3D; // [s, n, dv]
      const shift = tf.max(tf.sum(tf.square(keys), 2, true), 1, true); // [s, 1, 1] c
      const beta = tf.max(tf.abs(values), [1, 2], true); // [s, 1, 1] β
      const column = (x: Tensor) => tf.broadcastTo(x, [slices, n, 1]);
      const keyRows = tf.concat([keys, column(tf.ones([1, 1, 1]))], 2) as Tensor3D;
      const keyCols = tf.concat([keys, column(tf.neg(shift))], 2) as Tensor3D;
      const valueRows = tf.concat([values, column(beta)], 2) as Tensor3D;
      let points = tf.tile(tf.tensor2d(Float32Array.from({ length: n }, (_, j) => j), [1, n]), [slices, 1]) as Tensor2D;
      plan.rounds.forEach((round, r) => {
        const { points: m, bucketSize: S, buckets, threshold } = round;
        const M = S / 2;
        // the host path's draws, in its order: every slice's thresholds, then one shared coin
        const rng = createSeededRandom(deriveSeed(options.seed, 'halve', r));
        const draws = rng.fillUniform(new Float32Array(slices * buckets * M), -threshold, threshold);
        const flip = rng.uniform() < 0.5;
        const group = Math.max(1, Math.floor(scoreBlockBytes() / (4 * m * S)));
        const survivors: Tensor[] = [];
        for (let from = 0; from < slices; from += group) {
          const to = Math.min(slices, from + group);
          const part = (x: Tensor3D) => tf.slice(x, [from, 0, 0], [to - from, -1, -1]) as Tensor3D;
          const groupPoints = tf.slice(points, [from, 0], [to - from, -1]) as Tensor2D;
          const kappa = bucketKernels(part(keyRows), part(keyCols), part(valueRows), groupPoints, S);
          survivors.push(runWalk(kappa, draws.subarray(from * buckets * M, to * buckets * M), groupPoints, flip));
        }
        points = tf.reshape(survivors.length === 1 ? survivors[0] : tf.concat(survivors), [slices, m / 2]) as Tensor2D;
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
