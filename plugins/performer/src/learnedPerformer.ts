import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor3D } from '@tensorflow/tfjs-core';
import { SwapformerError, type AttentionOperator, type OperatorGeometry } from '@swapformer/core';
import { createLearnedDecoder } from './learnedDecoder';
import { identityFeatureWeights, learnedFeatureAttention } from './learnedFeatures';
import { windowedAttention } from './windowedAttention';
import { createWindowedDecoder } from './windowedDecoder';
import { learnedWindowMap } from './windowMaps';

/**
 * The `featureMap: "learned"` operator: one trainable `feature_map` W `[heads, headDim, f]` per
 * layer (f = `features`, default headDim), registered through `parameters()` so model graphs
 * adopt it (`ownedBy: 'performer'`) and checkpoints carry it. A softmax checkpoint lacks it, so
 * it starts at the identity map until `swapformer adapt` trains it. With a local window
 * (`local.window > 0`, windowedAttention.ts) it also owns `window_factor` α `[heads]`, trained
 * and saved the same way.
 *
 * @example const op = createLearnedPerformer({ heads: 4, headDim: 32, layerIndex: 0 }, null, { window: 64, chunkSize: 128 });
 */
export function createLearnedPerformer(geometry: OperatorGeometry, features: number | null, local: { window: number; chunkSize: number } = { window: 0, chunkSize: 128 }): AttentionOperator {
  const { heads, headDim } = geometry;
  const f = features ?? headDim;
  const initial = tf.tensor3d(identityFeatureWeights(heads, headDim, f), [heads, headDim, f]);
  const weights = tf.variable(initial, true);
  initial.dispose(); // the variable holds its own reference to the data
  const layer = geometry.layerIndex ?? 0;
  const valueDim = geometry.valueDim ?? headDim;
  // LoLCATs' window factor α (σ(α) weighs the exact window against the features): α = 0, an even
  // split, is their initialisation; a checkpoint without `window_factor` starts there.
  const windowFactor = local.window > 0 ? tf.tidy(() => tf.variable(tf.zeros([heads]), true)) : null;
  const w = weights as unknown as Tensor3D;
  const makeMap = (scale: number, batch: number) => learnedWindowMap(w, windowFactor as unknown as Tensor1D, scale, batch);
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
      if (windowFactor) return windowedAttention(q, k, v, (scale) => makeMap(scale, q.shape[0]), { window: local.window, chunkSize: local.chunkSize, causal: ctx.causal, scale: ctx.scale, mask: ctx.mask });
      return learnedFeatureAttention(q, k, v, w, { scale: ctx.scale, causal: ctx.causal, mask: ctx.mask });
    },
    decoder: windowFactor
      ? createWindowedDecoder({ heads, features: 2 * f, valueDim, window: local.window, chunkSize: local.chunkSize, makeMap: (_omega, scale, batch) => makeMap(scale, batch) })
      : createLearnedDecoder({ heads, features: f, valueDim, weights: w }),
    parameters: () => [{ name: 'feature_map', variable: weights, trainable: true }, ...(windowFactor ? [{ name: 'window_factor', variable: windowFactor, trainable: true }] : [])],
    dispose: () => tf.dispose([weights, ...(windowFactor ? [windowFactor] : [])]),
  };
}
