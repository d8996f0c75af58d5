/**
 * Causal LevAttention (our extension; the paper's operator is non-causal). Query i, at key
 * position t = i + nk − nq, attends with softmax to the keys the selection rule picks among the
 * visible keys j ≤ t, using online leverage scores τ̃_j (each computed from keys 0 … j only).
 * So no output ever depends on a later key. With top-k, each query keeps the k best online scores
 * of its own prefix; with a threshold, it keeps every key j ≤ t with τ̃_j ≥ ε.
 *
 * Every kept key is active on one interval of positions, so a slice needs one `[nq, |U|]`
 * product against the union U of kept keys, plus an interval mask. Time
 * O(b·h·(nk·dk² + nq·|U|·(dk + dv))); |U| is about k·log(n/k) for online scores, which shrink like dk/j.
 * With a local window w (localWindow.ts) queries run in chunks of about w rows against U and the
 * chunk's band of keys, O(nq·(|U| + w)) scores per slice.
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, dk, dv, u keys ever kept in a slice.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { gatherRows, MASKED_LOGIT } from '@swapformer/kernels';
import { sliceVisibility } from './deviceLevAttention';
import { causalSelection, type CausalSelection, type SelectionRule } from './keySelection';
import { hostKeptKeys, localWindowAttention, localWindowOf } from './localWindow';
import { onlineLeverageScores } from './onlineLeverageScores';

/** Score-matrix entries per query chunk, bounding memory when U is large. */
const CHUNK_ENTRIES = 1 << 22;

/** Softmax of one slice's queries against its kept keys, masked to each query's active interval. */
function sliceOutput(qSlice: Tensor2D, kU: Tensor2D, vU: Tensor2D, sel: CausalSelection, offset: number): Tensor2D {
  const [nq] = qSlice.shape;
  const u = sel.keys.length;
  const rowsPerChunk = Math.max(1, Math.min(nq, Math.floor(CHUNK_ENTRIES / u)));
  const kUT = tf.transpose(kU); // [dk, u]
  const chunks: Tensor2D[] = [];
  for (let i0 = 0; i0 < nq; i0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, nq - i0);
    const bias = new Float32Array(rows * u);
    const anyActive = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const t = i0 + r + offset;
      for (let c = 0; c < u; c++) {
        if (sel.enter[c] <= t && t < sel.leave[c]) anyActive[r] = 1;
        else bias[r * u + c] = MASKED_LOGIT;
      }
    }
    const logits = tf.add(tf.matMul(tf.slice(qSlice, [i0, 0], [rows, -1]), kUT), tf.tensor2d(bias, [rows, u])); // [rows, u]
    const out = tf.matMul(tf.softmax(logits), vU); // [rows, dv]
    chunks.push(tf.mul(out, tf.tensor2d(anyActive, [rows, 1])));
  }
  return chunks.length === 1 ? chunks[0] : tf.concat(chunks, 0);
}

/**
 * Causal LevAttention, `[b, h, nq, dv]`; queries are aligned to the end of the keys.
 *
 * @example const out = causalLevAttention(q, k, v, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: false, ridge: 1e-6 });
 */
export function causalLevAttention(
  q: Tensor4D,
  k: Tensor4D,
  v: Tensor4D,
  options: SelectionRule & { readonly ridge: number; readonly scale?: number; readonly mask?: Tensor2D; readonly localWindow?: number },
): Tensor4D {
  const window = localWindowOf(options);
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const kd = k.dataSync();
  const maskData = options.mask ? tf.tidy(() => tf.cast(options.mask!, 'float32').dataSync()) : null;
  const selections: CausalSelection[] = [];
  for (let bi = 0; bi < b; bi++) {
    const visible = maskData ? Uint8Array.from(maskData.subarray(bi * nk, (bi + 1) * nk), (x) => (x !== 0 ? 1 : 0)) : null;
    for (let hi = 0; hi < h; hi++) {
      const scores = onlineLeverageScores(kd, (bi * h + hi) * nk * dk, nk, dk, options.ridge, visible);
      selections.push(causalSelection(scores, options, visible));
    }
  }
  if (window > 0) {
    return tf.tidy(() => localWindowAttention(q, k, v, hostKeptKeys(k, v, selections), sliceVisibility(options.mask, h), { window, causal: true, scale }));
  }
  return tf.tidy(() => {
    // Flat row gathers and slices rather than tf.gather/tf.unstack: both of their gradients fail
    // on wasm or for a single slice, and training uses this path.
    const qFlat = tf.reshape(tf.mul(q, scale), [b * h * nq, dk]) as Tensor2D;
    const kFlat = tf.reshape(k, [b * h * nk, dk]) as Tensor2D;
    const vFlat = tf.reshape(v, [b * h * nk, dv]) as Tensor2D;
    const outs = selections.map((sel, s) => {
      if (sel.keys.length === 0) return tf.zeros([nq, dv]) as Tensor2D;
      const index = sel.keys.map((j) => s * nk + j);
      return sliceOutput(tf.slice(qFlat, [s * nq, 0], [nq, dk]), gatherRows(kFlat, index), gatherRows(vFlat, index), sel, nk - nq);
    });
    return tf.reshape(tf.stack(outs), [b, h, nq, dv]) as Tensor4D;
  });
}
