/**
 * Fault injection: plugins that throw in create or forward, return garbage, and hook taps that
 * throw. Every fault must surface as one SwapformerError that names the plugin or tap and the
 * layer, fire the `error` hook once, and leave `tf.memory().numTensors` at its baseline.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { CORE_API_VERSION, createMemoryLogger, createSwapformerContainer, runAttention, SwapformerError, type AttentionOperator, type AttentionPlugin, type SwapformerErrorKind } from '@swapformer/core';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';

const CAPS = { causal: 'native', keyPaddingMask: false, decoding: 'none', trainableParameters: false, randomness: 'deterministic', testedBackends: ['wasm'], dropInForPretrained: false, projections: 'qkv', mixesHeads: false, crossAttention: false } as const;
const LAYER = 3;

/** An inline plugin whose create/forward misbehave as told. */
function faultyPlugin(name: string, create: () => AttentionOperator | undefined): AttentionPlugin {
  return { meta: { name, version: '1.0.0', apiVersion: CORE_API_VERSION, description: 'fault injection' }, optionsSchema: { type: 'object', additionalProperties: false, properties: {} }, capabilities: CAPS, create: create as AttentionPlugin['create'] };
}

function operatorWith(name: string, forward: (q: Tensor4D, k: Tensor4D, v: Tensor4D, call: number) => Tensor4D): () => AttentionOperator {
  return () => {
    let calls = 0;
    return { name, forward: (q, k, v) => forward(q, k, v, calls++), parameters: () => [], dispose: () => undefined };
  };
}

interface Fault {
  readonly title: string;
  /** Registers what the fault needs and returns the plugin name to run (and taps to add). */
  setup(registry: OperatorRegistry): string;
  /** Run the forward (true) or stop after create (false). */
  readonly forward: boolean;
  readonly kind: SwapformerErrorKind;
  readonly includes: readonly string[];
  /** What the error must carry. */
  readonly stamp: { plugin?: string; tap?: string; layer?: number };
}

const boom = () => {
  throw new Error('boom');
};

const FAULTS: readonly Fault[] = [
  { title: 'create throws', setup: (r) => (r.register(faultyPlugin('fault-create', boom)), 'fault-create'), forward: false, kind: 'operator-failed', includes: ['[plugin:fault-create] create failed (layer 3): boom'], stamp: { plugin: 'fault-create', layer: LAYER } },
  {
    title: 'create throws a string',
    setup: (r) => (r.register(faultyPlugin('fault-create-string', () => { throw 'not an Error'; })), 'fault-create-string'),
    forward: false, kind: 'operator-failed', includes: ['[plugin:fault-create-string] create failed (layer 3): not an Error'], stamp: { plugin: 'fault-create-string', layer: LAYER },
  },
  { title: 'create returns nothing', setup: (r) => (r.register(faultyPlugin('fault-create-empty', () => undefined)), 'fault-create-empty'), forward: false, kind: 'operator-failed', includes: ['did not return an operator with a forward() method'], stamp: { plugin: 'fault-create-empty', layer: LAYER } },
  { title: 'forward throws', setup: (r) => (r.register(faultyPlugin('fault-forward', operatorWith('fault-forward', boom))), 'fault-forward'), forward: true, kind: 'operator-failed', includes: ['[plugin:fault-forward] layer 3: forward failed: boom'], stamp: { plugin: 'fault-forward', layer: LAYER } },
  {
    title: 'forward allocates, then throws',
    setup: (r) => (r.register(faultyPlugin('fault-forward-alloc', operatorWith('fault-forward-alloc', (q) => { tf.matMul(tf.reshape(q, [-1, 4]), tf.ones([4, 64])); tf.zeros([128, 128]); throw new Error('boom after allocating'); }))), 'fault-forward-alloc'),
    forward: true, kind: 'operator-failed', includes: ['[plugin:fault-forward-alloc] layer 3: forward failed: boom after allocating'], stamp: { plugin: 'fault-forward-alloc', layer: LAYER },
  },
  { title: 'forward returns NaN', setup: (r) => (r.register(faultyPlugin('fault-nan', operatorWith('fault-nan', (q) => tf.mul(q, NaN) as Tensor4D))), 'fault-nan'), forward: true, kind: 'non-finite-input', includes: ['operator "fault-nan" at layer 3: the output contains NaN or Inf'], stamp: { plugin: 'fault-nan', layer: LAYER } },
  { title: 'forward returns Infinity', setup: (r) => (r.register(faultyPlugin('fault-inf', operatorWith('fault-inf', (q) => tf.div(q, 0) as Tensor4D))), 'fault-inf'), forward: true, kind: 'non-finite-input', includes: ['the output contains NaN or Inf'], stamp: { plugin: 'fault-inf', layer: LAYER } },
  { title: 'forward returns undefined', setup: (r) => (r.register(faultyPlugin('fault-undefined', operatorWith('fault-undefined', () => undefined as unknown as Tensor4D))), 'fault-undefined'), forward: true, kind: 'operator-failed', includes: ['[plugin:fault-undefined] layer 3: forward failed'], stamp: { plugin: 'fault-undefined', layer: LAYER } },
  {
    title: 'beforeAttention tap throws',
    setup: (r) => (r.hooks.beforeAttention.tap('bad-before', () => { throw new Error('tap boom'); }), 'exact'),
    forward: true, kind: 'hook-failed', includes: ['hook tap "bad-before" on beforeAttention threw (layer 3, operator "exact"): tap boom'], stamp: { tap: 'bad-before', layer: LAYER },
  },
  {
    title: 'beforeAttention replaces q/k/v, then afterAttention throws',
    setup: (r) => {
      r.hooks.beforeAttention.tap('scale-inputs', ({ q, k, v }) => ({ q: tf.mul(q, 2) as Tensor4D, k: tf.mul(k, 2) as Tensor4D, v }));
      r.hooks.afterAttention.tap('bad-after', () => { throw new Error('after boom'); });
      return 'exact';
    },
    forward: true, kind: 'hook-failed', includes: ['hook tap "bad-after" on afterAttention threw (layer 3, operator "exact"): after boom'], stamp: { tap: 'bad-after', layer: LAYER },
  },
  {
    title: 'afterAttention tap returns NaN',
    setup: (r) => (r.hooks.afterAttention.tap('nan-after', (out) => tf.mul(out, NaN) as Tensor4D), 'exact'),
    forward: true, kind: 'non-finite-input', includes: ['operator "exact" at layer 3: the output contains NaN or Inf'], stamp: { plugin: 'exact', layer: LAYER },
  },
  {
    title: 'an error-hook tap throws too (the original error wins)',
    setup: (r) => {
      r.hooks.error.tap('bad-error-tap', () => { throw new Error('error tap boom'); });
      r.register(faultyPlugin('fault-both', operatorWith('fault-both', boom)));
      return 'fault-both';
    },
    forward: true, kind: 'operator-failed', includes: ['[plugin:fault-both] layer 3: forward failed: boom'], stamp: { plugin: 'fault-both', layer: LAYER },
  },
  {
    title: 'operatorResolved tap throws',
    setup: (r) => (r.hooks.operatorResolved.tap('bad-resolved', () => { throw new Error('resolved boom'); }), 'exact'),
    forward: false, kind: 'hook-failed', includes: ['hook tap "bad-resolved" on operatorResolved threw: resolved boom'], stamp: { tap: 'bad-resolved' },
  },
];

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
});

/** How many faults this file injects (docs/reliability.md reports it). */
export const FAULT_COUNT = FAULTS.length + 1;
