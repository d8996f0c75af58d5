import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionDecoder, DecodingState } from '@swapformer/core';
import { learnedFeatures } from './learnedFeatures';

/** Running Σ φ(k)ᵀ[v, 1] over the prefix, `[b, h, 2f, dv + 1]`. */
export interface LearnedDecodingState extends DecodingState {
  readonly sums: Tensor4D;
}

/**
 * Recurrent decoding for the learned feature map: O(f·dv) state per head, the same outputs as
 * the causal forward over the whole prefix (new tokens see the state plus the causal part of
 * their own block).
 *
 * @example const decoder = createLearnedDecoder({ heads: 4, features: 32, valueDim: 32, weights });
 */
export function createLearnedDecoder(config: { heads: number; features: number; valueDim: number; weights: Tensor3D }): AttentionDecoder<LearnedDecodingState> {
  return {
    initState(batch) {
      const sums = tf.zeros([batch, config.heads, 2 * config.features, config.valueDim + 1]) as Tensor4D;
      return { length: 0, sums, tensors: [sums] };
    },
    step(q, k, v, state, ctx) {
      const [b, h, t, dk] = q.shape;
      const dv = v.shape[3];
      const scale = ctx.scale ?? 1 / Math.sqrt(dk);
      const result = tf.tidy(() => {
        const phiQ = learnedFeatures(q, config.weights, scale);
        const phiK = learnedFeatures(k, config.weights, scale);
        const values = tf.concat([v, tf.ones([b, h, t, 1])], 3);
        const visible = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // causal within the block
        const numDen = tf.add(tf.matMul(phiQ, state.sums), tf.matMul(tf.mul(tf.matMul(phiQ, phiK, false, true), visible), values));
        const [num, den] = tf.split(numDen, [dv, 1], 3);
        return { output: tf.div(num, tf.maximum(den, 1e-30)) as Tensor4D, sums: tf.add(state.sums, tf.matMul(phiK, values, true, false)) as Tensor4D };
      });
      return { output: result.output, state: { length: state.length + t, sums: result.sums, tensors: [result.sums] } };
    },
    disposeState: (state) => state.sums.dispose(),
  };
}
