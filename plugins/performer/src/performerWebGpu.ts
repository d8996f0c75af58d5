/**
 * Non-causal, unmasked FAVOR+ (see `performer.ts`, `favorFeatures.ts`) on tfjs-webgpu in 10–11
 * dispatches instead of the op composition's 32: the four products stay tfjs matMuls (its tiled
 * kernels), and the feature maps, the stabilisers, the chunk sum and the final division are WGSL
 * programs. In Node every tfjs-webgpu dispatch costs ≈ 0.15–0.25 ms of host work.
 *
 * On the GPU the products dominate, so they are shaped for tfjs-webgpu's fast kernels: feature
 * and value widths are padded to multiples of 4 (its vec4 matMul; the padding is zero in φ), ω is
 * transposed once per call (no transposeB), and φ(k)ᵀ·v, a reduction over all n keys into a small
 * [m, e] result, runs as a batch of chunks of KV_CHUNK keys summed afterwards (tfjs splits a long
 * reduction over workgroups only at batch 1).
 *
 *   ωᵀ = transpose(ω), zero-padded to mp columns   (program)
 *   yQ = q·ωᵀ, yK = k·ωᵀ                         (matMul, ω unscaled; √s is applied in the programs)
 *   φ(q) = exp(√s·yQ − max_f √s·yQ) + ε          (program: one workgroup per query row)
 *   keyMax = √s·max_f yK − (s/2)‖k‖², and (s/2)‖k‖²   (program: one workgroup per key row)
 *   φ(k) = exp(a − M) + ε·exp(keyMax − M), a = √s·yK − (s/2)‖k‖², M = max(slice max of keyMax, −1e20)
 *   [num, den] = φ(q)·Σ_chunks(φ(k)ᵀ·[v, 1])      (pad; matMul over chunks; program; matMul)
 *   out = num / max(den, 1e-37)                    (program)
 *
 * Same values as the op path up to float rounding; no gradient (taken only with no tape).
 * Shape legend: s slices b·h, n tokens, d head dim, m features (mp padded), e = dv + 1 (ep padded).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelSettings } from '@swapformer/core';
import { float32Uniform as f32, int32Uniform as i32, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { EMPTY_SHIFT } from './causalScan';

const ROW_GROUP = 64;
const WORKGROUP = 256;
/** Key rows per workgroup of the key-feature program (each workgroup first reduces its slice's maximum). */
const KEY_ROWS = 128;
/** Key rows per partial product of φ(k)ᵀ·[v, 1] (a multiple of KEY_ROWS). */
const KV_CHUNK = 1024;

/** True when `performerAttention` can take the WebGPU programs: webgpu, programs on in `kernels`, no tape, no mask, not causal. */
export function canRunPerformerOnWebGpu(kernels: KernelSettings, options: { readonly causal?: boolean; readonly mask?: unknown }): boolean {
  return !options.causal && options.mask === undefined && tf.getBackend() === 'webgpu' && kernels.webGpuPrograms && !tf.engine().isTapeOn();
}

/** Tree reduction of `red[0..size)` into `red[0]` with `op` (constant bounds: barriers stay in uniform control flow). */
function reduceWgsl(op: 'max' | 'sum', size = ROW_GROUP): string {
  const combine = op === 'max' ? 'max(red[tid], red[tid + stride])' : 'red[tid] + red[tid + stride]';
  return `for (var stride = ${size / 2}; stride > 0; stride = stride / 2) {
        if (tid < stride) { red[tid] = ${combine}; }
        workgroupBarrier();
      }`;
}

/** Rounds up to a multiple of 4: tfjs-webgpu's matMul takes its vec4 kernels only on such shapes. */
function vec4Size(x: number): number {
  return Math.ceil(x / 4) * 4;
}

/** WGSL: `body` run for each output element `j < uniforms.size`, one thread each. */
function perElementWgsl(body: string): string {
  return `
    fn main(index : i32) {
      let j = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
      if (j < uniforms.size) {
        ${body}
      }
    }
  `;
}

/**
 * Runs a `perElementWgsl` program: one thread per element of `outputShape`, whose size is the
 * `size` uniform the wrapper reads.
 */
function runPerElement(shaderKey: string, variableNames: string[], inputs: Tensor[], outputShape: number[], getUserCode: () => string): Tensor {
  const size = outputShape.reduce((a, x) => a * x, 1);
  return runWebGpuProgram(
    { variableNames, outputShape, shaderKey, dispatch: [Math.ceil(size / WORKGROUP), 1, 1], workgroupSize: [WORKGROUP, 1, 1], uniforms: 'size : i32,', getUserCode },
    inputs,
    [i32(size)],
  );
}

/** WGSL: ωᵀ `[d, mp]` from ω `[m, d]`, zero in the feature columns m…mp−1. */
export function transposedProjectionWgsl(m: number, mp: number, d: number): string {
  return perElementWgsl(`
        let f = j % ${mp};
        if (f < ${m}) { result[j] = W[f * ${d} + j / ${mp}]; } else { result[j] = 0.0; }`);
}

/** WGSL: φ(q) for one query row per workgroup (rows of mp columns; columns m…mp−1 are written 0). */
export function queryFeaturesWgsl(m: number, mp: number): string {
  return `
    var<workgroup> red : array<f32, ${ROW_GROUP}>;
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let valid = row < uniforms.rows;
      let base = min(row, uniforms.rows - 1) * ${mp};
      var best = -3.0e38;
      for (var f = tid; f < ${m}; f += ${ROW_GROUP}) { best = max(best, Y[base + f]); }
      red[tid] = best;
      workgroupBarrier();
      ${reduceWgsl('max')}
      let top = uniforms.rootScale * red[0];
      if (valid) {
        for (var f = tid; f < ${mp}; f += ${ROW_GROUP}) {
          if (f < ${m}) { result[base + f] = exp(uniforms.rootScale * Y[base + f] - top) + uniforms.epsilon; } else { result[base + f] = 0.0; }
        }
      }
    }
  `;
}

/** WGSL: per key row, `[keyMax, (s/2)‖k‖²]` (Y rows of mp columns, the first m used). */
export function keyRowStatsWgsl(m: number, mp: number, d: number): string {
  return `
    var<workgroup> red : array<f32, ${ROW_GROUP}>;
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let r = min(row, uniforms.rows - 1);
      var best = -3.0e38;
      for (var f = tid; f < ${m}; f += ${ROW_GROUP}) { best = max(best, Y[r * ${mp} + f]); }
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

/**
 * WGSL: φ(k) `[s, nPad, mp]` for KEY_ROWS key rows of one slice per workgroup; zero in the
 * feature columns m…mp−1 and in the rows n…nPad−1, so padded rows and columns add nothing to φ(k)ᵀ·v.
 */
export function keyFeaturesWgsl(m: number, mp: number): string {
  return `
    var<workgroup> red : array<f32, ${WORKGROUP}>;
    fn main(index : i32) {
      let wg = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let blocks = uniforms.nPad / ${KEY_ROWS};
      let slice = min(wg / blocks, uniforms.slices - 1);
      let valid = wg / blocks < uniforms.slices;
      var best = -3.0e38;
      for (var i = tid; i < uniforms.n; i += ${WORKGROUP}) { best = max(best, Stats[2 * (slice * uniforms.n + i)]); }
      red[tid] = best;
      workgroupBarrier();
      ${reduceWgsl('max', WORKGROUP)}
      let shift = max(red[0], ${EMPTY_SHIFT.toExponential()});
      let row0 = (wg % blocks) * ${KEY_ROWS};
      for (var e = tid; valid && e < ${KEY_ROWS * mp}; e += ${WORKGROUP}) {
        let i = row0 + e / ${mp};
        let f = e % ${mp};
        let at = (slice * uniforms.nPad + i) * ${mp} + f;
        if (i < uniforms.n && f < ${m}) {
          let row = slice * uniforms.n + i;
          let a = uniforms.rootScale * Y[row * ${mp} + f] - Stats[2 * row + 1];
          result[at] = exp(a - shift) + uniforms.epsilon * exp(Stats[2 * row] - shift);
        } else {
          result[at] = 0.0;
        }
      }
    }
  `;
}

/** WGSL: φ(k)ᵀ·[v, 1] `[s, mp, ep]` as the sum of its `chunks` partial products `[s·chunks, mp, ep]`. */
export function sumChunksWgsl(chunks: number, size: number): string {
  return perElementWgsl(`
        let base = (j / ${size}) * ${chunks * size} + j % ${size};
        var acc = 0.0;
        for (var c = 0; c < ${chunks}; c++) { acc = acc + Parts[base + c * ${size}]; }
        result[j] = acc;`);
}

/** WGSL: `num / max(den, 1e-37)` from `[.., ep]` rows (num in columns 0…dv−1, den in column dv). */
export function normalizeWgsl(dv: number, ep: number): string {
  return perElementWgsl(`
        let row = j / ${dv};
        result[j] = NumDen[row * ${ep} + j % ${dv}] / max(NumDen[row * ${ep} + ${dv}], 1e-37);`);
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
  // Feature and value widths padded to multiples of 4 (vec4 matMuls); φ(k)ᵀ·v split over chunks of
  // key rows, as batches, so its long reduction runs in many workgroups (tfjs splits K only at batch 1).
  const mp = vec4Size(m);
  const ep = vec4Size(dv + 1);
  const chunk = Math.min(KV_CHUNK, Math.ceil(nk / KEY_ROWS) * KEY_ROWS);
  const chunks = Math.ceil(nk / chunk);
  const nkPad = chunks * chunk;
  return tf.tidy(() => {
    const projectionT = runPerElement(`swapformerFavorProjectionT_${m}_${mp}_${d}`, ['W'], [projection], [d, mp], () => transposedProjectionWgsl(m, mp, d));
    const yQ = tf.matMul(tf.reshape(q, [slices * nq, d]), projectionT); // [s·nq, mp]
    const keys = tf.reshape(k, [slices * nk, d]);
    const yK = tf.matMul(keys, projectionT); // [s·nk, mp]
    const phiQ = runWebGpuProgram(
      { variableNames: ['Y'], outputShape: [slices * nq, mp], shaderKey: `swapformerFavorQuery_${m}_${mp}`, dispatch: [slices * nq, 1, 1], workgroupSize: [ROW_GROUP, 1, 1], uniforms: 'rows : i32, rootScale : f32, epsilon : f32,', getUserCode: () => queryFeaturesWgsl(m, mp) },
      [yQ],
      [i32(slices * nq), f32(Math.sqrt(scale)), f32(options.epsilon)],
    );
    const stats = runWebGpuProgram(
      { variableNames: ['Y', 'K'], outputShape: [slices * nk, 2], shaderKey: `swapformerFavorKeyStats_${m}_${mp}_${d}`, dispatch: [slices * nk, 1, 1], workgroupSize: [ROW_GROUP, 1, 1], uniforms: 'rows : i32, rootScale : f32, scale : f32,', getUserCode: () => keyRowStatsWgsl(m, mp, d) },
      [yK, keys],
      [i32(slices * nk), f32(Math.sqrt(scale)), f32(scale)],
    );
    const phiK = runWebGpuProgram(
      { variableNames: ['Y', 'Stats'], outputShape: [slices * chunks, chunk, mp], shaderKey: `swapformerFavorKeys_${m}_${mp}`, dispatch: [slices * (nkPad / KEY_ROWS), 1, 1], workgroupSize: [WORKGROUP, 1, 1], uniforms: 'n : i32, nPad : i32, slices : i32, rootScale : f32, epsilon : f32,', getUserCode: () => keyFeaturesWgsl(m, mp) },
      [yK, stats],
      [i32(nk), i32(nkPad), i32(slices), f32(Math.sqrt(scale)), f32(options.epsilon)],
    );
    // [v, 1, 1…]: column dv carries the denominator; the columns after it are ignored
    const values = tf.pad(tf.reshape(v, [slices, nk, dv]), [[0, 0], [0, nkPad - nk], [0, ep - dv]], 1);
    const kvParts = tf.matMul(phiK, tf.reshape(values, [slices * chunks, chunk, ep]), true, false); // [s·chunks, mp, ep]
    const kv =
      chunks === 1
        ? kvParts
        : runPerElement(`swapformerFavorSumChunks_${chunks}_${mp * ep}`, ['Parts'], [kvParts], [slices, mp, ep], () => sumChunksWgsl(chunks, mp * ep));
    const numDen: Tensor = tf.matMul(tf.reshape(phiQ, [slices, nq, mp]), kv); // [s, nq, ep]
    const out = runPerElement(`swapformerFavorNormalize_${dv}_${ep}`, ['NumDen'], [numDen], [slices, nq, dv], () => normalizeWgsl(dv, ep));
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
