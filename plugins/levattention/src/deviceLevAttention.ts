/**
 * LevAttention without host reads (Kannan, Bhattacharyya, Kacham, Woodruff, ICLR 2025,
 * https://arxiv.org/abs/2410.05462), non-causal form: scores, selection and attention all run as
 * tfjs ops, so it works on backends whose tensors cannot be read synchronously (tfjs-webgpu in
 * Node) and stays inside a gradient tape (training a ViT with LevAttention on the GPU).
 *
 * Per (b, h) slice, heads folded into the batch axis (S = b·h slices):
 *   1. G = KᵀK with hidden keys zeroed (one batched matMul), A = G + λI, λ = r·trace(G)/dk with
 *      r = max(ridge, DEVICE_RIDGE_FLOOR);
 *   2. X ≈ A⁻¹ by Newton–Schulz (below), τ = rowsum((K X) ⊙ K);
 *   3. top-k: tf.topk over τ (hidden keys −1, a pinned key 0 scores 2), the kept rows gathered;
 *      threshold: a `[S, nk]` key mask {τ ≥ ε} ∪ pinned key 0 ∪ (best key if nothing else);
 *   4. softmax attention of all queries against the kept keys, the per-slice key mask passed as
 *      core's `[batch, keys]` padding mask.
 *
 * Why Newton–Schulz and not a Cholesky built from ops: a Cholesky factor and its triangular
 * solve are dk sequential column steps of several small ops each (hundreds of dispatches per
 * call on webgpu), while Newton–Schulz X ← X(2I − ÂX) is two batched `[S, dk, dk]` products per
 * step, a fixed ~30 steps, fully parallel over the slices, and self-correcting in float32 (the
 * residual I − ÂX squares every step, so rounding from earlier steps is damped). For SPD Â
 * scaled to ‖Â‖_F = 1, X₀ = I gives residual eigenvalues 1 − μ_i ∈ [0, 1 − μ_min); after m steps
 * they are (1 − μ_min)^(2^m) ≤ exp(−2^m μ_min). μ_min ≥ λ/‖A‖_F ≥ r/(dk(1 + r)), so
 * m = ⌈log2(17·dk(1 + r)/r)⌉ steps bring the residual below e⁻¹⁷ ≈ 4e-8 (27 steps for dk 64,
 * r 1e-5), newtonSchulzIterations.
 *
 * Float32 and the ridge floor: the host path builds G in float64; here G's float32 rounding
 * (~6e-8·√nk·‖G‖) and the product ÂX (~6e-8·cond(A)) would swamp a 1e-6 ridge on
 * rank-deficient keys. A relative floor of 1e-5 bounds cond(A) by dk/r + 1 (6.4e6 for dk 64):
 * scores of keys in well-spanned directions (all that matter for top-k) agree with the host
 * path to ~1e-5 relative; only directions with eigenvalue below ~1e-5·trace(G)/dk are damped more.
 *
 * Cost per slice: O(nk·dk² + m·dk³) for the scores; top-k attention O(nq·k·(dk + dv)) plus the
 * gather; the threshold rule attends to all nk keys under a mask, O(nq·nk·(dk + dv)) — exact in
 * result, not in cost (its kept-set size is data-dependent, and a data-dependent width would need
 * a host read).
 *
 * With a local window (localWindow.ts) the kept slots and each query chunk's band go through one
 * softmax, a key in both counted once: top-k O(nq·(u + w)), threshold still O(nq·nk).
 *
 * Gradients flow to q, and to k and v through the gathered rows; the selection (scores, top-k
 * indices, masks) is a constant of the tape: it is computed inside tf.customGrad whose gradient
 * is zero, so the tape neither records nor differentiates the Newton–Schulz steps.
 *
 * Shape legend: b batch, h heads, S = b·h slices, nq queries, nk keys, dk, dv, u = min(k, nk).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { denseSoftmaxAttention } from '@swapformer/kernels';
import type { LevAttentionOptions } from './levAttentionOptions';
import { ALWAYS, localWindowAttention, localWindowOf } from './localWindow';

/** Smallest relative ridge of the device path (float32; see the module comment). */
export const DEVICE_RIDGE_FLOOR = 1e-5;

/**
 * Newton–Schulz steps that reach a residual below ~4e-8 for SPD matrices whose smallest
 * eigenvalue is at least `ridge·trace/dim` (a relative ridge), from X₀ = I / ‖A‖_F.
 *
 * @example newtonSchulzIterations(64, 1e-5) // 27
 */
export function newtonSchulzIterations(dim: number, ridge: number): number {
  return Math.max(1, Math.ceil(Math.log2((17 * dim * (1 + ridge)) / ridge)));
}

/**
 * Batched inverse of SPD matrices by Newton–Schulz, X ← X(2I − A X) from X₀ = I / ‖A‖_F
 * (run on A / ‖A‖_F, so every value stays O(1) in float32). `a` `[S, d, d]` → `[S, d, d]`.
 *
 * @example const x = newtonSchulzInverse(gramPlusRidge, newtonSchulzIterations(64, 1e-5));
 */
export function newtonSchulzInverse(a: Tensor3D, iterations: number): Tensor3D {
  const [count, dim] = a.shape;
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(a), [1, 2], true)); // [S, 1, 1]
    const scaled = tf.div(a, norm);
    const eye = tf.reshape(tf.eye(dim), [1, dim, dim]);
    const twoEye = tf.mul(eye, 2);
    let x: Tensor = tf.tile(eye, [count, 1, 1]);
    for (let step = 0; step < iterations; step++) {
      const next = tf.matMul(x, tf.sub(twoEye, tf.matMul(scaled, x)));
      x.dispose();
      x = next;
    }
    return tf.div(x, norm) as Tensor3D;
  });
}

/** `[b, nk]` key-padding mask → `[S, nk]` float 1/0, or null (shared with the host windowed form). */
export function sliceVisibility(mask: Tensor2D | undefined, h: number): Tensor2D | null {
  if (!mask) return null;
  const [b, nk] = mask.shape;
  const visible = tf.cast(tf.notEqual(tf.cast(mask, 'float32'), 0), 'float32');
  return tf.reshape(tf.tile(tf.reshape(visible, [b, 1, nk]), [1, h, 1]), [b * h, nk]) as Tensor2D;
}

/**
 * Leverage scores of every slice on device: k `[S, nk, dk]`, visible `[S, nk]` or null → τ `[S, nk]`
 * (hidden keys score 0). Relative ridge max(ridge, DEVICE_RIDGE_FLOOR).
 *
 * @example const tau = deviceLeverageScores(tf.reshape(k, [b * h, nk, dk]), null, 1e-6);
 */
export function deviceLeverageScores(k: Tensor3D, visible: Tensor2D | null, ridge: number): Tensor2D {
  const [count, nk, dk] = k.shape;
  const r = Math.max(ridge, DEVICE_RIDGE_FLOOR);
  return tf.tidy(() => {
    const keys = visible ? tf.mul(k, tf.reshape(visible, [count, nk, 1])) : k;
    const gram = tf.matMul(keys, keys, true, false); // [S, dk, dk]
    const eye = tf.reshape(tf.eye(dk), [1, dk, dk]);
    const trace = tf.sum(tf.mul(gram, eye), [1, 2], true); // [S, 1, 1]
    // Slices with no visible (or only zero) keys get A = I, so the iteration stays finite; their τ is 0.
    const empty = tf.cast(tf.lessEqual(trace, 0), 'float32');
    const shift = tf.add(tf.mul(trace, r / dk), empty);
    const inverse = newtonSchulzInverse(tf.add(gram, tf.mul(eye, shift)) as Tensor3D, newtonSchulzIterations(dk, r));
    return tf.sum(tf.mul(tf.matMul(keys, inverse), keys), 2) as Tensor2D; // [S, nk]
  });
}

/**
 * The selection as a constant of the gradient tape (tfjs has no stopGradient): `f(k)` runs inside
 * tf.customGrad, so its ops (Newton–Schulz included) are not recorded, and the result is re-wrapped
 * as a new tensor on the same data, with no tape node behind it. Without that, backprop would walk
 * from the key mask into core's kernel ops without gradients (Greater) and fail.
 *
 * @example const mask = selectionConstant(k, (kk) => thresholdMask(kk, options));
 */
export function selectionConstant(k: Tensor4D, f: (k: Tensor4D) => Tensor): Tensor {
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => ({
    value: f(args[0] as Tensor4D),
    gradFunc: () => tf.zerosLike(args[0] as Tensor),
  }));
  const value = op(k);
  const engine = tf.engine();
  engine.backend.incRef(value.dataId); // the new tensor shares value's buffer; each releases its own reference
  return engine.makeTensorFromDataId(value.dataId, value.shape, value.dtype);
}

/**
 * Rows `flat[index]` of a `[rows, d]` matrix; the gradient is a ScatterNd of dy (duplicates sum), which every backend has
 * (tfjs's own gather gradient needs UnsortedSegmentSum, absent on wasm). index `[len]` int32, not differentiated.
 */
function gatherFlatRows(x: Tensor2D, index: Tensor): Tensor2D {
  const [rows, d] = x.shape;
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    (args[1] as tf.GradSaveFunc)([index]); // kept for backprop past the caller's tidy
    return {
      value: tf.gather(args[0] as Tensor, index),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => tf.scatterND(tf.reshape(saved[0], [-1, 1]), dy as Tensor, [rows, d]),
    };
  });
  return op(x) as Tensor2D;
}

/** Scores with hidden keys at −1 and a pinned key 0 at 2 (τ ∈ [0, 1]), so tf.topk ranks exactly as selectKeys. */
function rankingScores(k: Tensor4D, options: LevAttentionOptions): Tensor2D {
  const [b, h, nk, dk] = k.shape;
  return tf.tidy(() => {
    const visible = sliceVisibility(options.mask, h);
    let tau: Tensor = deviceLeverageScores(tf.reshape(k, [b * h, nk, dk]) as Tensor3D, visible, options.ridge);
    if (visible) tau = tf.where(tf.greater(visible, 0), tau, tf.fill(tau.shape, -1));
    if (options.keepFirst) {
      const first = tf.concat([tf.ones([1, 1]), tf.zeros([1, nk - 1])], 1); // [1, nk]
      const pin = visible ? tf.mul(first, visible) : first;
      tau = tf.where(tf.greater(pin, 0), tf.fill(tau.shape, 2), tau);
    }
    return tau as Tensor2D;
  });
}

/** `[S, nk]` 1/0 mask of the threshold rule (as selectKeys: fallback to the best key when nothing is kept). */
function thresholdMask(k: Tensor4D, options: LevAttentionOptions): Tensor2D {
  const nk = k.shape[2];
  return tf.tidy(() => {
    const ranked = rankingScores(k, options); // pinned 2, hidden −1
    const kept = tf.cast(tf.greaterEqual(ranked, options.epsilon), 'float32');
    const nothing = tf.cast(tf.equal(tf.max(kept, 1, true), 0), 'float32'); // [S, 1]
    // argMax takes the first maximum, the lower index on ties; a hidden best means no visible key.
    // (An equality against a range rather than tf.oneHot: oneHot with a float32 dtype gives zeros on tfjs-wasm 4.22.)
    const isBest = tf.equal(tf.reshape(tf.range(0, nk, 1, 'int32'), [1, nk]), tf.reshape(tf.argMax(ranked, 1), [-1, 1]));
    const best = tf.mul(tf.cast(isBest, 'float32'), tf.cast(tf.greaterEqual(ranked, 0), 'float32'));
    return tf.add(kept, tf.mul(nothing, best)) as Tensor2D;
  });
}

/** Intervals of slots kept for every query where `keep` is 1 and never where it is 0 (windowed form). */
function alwaysWhere(keep: Tensor2D): { enter: Tensor2D; leave: Tensor2D } {
  const sign = tf.sub(tf.mul(keep, 2), 1); // +1 kept, −1 not
  return { enter: tf.mul(sign, -ALWAYS) as Tensor2D, leave: tf.mul(sign, ALWAYS) as Tensor2D };
}

/**
 * Non-causal LevAttention with every step on device (no host reads): q `[b, h, nq, dk]`,
 * k `[b, h, nk, dk]`, v `[b, h, nk, dv]` → `[b, h, nq, dv]`. Same selection as the host path
 * (up to float32 scores and the ridge floor), differentiable in q, k, v through the kept rows.
 *
 * @example const out = levAttentionOnDevice(kernels, q, k, v, { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: true, ridge: 1e-6 });
 */
export function levAttentionOnDevice(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: LevAttentionOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const slices = b * h;
  return tf.tidy(() => {
    const qs = tf.reshape(q, [slices, 1, nq, dk]) as Tensor4D;
    const window = localWindowOf(options);
    if (options.selection === 'threshold') {
      const mask = selectionConstant(k, (kk) => thresholdMask(kk, options)) as Tensor2D;
      if (window > 0) {
        // Every key is a slot, kept for all queries where the rule keeps it: O(nq·nk) as without a window.
        const kept = {
          keys: tf.reshape(k, [slices, nk, dk]) as Tensor3D,
          values: tf.reshape(v, [slices, nk, dv]) as Tensor3D,
          position: tf.tile(tf.reshape(tf.range(0, nk, 1, 'float32'), [1, nk]), [slices, 1]) as Tensor2D,
          ...alwaysWhere(mask),
        };
        return localWindowAttention(q, k, v, kept, sliceVisibility(options.mask, h), { window, causal: false, scale: options.scale });
      }
      const ks = tf.reshape(k, [slices, 1, nk, dk]) as Tensor4D;
      const vs = tf.reshape(v, [slices, 1, nk, dv]) as Tensor4D;
      return tf.reshape(denseSoftmaxAttention(kernels, qs, ks, vs, { scale: options.scale, mask }), [b, h, nq, dv]) as Tensor4D;
    }
    const width = Math.max(1, Math.min(options.topK, nk));
    // The picks' key indices j (exact in float32 below 2^24) and whether each is visible (ranked score ≥ 0).
    const picked = selectionConstant(k, (kk) => {
      const { values, indices } = tf.topk(rankingScores(kk, options), width); // [S, u]
      return tf.concat([tf.cast(indices, 'float32'), tf.cast(tf.greaterEqual(values, 0), 'float32')], 1); // [S, 2u]
    });
    const offsets = tf.reshape(tf.mul(tf.range(0, slices, 1, 'int32'), tf.scalar(nk, 'int32')), [slices, 1]);
    const index = tf.reshape(tf.add(tf.cast(tf.slice(picked, [0, 0], [slices, width]), 'int32'), offsets), [-1]); // flat rows s·nk + j
    const keep = tf.slice(picked, [0, width], [slices, width]) as Tensor2D; // [S, u]
    const kU = tf.reshape(gatherFlatRows(tf.reshape(k, [slices * nk, dk]) as Tensor2D, index), [slices, 1, width, dk]) as Tensor4D;
    const vU = tf.reshape(gatherFlatRows(tf.reshape(v, [slices * nk, dv]) as Tensor2D, index), [slices, 1, width, dv]) as Tensor4D;
    if (window > 0) {
      const kept = {
        keys: tf.reshape(kU, [slices, width, dk]) as Tensor3D,
        values: tf.reshape(vU, [slices, width, dv]) as Tensor3D,
        position: tf.slice(picked, [0, 0], [slices, width]) as Tensor2D,
        ...alwaysWhere(keep),
      };
      return localWindowAttention(q, k, v, kept, sliceVisibility(options.mask, h), { window, causal: false, scale: options.scale });
    }
    return tf.reshape(denseSoftmaxAttention(kernels, qs, kU, vU, { scale: options.scale, mask: keep }), [b, h, nq, dv]) as Tensor4D;
  });
}
