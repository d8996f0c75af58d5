import { canReadSync, deriveSeed, type AttentionPlugin, type OptionsFromSchema, type OptionsInputFromSchema } from '@swapformer/core';
import { createDeviceUploadCache } from '@swapformer/kernels';
import { causalThinformerAttention } from './causalThinformer';
import { deviceThinformerAttention } from './deviceThinformer';
import { deviceCausalThinformerAttention } from './deviceCausalThinformer';
import { thinformerAttention } from './thinformer';

const { version } = require('../package.json') as { version: string };

/** Options of the `thinformer` operator as `create` receives them (defaults applied): the type of `thinformerOptionsSchema`, so the two cannot drift. */
export type ThinformerOptions = OptionsFromSchema<typeof thinformerOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type ThinformerOptionsInput = OptionsInputFromSchema<typeof thinformerOptionsSchema>;

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
      description: "Base seed of the walk thresholds and symmetrisation coins; per-layer and per-call seeds derive from it. null takes the container's seed (createSwapformerContainer({ seed })); ctx.seed overrides either.",
      type: ['integer', 'null'],
      minimum: 0,
      maximum: 4294967295,
      default: null,
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
  // the coreset size the description states: 2^g·sqrt(n'), n' the largest power of 4 ≤ n
  keysPerQuery: (options, n) => Math.min(n, 2 ** options.g * Math.sqrt(4 ** Math.floor(Math.log(Math.max(1, n)) / Math.log(4) + 1e-9))),
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
  create(options, services, geometry) {
    const { kernels } = services;
    const baseSeed = options.seed ?? services.rng.baseSeed;
    // the device path's walk thresholds, kept per seed: inference calls of a layer repeat theirs
    const uploads = createDeviceUploadCache();
    return {
      name: 'thinformer',
      forward(q, k, v, ctx) {
        const seed = deriveSeed(ctx.seed ?? baseSeed, 'layer', ctx.layerIndex ?? geometry.layerIndex ?? 0, 'call', ctx.callIndex ?? 0);
        const coreset = { g: options.g, delta: options.delta, seed, scale: ctx.scale };
        // a call index (training) makes every call's seed new: nothing to keep
        const cache = ctx.callIndex === undefined ? uploads : undefined;
        // backends that cannot read back synchronously (webgpu) build the coreset on the device
        if (!canReadSync()) return ctx.causal ? deviceCausalThinformerAttention(kernels, q, k, v, { ...coreset, exactBlock: options.exactBlock }, cache) : deviceThinformerAttention(kernels, q, k, v, coreset, cache);
        return ctx.causal ? causalThinformerAttention(kernels, q, k, v, { ...coreset, exactBlock: options.exactBlock }) : thinformerAttention(kernels, q, k, v, coreset);
      },
      parameters: () => [],
      dispose: () => uploads.clear(),
    };
  },
};

export { thinformerAttention } from './thinformer';
export { causalThinformerAttention } from './causalThinformer';
export { deviceThinformerAttention } from './deviceThinformer';
export { deviceCausalThinformerAttention } from './deviceCausalThinformer';
export { deviceCoresetOfRange, deviceCoresets } from './thinformerWebGpu';
export type { DeviceCoresets, KeyRange } from './thinformerWebGpu';
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
