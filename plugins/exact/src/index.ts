import type { AttentionPlugin, OptionsFromSchema, OptionsInputFromSchema } from '@swapformer/core';
import { exactAttention } from './exactAttention';
import { createExactDecoder } from './exactDecoder';

const { version } = require('../package.json') as { version: string };

/** Options of the `exact` operator as `create` receives them (defaults applied): the type of `exactOptionsSchema`, so the two cannot drift. */
export type ExactOptions = OptionsFromSchema<typeof exactOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type ExactOptionsInput = OptionsInputFromSchema<typeof exactOptionsSchema>;

/** JSON Schema of the `exact` operator's options. */
export const exactOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: {
      description: '"auto" uses the chunked online-softmax kernel when nq·nk exceeds chunkThreshold; "dense" or "chunked" force one.',
      enum: ['auto', 'dense', 'chunked'],
      default: 'auto',
    },
    chunkThreshold: {
      description: 'Score-matrix entries per (batch, head) slice above which "auto" switches to the chunked kernel.',
      type: 'integer',
      minimum: 1,
      default: 4096 * 4096,
    },
    queryBlock: { description: 'Query rows per block on the chunked path.', type: 'integer', minimum: 1, maximum: 65536, default: 1024 },
    keyBlock: { description: 'Keys per block on the chunked path.', type: 'integer', minimum: 1, maximum: 65536, default: 1024 },
  },
} as const;

/**
 * Exact softmax attention as a plugin like any other: causal (queries aligned to the end of the
 * keys), key-padding masks, kv-cache decoding, and a chunked path for long sequences.
 *
 * @example registry.register(exactPlugin); registry.resolve({ name: 'exact' });
 */
export const exactPlugin: AttentionPlugin<ExactOptions> = {
  meta: {
    name: 'exact',
    version,
    apiVersion: '2.0.0', // the operator API this plugin is written against (checked at registration)
    description: 'Exact softmax attention (reference), with causal and padding masks, grouped-query k/v heads, kv-cache and a chunked online-softmax path.',
    reference: 'Vaswani et al. 2017; online softmax: Milakov & Gimelshein 2018',
  },
  optionsSchema: exactOptionsSchema,
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
    decoding: 'kv-cache',
    trainableParameters: false,
    randomness: 'deterministic',
    testedBackends: ['wasm', 'cpu', 'webgpu'],
    dropInForPretrained: true,
    projections: 'qkv',
    mixesHeads: false,
    crossAttention: true,
    groupedKeyValues: true,
  },
  create(options, services) {
    const { kernels } = services;
    return {
      name: 'exact',
      forward: (q, k, v, ctx) => exactAttention(kernels, q, k, v, { ...options, scale: ctx.scale, causal: ctx.causal, mask: ctx.mask }),
      decoder: createExactDecoder(kernels, options),
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

export { exactAttention, exactPathFor } from './exactAttention';
export type { ExactAttentionOptions } from './exactAttention';
export { createExactDecoder } from './exactDecoder';
export type { KvCacheState } from './exactDecoder';
