/**
 * Non-causal FAVOR+ on the CPU backends as three passes of core's fused softmax-attention
 * kernel (WebAssembly SIMD, worker threads), instead of ~30 single-threaded tfjs-wasm ops.
 *
 * Every FAVOR+ product is a sum of exponentials of dot products, which is what that kernel
 * computes; its row statistics (max m, sum l) undo the normalisation, so out·l is the plain sum.
 * With k' = √s·k, a_jf = ω_f·k'_j − ‖k'_j‖²/2 and M the largest visible a_jf of the slice:
 *
 *   1. key maxima   a*_j = max_f a_jf           queries k_j, "keys" ω'_f (row max only)
 *   2. key sums     KV_f = Σ_j exp(a_jf − M)·[v_j, 1]
 *                   queries ω'_f, keys k_j, key bias −‖k'_j‖²/2, values v_j; the row sum is the
 *                   ones column; rescaled by exp(m_f − M), plus the ε term
 *                   ε·Σ_j exp(a*_j − M)·[v_j, 1], the same for every feature f
 *   3. query side   num_i = Σ_f (exp(ω_f·q'_i − max_f ω_f·q'_i) + ε)·KV_f
 *                   queries q'_i, "keys" ω_f, values KV_f; out_i = num_i[:dv] / num_i[dv]
 *
 * These are the stabilised features of favorFeatures.ts exactly (keys by their slice maximum,
 * ε relative to each key's own largest feature; queries by their row maximum), so the result
 * equals the tfjs-op path up to float32 rounding. Hidden keys (mask 0) take no part.
 * Time O(n·m·(d + dv)) per slice, as the op path; memory O(n·(d + dv) + m·dv).
 *
 * Shape legend: S = b·h slices, nq queries, nk keys, d head dim, dv value dim, e = dv + 1,
 * m random features.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { fusedKernelApplies, fusedSoftmaxAttentionWithStats } from '@swapformer/kernels';

/** Options the fused path reads (those of performerAttention). */
export interface FusedPerformerOptions {
  readonly scale?: number;
  readonly causal?: boolean;
  readonly mask?: Tensor2D;
  readonly epsilon: number;
  readonly layout?: 'slices' | 'batched';
}

/**
 * True when `fusedPerformerAttention` can take this call: wasm or cpu backend, non-causal,
 * float32, no gradient tape recording (the kernel has no gradient), per-slice layout.
 */
export function canRunFusedPerformer(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: FusedPerformerOptions): boolean {
  return !options.causal && options.layout !== 'batched' && fusedKernelApplies(kernels, q, k, v);
}

/** The same `[m, d]` rows for every slice (the kernel reads its "keys" per slice). */
function repeatRows(rows: Float32Array, slices: number): Float32Array {
  const out = new Float32Array(slices * rows.length);
  for (let s = 0; s < slices; s++) out.set(rows, s * rows.length);
  return out;
}

/** `[S·n]` −s·‖k_j‖²/2 = −‖k'_j‖²/2: the logit bias of key j. */
function halfSquaredNorms(k: Float32Array, rows: number, d: number, scale: number): Float32Array {
  const out = new Float32Array(rows);
  for (let j = 0; j < rows; j++) {
    let norm = 0;
    for (let t = j * d; t < (j + 1) * d; t++) norm += k[t] * k[t];
    out[j] = (-scale / 2) * norm;
  }
  return out;
}

/**
 * FAVOR+ attention (non-causal) with projection ω `[m, d]` through the fused CPU kernel; see
 * the file comment. Call only where `canRunFusedPerformer` holds.
 *
 * @example const out = fusedPerformerAttention(kernels, q, k, v, omega, { epsilon: 1e-4 }); // [b, h, nq, dv]
 */
export function fusedPerformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, projection: Tensor2D, options: FusedPerformerOptions): Tensor4D {
  const [b, h, nq, d] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const e = dv + 1;
  const m = projection.shape[0];
  const S = b * h;
  const scale = options.scale ?? 1 / Math.sqrt(d);
  const eps = options.epsilon;
  const root = Math.sqrt(scale);
  const omega = Float32Array.from(projection.dataSync(), (x) => x * root); // ω' = √s·ω, [m, d]
  const keys = k.dataSync() as Float32Array;
  const values = v.dataSync() as Float32Array;
  let visible: Uint8Array | null = null; // [S, nk]
  if (options.mask) {
    const mask = tf.tidy(() => tf.cast(options.mask!, 'float32').dataSync());
    visible = new Uint8Array(S * nk);
    for (let s = 0; s < S; s++) for (let j = 0; j < nk; j++) visible[s * nk + j] = mask[Math.floor(s / h) * nk + j] > 0.5 ? 1 : 0;
  }
  const halfNorms = halfSquaredNorms(keys, S * nk, d, scale); // −‖k'_j‖²/2

  // 1. a*_j = max_f ω'_f·k_j − ‖k'_j‖²/2 (ω' carries the √s, so every pass runs at scale 1)
  const keyMax = fusedSoftmaxAttentionWithStats(kernels, keys, omega, new Float32Array(m), { b, h, nq: nk, nk: m, dk: d, dv: 1 }, { scale: 1, sharedKeys: true }).rowMax;
  for (let r = 0; r < S * nk; r++) keyMax[r] += halfNorms[r];

  // 2. Σ_j exp(a_jf − m_f)·v_j and Σ_j exp(a_jf − m_f) (the row sum), each slice its own batch
  //    row so the bias −‖k'_j‖²/2 is per slice; then KV_f = [that sum, row sum]·exp(m_f − M) + ε term
  const omegaRows = repeatRows(omega, S); // [S, m, d]
  const sums = fusedSoftmaxAttentionWithStats(kernels, omegaRows, keys, values, { b: S, h: 1, nq: m, nk, dk: d, dv }, { scale: 1, mask: visible ?? undefined, keyBias: halfNorms });
  const kv = new Float32Array(S * m * e);
  const epsTerm = new Float64Array(e);
  for (let s = 0; s < S; s++) {
    let top = -Infinity; // M
    for (let j = 0; j < nk; j++) if ((!visible || visible[s * nk + j]) && keyMax[s * nk + j] > top) top = keyMax[s * nk + j];
    if (top === -Infinity) continue; // no visible key: KV = 0, and the rows come out 0
    epsTerm.fill(0);
    if (eps > 0) {
      for (let j = 0; j < nk; j++) {
        if (visible && !visible[s * nk + j]) continue;
        const w = eps * Math.exp(keyMax[s * nk + j] - top);
        const row = (s * nk + j) * dv;
        for (let c = 0; c < dv; c++) epsTerm[c] += w * values[row + c];
        epsTerm[dv] += w;
      }
    }
    for (let f = 0; f < m; f++) {
      const r = s * m + f;
      const w = Math.exp(sums.rowMax[r] - top);
      for (let c = 0; c < dv; c++) kv[r * e + c] = sums.out[r * dv + c] * sums.rowSum[r] * w + epsTerm[c];
      kv[r * e + dv] = sums.rowSum[r] * w + epsTerm[dv];
    }
  }

  // 3. num_i = Σ_f exp(y_if − max_f y_if)·KV_f + ε·Σ_f KV_f, y_if = ω'_f·q_i
  const rows = fusedSoftmaxAttentionWithStats(kernels, q.dataSync(), omegaRows, kv, { b, h, nq, nk: m, dk: d, dv: e }, { scale: 1 });
  const out = new Float32Array(S * nq * dv);
  const kvSum = new Float64Array(e);
  for (let s = 0; s < S; s++) {
    kvSum.fill(0);
    for (let f = 0; f < m; f++) for (let c = 0; c < e; c++) kvSum[c] += kv[(s * m + f) * e + c];
    for (let i = 0; i < nq; i++) {
      const r = s * nq + i;
      const l = rows.rowSum[r];
      const den = rows.out[r * e + dv] * l + eps * kvSum[dv];
      const inv = 1 / Math.max(den, 1e-37); // 0/0 (no visible key) stays 0
      for (let c = 0; c < dv; c++) out[r * dv + c] = (rows.out[r * e + c] * l + eps * kvSum[c]) * inv;
    }
  }
  return tf.tensor4d(out, [b, h, nq, dv]);
}
