import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, instantiateOperator, resolveOperatorServices } from '@swapformer/core';
import { maxAbsDiff, randomAttentionInputs } from '@swapformer/core/conformance';
import { learnedFeatureAttention, learnedFeatures, performerPlugin } from '../src';

/** φ(x) by hand for one head row: [softmax(x'W), softmax(−x'W)]. */
function featuresByHand(x: number[], w: number[][], scale: number): number[] {
  const logits = w[0].map((_, j) => x.reduce((s, xi, i) => s + xi * Math.sqrt(scale) * w[i][j], 0));
  const soft = (z: number[]) => {
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const t = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / t);
  };
  return [...soft(logits), ...soft(logits.map((v) => -v))];
}

describe('performer featureMap "learned"', () => {
  const geometry = { heads: 2, headDim: 4, valueDim: 4, maxSeqLen: 16, layerIndex: 1 };
  const create = (options: Record<string, unknown>) => instantiateOperator(performerPlugin, options, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() })), geometry);

  it('should own a trainable "feature_map" [heads, headDim, f], identity at start, and keep FAVOR+ as the default', () => {
    const op = create({ featureMap: 'learned', features: 6 });
    const [param] = op.parameters();
    expect([param.name, param.trainable, param.variable.shape]).to.deep.equal(['feature_map', true, [2, 4, 6]]);
    const w = param.variable.arraySync() as number[][][];
    expect(w[1][2][2]).to.equal(1);
    expect(w[1][2][6 - 1]).to.equal(0);
    expect(w[0][1][5]).to.equal(1); // column 5 reads coordinate 5 mod 4
    op.dispose();
    const favor = create({});
    expect(favor.parameters().map((p) => [p.name, p.trainable])).to.deep.equal([['projection', false]]);
    favor.dispose();
  });

  it('should compute φ as the softmax pair of x·s^½·W (checked by hand)', () => {
    const weights = tf.tensor3d([0.5, -1, 2, 0.3, 1, 1], [1, 2, 3]);
    const x = tf.tensor4d([0.7, -0.2], [1, 1, 1, 2]);
    const phi = learnedFeatures(x, weights, 0.25);
    const expected = featuresByHand(
      [0.7, -0.2],
      [
        [0.5, -1, 2],
        [0.3, 1, 1],
      ],
      0.25,
    );
    expect(maxAbsDiff(phi, tf.tensor(expected))).to.be.below(1e-6);
    tf.dispose([weights, x, phi]);
  });

  it('should ignore the future when causal, and equal the non-causal output at the last query', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 9, nk: 9, dk: 4 }, 3);
    const op = create({ featureMap: 'learned' });
    const weights = op.parameters()[0].variable as unknown as Tensor3D;
    const out = learnedFeatureAttention(q, k, v, weights, { causal: true });
    // change keys and values from position 5 on: outputs 0..4 must not move
    const bump = (t: Tensor4D) => tf.concat([tf.slice(t, [0, 0, 0, 0], [1, 2, 5, 4]), tf.add(tf.slice(t, [0, 0, 5, 0], [1, 2, 4, 4]), 3)], 2) as Tensor4D;
    const changed = learnedFeatureAttention(bump(q), bump(k), bump(v), weights, { causal: true });
    expect(maxAbsDiff(tf.slice(out, [0, 0, 0, 0], [1, 2, 5, 4]), tf.slice(changed, [0, 0, 0, 0], [1, 2, 5, 4]))).to.equal(0);
    expect(maxAbsDiff(tf.slice(out, [0, 0, 5, 0], [1, 2, 4, 4]), tf.slice(changed, [0, 0, 5, 0], [1, 2, 4, 4]))).to.be.above(1e-3);
    const full = learnedFeatureAttention(q, k, v, weights, { causal: false });
    expect(maxAbsDiff(tf.slice(out, [0, 0, 8, 0], [1, 2, 1, 4]), tf.slice(full, [0, 0, 8, 0], [1, 2, 1, 4]))).to.be.below(1e-5);
    op.dispose();
    tf.dispose([q, k, v, out, changed, full]);
  });

  it('should decode in blocks to the causal forward over the whole prefix (1e-5)', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 7, nk: 7, dk: 4 }, 9);
    const op = create({ featureMap: 'learned' });
    const full = op.forward(q, k, v, { causal: true, layerIndex: 1 });
    let state = op.decoder!.initState(2);
    const outs: Tensor4D[] = [];
    for (const [start, size] of [
      [0, 3],
      [3, 1],
      [4, 3],
    ]) {
      const part = (x: Tensor4D) => tf.slice(x, [0, 0, start, 0], [2, 2, size, 4]) as Tensor4D;
      const step = op.decoder!.step(part(q), part(k), part(v), state, { layerIndex: 1 });
      op.decoder!.disposeState(state);
      state = step.state;
      outs.push(step.output);
    }
    expect(state.length).to.equal(7);
    expect(maxAbsDiff(tf.concat(outs, 2), full)).to.be.below(1e-5);
    op.decoder!.disposeState(state);
    op.dispose();
    tf.dispose([q, k, v, full, ...outs]);
  });

  it('should pass gradients to the feature map through the operator forward', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 6, nk: 6, dk: 4 }, 5);
    const op = create({ featureMap: 'learned' });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(op.forward(q, k, v, { causal: true, layerIndex: 1 }))) as tf.Scalar, [op.parameters()[0].variable]);
    const g = Object.values(grads)[0];
    const largest = tf.tidy(() => tf.max(tf.abs(g)));
    expect(largest.dataSync()[0]).to.be.above(0);
    tf.dispose([largest, value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).to.equal(before);
    op.dispose();
    tf.dispose([q, k, v]);
  });
});
