import { canReadSync, deriveSeed, type AttentionPlugin } from '@swapformer/core';
import { causalThinformerAttention } from './causalThinformer';
import { deviceCausalThinformerAttention, deviceThinformerAttention } from './deviceThinformer';
import { thinformerAttention } from './thinformer';

const { version } = require('../package.json') as { version: string };

/** Options of the `thinformer` operator (see `thinformerOptionsSchema`); a type alias so it is a Record. */
export type ThinformerOptions = {
  readonly g: number;
  readonly delta: number;
  readonly seed: number;
  readonly exactBlock: number;
};

/** JSON Schema of the `thinformer` operator's options. */
export const thinformerOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    g: {
      description: 'Oversampling parameter of KH-Compress(g): the coreset keeps 2^g·sqrt(n) key–value pairs (n = 4^floor(log4 nk)); halving cost grows like 4^g. g ≥ log4 n keeps all n stride-thinned pairs.',
      type: 'integer',
      minimum: 0,
      maximum: 12,
      default: 2,
    },
    delta: {
      description: 'Failure parameter δ of kernel halving; each bucket uses δ_bucket = δ·S² / (4^(g+1)·R·n), which sets the walk threshold Λ = 1/2 + ln(2S/δ_bucket).',
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.5,
    },
    exactBlock: {
      description: 'Causal calls only: the key range is halved recursively down to blocks of at most this many keys, which use exact causal attention; queries see each earlier half through its Thinformer coreset. nk ≤ exactBlock is exact causal attention.',
      type: 'integer',
      minimum: 2,
      maximum: 1048576,
      default: 1024,
    },
    seed: {
      description: 'Base seed of the walk thresholds and symmetrisation coins; per-layer and per-call seeds derive from it (ctx.seed overrides it).',
      type: 'integer',
      minimum: 0,
      maximum: 4294967295,
      default: 0,
    },
  },
} as const;

/**
 * Thinformer: KH-Compress(g) coreset of key–value pairs with the attention kernel, then exact
 * softmax attention of every query against the coreset (the paper's non-causal Algorithm 1).
 * Causal calls use the recursive block split with coresets for the earlier halves.
 *
 * @example registry.register(thinformerPlugin); registry.resolve({ name: 'thinformer', options: { g: 2 } });
 */
export const thinformerPlugin: AttentionPlugin<ThinformerOptions> = {
  meta: {
    name: 'thinformer',
    version,
    apiVersion: '2.0.0', // the operator API this plugin is written against (checked at registration)
    description: 'Thinformer: kernel-thinning (KH-Compress) coreset of 2^g·sqrt(n) key–value pairs, then softmax attention against it; causal calls by recursive block split.',
    reference: 'Carrell, Gong, Shetty, Dwivedi, Mackey, "Low-Rank Thinning", ICML 2025 (arXiv:2502.12063); microsoft/thinformer',
  },
  optionsSchema: thinformerOptionsSchema,
  capabilities: {
    causal: 'native',
    keyPaddingMask: false,
    decoding: 'none',
    trainableParameters: false,
    randomness: 'seeded',
    testedBackends: ['wasm', 'cpu', 'webgpu'],
    dropInForPretrained: true,
    projections: 'qkv',
    mixesHeads: false,
    crossAttention: true,
  },
  create(options, _services, geometry) {
    return {
      name: 'thinformer',
      forward(q, k, v, ctx) {
        const seed = deriveSeed(ctx.seed ?? options.seed, 'layer', ctx.layerIndex ?? geometry.layerIndex ?? 0, 'call', ctx.callIndex ?? 0);
        const coreset = { g: options.g, delta: options.delta, seed, scale: ctx.scale };
        // backends that cannot read back synchronously (webgpu) build the coreset on the device
        if (!canReadSync()) return ctx.causal ? deviceCausalThinformerAttention(q, k, v, { ...coreset, exactBlock: options.exactBlock }) : deviceThinformerAttention(q, k, v, coreset);
        return ctx.causal ? causalThinformerAttention(q, k, v, { ...coreset, exactBlock: options.exactBlock }) : thinformerAttention(q, k, v, coreset);
      },
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

export { thinformerAttention } from './thinformer';
export { causalThinformerAttention } from './causalThinformer';
export { deviceThinformerAttention, deviceCausalThinformerAttention } from './deviceThinformer';
export { deviceCoresetOfRange } from './thinformerWebGpu';
export type { DeviceCoreset } from './thinformerWebGpu';
export type { CausalThinformerOptions } from './causalThinformer';
export type { ThinformerAttentionOptions } from './thinformer';
export { thinformerCoreset, coresetPositions, coresetOfRange, keyValueData } from './thinformerCoreset';
export type { CoresetOptions, CoresetPositions, CoresetTimings, KeyValueData } from './thinformerCoreset';
export { compressPlan } from './compressPlan';
export type { CompressPlan, HalvingRound } from './compressPlan';
export { selfBalancingWalk } from './selfBalancingWalk';
export { pairDifferenceGrams } from './pairDifferenceGrams';
export { wasmPairDifferenceGrams, wasmPairGramSupported } from './wasmPairDifferenceGrams';
export type { ThinnedPairs } from './pairDifferenceGrams';
