/**
 * Non-causal, unmasked FAVOR+ (see `performer.ts`, `favorFeatures.ts`) on tfjs-webgpu in 9
 * dispatches instead of the op composition's 32: the four products stay tfjs matMuls (its tiled
 * kernels), and the feature maps, the stabilisers and the final division become three WGSL
 * programs plus one. In Node every tfjs-webgpu dispatch costs ≈ 0.15–0.25 ms of host work.
 *
 *   yQ = q·ωᵀ, yK = k·ωᵀ                         (matMul, ω unscaled; √s is applied in the programs)
 *   φ(q) = exp(√s·yQ − max_f √s·yQ) + ε          (program: one workgroup per query row)
 *   keyMax = √s·max_f yK − (s/2)‖k‖², and (s/2)‖k‖²   (program: one workgroup per key row)
 *   φ(k) = exp(a − M) + ε·exp(keyMax − M), a = √s·yK − (s/2)‖k‖², M = max(slice max of keyMax, −1e20)
 *   [num, den] = φ(q)·(φ(k)ᵀ·[v, 1])              (pad + two matMuls)
 *   out = num / max(den, 1e-37)                    (program)
 *
 * Same values as the op path up to float rounding; no gradient (taken only with no tape).
 * Shape legend: s slices b·h, n tokens, d head dim, m features, e = dv + 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { runWebGpuProgram, webGpuProgramsEnabled, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/core';
import { EMPTY_SHIFT } from './causalScan';

const ROW_GROUP = 64;
const WORKGROUP = 256;
/** Key rows per workgroup of the key-feature program (each workgroup first reduces its slice's maximum). */
const KEY_ROWS = 64;

/** True when `performerAttention` can take the WebGPU programs: webgpu, no tape, no mask, not causal. */
export function canRunPerformerOnWebGpu(options: { readonly causal?: boolean; readonly mask?: unknown }): boolean {
  return !options.causal && options.mask === undefined && tf.getBackend() === 'webgpu' && webGpuProgramsEnabled() && !tf.engine().isTapeOn();
}

/** Tree reduction of `red[0..size)` into `red[0]` with `op` (constant bounds: barriers stay in uniform control flow). */
function reduceWgsl(op: 'max' | 'sum', size = ROW_GROUP): string {
  const combine = op === 'max' ? 'max(red[tid], red[tid + stride])' : 'red[tid] + red[tid + stride]';
  return `for (var stride = ${size / 2}; stride > 0; stride = stride / 2) {
        if (tid < stride) { red[tid] = ${combine}; }
        workgroupBarrier();
      }`;
}

/** WGSL: φ(q) for one query row per workgroup. */
export function queryFeaturesWgsl(m: number): string {
  return `
    var<workgroup> red : array<f32, ${ROW_GROUP}>;
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let valid = row < uniforms.rows;
      let base = min(row, uniforms.rows - 1) * ${m};
      var best = -3.0e38;
      for (var f = tid; f < ${m}; f += ${ROW_GROUP}) { best = max(best, Y[base + f]); }
      red[tid] = best;
      workgroupBarrier();
      ${reduceWgsl('max')}
      let top = uniforms.rootScale * red[0];
      if (valid) {
        for (var f = tid; f < ${m}; f += ${ROW_GROUP}) {
          result[base + f] = exp(uniforms.rootScale * Y[base + f] - top) + uniforms.epsilon;
        }
      }
    }
  `;
}

/** WGSL: per key row, `[keyMax, (s/2)‖k‖²]`. */
export function keyRowStatsWgsl(m: number, d: number): string {
  return `
    var<workgroup> red : array<f32, ${ROW_GROUP}>;
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let r = min(row, uniforms.rows - 1);
      var best = -3.0e38;
      for (var f = tid; f < ${m}; f += ${ROW_GROUP}) { best = max(best, Y[r * ${m} + f]); }
      red[tid] = best;
      workgroupBarrier();
      ${reduceWgsl('max')}
      let top = red[0];
      workgroupBarrier();
      var sq = 0.0;
      for (var c = tid; c < ${d}; c += ${ROW_GROUP}) { let x = K[r * ${d} + c]; sq = sq + x * x; }
      red[tid] = sq;
      workgroupBarrier();
      ${reduceWgsl('sum')}
      if (row < uniforms.rows && tid == 0) {
        let halfNorm = 0.5 * uniforms.scale * red[0];
        result[2 * row] = uniforms.rootScale * top - halfNorm;
        result[2 * row + 1] = halfNorm;
      }
    }
  `;
}

/** WGSL: φ(k) for KEY_ROWS key rows of one slice per workgroup. */
export function keyFeaturesWgsl(m: number): string {
  return `
    var<workgroup> red : array<f32, ${WORKGROUP}>;
    fn main(index : i32) {
      let wg = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let blocks = (uniforms.n + ${KEY_ROWS - 1}) / ${KEY_ROWS};
      let slice = min(wg / blocks, uniforms.slices - 1);
      let valid = wg / blocks < uniforms.slices;
      var best = -3.0e38;
      for (var i = tid; i < uniforms.n; i += ${WORKGROUP}) { best = max(best, Stats[2 * (slice * uniforms.n + i)]); }
      red[tid] = best;
      workgroupBarrier();
      ${reduceWgsl('max', WORKGROUP)}
      let shift = max(red[0], ${EMPTY_SHIFT.toExponential()});
      let row0 = (wg % blocks) * ${KEY_ROWS};
      for (var e = tid; valid && e < ${KEY_ROWS * m}; e += ${WORKGROUP}) {
        let i = row0 + e / ${m};
        if (i < uniforms.n) {
          let row = slice * uniforms.n + i;
          let a = uniforms.rootScale * Y[row * ${m} + e % ${m}] - Stats[2 * row + 1];
          result[row * ${m} + e % ${m}] = exp(a - shift) + uniforms.epsilon * exp(Stats[2 * row] - shift);
        }
      }
    }
  `;
}

/** WGSL: `num / max(den, 1e-37)` from `[.., e]` rows. */
export function normalizeWgsl(dv: number): string {
  return `
    fn main(index : i32) {
      let j = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
      if (j < uniforms.size) {
        let row = j / ${dv};
        result[j] = NumDen[row * ${dv + 1} + j % ${dv}] / max(NumDen[row * ${dv + 1} + ${dv}], 1e-37);
      }
    }
  `;
}

/**
 * Non-causal, unmasked FAVOR+ on webgpu (check `canRunPerformerOnWebGpu` first).
 *
 * @example const out = performerWebGpu(q, k, v, omega, { epsilon: 1e-4 });
 */
export function performerWebGpu(q: Tensor4D, k: Tensor4D, v: Tensor4D, projection: Tensor2D, options: { readonly scale?: number; readonly epsilon: number }): Tensor4D {
  const [b, h, nq, d] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const m = projection.shape[0];
  const slices = b * h;
  const scale = options.scale ?? 1 / Math.sqrt(d);
  const f32 = (x: number) => ({ type: 'float32' as const, data: [x] });
  const i32 = (x: number) => ({ type: 'int32' as const, data: [x] });
  return tf.tidy(() => {
    const yQ = tf.matMul(tf.reshape(q, [slices * nq, d]), projection, false, true); // [s·nq, m]
    const keys = tf.reshape(k, [slices * nk, d]);
    const yK = tf.matMul(keys, projection, false, true); // [s·nk, m]
    const phiQ = runWebGpuProgram(
      { variableNames: ['Y'], outputShape: [slices * nq, m], shaderKey: `swapformerFavorQuery_${m}`, dispatch: [slices * nq, 1, 1], workgroupSize: [ROW_GROUP, 1, 1], uniforms: 'rows : i32, rootScale : f32, epsilon : f32,', getUserCode: () => queryFeaturesWgsl(m) },
      [yQ],
      [i32(slices * nq), f32(Math.sqrt(scale)), f32(options.epsilon)],
    );
    const stats = runWebGpuProgram(
      { variableNames: ['Y', 'K'], outputShape: [slices * nk, 2], shaderKey: `swapformerFavorKeyStats_${m}_${d}`, dispatch: [slices * nk, 1, 1], workgroupSize: [ROW_GROUP, 1, 1], uniforms: 'rows : i32, rootScale : f32, scale : f32,', getUserCode: () => keyRowStatsWgsl(m, d) },
      [yK, keys],
      [i32(slices * nk), f32(Math.sqrt(scale)), f32(scale)],
    );
    const phiK = runWebGpuProgram(
      { variableNames: ['Y', 'Stats'], outputShape: [slices, nk, m], shaderKey: `swapformerFavorKeys_${m}`, dispatch: [slices * Math.ceil(nk / KEY_ROWS), 1, 1], workgroupSize: [WORKGROUP, 1, 1], uniforms: 'n : i32, slices : i32, rootScale : f32, epsilon : f32,', getUserCode: () => keyFeaturesWgsl(m) },
      [yK, stats],
      [i32(nk), i32(slices), f32(Math.sqrt(scale)), f32(options.epsilon)],
    );
    const values = tf.pad(tf.reshape(v, [slices, nk, dv]), [[0, 0], [0, 0], [0, 1]], 1); // [s, nk, e]
    const kv = tf.matMul(phiK, values, true, false); // [s, m, e]
    const numDen: Tensor = tf.matMul(tf.reshape(phiQ, [slices, nq, m]), kv); // [s, nq, e]
    const size = slices * nq * dv;
    const out = runWebGpuProgram(
      { variableNames: ['NumDen'], outputShape: [slices, nq, dv], shaderKey: `swapformerFavorNormalize_${dv}`, dispatch: [Math.ceil(size / WORKGROUP), 1, 1], workgroupSize: [WORKGROUP, 1, 1], uniforms: 'size : i32,', getUserCode: () => normalizeWgsl(dv) },
      [numDen],
      [i32(size)],
    );
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
