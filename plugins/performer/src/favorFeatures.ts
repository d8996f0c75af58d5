/**
 * FAVOR+ positive random features (Choromanski et al., ICLR 2021, https://arxiv.org/abs/2009.14794):
 *
 *   φ(x) = m^(-1/2) · exp(ω x' − ‖x'‖²/2),   x' = √s · x,   E[φ(q)ᵀφ(k)] = exp(s · q·k)
 *
 * Numerically stabilised as in the reference code: a maximum is subtracted inside the exp —
 * per row for queries, one constant per (b, h) slice for keys — and ε is added to every
 * feature. Constant factors (m^(-1/2), the stabilisers) cancel in D̂⁻¹, so the attention paths
 * drop them. One deliberate difference: a key's ε is scaled by exp(max_f a_f − M), i.e. it is
 * relative to the key's own largest feature rather than to the slice maximum M. That makes
 * the key features an exact function of the key times exp(−M), so any stabiliser M cancels
 * exactly — which is what lets the causal and decoding paths use a running maximum and still
 * agree with the masked quadratic form. For the key holding the slice maximum both are equal.
 *
 * Cost O(n·m·d) per (b, h) slice. Shape legend: n tokens, d head dim, m random features.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

/** `(√s·ω)` `[m, d]` and its transpose `[d, m]`, so that x'ωᵀ = x·(√s·ω)ᵀ costs one plain matMul. */
export interface ScaledProjection {
  readonly proj: Tensor2D; // [m, d]
  readonly projT: Tensor2D; // [d, m]
}

/**
 * Folds √s into ω once per call (m·d work instead of n·d). Caller disposes (or tidies).
 *
 * @example const { proj, projT } = scaledProjection(omega, 1 / Math.sqrt(64));
 */
export function scaledProjection(projection: Tensor2D, scale: number): ScaledProjection {
  const proj = tf.mul(projection, Math.sqrt(scale)) as Tensor2D;
  return { proj, projT: tf.transpose(proj) as Tensor2D };
}

/**
 * Query features up to a per-row constant: `exp(y − max_f y) + ε`, `y = x'ωᵀ`, for `[n, d]` or
 * batched `[.., n, d]` queries. The −‖x'‖²/2 term is constant along the row, so the row
 * maximum removes it anyway.
 *
 * @example const phiQ = queryFeatures(q2, projT, 1e-4); // [n, m]
 */
export function queryFeatures<T extends Tensor>(x: T, projT: Tensor2D, epsilon: number): T {
  return tf.tidy(() => {
    const y = tf.matMul(x as unknown as Tensor2D, projT); // [.., n, m]
    return tf.add(tf.exp(tf.sub(y, tf.max(y, -1, true))), epsilon) as unknown as T;
  });
}

/** Key log-features in the transposed layout the products need. */
export interface KeyLogits {
  /** `a = ωk' − ‖k'‖²/2`, `[.., m, n]`. */
  readonly logitsT: Tensor;
  /** `max_f a` per key, `[.., 1, n]`. */
  readonly keyMax: Tensor;
}

/**
 * Key log-features from keys already transposed to `[.., d, n]` (transpose once per call, not
 * per chunk): `a = (√s·ω)·kᵀ − (s/2)·‖k‖²`.
 *
 * @example const { logitsT, keyMax } = keyLogits(kT, proj, scale);
 */
export function keyLogits(kT: Tensor, proj: Tensor2D, scale: number): KeyLogits {
  return tf.tidy(() => {
    const r = kT.rank;
    const halfNorm = tf.mul(tf.sum(tf.square(kT), r - 2, true), scale / 2); // [.., 1, n]
    const logitsT = tf.sub(tf.matMul(proj, kT as Tensor2D), halfNorm); // [.., m, n]
    return { logitsT, keyMax: tf.max(logitsT, r - 2, true) };
  });
}

/**
 * Key features against stabiliser `shift` (any constant ≥ the visible maximum):
 * `exp(a − M) + ε·exp(max_f a − M)`, with ε folded into the exponent (one op fewer; ε = 0
 * gives exp(−∞) = 0). Works on `[m, n]` or batched `[.., m, n]` logits.
 *
 * @example const phiKT = keyFeaturesT(logitsT, keyMax, tf.max(keyMax), 1e-4); // [m, n]
 */
export function keyFeaturesT(logitsT: Tensor, keyMax: Tensor, shift: Tensor | number, epsilon: number): Tensor {
  return tf.tidy(() => tf.add(tf.exp(tf.sub(logitsT, shift)), tf.exp(tf.sub(keyMax, tf.sub(shift, Math.log(epsilon))))));
}

/** Which features `favorFeatures` returns. */
export type FeatureRole = 'query' | 'key' | 'raw';

/**
 * The feature map on whole `[b, h, n, d]` tensors (for analysis and tests; the attention
 * paths work per slice). `query` and `key` are the stabilised forms used by the operator
 * (keys stabilised by their slice maximum); `raw` is the unbiased estimator itself,
 * `m^(-1/2)·exp(ωx' − ‖x'‖²/2)`, without stabiliser or ε.
 *
 * @example const phiK = favorFeatures(k, omega, { scale: 0.125, epsilon: 1e-4, role: 'key' }); // [b, h, n, m]
 */
export function favorFeatures(x: Tensor4D, projection: Tensor2D, options: { scale: number; epsilon: number; role: FeatureRole }): Tensor4D {
  return tf.tidy(() => {
    const [b, h, n, d] = x.shape;
    const m = projection.shape[0];
    const { projT } = scaledProjection(projection, options.scale);
    const x2 = tf.reshape(x, [b * h * n, d]);
    const y = tf.reshape(tf.matMul(x2, projT), [b, h, n, m]);
    const halfNorm = tf.reshape(tf.mul(tf.sum(tf.square(x2), 1), options.scale / 2), [b, h, n, 1]);
    const a = tf.sub(y, halfNorm);
    if (options.role === 'raw') return tf.mul(tf.exp(a), 1 / Math.sqrt(m)) as Tensor4D;
    if (options.role === 'query') return tf.add(tf.exp(tf.sub(a, tf.max(a, 3, true))), options.epsilon) as Tensor4D;
    const keyMax = tf.max(a, 3, true); // [b, h, n, 1]
    return keyFeaturesT(a, keyMax, tf.max(keyMax, 2, true), options.epsilon) as Tensor4D;
  });
}
