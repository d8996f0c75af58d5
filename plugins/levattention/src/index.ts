import type { AttentionPlugin, OptionsFromSchema, OptionsInputFromSchema } from '@swapformer/core';
import { levAttention } from './levattention';

const { version } = require('../package.json') as { version: string };

/** Options of the `levattention` operator as `create` receives them (defaults applied): the type of `levattentionOptionsSchema`, so the two cannot drift. */
export type LevattentionOptions = OptionsFromSchema<typeof levattentionOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type LevattentionOptionsInput = OptionsInputFromSchema<typeof levattentionOptionsSchema>;

/** JSON Schema of the `levattention` operator's options. */
export const levattentionOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    k: {
      description: 'Keys kept per (batch, head) by the "top-k" rule: those with the largest leverage scores (the paper\'s headline setting is 32). k ≥ nk gives exact attention.',
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 32,
    },
    selection: {
      description: '"top-k" keeps the k highest-scoring keys; "threshold" keeps every key with score ≥ epsilon (the universal set U_ε, at most rank(K)/epsilon keys), or the best key if none qualifies.',
      enum: ['top-k', 'threshold'],
      default: 'top-k',
    },
    epsilon: {
      description: 'Leverage-score threshold of the "threshold" rule (ignored by "top-k").',
      type: 'number',
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.1,
    },
    keepFirst: {
      description: 'Always keep the first key (a CLS token); under "top-k" it takes one of the k slots.',
      type: 'boolean',
      default: false,
    },
    localWindow: {
      description: 'Local window w (our extension; 0 = off, the paper\'s operator): each query also attends, in the same softmax, to the keys at positions t − w < j ≤ t (causal) or |t − j| < w, a key in both sets counted once. Adds O(n·w) to the cost; w ≥ n is exact attention.',
      type: 'integer',
      minimum: 0,
      maximum: 65536,
      default: 0,
    },
    ridge: {
      description: 'Relative ridge λ = ridge · trace(KᵀK) / dk added to KᵀK against rank deficiency (causal online scores: ridge · ‖first key‖²).',
      type: 'number',
      minimum: 1e-10,
      maximum: 1,
      default: 1e-6,
    },
  },
} as const;

/**
 * LevAttention (Kannan et al., ICLR 2025): softmax attention of every query against the keys
 * with the largest leverage scores (the "universal set", chosen independently of the queries).
 * Deterministic, a drop-in for pretrained softmax weights; causal through online leverage
 * scores (our extension).
 *
 * @example registry.register(levattentionPlugin); registry.resolve({ name: 'levattention', options: { k: 32, keepFirst: true } });
 */
export const levattentionPlugin: AttentionPlugin<LevattentionOptions> = {
  meta: {
    name: 'levattention',
    version,
    apiVersion: '2.0.0', // the operator API this plugin is written against (checked at registration)
    description: 'LevAttention: softmax attention restricted to the keys with the largest leverage scores (top-k or threshold), causal via online scores.',
    reference: 'Kannan, Bhattacharyya, Kacham, Woodruff, LevAttention, ICLR 2025 (arXiv:2410.05462); no official code',
  },
  optionsSchema: levattentionOptionsSchema,
  // top-k keeps k keys (plus at most 2w − 1 of a window, w − 1 more when causal); the threshold rule keeps however many keys clear epsilon
  keysPerQuery: (options, n) => (options.selection === 'top-k' ? Math.min(n, options.k + Math.max(0, 2 * options.localWindow - 1)) : null),
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
    decoding: 'none',
    trainableParameters: false,
    randomness: 'deterministic',
    testedBackends: ['wasm', 'cpu', 'webgpu'], // webgpu: both forms without host reads (causal: head dim ≤ 256)
    dropInForPretrained: true,
    projections: 'qkv',
    mixesHeads: false,
    crossAttention: true,
  },
  create(options, services) {
    const { kernels } = services;
    const rule = { selection: options.selection, topK: options.k, epsilon: options.epsilon, keepFirst: options.keepFirst, ridge: options.ridge, localWindow: options.localWindow };
    return {
      name: 'levattention',
      forward: (q, k, v, ctx) => levAttention(kernels, q, k, v, { ...rule, scale: ctx.scale, causal: ctx.causal, mask: ctx.mask }),
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

export { levAttention, levAttentionSelection } from './levattention';
export type { LevAttentionOptions } from './levAttentionOptions';
export { causalLevAttention } from './causalLevAttention';
export { CAUSAL_WEBGPU_MAX_DIM, canRunCausalLevAttentionOnWebGpu, causalLevAttentionWebGpu, keptIntervalsWgsl, onlineEnergiesWgsl } from './causalLevAttentionWebGpu';
export { DEVICE_RIDGE_FLOOR, deviceLeverageScores, levAttentionOnDevice, newtonSchulzInverse, newtonSchulzIterations } from './deviceLevAttention';
export { createLeverageAccumulator, leverageScores } from './leverageScores';
export { hostKeptKeys, localWindowAttention, windowedUnionAttention } from './localWindow';
export type { KeptKeys, LocalWindowOptions } from './localWindow';
export type { LeverageAccumulator } from './leverageScores';
export { onlineLeverageScores } from './onlineLeverageScores';
export { causalSelection, selectKeys } from './keySelection';
export type { CausalSelection, SelectionRule } from './keySelection';
