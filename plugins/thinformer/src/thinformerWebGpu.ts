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
 *   3. the survivors leave as key positions, which the attention reads k and v rows at in place
 *      (kernels' keyRowSoftmaxAttention).
 *
 * Many key ranges [lo, hi) of every slice whose schedules match (same thinned size n) run as one
 * batch ("virtual slices" r·s + slice): the causal form needs a coreset of each left half of its
 * split, and per range calls cost a dozen dispatches each (each ≈ 0.2 ms of host work in Node).
 * Survivors of the last round leave as key positions, so consumers need no range arithmetic.
 *
 * The thresholds U_i ~ Uniform(−Λ, Λ) and the symmetrisation coins are data-independent, so they
 * are drawn on the host from the same seeded streams as the host path and uploaded once, behind a
 * header of each range's [first key, stride] and each round's [drawOffset, flipOffset] (float32
 * holds these integers exactly below 2^24).
 *
 * Shape legend: s slices (b·h), R ranges, V = R·s virtual slices, n thinned points per range,
 * m points entering a round, S bucket size, M = S/2 pairs, B = m/S buckets per virtual slice.
 * Work per round O(V·m·S·(dk + dv)), memory O(V·m·S/4) for G.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, uploadFloat32, type DeviceUploadCache, type WebGpuUniform } from '@swapformer/kernels';
import { compressPlan, type CompressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';
import { GRAM_TILE, pairGramWgsl, ROUND_UNIFORMS, tileThreads } from './deviceGramTiles';
import { sliceStats, statsPartials } from './deviceSliceStats';
import { fusedChainLength, fusedChainWgsl, fusedThreads, walkFromGramWgsl, walkThreads } from './deviceWalkPrograms';

/** A key range [lo, hi) of every slice. */
export interface KeyRange {
  readonly lo: number;
  readonly hi: number;
}

/** Coreset positions of every range of every slice, kept on the device. */
export interface DeviceCoresets {
  /** The schedule every range shares (its `stride` is the first range's). */
  readonly plan: CompressPlan;
  readonly ranges: readonly KeyRange[];
  /** [R·s, nOut] float32 key positions (row r·s + slice), increasing within a row. */
  readonly points: Tensor2D;
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
function roundUniforms(k: Tensor3D, plan: CompressPlan, ranges: number, root: number, step: RoundStep): WebGpuUniform[] {
  const [slices, nk] = k.shape;
  const last = step.round + Math.max(step.rounds, 1) === plan.rounds.length;
  return [step.buckets, step.bucketsPerSlice, slices, nk, ranges, step.round === 0 ? 1 : 0, step.round, last ? 1 : 0, statsPartials(plan.n), 1].map(int).concat(float32Uniform(root));
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
    { ...common, outputShape: [buckets * M * M], variableNames: ['K', 'V', 'stats', 'points', 'draws'], shaderKey: `swapformerThinformerGram_${M}_${dk}_${dv}`, dispatch: [(buckets * tiles * (tiles + 1)) / 2, 1, 1], workgroupSize: [tileThreads(GRAM_TILE), 1, 1], getUserCode: () => pairGramWgsl(M, dk, dv) },
    [k, v, stats, points, draws],
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
 * KH-Compress(g) on every range of `ranges` (all of one thinned size n) of every slice of
 * k [s, nk, dk], v [s, nk, dv], on the webgpu backend, range r seeded by `seedOf(r)`. Positions
 * equal the host path's (`coresetOfRange` per range) up to walk decisions within float32 rounding
 * of their threshold. With `uploads`, the thresholds and coins of a (seeds, ranges, slices, g, δ)
 * seen before are not drawn or uploaded again.
 *
 * @example const { points } = deviceCoresets(k3, v3, [{ lo: 0, hi: 1024 }, { lo: 2048, hi: 4000 }], { g: 2, delta: 0.5, seed: 0, scale: 0.125 }, (r) => r); // [2·s, 64]
 */
export function deviceCoresets(k: Tensor3D, v: Tensor3D, ranges: readonly KeyRange[], options: CoresetOptions & { readonly scale: number }, seedOf: RangeSeed, uploads?: DeviceUploadCache): DeviceCoresets {
  const slices = k.shape[0];
  const virtual = slices * ranges.length;
  const plans = ranges.map((range) => compressPlan(range.hi - range.lo, options.g, options.delta));
  const plan = plans[0];
  const { n, nOut } = plan;
  if (plans.some((other) => other.n !== n)) {
    throw new RangeError(`deviceCoresets: ranges of one batch must thin to the same n, got ${plans.map((other) => other.n).join(', ')}; batch them by compressPlan(length, g, delta).n`);
  }
  // header: [first key, stride] per range
  const header = ranges.flatMap((range, r) => [range.lo, plans[r].stride]);
  if (plan.rounds.length === 0) {
    const keys = Float32Array.from({ length: virtual * n }, (_, at) => header[2 * Math.floor(at / (slices * n))] + (at % n) * header[2 * Math.floor(at / (slices * n)) + 1]);
    return { plan, ranges, points: uploadFloat32(keys, [virtual, n]) as Tensor2D };
  }
  // the host rounds k·sqrt(s) to float32 from a float64 root; the device multiplies by the float32 root
  const root = Math.fround(Math.sqrt(options.scale));
  // then [drawOffset, flipOffset] per round, then per round the thresholds [R, s, B, M] and the R coins
  const perRange = plan.rounds.map((round) => slices * round.buckets * (round.bucketSize / 2));
  const rangeHeader = 2 * ranges.length;
  const length = rangeHeader + 2 * plan.rounds.length + perRange.reduce((sum, size) => sum + ranges.length * (size + 1), 0);
  const drawValues = () => {
    const values = new Float32Array(length);
    values.set(header);
    let offset = rangeHeader + 2 * plan.rounds.length;
    plan.rounds.forEach((round, r) => {
      // the host path's order per range: every slice's thresholds, then one shared coin
      const coins = ranges.map((_, range) => {
        const rng = createSeededRandom(deriveSeed(seedOf(range), 'halve', r));
        rng.fillUniform(values.subarray(offset + range * perRange[r], offset + (range + 1) * perRange[r]), -round.threshold, round.threshold);
        return rng.uniform() < 0.5 ? 1 : 0;
      });
      const flipOffset = offset + ranges.length * perRange[r];
      values.set(coins, flipOffset);
      values.set([offset, flipOffset], rangeHeader + 2 * r);
      offset = flipOffset + ranges.length;
    });
    return values;
  };
  // the draws follow from the seeds, the ranges, the slice count and the schedule (g, δ) alone
  const drawsKey = () => `thinformer ${JSON.stringify({ seeds: ranges.map((_, r) => seedOf(r)), ranges, slices, g: options.g, delta: options.delta })}`;
  return {
    plan,
    ranges,
    points: tf.tidy(() => {
      const draws = uploads ? uploads.tensor(drawsKey(), [length], drawValues) : uploadFloat32(drawValues(), [length]);
      const stats = sliceStats(k, v, draws, ranges.length, plan, root); // [V, partials, 2]: c, β
      // round 0 reads no positions (identity); any float32 tensor fills its binding
      let points: Tensor = stats;
      for (const step of roundSteps(plan, virtual)) {
        const next = runStep(k, v, stats, points, draws, step, roundUniforms(k, plan, ranges.length, root, step));
        if (points !== stats) points.dispose();
        points = next;
      }
      return tf.reshape(points, [virtual, nOut]) as Tensor2D;
    }),
  };
}

/**
 * KH-Compress(g) on keys [lo, hi) of every slice: int32 positions [s, nOut] into the key axis,
 * the host path's (`coresetOfRange`) up to float32 rounding near a threshold.
 *
 * @example const { indices } = deviceCoresetOfRange(k3, v3, 0, 4096, { g: 2, delta: 0.5, seed: 0, scale: 0.125 }); // [s, 128]
 */
export function deviceCoresetOfRange(k: Tensor3D, v: Tensor3D, lo: number, hi: number, options: CoresetOptions & { readonly scale: number }): { readonly plan: CompressPlan; readonly indices: Tensor2D } {
  const { plan, points } = deviceCoresets(k, v, [{ lo, hi }], options, () => options.seed);
  const indices = tf.cast(points, 'int32') as Tensor2D;
  points.dispose();
  return { plan, indices };
}

/** [b, h, n, d] → [b·h, n, d]. */
export function asSlices(x: Tensor4D): Tensor3D {
  const [b, h, n, d] = x.shape;
  return tf.reshape(x, [b * h, n, d]) as Tensor3D;
}
