/**
 * The two feature maps in the form the sliding-window hybrid (windowedAttention.ts) consumes.
 *
 * FAVOR+ (favorFeatures.ts) stabilises its features — per row for queries, per block for keys —
 * and drops m^(-1/2); here those constants are reported back, so that
 * exp(logScale + shift)·φ̃(q)·φ̃(k) = φ(q)ᵀφ(k), the unbiased estimate of exp(s·q·k) itself (up to
 * ε), and the window's exact kernel and the features share one scale.
 *
 * The learned (Hedgehog) map is not on exp's scale at all; as in LoLCATs, a learnable per-head
 * factor σ(α_h) weighs the window part, stabilised by the window maximum:
 * weight = σ(α)·exp(s·q·k − max_window) inside, φ(q)ᵀφ(k) outside.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { augmentKeys, augmentProjection, EMPTY_SHIFT } from './causalScan';
import { keyFeaturesT, scaledProjection } from './favorFeatures';
import { learnedFeatures } from './learnedFeatures';
import type { WindowFeatureMap } from './windowedAttention';

/**
 * FAVOR+ with ω `[m, d]`, scale s and ε. Caller tidies.
 *
 * @example const map = favorWindowMap(omega, 0.125, 1e-4);
 */
export function favorWindowMap(projection: Tensor2D, scale: number, epsilon: number): WindowFeatureMap {
  const m = projection.shape[0];
  const { proj, projT } = scaledProjection(projection, scale); // √s·ω
  const projAug = augmentProjection(proj);
  return {
    features: m,
    relativeToWindow: false,
    keyBlock(keys, keep) {
      const hidden = keep ? tf.sub(1, keep) : undefined;
      const logitsT = tf.matMul(projAug, augmentKeys(tf.transpose(keys, [0, 2, 1]), scale, hidden)); // [bh, m, c]: ωk' − ‖k'‖²/2
      const keyMax = tf.max(logitsT, 1, true); // [bh, 1, c]
      // Clamped like the other paths: an all-padded block keeps exp(HIDDEN − EMPTY) = 0 features.
      const shift = tf.maximum(tf.max(keyMax, 2, true), EMPTY_SHIFT); // [bh, 1, 1]
      return { phiKT: keyFeaturesT(logitsT, keyMax, shift, epsilon), shift };
    },
    queryBlock(queries) {
      const y = tf.matMul(queries, projT); // [bh, c, m]
      const rowMax = tf.max(y, 2, true);
      const phiQ = tf.add(tf.exp(tf.sub(y, rowMax)), epsilon);
      // φ(q) = m^(-1/2)·exp(y − ‖q'‖²/2) = exp(rowMax − s‖q‖²/2 − ½ln m)·φ̃(q); keys carry the other ½ln m.
      const logScale = tf.sub(tf.sub(rowMax, tf.mul(tf.sum(tf.square(queries), 2, true), scale / 2)), Math.log(m));
      return { phiQ, logScale };
    },
  };
}

/**
 * The learned map with weights `[h, d, f]` and per-head window factors α `[h]` (σ(α) weighs
 * the window), for slices laid out `[b·h, ..]`. Caller tidies.
 *
 * @example const map = learnedWindowMap(weights, alpha, 0.125, batch);
 */
export function learnedWindowMap(weights: Tensor3D, windowFactor: Tensor1D, scale: number, batch: number): WindowFeatureMap {
  const [h, , f] = weights.shape;
  const features = (x: Tensor3D): Tensor3D => {
    const [bh, c, d] = x.shape;
    return tf.reshape(learnedFeatures(tf.reshape(x, [batch, h, c, d]) as Tensor4D, weights, scale), [bh, c, 2 * f]) as Tensor3D;
  };
  // Inside: σ(α)·exp(s·q·k − max); outside: φ(q)ᵀφ(k) = exp(−ln σ(α) + max)·σ(α)·φ(q)ᵀφ(k).
  const logScale = tf.reshape(tf.tile(tf.reshape(tf.neg(tf.logSigmoid(windowFactor)), [1, h, 1, 1]), [batch, 1, 1, 1]), [batch * h, 1, 1]);
  return {
    features: 2 * f,
    relativeToWindow: true,
    keyBlock(keys, keep) {
      let phiKT: Tensor = tf.transpose(features(keys), [0, 2, 1]); // [bh, 2f, c]
      if (keep) phiKT = tf.mul(phiKT, keep); // padded keys weigh nothing
      return { phiKT, shift: tf.zeros([keys.shape[0], 1, 1]) };
    },
    queryBlock(queries) {
      return { phiQ: features(queries), logScale };
    },
  };
}
