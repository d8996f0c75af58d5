import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { deriveSeed, SwapformerError, type AttentionContext, type AttentionPlugin, type OperatorCapabilities, type OptionsFromSchema, type OptionsInputFromSchema } from '@swapformer/core';
import { drawProjection } from './drawProjection';
import { performerAttention } from './performer';
import { createPerformerDecoder } from './performerDecoder';
import { createLearnedPerformer } from './learnedPerformer';
import { windowedAttention } from './windowedAttention';
import { createWindowedDecoder } from './windowedDecoder';
import { favorWindowMap } from './windowMaps';

const { version } = require('../package.json') as { version: string };

/** Options of the `performer` operator as `create` receives them (defaults applied): the type of `performerOptionsSchema`, so the two cannot drift. */
export type PerformerOptions = OptionsFromSchema<typeof performerOptionsSchema>;

/** Options as a caller writes them: every option may be left to its default. */
export type PerformerOptionsInput = OptionsInputFromSchema<typeof performerOptionsSchema>;

/**
 * JSON Schema of the `performer` operator's options.
 *
 * @example resolveOptions(performerPlugin, { features: 256 }); // validated against this schema, defaults filled in
 */
export const performerOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    features: {
      description: 'Number of random features m. null picks ⌊dk·ln dk⌋ as performer-pytorch does (266 for dk = 64); more features, lower error.',
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 65536,
      default: null,
    },
    orthogonal: { description: 'Orthogonal random features (rows orthogonal within blocks of dk) instead of i.i.d. Gaussian rows; lowers the variance.', type: 'boolean', default: true },
    rowNorms: {
      description: 'Row lengths of ω: "gaussian" draws each as the norm of a N(0, I) vector (marginals stay Gaussian; reference scaling = 0); "fixed" uses sqrt(dk) (scaling = 1).',
      enum: ['gaussian', 'fixed'],
      default: 'gaussian',
    },
    redraw: {
      description: '"fixed": one ω per layer, drawn from (seed, layer); "per-call": a fresh ω every forward, drawn from (seed, layer, call index). A decoding sequence keeps the ω of its first step.',
      enum: ['fixed', 'per-call'],
      default: 'fixed',
    },
    seed: {
      description: "Base seed of ω; null takes the container's seed (createSwapformerContainer({ seed })). ctx.seed overrides either per call.",
      type: ['integer', 'null'],
      minimum: 0,
      maximum: 4294967295,
      default: null,
    },
    epsilon: { description: 'ε added to every stabilised feature (performer-pytorch uses 1e-4); keeps denominators away from 0.', type: 'number', minimum: 0, maximum: 1, default: 1e-4 },
    featureMap: {
      description: '"favor": FAVOR+ positive random features (an unbiased softmax estimator; drop-in for softmax weights). "learned": a Hedgehog-style map [softmax(xW), softmax(−xW)] per head, W owned by the operator (parameter `feature_map`, identity at start) and trained by `swapformer adapt` stage 1; no incremental decoder.',
      enum: ['favor', 'learned'],
      default: 'favor',
    },
    localWindow: {
      description:
        'Sliding window w of exact softmax (LoLCATs): keys t−w < j ≤ t (causal) or |t−j| < w (non-causal) get the exact kernel exp(s·q·k), older ones the feature map, in one normalisation. 0 = off (pure linear attention). Costs O(n·(w + m)) time (blocks of w; of max(w, chunkSize) on GPU backends) and a w-key window in the decoding state; the learned map adds a trainable per-head factor `window_factor`.',
      type: 'integer',
      minimum: 0,
      maximum: 1048576,
      default: 0,
    },
    chunkSize: { description: 'Tokens per chunk of the causal prefix scan (memory O(chunkSize² + chunkSize·m) per head); on GPU backends at least 1,024, where each chunk costs a fixed set of dispatches.', type: 'integer', minimum: 1, maximum: 8192, default: 128 },
  },
} as const;

/**
 * performer-pytorch's default feature count, ⌊d·ln d⌋ (Θ(d log d) suffices in theory).
 *
 * @example defaultFeatureCount(64); // 266
 */
export function defaultFeatureCount(headDim: number): number {
  return Math.max(1, Math.floor(headDim * Math.log(headDim)));
}

/** FAVOR+'s capabilities (the default feature map). */
const favorCapabilities: OperatorCapabilities = {
  causal: 'native',
  keyPaddingMask: true,
  decoding: 'recurrent-state',
  trainableParameters: false,
  randomness: 'seeded',
  testedBackends: ['wasm', 'cpu', 'webgpu'],
  dropInForPretrained: true,
  projections: 'qkv',
  mixesHeads: false,
  crossAttention: true,
};

/**
 * Performer FAVOR+ attention: positive orthogonal random features with max-subtraction,
 * non-causal O(n·m·d), a chunked causal prefix scan and a recurrent decoding state.
 * Drop-in for softmax-trained weights (the learned map only once adapted: `capabilitiesFor`);
 * ω is operator-owned, non-trainable state named `projection` so checkpoints can hold it.
 *
 * @example registry.register(performerPlugin); registry.resolve({ name: 'performer', options: { features: 256 } });
 */
export const performerPlugin: AttentionPlugin<PerformerOptions> = {
  meta: {
    name: 'performer',
    version,
    apiVersion: '2.1.0', // the operator API this plugin is written against (checked at registration): capabilitiesFor
    description: 'Performer FAVOR+: positive orthogonal random features, causal prefix scan and O(m·d)-per-token recurrent decoding.',
    reference: 'Choromanski et al., Rethinking Attention with Performers, ICLR 2021 (arXiv:2009.14794); google-research performer/fast_attention, lucidrains/performer-pytorch',
  },
  optionsSchema: performerOptionsSchema,
  capabilities: favorCapabilities,

  // The learned map owns a trainable `feature_map` that a softmax checkpoint lacks (identity at
  // start, not a softmax estimator), so it is a drop-in only once `swapformer adapt` has trained it
  // and the adapted checkpoint carries it; it draws nothing at random.
  capabilitiesFor(options) {
    if (options.featureMap !== 'learned') return favorCapabilities;
    return { ...favorCapabilities, trainableParameters: true, dropInForPretrained: false, randomness: 'deterministic' };
  },
  create(options, services, geometry) {
    if (options.featureMap === 'learned') return createLearnedPerformer(geometry, options.features, { window: options.localWindow, chunkSize: options.chunkSize });
    const { kernels } = services;
    const baseSeed = options.seed ?? services.rng.baseSeed;
    const headDim = geometry.headDim;
    const features = options.features ?? defaultFeatureCount(headDim);
    const spec = { features, headDim, orthogonal: options.orthogonal, rowNorms: options.rowNorms };
    const layer = geometry.layerIndex ?? 0;
    const seedOf = (seed: number, layerIndex: number, call: number | null): number =>
      call === null ? deriveSeed(seed, 'layer', layerIndex) : deriveSeed(seed, 'layer', layerIndex, 'call', call);
    const initial = tf.tensor2d(drawProjection(spec, seedOf(baseSeed, layer, null)), [features, headDim]);
    const projection = tf.variable(initial, false);
    initial.dispose(); // the variable holds its own reference to the data
    let drawnWith = seedOf(baseSeed, layer, null);
    let calls = 0;

    /** The ω a call uses: redrawn in place when the (seed, layer, call) it is drawn from changes. */
    const resolveProjection = (ctx: Omit<AttentionContext, 'causal' | 'mask'>): Tensor2D => {
      const call = options.redraw === 'per-call' ? (ctx.callIndex ?? calls) : null;
      calls += 1;
      const seed = seedOf(ctx.seed ?? baseSeed, ctx.layerIndex ?? layer, call);
      if (seed !== drawnWith) {
        const fresh = tf.tensor2d(drawProjection(spec, seed), [features, headDim]);
        projection.assign(fresh);
        fresh.dispose();
        drawnWith = seed;
      }
      return projection;
    };

    const valueDim = geometry.valueDim ?? headDim;
    const window = options.localWindow;
    const epsilon = options.epsilon;
    const decoder =
      window > 0
        ? createWindowedDecoder({ heads: geometry.heads, features, valueDim, window, chunkSize: options.chunkSize, resolveProjection, makeMap: (omega, scale) => favorWindowMap(omega!, scale, epsilon) })
        : createPerformerDecoder({ heads: geometry.heads, features, valueDim, epsilon, chunkSize: options.chunkSize, resolveProjection });
    return {
      name: 'performer',
      forward: (q, k, v, ctx) => {
        if (q.shape[3] !== headDim) {
          throw new SwapformerError('invalid-input', `operator "performer": q has head dim ${q.shape[3]}, but ω was drawn for headDim ${headDim} (geometry of layer ${layer}).`, { plugin: 'performer', layer });
        }
        const omega = resolveProjection(ctx);
        if (window > 0) {
          // tfjs ops on every backend: the fused CPU kernel and the WGSL programs have no window.
          return windowedAttention(q, k, v, (scale) => favorWindowMap(omega, scale, epsilon), { window, chunkSize: options.chunkSize, causal: ctx.causal, scale: ctx.scale, mask: ctx.mask });
        }
        return performerAttention(kernels, q, k, v, omega, { scale: ctx.scale, causal: ctx.causal, mask: ctx.mask, epsilon, chunkSize: options.chunkSize });
      },
      decoder,
      parameters: () => [{ name: 'projection', variable: projection, trainable: false }],
      dispose: () => projection.dispose(),
    };
  },
};

export { performerAttention, appendOnes, normalizeRows } from './performer';
export type { PerformerAttentionOptions } from './performer';
export { favorFeatures, keyFeaturesT, keyLogits, queryFeatures, scaledProjection } from './favorFeatures';
export type { FeatureRole, KeyLogits, ScaledProjection } from './favorFeatures';
export { addPrefixSums, augmentKeys, augmentProjection, emptyPrefixSums, gatherRange, scanCausal, EMPTY_SHIFT, HIDDEN_LOGIT } from './causalScan';
export type { PrefixSums, ScanInputs, ScanOptions } from './causalScan';
export { drawProjection } from './drawProjection';
export { identityFeatureWeights, learnedFeatureAttention, learnedFeatures } from './learnedFeatures';
export type { LearnedAttentionOptions } from './learnedFeatures';
export type { ProjectionSpec, RowNorms } from './drawProjection';
export { createPerformerDecoder } from './performerDecoder';
export { windowBlock, windowedAttention, windowedNumDen } from './windowedAttention';
export type { KeyBlockFeatures, QueryBlockFeatures, WindowAttentionOptions, WindowFeatureMap, WindowInputs, WindowOptions } from './windowedAttention';
export { favorWindowMap, learnedWindowMap } from './windowMaps';
export { createWindowedDecoder } from './windowedDecoder';
export type { WindowedDecoderConfig, WindowedDecodingState } from './windowedDecoder';
export type { PerformerDecoderConfig, PerformerDecodingState } from './performerDecoder';
