import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createProfiler, createSwapformerHooks, runAttention, SwapformerError, type AttentionOperator, type OperatorCapabilities, createKernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { maxAbsDiff, randomAttentionInputs } from '../src/conformance';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

const capsFixture: OperatorCapabilities = {
  causal: 'native',
  keyPaddingMask: false,
  decoding: 'none',
  trainableParameters: false,
  randomness: 'deterministic',
  testedBackends: ['wasm'],
  dropInForPretrained: true,
  projections: 'qkv',
  mixesHeads: false,
  crossAttention: false,
};

const softmaxOperatorFixture: AttentionOperator = {
  name: 'soft',
  forward: (q, k, v, ctx) => softmaxAttention(kernels, q, k, v, { causal: ctx.causal }),
  parameters: () => [],
  dispose: () => undefined,
};

function expectError(fn: () => unknown, kind: string, ...fragments: string[]): SwapformerError {
  try {
    fn();
  } catch (error) {
    expect(SwapformerError.is(error), String(error)).to.equal(true);
    const e = error as SwapformerError;
    expect(e.kind).to.equal(kind);
    for (const f of fragments) expect(e.message).to.include(f);
    return e;
  }
  throw new Error('expected an error');
}

describe('runAttention', () => {
  const shape = { batch: 1, heads: 2, nq: 8, nk: 8, dk: 4 };

  it('should let beforeAttention rewrite q/k/v and afterAttention rewrite the output', () => {
    const hooks = createSwapformerHooks();
    const { q, k, v } = randomAttentionInputs(shape, 1);
    hooks.beforeAttention.tap('zero-values', (inputs) => ({ ...inputs, v: tf.zerosLike(inputs.v) }));
    hooks.afterAttention.tap('plus-one', (out) => tf.add(out, 1) as Tensor4D);
    const before = tf.memory().numTensors;
    const out = runAttention({ hooks, operator: softmaxOperatorFixture, capabilities: capsFixture, layerIndex: 2 }, q, k, v, { causal: false });
    expect(Array.from(out.dataSync()).every((x) => x === 1)).to.equal(true);
    out.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([q, k, v]);
  });

  it('should name a throwing tap and the layer, fire the error hook, and leak nothing', () => {
    const hooks = createSwapformerHooks();
    const seen: SwapformerError[] = [];
    hooks.error.tap('collect', (e) => void seen.push(e));
    hooks.afterAttention.tap('broken-tap', () => {
      throw new Error('boom');
    });
    const { q, k, v } = randomAttentionInputs(shape, 2);
    const before = tf.memory().numTensors;
    const e = expectError(() => runAttention({ hooks, operator: softmaxOperatorFixture, capabilities: capsFixture, layerIndex: 5 }, q, k, v, { causal: true }), 'hook-failed', 'broken-tap', 'layer 5', 'boom');
    expect(e.tap).to.equal('broken-tap');
    expect(seen).to.have.length(1);
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([q, k, v]);
  });

  it('should stamp an operator failure with the plugin and layer and leak nothing', () => {
    const hooks = createSwapformerHooks();
    const failing: AttentionOperator = {
      ...softmaxOperatorFixture,
      name: 'fragile',
      forward: (q) => {
        tf.mul(q, 2); // an intermediate that must be released
        throw new Error('kernel exploded');
      },
    };
    const { q, k, v } = randomAttentionInputs(shape, 3);
    const before = tf.memory().numTensors;
    const e = expectError(() => runAttention({ hooks, operator: failing, capabilities: capsFixture, layerIndex: 1 }, q, k, v, { causal: false }), 'operator-failed', '[plugin:fragile]', 'layer 1', 'kernel exploded');
    expect(e.plugin).to.equal('fragile');
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([q, k, v]);
  });

  describe('having bad inputs', () => {
    const site = () => ({ hooks: createSwapformerHooks(), operator: softmaxOperatorFixture, capabilities: capsFixture, layerIndex: 0 });

    it('should refuse mismatched head dims, ranks and dtypes naming the shapes', () => {
      const q = tf.zeros([1, 2, 8, 4]) as Tensor4D;
      const k = tf.zeros([1, 2, 8, 3]) as Tensor4D;
      const v = tf.zeros([1, 2, 8, 4]) as Tensor4D;
      expectError(() => runAttention(site(), q, k, v, { causal: false }), 'invalid-input', 'head dims differ', '4 vs 3');
      const q3 = tf.zeros([2, 8, 4]) as unknown as Tensor4D;
      expectError(() => runAttention(site(), q3, v, v, { causal: false }), 'invalid-input', 'rank 4', '[2, 8, 4]');
      const qi = tf.zeros([1, 2, 8, 4], 'int32') as Tensor4D;
      expectError(() => runAttention(site(), qi, v, v, { causal: false }), 'invalid-input', 'float32', 'int32');
      tf.dispose([q, k, v, q3, qi]);
    });

    it('should refuse zero-length sequences and NaN/Inf inputs', () => {
      const empty = tf.zeros([1, 1, 0, 4]) as Tensor4D;
      expectError(() => runAttention(site(), empty, empty, empty, { causal: false }), 'invalid-input', 'empty dimension');
      const bad = tf.tensor4d([1, NaN, 0, 0], [1, 1, 1, 4]);
      expectError(() => runAttention(site(), bad, bad, bad, { causal: false }), 'non-finite-input', 'q contains NaN or Inf');
      tf.dispose([empty, bad]);
    });

    it('should refuse a mask or a causal call the operator does not support instead of dropping it', () => {
      const { q, k, v } = randomAttentionInputs(shape, 4);
      const mask = tf.ones([1, 8]) as tf.Tensor2D;
      expectError(() => runAttention(site(), q, k, v, { causal: false, mask }), 'missing-capability', 'keyPaddingMask = false');
      const nonCausal = { ...site(), capabilities: { ...capsFixture, causal: 'none' as const } };
      expectError(() => runAttention(nonCausal, q, k, v, { causal: true }), 'missing-capability', 'capabilities.causal = "none"');
      tf.dispose([q, k, v, mask]);
    });

    it('should accept length-1 sequences', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 1, nk: 1, dk: 4 }, 5);
      const out = runAttention(site(), q, k, v, { causal: true });
      expect(maxAbsDiff(out, v)).to.be.below(1e-6); // one key: the output is its value
      tf.dispose([q, k, v, out]);
    });
  });
});

describe('createProfiler', () => {
  it('should record calls and time per layer and operator', () => {
    const hooks = createSwapformerHooks();
    const profiler = createProfiler(hooks);
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 16, nk: 16, dk: 8 }, 6);
    for (const layerIndex of [0, 1, 1]) runAttention({ hooks, operator: softmaxOperatorFixture, capabilities: capsFixture, layerIndex }, q, k, v, { causal: false }).dispose();
    const rows = profiler.report();
    expect(rows.map((r) => [r.layerIndex, r.operator, r.calls])).to.deep.equal([
      [0, 'soft', 1],
      [1, 'soft', 2],
    ]);
    expect(profiler.totalMs()).to.be.greaterThan(0);
    tf.dispose([q, k, v]);
  });
});
