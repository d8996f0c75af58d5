import type { AttentionPlugin } from '@swapformer/core';
import { localWindowAttention } from './localWindowAttention';

const { version } = require('../package.json') as { version: string };

/**
 * Options of the `local-window` operator (see `localWindowOptionsSchema`). A type alias, not an
 * interface, so that it is assignable to `AttentionPlugin<Record<string, unknown>>`.
 */
export type LocalWindowOptions = {
  readonly window: number;
  readonly queryBlock: number;
};

/** JSON Schema of the options: defaults, descriptions and ranges; unknown keys are errors. */
export const localWindowOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    window: {
      description: 'Keys visible on each side of a query (the past side only when causal). window >= sequence length gives exact attention.',
      type: 'integer',
      minimum: 0,
      maximum: 1048576,
      default: 64,
    },
    queryBlock: {
      description: 'Query rows per block; trades memory for fewer kernel calls, never changes the output.',
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 128,
    },
  },
} as const;

/**
 * Local-window attention as an out-of-tree plugin: it depends only on the public API of
 * `@swapformer/core` (a peer dependency) and is found by discovery through its package.json
 * keyword `swapformer-plugin` and `"swapformer": {"plugin": "localWindowPlugin"}`.
 *
 * @example {"attention": {"name": "local-window", "options": {"window": 16}}}
 */
export const localWindowPlugin: AttentionPlugin<LocalWindowOptions> = {
  meta: {
    name: 'local-window',
    version,
    // The operator API this package was written against, as a literal: the core refuses it at
    // registration when it cannot serve it. (CORE_API_VERSION would always "match" any core.)
    apiVersion: '2.0.0',
    description: 'Local-window (sliding-window) attention: each query attends to the keys within a fixed distance.',
    reference: 'Beltagy et al. 2020, Longformer (arXiv:2004.05150), local attention only',
  },
  optionsSchema: localWindowOptionsSchema,
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
    decoding: 'none',
    trainableParameters: false,
    randomness: 'deterministic',
    testedBackends: ['wasm', 'cpu'],
    // A softmax-trained model attends far beyond a local window, so a swap changes its outputs.
    dropInForPretrained: false,
    projections: 'qkv',
    mixesHeads: false,
    crossAttention: true,
  },
  create(options) {
    return {
      name: 'local-window',
      forward: (q, k, v, ctx) => localWindowAttention(q, k, v, { ...options, scale: ctx.scale, causal: ctx.causal, mask: ctx.mask }),
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

export { localWindowAttention } from './localWindowAttention';
export type { LocalWindowAttentionOptions } from './localWindowAttention';
