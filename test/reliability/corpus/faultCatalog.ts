/**
 * The faults the reliability suite injects: plugins that throw in create or forward or return
 * garbage, and hook taps that throw. Each entry says what must come out: one SwapformerError of
 * `kind`, naming the plugin or tap and the layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { CORE_API_VERSION, SwapformerError, type AttentionOperator, type AttentionPlugin, type SwapformerErrorKind } from '@swapformer/core';
import type { OperatorRegistry } from '@swapformer/registry';

const CAPS = { causal: 'native', keyPaddingMask: false, decoding: 'none', trainableParameters: false, randomness: 'deterministic', testedBackends: ['wasm'], dropInForPretrained: false, projections: 'qkv', mixesHeads: false, crossAttention: false } as const;
export const LAYER = 3;

/** An inline plugin whose create/forward misbehave as told. */
export function faultyPlugin(name: string, create: () => AttentionOperator | undefined): AttentionPlugin {
  return { meta: { name, version: '1.0.0', apiVersion: CORE_API_VERSION, description: 'fault injection' }, optionsSchema: { type: 'object', additionalProperties: false, properties: {} }, capabilities: CAPS, create: create as AttentionPlugin['create'] };
}

export function operatorWith(name: string, forward: (q: Tensor4D, k: Tensor4D, v: Tensor4D, call: number) => Tensor4D): () => AttentionOperator {
  return () => {
    let calls = 0;
    return { name, forward: (q, k, v) => forward(q, k, v, calls++), parameters: () => [], dispose: () => undefined };
  };
}

export interface Fault {
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

export const FAULTS: readonly Fault[] = [
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
  { title: 'forward returns undefined', setup: (r) => (r.register(faultyPlugin('fault-undefined', operatorWith('fault-undefined', () => undefined as unknown as Tensor4D))), 'fault-undefined'), forward: true, kind: 'operator-failed', includes: ['[plugin:fault-undefined] layer 3: forward returned undefined; expected a float32 tensor of shape [b, h, nq, dv] = [1, 2, 8, 4]'], stamp: { plugin: 'fault-undefined', layer: LAYER } },
  { title: 'forward returns a non-tensor', setup: (r) => (r.register(faultyPlugin('fault-object', operatorWith('fault-object', () => ({ shape: [1, 2, 8, 4] }) as unknown as Tensor4D))), 'fault-object'), forward: true, kind: 'operator-failed', includes: ['[plugin:fault-object] layer 3: forward returned an object (not a tensor); expected a float32 tensor of shape [b, h, nq, dv] = [1, 2, 8, 4]'], stamp: { plugin: 'fault-object', layer: LAYER } },
  {
    title: 'forward returns the wrong shape',
    setup: (r) => (r.register(faultyPlugin('fault-shape', operatorWith('fault-shape', (q) => tf.slice(q, [0, 0, 0, 0], [1, 2, 7, 4]) as Tensor4D))), 'fault-shape'),
    forward: true, kind: 'operator-failed', includes: ['[plugin:fault-shape] layer 3: forward returned a float32 tensor of shape [1, 2, 7, 4]; expected a float32 tensor of shape [b, h, nq, dv] = [1, 2, 8, 4]'], stamp: { plugin: 'fault-shape', layer: LAYER },
  },
  {
    title: 'forward returns the wrong dtype',
    setup: (r) => (r.register(faultyPlugin('fault-dtype', operatorWith('fault-dtype', (q) => tf.cast(q, 'int32') as Tensor4D))), 'fault-dtype'),
    forward: true, kind: 'operator-failed', includes: ['[plugin:fault-dtype] layer 3: forward returned an int32 tensor of shape [1, 2, 8, 4]; expected a float32 tensor'], stamp: { plugin: 'fault-dtype', layer: LAYER },
  },
  {
    title: 'forward throws a SwapformerError without a layer',
    setup: (r) => (r.register(faultyPlugin('fault-own-error', operatorWith('fault-own-error', () => { throw new SwapformerError('invalid-input', 'sequence too long for the budget'); }))), 'fault-own-error'),
    forward: true, kind: 'invalid-input', includes: ['[plugin:fault-own-error] layer 3: sequence too long for the budget'], stamp: { plugin: 'fault-own-error', layer: LAYER },
  },
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
