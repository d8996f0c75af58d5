import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError, type AttentionPlugin, type OperatorCapabilities, createKernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

const base: OperatorCapabilities = exactPlugin.capabilities;

/** Softmax attention without causal support (like a vision-only operator). */
export const nonCausalPluginFixture: AttentionPlugin = {
  ...exactPlugin,
  meta: { ...exactPlugin.meta, name: 'bidirectional' },
  optionsSchema: { type: 'object', additionalProperties: false, properties: {} },
  capabilities: { ...base, causal: 'none', decoding: 'none', groupedKeyValues: false },
  create: () => ({ name: 'bidirectional', forward: (q, k, v, ctx) => softmaxAttention(kernels, q, k, v, { scale: ctx.scale, causal: false }), parameters: () => [], dispose: () => undefined }),
};

/** Exact attention times a trainable per-head gain it owns; no decoding state (like a TOST-style operator). */
export const gainPluginFixture: AttentionPlugin = {
  meta: { ...exactPlugin.meta, name: 'gain' },
  optionsSchema: { type: 'object', additionalProperties: false, properties: { init: { type: 'number', default: 1, description: 'initial gain' } } },
  capabilities: { ...base, decoding: 'none', trainableParameters: true, dropInForPretrained: false, groupedKeyValues: false },
  create: (options, _services, geometry) => {
    const gain = tf.variable(tf.fill([1, geometry.heads, 1, 1], (options as { init: number }).init), true);
    return {
      name: 'gain',
      forward: (q, k, v, ctx) => tf.tidy(() => tf.mul(softmaxAttention(kernels, q, k, v, { scale: ctx.scale, causal: ctx.causal }), gain) as Tensor4D),
      parameters: () => [{ name: 'gain', variable: gain, trainable: true }],
      dispose: () => gain.dispose(),
    };
  },
};

/** One projection only (q-only, like TOST): causal self-attention of q with itself, with an owned temperature. */
export const queryOnlyPluginFixture: AttentionPlugin = {
  meta: { ...exactPlugin.meta, name: 'query-only' },
  optionsSchema: { type: 'object', additionalProperties: false, properties: {} },
  capabilities: { ...base, decoding: 'none', trainableParameters: true, dropInForPretrained: false, projections: 'q-only', mixesHeads: true, groupedKeyValues: false },
  create: (_options, _services, geometry) => {
    const temp = tf.variable(tf.ones([geometry.heads]), true);
    return {
      name: 'query-only',
      forward: (q, _k, _v, ctx) =>
        tf.tidy(() => {
          const scaled = tf.mul(q, tf.reshape(temp, [1, geometry.heads, 1, 1])) as Tensor4D;
          return softmaxAttention(kernels, scaled, q, q, { causal: ctx.causal });
        }),
      parameters: () => [{ name: 'temp', variable: temp, trainable: true }],
      dispose: () => temp.dispose(),
    };
  },
};

/** A registry with exact and the fakes above. */
export function registryFixture(): OperatorRegistry {
  const registry = createOperatorRegistry();
  for (const p of [exactPlugin, nonCausalPluginFixture, gainPluginFixture, queryOnlyPluginFixture]) registry.register(p);
  return registry;
}

export const vitConfigFixture = { model: 'vit', imageSize: 8, patchSize: 4, numChannels: 3, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, numLabels: 5, seed: 1 } as const;
export const pixelVitConfigFixture = { model: 'vit', imageSize: 8, numChannels: 1, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 24, numLabels: 4, seed: 2, pixelStage: { layers: 1, hiddenSize: 8, heads: 1, patchMerge: 4, intermediateSize: 16 } } as const;
export const gptConfigFixture = { model: 'gpt', vocabSize: 23, nPositions: 16, hiddenSize: 16, numLayers: 2, numHeads: 2, seed: 3 } as const;

/** Throws unless fn throws a SwapformerError; returns it. */
export function errorOf(fn: () => unknown): SwapformerError {
  try {
    fn();
  } catch (error) {
    if (!SwapformerError.is(error)) throw error;
    return error;
  }
  throw new Error('expected a SwapformerError');
}

/** Seeded inputs. */
export function pixelsFixture(batch: number, channels: number, side: number, seed = 0): tf.Tensor4D {
  return tf.randomNormal([batch, channels, side, side], 0, 1, 'float32', seed) as tf.Tensor4D;
}
export function idsFixture(batch: number, t: number, vocab: number, seed = 0): tf.Tensor2D {
  const data = Array.from({ length: batch * t }, (_, i) => (i * 7 + seed * 13 + 3) % vocab);
  return tf.tensor2d(data, [batch, t], 'int32');
}

/** Bytes the backend received from the host while `fn` ran (every tensor made from JS data goes through `write`). */
export function bytesUploadedDuring(fn: () => void): number {
  const backend = tf.backend() as unknown as { write: (values: ArrayLike<number>, ...rest: unknown[]) => unknown };
  const original = backend.write;
  let bytes = 0;
  backend.write = function (values: ArrayLike<number>, ...rest: unknown[]) {
    bytes += (values as { byteLength?: number } | null)?.byteLength ?? 0; // null: an output buffer, not host data
    return original.call(this, values, ...rest);
  };
  try {
    fn();
  } finally {
    backend.write = original;
  }
  return bytes;
}
