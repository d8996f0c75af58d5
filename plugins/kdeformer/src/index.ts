import { canReadSync, deriveSeed, type AttentionPlugin, type OptionsFromSchema, type OptionsInputFromSchema } from '@swapformer/core';
import { createDeviceUploadCache } from '@swapformer/kernels';
import { causalKdeformerAttention } from './causalKdeformer';
import { deviceKdeformerAttention } from './deviceKdeformer';
import { kdeformerAttention } from './kdeformer';

const { version } = require('../package.json') as { version: string };

/** Options of the `kdeformer` operator as `create` receives them (defaults applied): the type of `kdeformerOptionsSchema`, so the two cannot drift. */
export type KdeformerOptions = OptionsFromSchema<typeof kdeformerOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type KdeformerOptionsInput = OptionsInputFromSchema<typeof kdeformerOptionsSchema>;

/** JSON Schema of the `kdeformer` operator's options; defaults are the T2T-ViT layer-1 settings (m 64, b 32, r 7). */
export const kdeformerOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    b: {
      description: 'Bucket size: keys per block of the exact block-diagonal part (capped at the number of keys; one block of all keys with m = 0 is exact attention).',
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 32,
    },
    m: {
      description: 'Importance samples per (batch, head) for the unbiased off-block residual; 0 keeps only the block-diagonal part.',
      type: 'integer',
      minimum: 0,
      maximum: 65536,
      default: 64,
    },
    r: {
      description: 'Random hyperplanes of the angular LSH that orders keys and queries (2^r buckets).',
      type: 'integer',
      minimum: 1,
      maximum: 16,
      default: 7,
    },
    exactBlock: {
      description: 'Causal calls only: the key range is halved recursively down to blocks of at most this many keys, which use exact causal attention; queries see each earlier half through a non-causal KDEformer, merged by log-sum-exp. nk ≤ exactBlock is exact causal attention.',
      type: 'integer',
      minimum: 2,
      maximum: 1048576,
      default: 1024,
    },
    seed: {
      description: "Base seed of the hyperplanes (per layer) and of the residual samples (per layer and call); null takes the container's seed (createSwapformerContainer({ seed })). ctx.seed overrides either.",
      type: ['integer', 'null'],
      minimum: 0,
      maximum: 4294967295,
      default: null,
    },
  },
} as const;

/**
 * KDEformer (Zandieh et al., ICML 2023), the practical algorithm every experiment runs: angular
 * LSH sorting, an exact block-diagonal part and an importance-sampled residual. A drop-in
 * approximation of softmax attention for pretrained weights; causal calls by recursive block split
 * with log-sum-exp merges (causalKdeformer.ts).
 *
 * @example registry.register(kdeformerPlugin); registry.resolve({ name: 'kdeformer', options: { m: 128, b: 64 } });
 */
export const kdeformerPlugin: AttentionPlugin<KdeformerOptions> = {
  meta: {
    name: 'kdeformer',
    version,
    apiVersion: '2.0.0', // the operator API this plugin is written against (checked at registration)
    description: 'KDEformer: angular-LSH block-diagonal exact part plus an unbiased importance-sampled residual (linear in n); causal calls by recursive block split.',
    reference: 'Zandieh, Han, Daliri, Karbasi, KDEformer, ICML 2023 (arXiv:2302.02451); majid-daliri/kdeformer',
  },
  optionsSchema: kdeformerOptionsSchema,
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
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
    // the device path's hyperplanes and sampling uniforms, kept per seed: inference calls of a layer repeat theirs
    const uploads = createDeviceUploadCache();
    return {
      name: 'kdeformer',
      forward: (q, k, v, ctx) => {
        // Hyperplanes are fixed per layer (as the T2T reference draws them once per module);
        // samples are redrawn per call. ctx.seed pins both.
        const layerSeed = ctx.seed ?? deriveSeed(baseSeed, 'layer', ctx.layerIndex ?? geometry.layerIndex ?? 0);
        const sampleSeed = ctx.seed ?? deriveSeed(layerSeed, 'call', ctx.callIndex ?? 0);
        const attention = { blockSize: options.b, samples: options.m, projections: options.r, seed: layerSeed, sampleSeed, scale: ctx.scale, mask: ctx.mask };
        // a call index (training) makes every call's samples new: nothing to keep
        const cache = ctx.callIndex === undefined ? uploads : undefined;
        if (ctx.causal) return causalKdeformerAttention(kernels, q, k, v, { ...attention, exactBlock: options.exactBlock }, cache);
        // backends that cannot read back synchronously (webgpu) hash, sort and sample on the device
        return canReadSync() ? kdeformerAttention(kernels, q, k, v, attention) : deviceKdeformerAttention(q, k, v, attention, cache);
      },
      parameters: () => [],
      dispose: () => uploads.clear(),
    };
  },
};

export { kdeformerAttention, kdeformerParts } from './kdeformer';
export { deviceKdeformerAttention, deviceKdeformerPart } from './deviceKdeformer';
export { causalKdeformerAttention } from './causalKdeformer';
export type { CausalKdeformerOptions } from './causalKdeformer';
export type { KdeformerParts } from './kdeformer';
export type { KdeformerAttentionOptions } from './kdeformerOptions';
export { bucketIds, drawHyperplanes, grayCode, sortByBucket } from './angularLsh';
export { blockLayout } from './blockLayout';
export type { BlockLayout } from './blockLayout';
