/**
 * Non-causal, unmasked top-k LevAttention on tfjs-webgpu in 5–6 dispatches instead of the device
 * op path's ≈ 190 (`deviceLevAttention.ts`: 81 for its Newton–Schulz steps, ≈ 45–70 inside
 * tf.topk's bitonic sort); in Node every tfjs-webgpu dispatch costs ≈ 0.15–0.25 ms of host work.
 *
 *   1. G = KᵀK                                            (tfjs matMul)
 *   2. L = chol(G + λI), λ = max(ridge, 1e-5)·trace(G)/d   (one workgroup per slice)
 *   3. τ_i = ‖L⁻¹k_i‖² = k_i A⁻¹ k_iᵀ, the pinned key 0 at 2  (forward substitution, one invocation per key)
 *   4. top-u of τ per 1,024-key chunk, then of the chunks' picks (one more round per 32 chunks)
 *   5. softmax attention of every query against its slice's u picked keys (∪ its local window)
 *
 * A Cholesky factor here, not Newton–Schulz: inside one workgroup its d column steps are cheap
 * (no dispatch each), and in float32 it matches the float64 host path where Newton–Schulz drifts
 * (rank-16 keys, d 64: 6e-7 against the host path's output vs 1.46 for the device op path, whose
 * selection differs). No gradient (taken only with no tape recording), no mask, top-k rule only.
 * Shape legend: S = b·h slices, n keys, d = dk, u = min(topK, n) picks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelSettings } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { DEVICE_RIDGE_FLOOR } from './deviceLevAttention';
import { selectTopPicks } from './chunkedTopK';
import type { LevAttentionOptions } from './levAttentionOptions';
import { localWindowOf } from './localWindow';

const WORKGROUP = 256;
const ATTEND_ROWS = 64;
/** Register arrays per invocation of the attention program bound these. */
const MAX_DIM = 128;
const MAX_PICKS = 64;

/** True when `levAttentionOnDevice` can take the WebGPU programs (turned on in `kernels`, webgpu, top-k, no mask, tape or causal). */
export function canRunLevAttentionOnWebGpu(kernels: KernelSettings, k: Tensor4D, v: Tensor4D, options: LevAttentionOptions): boolean {
  const dk = k.shape[3];
  const dv = v.shape[3];
  return (
    options.selection === 'top-k' &&
    options.mask === undefined &&
    !options.causal &&
    tf.getBackend() === 'webgpu' &&
    kernels.webGpuPrograms &&
    !tf.engine().isTapeOn() &&
    dk <= MAX_DIM &&
    dv <= MAX_DIM &&
    Math.min(options.topK, k.shape[2]) <= MAX_PICKS
  );
}

/** Tree sum of `red[0..WORKGROUP)` into `red[0]` (constant bounds: barriers stay in uniform control flow). */
const TREE_SUM = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
        if (tid < stride) { red[tid] = red[tid] + red[tid + stride]; }
        workgroupBarrier();
      }`;

/**
 * WGSL: the Cholesky factor L of A = G + λI (lower triangle of `[S, d, d]`; the strict upper
 * triangle is left as A's), one workgroup per slice: d column steps of a right-looking
 * factorisation, each a square root, a column scale and a trailing rank-1 update in parallel.
 */
export function choleskyWgsl(d: number, ridge: number): string {
  const dd = d * d;
  return `
    var<workgroup> red : array<f32, ${WORKGROUP}>;
    fn main(index : i32) {
      let valid = ${WORKGROUP_INDEX} < uniforms.slices;
      let s = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
      let tid = i32(localIndex);
      let g = s * ${dd};
      var diagonal = 0.0;
      if (tid < ${d}) { diagonal = G[g + tid * ${d} + tid]; }
      red[tid] = diagonal;
      workgroupBarrier();
      ${TREE_SUM}
      let trace = red[0];
      var empty = 0.0;
      if (trace <= 0.0) { empty = 1.0; }
      let shift = trace * ${ridge} / ${d}.0 + empty;
      for (var e = tid; valid && e < ${dd}; e += ${WORKGROUP}) {
        var a = G[g + e];
        if (e / ${d} == e % ${d}) { a = a + shift; }
        result[g + e] = a;
      }
      storageBarrier();
      workgroupBarrier();
      for (var j = 0; j < ${d}; j++) {
        if (valid && tid == 0) { result[g + j * ${d + 1}] = sqrt(max(result[g + j * ${d + 1}], 1e-30)); }
        storageBarrier();
        workgroupBarrier();
        let pivot = result[g + j * ${d + 1}];
        for (var i = j + 1 + tid; valid && i < ${d}; i += ${WORKGROUP}) { result[g + i * ${d} + j] = result[g + i * ${d} + j] / pivot; }
        storageBarrier();
        workgroupBarrier();
        let rest = ${d} - j - 1;
        for (var e = tid; valid && e < rest * rest; e += ${WORKGROUP}) {
          let i = j + 1 + e / rest;
          let c = j + 1 + e % rest;
          if (c <= i) { result[g + i * ${d} + c] = result[g + i * ${d} + c] - result[g + i * ${d} + j] * result[g + c * ${d} + j]; }
        }
        storageBarrier();
        workgroupBarrier();
      }
    }
  `;
}

/** WGSL: τ `[S, n]`, τ_i = ‖L⁻¹k_i‖² = k_i A⁻¹ k_iᵀ by forward substitution, from keys `[S·n, d]` and L `[S, d, d]`. */
export function leverageScoresWgsl(d: number, keepFirst: boolean): string {
  return `
    fn main(index : i32) {
      let j = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
      if (j < uniforms.total) {
        let l = (j / uniforms.n) * ${d * d};
        let kb = j * ${d};
        var y : array<f32, ${d}>;
        var tau = 0.0;
        for (var a = 0; a < ${d}; a++) {
          var acc = K[kb + a];
          for (var c = 0; c < a; c++) { acc = acc - L[l + a * ${d} + c] * y[c]; }
          y[a] = acc / L[l + a * ${d + 1}];
          tau = tau + y[a] * y[a];
        }
        ${keepFirst ? 'if (j % uniforms.n == 0) { tau = 2.0; }' : ''}
        result[j] = tau;
      }
    }
  `;
}

/** WGSL: each query row against its slice's u picked keys: softmax(s·q·kᵀ)·v. */
export function attendPicksWgsl(dk: number, dv: number, picks: number): string {
  return `
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX} * ${ATTEND_ROWS} + i32(localIndex);
      if (row < uniforms.rows) {
        let s = row / uniforms.nq;
        var q : array<f32, ${dk}>;
        for (var c = 0; c < ${dk}; c++) { q[c] = Q[row * ${dk} + c] * uniforms.scale; }
        var weight : array<f32, ${picks}>;
        var top = -3.0e38;
        for (var t = 0; t < ${picks}; t++) {
          let key = s * uniforms.n + i32(Picks[2 * (s * ${picks} + t) + 1]);
          var dot = 0.0;
          for (var c = 0; c < ${dk}; c++) { dot = dot + q[c] * K[key * ${dk} + c]; }
          weight[t] = dot;
          top = max(top, dot);
        }
        var z = 0.0;
        for (var t = 0; t < ${picks}; t++) {
          weight[t] = exp(weight[t] - top);
          z = z + weight[t];
        }
        var acc : array<f32, ${dv}>;
        for (var c = 0; c < ${dv}; c++) { acc[c] = 0.0; }
        for (var t = 0; t < ${picks}; t++) {
          let key = s * uniforms.n + i32(Picks[2 * (s * ${picks} + t) + 1]);
          for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] + weight[t] * V[key * ${dv} + c]; }
        }
        for (var c = 0; c < ${dv}; c++) { result[row * ${dv} + c] = acc[c] / z; }
      }
    }
  `;
}

/**
 * WGSL: as attendPicksWgsl, with a local window (localWindow.ts): picks with |t − j| < w are
 * skipped there and every key of the band [t − w + 1, t + w) taken instead, t = row + n − nq, so
 * one softmax over the union with no key twice. Two passes over the band (max, then weights).
 */
export function attendPicksAndWindowWgsl(dk: number, dv: number, picks: number): string {
  return `
    fn main(index : i32) {
      let row = ${WORKGROUP_INDEX} * ${ATTEND_ROWS} + i32(localIndex);
      if (row < uniforms.rows) {
        let s = row / uniforms.nq;
        let t = row % uniforms.nq + uniforms.n - uniforms.nq;
        let lo = max(0, t - uniforms.localWindow + 1);
        let hi = min(uniforms.n, t + uniforms.localWindow);
        var q : array<f32, ${dk}>;
        for (var c = 0; c < ${dk}; c++) { q[c] = Q[row * ${dk} + c] * uniforms.scale; }
        var weight : array<f32, ${picks}>;
        var top = -3.0e38;
        for (var p = 0; p < ${picks}; p++) {
          let j = i32(Picks[2 * (s * ${picks} + p) + 1]);
          var dot = 0.0;
          for (var c = 0; c < ${dk}; c++) { dot = dot + q[c] * K[(s * uniforms.n + j) * ${dk} + c]; }
          weight[p] = dot;
          if (abs(t - j) >= uniforms.localWindow) { top = max(top, dot); }
        }
        for (var j = lo; j < hi; j++) {
          var dot = 0.0;
          for (var c = 0; c < ${dk}; c++) { dot = dot + q[c] * K[(s * uniforms.n + j) * ${dk} + c]; }
          top = max(top, dot);
        }
        var z = 0.0;
        var acc : array<f32, ${dv}>;
        for (var c = 0; c < ${dv}; c++) { acc[c] = 0.0; }
        for (var p = 0; p < ${picks}; p++) {
          let j = i32(Picks[2 * (s * ${picks} + p) + 1]);
          if (abs(t - j) >= uniforms.localWindow) {
            let e = exp(weight[p] - top);
            z = z + e;
            for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] + e * V[(s * uniforms.n + j) * ${dv} + c]; }
          }
        }
        for (var j = lo; j < hi; j++) {
          var dot = 0.0;
          for (var c = 0; c < ${dk}; c++) { dot = dot + q[c] * K[(s * uniforms.n + j) * ${dk} + c]; }
          let e = exp(dot - top);
          z = z + e;
          for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] + e * V[(s * uniforms.n + j) * ${dv} + c]; }
        }
        for (var c = 0; c < ${dv}; c++) { result[row * ${dv} + c] = acc[c] / z; }
      }
    }
  `;
}

/**
 * Non-causal, unmasked top-k LevAttention on webgpu (check `canRunLevAttentionOnWebGpu` first).
 *
 * @example const out = levAttentionWebGpu(q, k, v, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: true, ridge: 1e-6 });
 */
export function levAttentionWebGpu(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: LevAttentionOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const slices = b * h;
  const picks = Math.max(1, Math.min(options.topK, nk));
  const ridge = Math.max(options.ridge, DEVICE_RIDGE_FLOOR);
  return tf.tidy(() => {
    const keys = tf.reshape(k, [slices, nk, dk]);
    const gram = tf.matMul(keys, keys, true, false); // [S, d, d]
    const factors = runWebGpuProgram(
      {
        variableNames: ['G'],
        outputShape: [slices, dk, dk],
        shaderKey: `swapformerLevCholesky_${dk}_${ridge}`,
        dispatch: [slices, 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'slices : i32,',
        getUserCode: () => choleskyWgsl(dk, ridge),
      },
      [gram],
      [int(slices)],
    );
    const scores = runWebGpuProgram(
      {
        variableNames: ['L', 'K'],
        outputShape: [slices, nk],
        shaderKey: `swapformerLevScores_${dk}_${options.keepFirst}`,
        dispatch: [Math.ceil((slices * nk) / WORKGROUP), 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'total : i32, n : i32,',
        getUserCode: () => leverageScoresWgsl(dk, options.keepFirst),
      },
      [factors, keys],
      [int(slices * nk), int(nk)],
    );
    const picked = selectTopPicks(scores, slices, nk, picks); // [S, 1, u, 2]
    const rows = slices * nq;
    const scale = float32Uniform(options.scale ?? 1 / Math.sqrt(dk));
    const window = localWindowOf(options);
    const out = runWebGpuProgram(
      {
        variableNames: ['Q', 'K', 'V', 'Picks'],
        outputShape: [slices, nq, dv],
        shaderKey: `swapformerLevAttend${window > 0 ? 'Window' : ''}_${dk}_${dv}_${picks}`,
        dispatch: [Math.ceil(rows / ATTEND_ROWS), 1, 1],
        workgroupSize: [ATTEND_ROWS, 1, 1],
        uniforms: `rows : i32, nq : i32, n : i32, scale : f32,${window > 0 ? ' localWindow : i32,' : ''}`,
        getUserCode: () => (window > 0 ? attendPicksAndWindowWgsl(dk, dv, picks) : attendPicksWgsl(dk, dv, picks)),
      },
      [q, k, v, picked],
      [int(rows), int(nq), int(nk), scale, ...(window > 0 ? [int(window)] : [])],
    );
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
