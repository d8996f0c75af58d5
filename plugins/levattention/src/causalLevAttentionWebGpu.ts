/**
 * Causal LevAttention on tfjs-webgpu with no host reads (our extension of Kannan et al.,
 * ICLR 2025, https://arxiv.org/abs/2410.05462; the host form is causalLevAttention.ts). Per slice:
 *
 *   1. online energies e_j = k_jᵀ (G_{j−1} + λI)⁻¹ k_j of every key (τ̃_j = e_j / (1 + e_j)): one
 *      workgroup per slice sweeps the keys in order, keeping the Cholesky factor of G + λI one
 *      column per invocation and doing the triangular solve and the rank-one update in the same
 *      d pivot steps (onlineLeverageScores.ts does both in float64 on the host);
 *   2. for every key the position `leave_j` from which the rule drops it (one invocation per
 *      key, a scan over the slice's keys): key j is kept by the query at key position t iff
 *      j ≤ t < leave_j, exactly the host's intervals (causalSelection);
 *   3. softmax attention of each query against its kept keys, as tfjs ops under an additive mask
 *      (with a local window w, the mask also opens t − w < j ≤ t: one softmax over the union).
 *
 * Why energies and not τ̃: the first ~dk keys of a prefix have τ̃ within ~ridge of 1, where float32
 * cannot tell them apart (1 − 1e-6 rounds to a handful of values), while e ≈ ‖k_⊥‖² / λ keeps
 * their order to float32's relative precision. Ranking by e is ranking by τ̃ (a monotone map),
 * and the threshold τ̃ ≥ ε is e ≥ ε / (1 − ε).
 *
 * Steps 1–2 are programs without gradients: they run inside tf.customGrad with a zero gradient
 * (selectionConstant), so the selection is a constant of the tape and gradients flow to q, k, v
 * through step 3's ops (training and `swapformer adapt` on the GPU). Step 3 costs what exact
 * causal attention costs, O(nq·nk·(dk + dv)) per slice: the set of kept keys varies per query,
 * and a data-dependent gather width would need a host read.
 *
 * Shape legend: b batch, h heads, S = b·h slices, nq queries, nk keys, dk, dv.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { float32Uniform as float, int32Uniform as int, MASKED_LOGIT, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { selectionConstant, sliceVisibility } from './deviceLevAttention';
import { localWindowOf } from './localWindow';
import type { LevAttentionOptions } from './levAttentionOptions';

/** Largest head dim: one invocation per column of the factor, which keeps the column in registers. */
export const CAUSAL_WEBGPU_MAX_DIM = 256;
const WORKGROUP = 256;
/** Logit entries per query chunk of step 3 (all slices together), bounding its memory at 128 MiB. */
const CHUNK_ENTRIES = 1 << 25;

/**
 * WGSL: online energies `[S, n]` (−1 for hidden keys) from keys `[S·n, d]` and Mask `[b, n]`. One
 * workgroup of d invocations per slice; invocation i holds column i of the upper factor U
 * (UᵀU = G + λI), its entry x_i of the key being rotated into U and y_i of the solve Uᵀy = k.
 * Pivot t broadcasts (y_t, c, s) through a double-buffered slot, so one barrier per step. The
 * update is a plane rotation (c = u_tt/r, s = x_t/r, c² + s² = 1), algebraically the host's
 * cholUpdate but stable in float32: the host's form x_i ← (r/u)·x_i − (x_t/u)·u'_ti cancels two
 * terms of size r/u (~1/√ridge while G is rank-deficient), which cost 4–7 % relative error in
 * the energies of the first dk keys on normal keys; the rotation's error there is ~1e-7.
 */
export function onlineEnergiesWgsl(d: number): string {
  return `
    var<workgroup> pivot : array<vec4<f32>, 2>;
    var<workgroup> rootSlot : f32;
    fn main(index : i32) {
      let valid = ${WORKGROUP_INDEX} < uniforms.slices;
      let s = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
      let i = i32(localIndex);
      let n = uniforms.n;
      let maskRow = (s / uniforms.heads) * n;
      // λ = ridge · ‖first visible non-zero key‖², as the host path; 1 when the slice has none (all scores 0).
      if (i == 0) {
        var root = 1.0;
        for (var j = 0; j < n; j++) {
          if (Mask[maskRow + j] != 0.0) {
            var norm2 = 0.0;
            for (var c = 0; c < ${d}; c++) { let x = K[(s * n + j) * ${d} + c]; norm2 = norm2 + x * x; }
            if (norm2 > 0.0) { root = sqrt(uniforms.ridge * norm2); break; }
          }
        }
        rootSlot = root;
      }
      workgroupBarrier();
      var column : array<f32, ${d}>;
      for (var t = 0; t < ${d}; t++) { column[t] = 0.0; }
      column[i] = rootSlot;
      var slot = 0;
      for (var j = 0; j < n; j++) {
        let visible = Mask[maskRow + j] != 0.0;
        var x = 0.0;
        if (visible) { x = K[(s * n + j) * ${d} + i]; }
        var y = x;
        var energy = 0.0;
        for (var t = 0; t < ${d}; t++) {
          if (i == t) {
            let u = column[t];
            let r = sqrt(u * u + x * x);
            pivot[slot] = vec4<f32>(y / u, u / r, x / r, 0.0);
            column[t] = r;
          }
          workgroupBarrier();
          let p = pivot[slot];
          energy = energy + p.x * p.x;
          if (i > t) {
            let old = column[t];
            y = y - old * p.x;
            column[t] = p.y * old + p.z * x;
            x = p.y * x - p.z * old;
          }
          slot = 1 - slot;
        }
        if (valid && i == 0) { result[s * n + j] = select(-1.0, energy, visible); }
      }
    }
  `;
}

/** WGSL: `leave_j` `[S, n]` of the top-k or threshold rule from the energies (−1: never kept, n: kept to the end). */
export function keptIntervalsWgsl(rule: 'top-k' | 'threshold'): string {
  const topK = `
          var count = 0;
          for (var l = first; l < n && budget > 0; l++) {
            let el = E[row + l];
            if (l != j && el >= 0.0 && before(el, l, ej, j)) {
              count = count + 1;
              if (count == budget) { leave = f32(l); break; }
            }
          }
          if (budget <= 0) { leave = -1.0; }`;
  // Only a key that ranks before every earlier visible key, none passing, is the fallback; it
  // lasts until a later key passes or ranks before it (causalSelection's sweep).
  const threshold = `
          if (ej < uniforms.threshold) {
            if (pinned) { leave = -1.0; }
            for (var l = 0; l < j && !pinned; l++) {
              let el = E[row + l];
              if (el >= 0.0 && (el >= uniforms.threshold || before(el, l, ej, j))) { leave = -1.0; break; }
            }
            for (var l = j + 1; l < n && leave > 0.0; l++) {
              let el = E[row + l];
              if (el >= 0.0 && (el >= uniforms.threshold || before(el, l, ej, j))) { leave = f32(l); break; }
            }
          }`;
  return `
    fn before(el : f32, l : i32, ej : f32, j : i32) -> bool { return el > ej || (el == ej && l < j); }
    fn main(index : i32) {
      let g = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
      if (g < uniforms.total) {
        let n = uniforms.n;
        let row = (g / n) * n;
        let j = g % n;
        let pinned = uniforms.keepFirst == 1 && Mask[(g / n / uniforms.heads) * n] != 0.0;
        let first = select(0, 1, pinned);
        let budget = uniforms.topK - first; // a pinned key 0 takes one of the k slots
        let ej = E[g];
        var leave = f32(n);
        if (ej < 0.0) {
          leave = -1.0;
        } else if (!(pinned && j == 0)) {${rule === 'top-k' ? topK : threshold}
        }
        result[g] = leave;
      }
    }
  `;
}

/** `[S, nk]` leave positions of the causal selection, from programs only (no tape, no host reads). */
function keptIntervals(k: Tensor4D, options: LevAttentionOptions): Tensor2D {
  const [b, h, nk, dk] = k.shape;
  const slices = b * h;
  return tf.tidy(() => {
    const mask = options.mask ? tf.cast(options.mask, 'float32') : tf.ones([b, nk]);
    const energies = runWebGpuProgram(
      {
        variableNames: ['K', 'Mask'],
        outputShape: [slices, nk],
        shaderKey: `swapformerLevOnlineEnergies_${dk}`,
        dispatch: [slices, 1, 1],
        workgroupSize: [dk, 1, 1],
        uniforms: 'slices : i32, n : i32, heads : i32, ridge : f32,',
        getUserCode: () => onlineEnergiesWgsl(dk),
      },
      [tf.reshape(k, [slices * nk, dk]), mask],
      [int(slices), int(nk), int(h), float(options.ridge)],
    );
    const pinned = options.keepFirst;
    return runWebGpuProgram(
      {
        variableNames: ['E', 'Mask'],
        outputShape: [slices, nk],
        shaderKey: `swapformerLevKeptIntervals_${options.selection}`,
        dispatch: [Math.ceil((slices * nk) / WORKGROUP), 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'total : i32, n : i32, heads : i32, keepFirst : i32, topK : i32, threshold : f32,',
        getUserCode: () => keptIntervalsWgsl(options.selection),
      },
      [energies, mask],
      [int(slices * nk), int(nk), int(h), int(pinned ? 1 : 0), int(options.topK), float(options.epsilon / (1 - options.epsilon))],
    ) as Tensor2D;
  });
}

/** True when the causal device form can run: webgpu and a head dim of at most 256. */
export function canRunCausalLevAttentionOnWebGpu(k: Tensor4D): boolean {
  return tf.getBackend() === 'webgpu' && k.shape[3] <= CAUSAL_WEBGPU_MAX_DIM;
}

/**
 * Causal LevAttention on webgpu, `[b, h, nq, dv]`, queries aligned to the end of the keys: the
 * host path's selection and outputs (to float32 rounding), differentiable in q, k and v.
 *
 * @example const out = causalLevAttentionWebGpu(q, k, v, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: false, ridge: 1e-6, causal: true });
 */
export function causalLevAttentionWebGpu(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: LevAttentionOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const slices = b * h;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  return tf.tidy(() => {
    const leave = tf.reshape(
      selectionConstant(k, (kk) => keptIntervals(kk, options)),
      [slices, 1, nk],
    );
    const keys = tf.reshape(k, [slices, nk, dk]) as Tensor3D;
    const values = tf.reshape(v, [slices, nk, dv]) as Tensor3D;
    const queries = tf.reshape(tf.mul(q, scale), [slices, nq, dk]) as Tensor3D;
    const column = tf.reshape(tf.range(0, nk, 1, 'float32'), [1, 1, nk]);
    const window = localWindowOf(options);
    const visible = window > 0 && options.mask ? tf.reshape(sliceVisibility(options.mask, h)!, [slices, 1, nk]) : null;
    const rowsPerChunk = Math.max(1, Math.min(nq, Math.floor(CHUNK_ENTRIES / (slices * nk))));
    const chunks: Tensor[] = [];
    for (let i0 = 0; i0 < nq; i0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, nq - i0);
      const position = tf.reshape(tf.range(i0 + nk - nq, i0 + nk - nq + rows, 1, 'float32'), [1, rows, 1]);
      let kept: Tensor = tf.cast(tf.logicalAnd(tf.lessEqual(column, position), tf.less(position, leave)), 'float32'); // [S, rows, nk]
      if (window > 0) {
        // The local window t − w < j ≤ t joins the kept keys in the same softmax; a key in both is one mask entry.
        let band: Tensor = tf.cast(tf.logicalAnd(tf.lessEqual(column, position), tf.greater(column, tf.sub(position, window))), 'float32'); // [1, rows, nk]
        if (visible) band = tf.mul(band, visible);
        kept = tf.maximum(kept, band);
      }
      const logits = tf.add(tf.matMul(tf.slice(queries, [0, i0, 0], [slices, rows, dk]), keys, false, true), tf.mul(tf.sub(1, kept), MASKED_LOGIT));
      // A query with no kept key (every visible key after it, or none visible) outputs zeros, as on the host.
      chunks.push(tf.mul(tf.matMul(tf.softmax(logits), values), tf.max(kept, 2, true)));
    }
    return tf.reshape(chunks.length === 1 ? chunks[0] : tf.concat(chunks, 1), [b, h, nq, dv]) as Tensor4D;
  });
}
