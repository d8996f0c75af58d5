/**
 * Causal FAVOR+ as a chunked prefix scan (Choromanski et al., ICLR 2021,
 * https://arxiv.org/abs/2009.14794, §2.6 "prefix sums"):
 *
 *   O_i = φ(q_i)ᵀ S_i / φ(q_i)ᵀ z_i,   S_i = Σ_{j≤i} φ(k_j) v_jᵀ,   z_i = Σ_{j≤i} φ(k_j)
 *
 * v carries an extra ones column, so z is the last column of S and numerator and denominator
 * come out of the same products. Tokens are taken c at a time: inside a chunk the masked
 * product tril(φ(Q_c) φ(K_c)ᵀ) V_c, plus φ(Q_c) S from the chunks before, then S += φ(K_c)ᵀ V_c.
 * Never materialises `[n, m, e]` (the naive cumsum) nor `[n, n]`.
 *
 * Keys are stabilised by a running maximum M (like online softmax): when a chunk raises M, the
 * carried S is rescaled by exp(M_old − M_new). Because key features are an exact function of
 * the key times exp(−M) (see favorFeatures.ts), the result equals the masked quadratic form
 * with any fixed stabiliser, and a recurrent decoder folding one token at a time agrees with
 * the full pass. The same function serves both: it works on one slice (`[m, e]` state, rank-2
 * products — the fast path on wasm) or on all slices at once (`[bh, m, e]`, for decoding).
 *
 * Features are computed chunk by chunk from the raw q/k chunks, so nothing of size n·m exists.
 * Chunks are taken with `gather`, not `slice`: on tfjs-wasm a Slice copies its whole source
 * first, which would make the loop quadratic in n; and the gathered q/k rows are d wide, not
 * m wide. The running maximum stays a tensor, so the scan never waits on a device read.
 *
 * Time O(n·(m·(d + e) + c·(m + e))); memory O(c² + c·m + m·e) per slice.
 * Shape legend: n tokens, d head dim, m features, e = dv + 1, c chunk size, `..` optional
 * batch of slices.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { keyFeaturesT, queryFeatures } from './favorFeatures';

/**
 * The running maximum before any key is seen. Far below any real log-feature yet far above the
 * bias of padded keys (HIDDEN_LOGIT), so padded keys give exp(−∞-ish) = 0 even in a prefix
 * with no visible key, and exp(EMPTY − M) = 0 wipes the (empty) sums on the first real key.
 */
export const EMPTY_SHIFT = -1e20;

/** Log-feature bias of padded keys (see EMPTY_SHIFT). */
export const HIDDEN_LOGIT = -1e30;

/** Running sums of the prefix: the recurrent decoding state of one or many slices. */
export interface PrefixSums {
  /** `Σ φ(k_j) [v_j, 1]ᵀ · exp(−shift)`, `[.., m, e]`. */
  readonly sums: Tensor;
  /** Running key maximum M, `[.., 1, 1]`. */
  readonly shift: Tensor;
}

/**
 * Empty running sums for `batch` slices (`null`: one rank-2 slice).
 *
 * @example const state = emptyPrefixSums(b * h, m, dv + 1); // sums [bh, m, e], shift [bh, 1, 1]
 */
export function emptyPrefixSums(batch: number | null, features: number, width: number): PrefixSums {
  const lead = batch === null ? [] : [batch];
  return { sums: tf.zeros([...lead, features, width]), shift: tf.fill([...lead, 1, 1], EMPTY_SHIFT) };
}

/**
 * `a + b` of two running sums stabilised by different shifts (the sum keeps the larger). Caller
 * tidies or disposes.
 *
 * @example const both = addPrefixSums(prefix, { sums: tf.matMul(phiKT, values), shift });
 */
export function addPrefixSums(a: PrefixSums, b: PrefixSums): PrefixSums {
  const shift = tf.maximum(a.shift, b.shift);
  return { sums: tf.add(tf.mul(a.sums, tf.exp(tf.sub(a.shift, shift))), tf.mul(b.sums, tf.exp(tf.sub(b.shift, shift)))), shift };
}

/**
 * `x[..., start:start+size, ...]` along `axis`, read in O(size) (see the header on Slice).
 *
 * @example const rows = gatherRange(phiQ, 0, 128, 64); // rows 128…191
 */
export function gatherRange(x: Tensor, axis: number, start: number, size: number): Tensor {
  return tf.tidy(() => tf.gather(x, tf.range(start, start + size, 1, 'int32'), axis));
}

/**
 * Keys transposed and augmented with one row, `[.., d + 1, n]`: the last row holds
 * −(s/2)·‖k‖² (plus HIDDEN_LOGIT for padded keys), so that with ω augmented by a ones column
 * one matMul gives the key log-features a = ωk' − ‖k'‖²/2 of a chunk.
 *
 * @example const keysT = augmentKeys(kT, scale); // [d + 1, n]; matMul(augmentProjection(proj), keysT) = a
 */
export function augmentKeys(kT: Tensor, scale: number, hidden?: Tensor): Tensor {
  return tf.tidy(() => {
    const r = kT.rank;
    let last = tf.mul(tf.sum(tf.square(kT), r - 2, true), -scale / 2); // [.., 1, n]
    if (hidden) last = tf.add(last, tf.mul(hidden, HIDDEN_LOGIT));
    return tf.concat([kT, last], r - 2);
  });
}

/**
 * `[√s·ω, 1]` `[m, d + 1]`, the partner of `augmentKeys`.
 *
 * @example const projAug = augmentProjection(proj);
 */
export function augmentProjection(proj: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.concat([proj, tf.ones([proj.shape[0], 1])], 1) as Tensor2D);
}

/** What one scan consumes. Queries are aligned to the end of the keys (kv-cache layout). */
export interface ScanInputs {
  /** `[.., nq, d]`. */
  readonly queries: Tensor;
  /** `augmentKeys(kᵀ)`, `[.., d + 1, nk]`. */
  readonly keysT: Tensor;
  /** Values with a ones column, `[.., nk, e]`. */
  readonly values: Tensor;
}

/** Projections and numerics shared by every chunk. */
export interface ScanOptions {
  /** `augmentProjection(√s·ω)`, `[m, d + 1]`. */
  readonly projAug: Tensor2D;
  /** `(√s·ω)ᵀ`, `[d, m]`. */
  readonly projT: Tensor2D;
  readonly epsilon: number;
  readonly chunkSize: number;
}

/** Folds keys [k0, k0 + c) — and, when q0 is given, the queries aligned with them. */
function foldChunk(state: PrefixSums, inputs: ScanInputs, options: ScanOptions, k0: number, c: number, q0: number | null, tril: Tensor | null): { output: Tensor | null; state: PrefixSums } {
  const [sums, shift, output] = tf.tidy(() => {
    const r = inputs.keysT.rank;
    const logitsT = tf.matMul(options.projAug, gatherRange(inputs.keysT, r - 1, k0, c) as Tensor2D); // [.., m, c]
    const keyMax = tf.max(logitsT, r - 2, true); // [.., 1, c]
    const shift = tf.maximum(state.shift, tf.max(keyMax, r - 1, true)); // [.., 1, 1]
    const carried = tf.mul(state.sums, tf.exp(tf.sub(state.shift, shift))); // [.., m, e]
    const phiKT = keyFeaturesT(logitsT, keyMax, shift, options.epsilon); // [.., m, c]
    const values = gatherRange(inputs.values, r - 2, k0, c); // [.., c, e]
    const next = tf.add(carried, tf.matMul(phiKT, values)); // [.., m, e]
    if (q0 === null || tril === null) return [next, shift];
    const phiQ = queryFeatures(gatherRange(inputs.queries, r - 2, q0, c), options.projT, options.epsilon); // [.., c, m]
    const local = tf.mul(tf.matMul(phiQ, phiKT), tril); // [.., c, c]
    return [next, shift, tf.add(tf.matMul(local, values), tf.matMul(phiQ, carried))]; // output [.., c, e]
  });
  return { output: output ?? null, state: { sums, shift } };
}

/**
 * Runs the causal scan from `initial` (left untouched; the caller owns it) and returns the
 * `[.., nq, e]` numerators|denominators and the new running sums. Queries with no visible key
 * (nq > nk) get all-zero rows. Rank-2 inputs (one slice) or batched `[bh, ..]` inputs.
 *
 * @example const { output, state } = scanCausal(emptyPrefixSums(null, m, dv + 1), { queries, keysT, values }, { projAug, projT, epsilon: 1e-4, chunkSize: 128 });
 */
export function scanCausal(initial: PrefixSums, inputs: ScanInputs, options: ScanOptions): { output: Tensor; state: PrefixSums } {
  const r = inputs.keysT.rank;
  const nq = inputs.queries.shape[r - 2];
  const nk = inputs.keysT.shape[r - 1];
  const offset = nk - nq;
  const chunk = Math.max(1, options.chunkSize);
  const trils = new Map<number, Tensor>();
  const trilOf = (c: number): Tensor => {
    if (!trils.has(c)) trils.set(c, tf.tidy(() => tf.linalg.bandPart(tf.ones([c, c]) as Tensor2D, -1, 0)));
    return trils.get(c)!;
  };
  const outputs: Tensor[] = [];
  let state = initial;
  const advance = (next: { output: Tensor | null; state: PrefixSums }): void => {
    if (state !== initial) tf.dispose([state.sums, state.shift]);
    state = next.state;
    if (next.output) outputs.push(next.output);
  };
  // Keys before the first query (kv-cache prefix) only feed the sums.
  for (let k0 = 0; k0 < offset; k0 += chunk) advance(foldChunk(state, inputs, options, k0, Math.min(chunk, offset - k0), null, null));
  // Queries before the first key see nothing.
  const blind = Math.min(nq, Math.max(0, -offset));
  if (blind > 0) outputs.push(tf.zeros([...inputs.values.shape.slice(0, r - 2), blind, inputs.values.shape[r - 1]]));
  for (let q0 = blind; q0 < nq; q0 += chunk) {
    const c = Math.min(chunk, nq - q0);
    advance(foldChunk(state, inputs, options, q0 + offset, c, q0, trilOf(c)));
  }
  const output = outputs.length === 1 ? outputs[0] : tf.concat(outputs, r - 2);
  if (outputs.length > 1) tf.dispose(outputs);
  tf.dispose([...trils.values()]);
  if (state === initial) state = { sums: tf.clone(initial.sums), shift: tf.clone(initial.shift) };
  return { output, state };
}
