/**
 * KH-Compress(g) on tfjs-webgpu, with no read of tensor values back to the host (Node's webgpu
 * cannot read synchronously, and a read per round would stall the queue). Same algorithm, same
 * draws as the host path (thinformerCoreset.ts), so the same coreset up to float32 rounding:
 *
 *   1. per slice, c = max‖k̃‖² and β = max|v| over the stride-thinned points, k̃ = sqrt(s)·k
 *      (one dispatch of partial maxima; the thinning is an index rule, never a copy);
 *   2. per round, the pair-difference Grams (deviceGramTiles.ts) and the self-balancing walk
 *      (deviceWalkPrograms.ts): while a bucket's G fits workgroup memory, one fused dispatch for
 *      a chain of such rounds; else a parallel Gram dispatch and a walk dispatch that reads one
 *      stored row of G per step;
 *   3. the survivors' rows gathered straight from k and v by their thinned positions.
 *
 * Many equal-length key ranges [lo + r·step, lo + r·step + length) of every slice run as one
 * batch ("virtual slices" r·s + slice): the causal form needs a coreset of each left half of its
 * split, and per range calls cost a dozen dispatches each (each ≈ 0.2 ms of host work in Node).
 *
 * The thresholds U_i ~ Uniform(−Λ, Λ) and the symmetrisation coins are data-independent, so they
 * are drawn on the host from the same seeded streams as the host path and uploaded once.
 *
 * Shape legend: s slices (b·h), R ranges, V = R·s virtual slices, n thinned points per range,
 * m points entering a round, S bucket size, M = S/2 pairs, B = m/S buckets per virtual slice.
 * Work per round O(V·m·S·(dk + dv)), memory O(V·m·S/4) for G.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX, type WebGpuUniform } from '@swapformer/kernels';
import { compressPlan, type CompressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';
import { GRAM_TILE, pairGramWgsl, ROUND_UNIFORMS } from './deviceGramTiles';
import { fusedChainLength, fusedChainWgsl, fusedThreads, walkFromGramWgsl, walkThreads } from './deviceWalkPrograms';

const WORKGROUP = 256;

/** Equal-length key ranges lo + r·step … lo + r·step + length − 1, r < count, of every slice. */
export interface KeyRanges {
  readonly lo: number;
  readonly length: number;
  readonly count: number;
  readonly step: number;
}

/** Coreset positions of every range of every slice, kept on the device. */
export interface DeviceCoresets {
  readonly plan: CompressPlan;
  readonly ranges: KeyRanges;
  /** [R·s, nOut] float32 positions into each range's stride-thinned sequence (row r·s + slice). */
  readonly points: Tensor2D;
}

/** WGSL: max tree over `red[0..256)` into red[0] (constant bounds keep barriers in uniform control flow). */
const TREE_MAX = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { red[tid] = max(red[tid], red[tid + stride]); }
          workgroupBarrier();
        }`;

/** WGSL: first key row of virtual slice vs (range vs / slices of slice vs % slices). */
const RANGE_ROW = `(vs % uniforms.slices) * uniforms.nk + uniforms.lo + (vs / uniforms.slices) * uniforms.step`;

/** Partial maxima per virtual slice: enough workgroups to spread n rows one per thread (one per slice left an H100 ≈ 1 ms on 4 workgroups at n = 16,384). */
function statsPartials(n: number): number {
  return Math.min(64, Math.ceil(n / WORKGROUP));
}

/**
 * Per virtual slice and part of its stride-thinned points: c = max‖k̃‖² with k̃ = root·k rounded
 * per coordinate as the host does, and β = max|v| → [V, partials, 2] (consumers take the max).
 */
function sliceStats(k: Tensor3D, v: Tensor3D, ranges: KeyRanges, plan: CompressPlan, root: number): Tensor3D {
  const [slices, nk, dk] = k.shape;
  const dv = v.shape[2];
  const virtual = slices * ranges.count;
  const partials = statsPartials(plan.n);
  return runWebGpuProgram(
    {
      variableNames: ['K', 'V'],
      outputShape: [virtual, partials, 2],
      shaderKey: `swapformerThinformerStats_${dk}_${dv}`,
      dispatch: [virtual * partials, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'nk : i32, lo : i32, step : i32, n : i32, stride : i32, slices : i32, parts : i32, total : i32, root : f32,',
      getUserCode: () => `
        var<workgroup> red : array<f32, ${WORKGROUP}>;
        fn main(index : i32) {
          let w = min(${WORKGROUP_INDEX}, uniforms.total - 1);
          let vs = w / uniforms.parts;
          let chunk = (uniforms.n + uniforms.parts - 1) / uniforms.parts;
          let start = (w % uniforms.parts) * chunk;
          let tid = i32(localIndex);
          let first = ${RANGE_ROW};
          var norm = 0.0;
          var largest = 0.0;
          for (var j = start + tid; j < min(start + chunk, uniforms.n); j += ${WORKGROUP}) {
            let row = first + j * uniforms.stride;
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
          if (tid == 0 && ${WORKGROUP_INDEX} < uniforms.total) {
            result[w * 2] = shift;
            result[w * 2 + 1] = red[0];
          }
        }`,
    },
    [k, v],
    [int(nk), int(ranges.lo), int(ranges.step), int(plan.n), int(plan.stride), int(slices), int(partials), int(virtual * partials), float32Uniform(root)],
  ) as Tensor3D;
}

/** One dispatch's worth of rounds: a fused chain of `rounds` rounds, or one stored-G round (rounds 0). */
interface RoundStep {
  /** Index of its first round in the plan. */
  readonly round: number;
  readonly rounds: number;
  /** Pairs per bucket of its first round. */
  readonly pairs: number;
  /** Buckets of its first round over all virtual slices, and per virtual slice. */
  readonly buckets: number;
  readonly bucketsPerSlice: number;
}

/** The plan's rounds grouped into dispatch steps (consecutive fused rounds share one). */
function roundSteps(plan: CompressPlan, virtual: number): RoundStep[] {
  const steps: RoundStep[] = [];
  for (let r = 0; r < plan.rounds.length; ) {
    const { bucketSize, buckets } = plan.rounds[r];
    const rounds = fusedChainLength(bucketSize / 2, plan.rounds.length - r);
    steps.push({ round: r, rounds, pairs: bucketSize / 2, buckets: virtual * buckets, bucketsPerSlice: buckets });
    r += Math.max(rounds, 1);
  }
  return steps;
}

/** Values of ROUND_UNIFORMS, in its order. */
function roundUniforms(k: Tensor3D, ranges: KeyRanges, stride: number, partials: number, root: number, step: RoundStep): WebGpuUniform[] {
  const [slices, nk] = k.shape;
  return [step.buckets, step.bucketsPerSlice, slices, nk, ranges.lo, ranges.step, stride, step.round === 0 ? 1 : 0, step.round, partials].map(int).concat(float32Uniform(root));
}

/** The rounds of one step on every bucket: points (unused when it starts at round 0) → survivors [V·m'] (thinned positions). */
function runStep(k: Tensor3D, v: Tensor3D, stats: Tensor, points: Tensor, draws: Tensor, step: RoundStep, uniforms: WebGpuUniform[]): Tensor {
  const dk = k.shape[2];
  const dv = v.shape[2];
  const { pairs: M, buckets, rounds } = step;
  if (rounds > 0) {
    const feeding = 4 ** (rounds - 1);
    const last = M * 2 ** (rounds - 1);
    return runWebGpuProgram(
      {
        variableNames: ['K', 'V', 'stats', 'points', 'draws'],
        outputShape: [(buckets / feeding) * last],
        uniforms: ROUND_UNIFORMS,
        shaderKey: `swapformerThinformerFused_${M}_${rounds}_${dk}_${dv}`,
        dispatch: [buckets / feeding, 1, 1],
        workgroupSize: [fusedThreads(M, rounds), 1, 1],
        getUserCode: () => fusedChainWgsl(M, rounds, dk, dv),
      },
      [k, v, stats, points, draws],
      uniforms,
    );
  }
  const tiles = M / GRAM_TILE;
  const common = { outputShape: [buckets * M], uniforms: ROUND_UNIFORMS };
  const gram = runWebGpuProgram(
    { ...common, outputShape: [buckets * M * M], variableNames: ['K', 'V', 'stats', 'points'], shaderKey: `swapformerThinformerGram_${M}_${dk}_${dv}`, dispatch: [(buckets * tiles * (tiles + 1)) / 2, 1, 1], workgroupSize: [GRAM_TILE * GRAM_TILE, 1, 1], getUserCode: () => pairGramWgsl(M, dk, dv) },
    [k, v, stats, points],
    uniforms,
  );
  const survivors = runWebGpuProgram(
    { ...common, variableNames: ['G', 'points', 'draws'], shaderKey: `swapformerThinformerWalk_${M}`, dispatch: [buckets, 1, 1], workgroupSize: [walkThreads(M), 1, 1], getUserCode: () => walkFromGramWgsl(M) },
    [gram, points, draws],
    uniforms,
  );
  gram.dispose();
  return survivors;
}

/** Seed of range r: the one the host path uses for it. */
export type RangeSeed = (range: number) => number;

/**
 * KH-Compress(g) on every range of `ranges` of every slice of k [s, nk, dk], v [s, nk, dv], on
 * the webgpu backend, range r seeded by `seedOf(r)`. Positions equal the host path's
 * (`coresetOfRange` per range) up to walk decisions within float32 rounding of their threshold.
 *
 * @example const { points } = deviceCoresets(k3, v3, { lo: 0, length: 1024, count: 8, step: 2048 }, { g: 2, delta: 0.5, seed: 0, scale: 0.125 }, (r) => r); // [8·s, 64]
 */
export function deviceCoresets(k: Tensor3D, v: Tensor3D, ranges: KeyRanges, options: CoresetOptions & { readonly scale: number }, seedOf: RangeSeed): DeviceCoresets {
  const slices = k.shape[0];
  const virtual = slices * ranges.count;
  const plan = compressPlan(ranges.length, options.g, options.delta);
  const { n, stride, nOut } = plan;
  if (plan.rounds.length === 0) return { plan, ranges, points: tf.tidy(() => tf.tile(tf.reshape(tf.range(0, n, 1, 'float32'), [1, n]), [virtual, 1])) as Tensor2D };
  // the host rounds k·sqrt(s) to float32 from a float64 root; the device multiplies by the float32 root
  const root = Math.fround(Math.sqrt(options.scale));
  // every round's draws in one upload: a header of [drawOffset, flipOffset] per round, then per
  // round the thresholds [R, s, B, M] and the R coins (float32 holds these offsets exactly below 2^24)
  const rngs = plan.rounds.map((_, r) => Array.from({ length: ranges.count }, (_, range) => createSeededRandom(deriveSeed(seedOf(range), 'halve', r))));
  const perRange = plan.rounds.map((round) => slices * round.buckets * (round.bucketSize / 2));
  const values = new Float32Array(2 * plan.rounds.length + perRange.reduce((sum, size) => sum + ranges.count * (size + 1), 0));
  let offset = 2 * plan.rounds.length;
  plan.rounds.forEach((round, r) => {
    // the host path's order per range: every slice's thresholds, then one shared coin
    const coins = rngs[r].map((rng, range) => {
      rng.fillUniform(values.subarray(offset + range * perRange[r], offset + (range + 1) * perRange[r]), -round.threshold, round.threshold);
      return rng.uniform() < 0.5 ? 1 : 0;
    });
    const flipOffset = offset + ranges.count * perRange[r];
    values.set(coins, flipOffset);
    values.set([offset, flipOffset], 2 * r);
    offset = flipOffset + ranges.count;
  });
  return {
    plan,
    ranges,
    points: tf.tidy(() => {
      const draws = tf.tensor1d(values);
      const stats = sliceStats(k, v, ranges, plan, root); // [V, partials, 2]: c, β
      // round 0 reads no positions (identity); any float32 tensor fills its binding
      let points: Tensor = stats;
      for (const step of roundSteps(plan, virtual)) {
        const next = runStep(k, v, stats, points, draws, step, roundUniforms(k, ranges, stride, statsPartials(n), root, step));
        if (points !== stats) points.dispose();
        points = next;
      }
      return tf.reshape(points, [virtual, nOut]) as Tensor2D;
    }),
  };
}

/**
 * Rows of x [s, nk, d] at the coreset positions → [R·s, nOut, d] (row r·s + slice), with one more
 * coordinate of value `column` when given (the causal form's log-weights ride on it).
 */
export function gatherCoresetRows(x: Tensor3D, coresets: DeviceCoresets, column?: number): Tensor3D {
  const [slices, nk, d] = x.shape;
  const { ranges, plan } = coresets;
  const virtual = slices * ranges.count;
  const width = column === undefined ? d : d + 1;
  const size = virtual * plan.nOut * width;
  return runWebGpuProgram(
    {
      variableNames: ['X', 'points'],
      outputShape: [virtual, plan.nOut, width],
      shaderKey: `swapformerThinformerGather_${d}_${width}`,
      dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'size : i32, nOut : i32, slices : i32, nk : i32, lo : i32, step : i32, stride : i32, column : f32,',
      getUserCode: () => `
        fn main(index : i32) {
          let at = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
          if (at >= uniforms.size) { return; }
          let c = at % ${width};
          let p = at / ${width};
          let vs = p / uniforms.nOut;
          if (c >= ${d}) { result[at] = uniforms.column; return; }
          let row = ${RANGE_ROW} + i32(points[p]) * uniforms.stride;
          result[at] = X[row * ${d} + c];
        }`,
    },
    [x, coresets.points],
    [int(size), int(plan.nOut), int(slices), int(nk), int(ranges.lo), int(ranges.step), int(plan.stride), float32Uniform(column ?? 0)],
  ) as Tensor3D;
}

/**
 * KH-Compress(g) on keys [lo, hi) of every slice: int32 positions [s, nOut] into the key axis,
 * the host path's (`coresetOfRange`) up to float32 rounding near a threshold.
 *
 * @example const { indices } = deviceCoresetOfRange(k3, v3, 0, 4096, { g: 2, delta: 0.5, seed: 0, scale: 0.125 }); // [s, 128]
 */
export function deviceCoresetOfRange(k: Tensor3D, v: Tensor3D, lo: number, hi: number, options: CoresetOptions & { readonly scale: number }): { readonly plan: CompressPlan; readonly indices: Tensor2D } {
  const { plan, points } = deviceCoresets(k, v, { lo, length: hi - lo, count: 1, step: 0 }, options, () => options.seed);
  const indices = tf.tidy(() => tf.cast(tf.add(tf.mul(points, plan.stride), lo), 'int32') as Tensor2D);
  points.dispose();
  return { plan, indices };
}

/** [b, h, n, d] → [b·h, n, d]. */
export function asSlices(x: Tensor4D): Tensor3D {
  const [b, h, n, d] = x.shape;
  return tf.reshape(x, [b * h, n, d]) as Tensor3D;
}
