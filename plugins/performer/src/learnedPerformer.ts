import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { SwapformerError, type AttentionOperator, type OperatorGeometry } from '@swapformer/core';
import { createLearnedDecoder } from './learnedDecoder';
import { identityFeatureWeights, learnedFeatureAttention } from './learnedFeatures';

/**
 * The `featureMap: "learned"` operator: one trainable `feature_map` W `[heads, headDim, f]` per
 * layer (f = `features`, default headDim), registered through `parameters()` so model graphs
 * adopt it (`ownedBy: 'performer'`) and checkpoints carry it. A softmax checkpoint lacks it, so
 * it starts at the identity map until `swapformer adapt` trains it.
 *
 * @example const op = createLearnedPerformer({ heads: 4, headDim: 32, layerIndex: 0 }, null);
 */
export function createLearnedPerformer(geometry: OperatorGeometry, features: number | null): AttentionOperator {
  const { heads, headDim } = geometry;
  const f = features ?? headDim;
  const initial = tf.tensor3d(identityFeatureWeights(heads, headDim, f), [heads, headDim, f]);
  const weights = tf.variable(initial, true);
  initial.dispose(); // the variable holds its own reference to the data
  const layer = geometry.layerIndex ?? 0;
  return {
    name: 'performer',
    forward: (q, k, v, ctx) => {
      if (q.shape[1] !== heads || q.shape[3] !== headDim) {
        throw new SwapformerError(
          'invalid-input',
          `operator "performer" (featureMap "learned"): q is [.., ${q.shape[1]} heads, .., ${q.shape[3]}], but its feature map was made for ${heads} heads of dim ${headDim} (layer ${layer}).`,
          { plugin: 'performer', layer },
        );
      }
      return learnedFeatureAttention(q, k, v, weights as unknown as Tensor3D, { scale: ctx.scale, causal: ctx.causal, mask: ctx.mask });
    },
    decoder: createLearnedDecoder({ heads, features: f, valueDim: geometry.valueDim ?? headDim, weights: weights as unknown as Tensor3D }),
    parameters: () => [{ name: 'feature_map', variable: weights, trainable: true }],
    dispose: () => weights.dispose(),
  };
}
