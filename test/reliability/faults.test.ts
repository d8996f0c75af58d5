/**
 * Fault injection: plugins that throw in create or forward, return garbage, and hook taps that
 * throw. Every fault must surface as one SwapformerError that names the plugin or tap and the
 * layer, fire the `error` hook once, and leave `tf.memory().numTensors` at its baseline.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, runAttention, SwapformerError } from '@swapformer/core';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { FAULTS, faultyPlugin, LAYER, operatorWith } from './corpus/faultCatalog';
import { MODELS_PENDING, modelsApi, TINY_VIT } from './support/models';

function freshRegistry(): OperatorRegistry {
  const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
  registry.register(exactPlugin);
  return registry;
}

describe('fault injection', () => {
  for (const fault of FAULTS) {
    it(`should report "${fault.title}" as one ${fault.kind} error naming the ${fault.stamp.tap ? 'tap' : 'plugin'} and layer, leaking nothing`, () => {
      const registry = freshRegistry();
      const reported: SwapformerError[] = [];
      registry.hooks.error.tap({ name: 'record', stage: -100 }, (e) => void reported.push(e));
      const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([1, 2, 8, 4], 0, 1, 'float32', s) as Tensor4D);
      const before = tf.memory().numTensors;
      let caught: unknown;
      try {
        const name = fault.setup(registry);
        const resolved = registry.resolve({ name }, {}, { layerIndex: LAYER });
        const operator = resolved.create({ heads: 2, headDim: 4 });
        if (fault.forward) runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: LAYER }, q, k, v, { causal: false }).dispose();
        operator.dispose();
      } catch (error) {
        caught = error;
      }
      expect(tf.memory().numTensors, 'tensors after the failure').to.equal(before);
      tf.dispose([q, k, v]);
      expect(SwapformerError.is(caught), `not a SwapformerError: ${String(caught)}`).to.equal(true);
      const error = caught as SwapformerError;
      expect(error.kind).to.equal(fault.kind);
      for (const s of fault.includes) expect(error.message).to.include(s);
      if (fault.stamp.plugin) expect(error.plugin).to.equal(fault.stamp.plugin);
      if (fault.stamp.tap) expect(error.tap).to.equal(fault.stamp.tap);
      if (fault.stamp.layer !== undefined) expect(error.layer).to.equal(fault.stamp.layer);
      if (fault.kind !== 'hook-failed' || fault.forward) expect(reported.map((e) => e.message)).to.deep.equal([error.message]);
    });
  }

  it('should keep working after an intermittent forward failure (the 5th of 10 calls)', () => {
    const registry = freshRegistry();
    registry.register(faultyPlugin('flaky', operatorWith('flaky', (_q, _k, v, call) => {
      if (call === 4) throw new Error('flaked');
      return tf.mul(v, 1) as Tensor4D;
    })));
    const resolved = registry.resolve({ name: 'flaky' }, {}, { layerIndex: 0 });
    const operator = resolved.create({ heads: 1, headDim: 2 });
    const x = tf.ones([1, 1, 3, 2]) as Tensor4D;
    const before = tf.memory().numTensors;
    const outcomes = Array.from({ length: 10 }, () => {
      try {
        runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: 0 }, x, x, x, { causal: false }).dispose();
        return 'ok';
      } catch (error) {
        return (error as SwapformerError).kind;
      }
    });
    expect(outcomes).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'operator-failed', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
  });

  describe('through a ViT graph', () => {
    const api = modelsApi();
    const boom = () => {
      throw new Error('boom');
    };

    before(function () {
      if (!api) {
        process.stderr.write(`    (pending: ${MODELS_PENDING})\n`);
        this.skip();
      }
    });

    /** Runs `fn`, returning the SwapformerError it throws and how many tensors it left behind. */
    function failure(fn: () => void): { error: SwapformerError; leaked: number } {
      const before = tf.memory().numTensors;
      try {
        fn();
      } catch (error) {
        expect(SwapformerError.is(error), String(error)).to.equal(true);
        return { error: error as SwapformerError, leaked: tf.memory().numTensors - before };
      }
      throw new Error('did not fail');
    }

    /** Builds a small ViT, runs one forward that must fail, and disposes everything again. */
    function forwardFailure(registry: OperatorRegistry, attention?: unknown): { error: SwapformerError; leaked: number } {
      const model = api!.buildModel({ ...TINY_VIT }, attention, registry);
      const pixels = tf.zeros([1, 3, 16, 16]);
      const result = failure(() => model.forward(pixels).dispose());
      pixels.dispose();
      model.dispose();
      return result;
    }

    it('should name the plugin and layer 2 when its forward throws, leaking nothing', () => {
      const registry = freshRegistry();
      registry.register(faultyPlugin('fault-forward', operatorWith('fault-forward', boom)));
      const { error, leaked } = forwardFailure(registry, { default: { name: 'exact' }, overrides: [{ layers: [2], name: 'fault-forward' }] });
      expect(error.kind).to.equal('operator-failed');
      expect(error.message).to.include('[plugin:fault-forward] layer 2');
      expect([error.plugin, error.layer]).to.deep.equal(['fault-forward', 2]);
      expect(leaked, 'tensors left by the failed forward').to.equal(0);
    });

    it('should name the tap and layer 1 when a tap throws there, leaking nothing', () => {
      const registry = freshRegistry();
      registry.hooks.beforeAttention.tap('layer-1-tap', (inputs, info) => {
        if (info.layerIndex === 1) throw new Error('tap boom');
        return inputs;
      });
      const { error, leaked } = forwardFailure(registry);
      expect(error.kind).to.equal('hook-failed');
      expect(error.message).to.include('hook tap "layer-1-tap" on beforeAttention threw (layer 1');
      expect([error.tap, error.layer]).to.deep.equal(['layer-1-tap', 1]);
      expect(leaked, 'tensors left by the failed forward').to.equal(0);
    });

    it('should name the plugin and layer 1 when its create throws while building, leaking nothing', () => {
      const registry = freshRegistry();
      registry.register(faultyPlugin('fault-create', boom));
      const { error, leaked } = failure(() => api!.buildModel({ ...TINY_VIT }, { default: { name: 'exact' }, overrides: [{ layers: [1], name: 'fault-create' }] }, registry));
      expect(error.kind).to.equal('operator-failed');
      expect(error.message).to.include('[plugin:fault-create] create failed (layer 1): boom');
      expect(leaked, 'tensors (weights of the layers built before) left by the failed build').to.equal(0);
    });
  });
});
