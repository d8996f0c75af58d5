/**
 * Hedgehog-style learned feature map (Zhang et al., "The Hedgehog & the Porcupine", ICLR 2024):
 * φ(x) = [softmax(x'·W_h), softmax(−x'·W_h)] per head h, with x' = x·s^(1/2) and W_h `[d, f]`.
 * Unlike FAVOR+'s random features this is not an unbiased softmax estimator: W is trained
 * (attention transfer, `swapformer adapt`) to make φ(q)ᵀφ(k) mimic the softmax weights.
 * Both halves are softmaxes, so every feature is positive and the denominators stay > 0.
 *
 * The causal form is the masked quadratic product tril(φ(Q)φ(K)ᵀ)[V, 1]: equal to the prefix
 * scan, O(n²) but differentiable with plain tfjs ops (the training path this map exists for).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';

/**
 * Identity-like initial W `[h, d, f]` (Hedgehog initialises its map at the identity): column j
 * reads coordinate j mod d, so the map starts as a softmax of the scaled coordinates.
 *
 * @example const w = identityFeatureWeights(4, 32, 32); // [4, 32, 32]
 */
export function identityFeatureWeights(heads: number, headDim: number, features: number): Float32Array {
  const values = new Float32Array(heads * headDim * features);
  for (let h = 0; h < heads; h++) for (let j = 0; j < features; j++) values[h * headDim * features + (j % headDim) * features + j] = 1;
  return values;
}

/** φ of `x [b, h, n, d]` with weights `[h, d, f]` → `[b, h, n, 2f]`. */
export function learnedFeatures(x: Tensor4D, weights: Tensor3D, scale: number): Tensor4D {
  return tf.tidy(() => {
    const [b, h, n, d] = x.shape;
    const f = weights.shape[2];
    // heads first so each head's rows meet its own W in one batched product
    const rows = tf.reshape(tf.transpose(tf.mul(x, Math.sqrt(scale)), [1, 0, 2, 3]), [h, b * n, d]);
    const logits = tf.matMul(rows, weights); // [h, b·n, f]
    const phi = tf.concat([tf.softmax(logits), tf.softmax(tf.neg(logits))], 2); // [h, b·n, 2f]
    return tf.transpose(tf.reshape(phi, [h, b, n, 2 * f]), [1, 0, 2, 3]) as Tensor4D;
  });
}

export interface LearnedAttentionOptions {
  readonly scale?: number;
  /** Key j visible to query i iff j <= i + (nk − nq). */
  readonly causal?: boolean;
  /** `[b, nk]`, 1 keep / 0 hide. */
  readonly mask?: Tensor2D;
}

/**
 * Linear attention with the learned map: O = φ(Q)(φ(K)ᵀ[V, 1]) normalised by its last column.
 *
 * @example const out = learnedFeatureAttention(q, k, v, weights, { causal: true });
 */
export function learnedFeatureAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, weights: Tensor3D, options: LearnedAttentionOptions): Tensor4D {
  return tf.tidy(() => {
    const [b, h, nq, dk] = q.shape;
    const nk = k.shape[2];
    const dv = v.shape[3];
    const scale = options.scale ?? 1 / Math.sqrt(dk);
    const phiQ = learnedFeatures(q, weights, scale);
    let phiK: Tensor = learnedFeatures(k, weights, scale);
    if (options.mask) phiK = tf.mul(phiK, tf.reshape(tf.cast(options.mask, 'float32'), [b, 1, nk, 1])); // hidden keys weigh nothing
    const values = tf.concat([v, tf.ones([b, h, nk, 1])], 3); // the ones column yields the denominators
    let numDen: Tensor;
    if (options.causal) {
      const rows = tf.reshape(tf.range(0, nq, 1, 'int32'), [nq, 1]);
      const cols = tf.reshape(tf.range(0, nk, 1, 'int32'), [1, nk]);
      const visible = tf.cast(tf.lessEqual(cols, tf.add(rows, nk - nq)), 'float32'); // [nq, nk]
      numDen = tf.matMul(tf.mul(tf.matMul(phiQ, phiK, false, true), visible), values);
    } else {
      numDen = tf.matMul(phiQ, tf.matMul(phiK, values, true, false));
    }
    const [num, den] = tf.split(numDen, [dv, 1], 3);
    return tf.div(num, tf.maximum(den, 1e-30)) as Tensor4D;
  });
}
