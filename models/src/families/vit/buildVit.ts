/**
 * Vision Transformer (Dosovitskiy et al. 2021, arXiv:2010.11929) as the Hugging Face
 * `ViTModel` / `ViTForImageClassification` compute it — patch embedding, CLS token, learned
 * position embeddings, pre-norm blocks, final layer norm, linear head on CLS — with every
 * attention call going through the layer's resolved operator.
 *
 * Swapformer extension, the pixel stage (after T2T-ViT's long-sequence token-to-token layers,
 * Yuan et al. 2021, arXiv:2101.11986): the first `pixelStage.layers` blocks see one token per
 * pixel plus CLS (28×28 grey → 785 tokens), then p×p pixel squares are merged into one token
 * each (concatenated, then a linear map; CLS has its own linear map) and the standard blocks
 * follow on (H/p)² + 1 tokens. Cost per block O(b·n·d² + attention(n)).
 *
 * Shapes: pixels `[b, c, H, W]`; tokens flattened to `[b·n, d]` between blocks.
 */
import { assertModelFits } from '../../models/modelSizeLimits';
import { vitModelSize } from './vitConfig';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { SwapformerError, canReadSync } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { layerNorm, linear, repeatOverBatch } from '../../models/layers';
import { mlpWidth } from '../../models/modelConfigBase';
import type { VitModelConfig } from './vitConfig';
import { createParameterStore, type ModelParameter } from '../../models/parameterStore';
import { resolveLayerOperator, type LayerOperator } from '../../models/selfAttention';
import type { ForwardOptions, SwapformerModel } from '../../models/SwapformerModel';
import { createTransformerBlock, type BlockNames, type TransformerBlock } from '../../models/transformerBlock';
import { toVitHfConfig } from './vitHfConfig';
import type { BuildOptions } from '../../models/buildOptions';

/** A built ViT. `forward` gives logits `[b, numLabels]`, or the last hidden state `[b, n, d]` for a bare encoder. */
export interface VitModel extends SwapformerModel {
  readonly kind: 'vit';
  readonly modelConfig: VitModelConfig;
  /** The operator of every layer (pixel-stage layers first). */
  readonly layers: readonly LayerOperator[];
  /** Last hidden state after the final layer norm `[b, n, d]`, and the pooler output `[b, d]` when the model has one. */
  features(pixels: Tensor, options?: ForwardOptions): { lastHiddenState: Tensor3D; pooled?: Tensor2D };
  parameters(): ModelParameter[];
}

/** Names of ViT block `index` under `prefix` ("vit.encoder.layer"), as in Hugging Face checkpoints. */
function vitBlockNames(prefix: string, index: number, qkvBias: boolean): BlockNames {
  const p = `${prefix}.${index}`;
  return {
    norm1: `${p}.layernorm_before`,
    norm2: `${p}.layernorm_after`,
    mlpIn: `${p}.intermediate.dense`,
    mlpOut: `${p}.output.dense`,
    mlpLayout: 'linear',
    attention: {
      query: `${p}.attention.attention.query`,
      key: `${p}.attention.attention.key`,
      value: `${p}.attention.attention.value`,
      output: `${p}.attention.output.dense`,
      operatorPrefix: `${p}.attention.operator`,
      layout: 'linear',
      qkvBias,
    },
  };
}

/** `[b, c, H, W]` → `[b·(H/p)·(W/p), c·p·p]`, each row a patch flattened as (channel, y, x) like Conv2d weights. */
function extractPatches(x: Tensor, p: number): Tensor2D {
  const [b, c, h, w] = x.shape;
  const gh = h / p;
  const gw = w / p;
  const rows = tf.transpose(tf.reshape(x, [b * c * gh, p, gw, p]), [0, 2, 1, 3]); // [b·c·gh, gw, p, p]
  const grouped = tf.transpose(tf.reshape(rows, [b, c, gh, gw, p * p]), [0, 2, 3, 1, 4]); // [b, gh, gw, c, p·p]
  return tf.reshape(grouped, [b * gh * gw, c * p * p]);
}

/** Pixel tokens `[b, side·side, d]` → `[b·(side/p)², p·p·d]`, each row the (y, x, channel) concatenation of a p×p square. */
function mergePixelSquares(tokens: Tensor, side: number, p: number): Tensor2D {
  const [b, , d] = tokens.shape;
  const g = side / p;
  const squares = tf.transpose(tf.reshape(tokens, [b * g, p, g, p * d]), [0, 2, 1, 3]); // [b·g, g, p, p·d]
  return tf.reshape(squares, [b * g * g, p * p * d]);
}

function prependCls(cls: Variable, tokens: Tensor, pos: Variable): Tensor2D {
  const [b, n, d] = tokens.shape;
  const withCls = tf.concat([repeatOverBatch(cls, b), tokens], 1); // [b, n+1, d]
  return tf.reshape(tf.add(withCls, pos), [b * (n + 1), d]);
}

function checkPixels(x: Tensor, c: VitModelConfig): void {
  const expected = [c.numChannels, c.imageSize, c.imageSize];
  if (x.rank !== 4 || x.shape.slice(1).some((s, i) => s !== expected[i]) || x.shape[0] < 1) {
    throw new SwapformerError('invalid-input', `ViT: pixel_values must be [batch, ${expected.join(', ')}] (float32, channels first), got [${x.shape.join(', ')}].`);
  }
  if (x.dtype !== 'float32') throw new SwapformerError('invalid-input', `ViT: pixel_values must be float32, got ${x.dtype}.`);
  if (!canReadSync()) return; // webgpu in Node: no synchronous read (callers with host data check it there)
  const finite = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0]);
  if (!finite) throw new SwapformerError('non-finite-input', 'ViT: pixel_values contain NaN or Inf.');
}

/**
 * Builds a ViT graph from a normalized config. Layer i's operator is resolved from `attention`
 * (the pixel stage is layers 0…L₀−1, so `{ first: L₀ }` selects it).
 *
 * @example const vit = buildVit(normalizeModelConfig({ model: 'vit', imageSize: 8, patchSize: 4, numChannels: 1, hiddenSize: 16, numLayers: 1, numHeads: 2, numLabels: 3 }), { name: 'exact' }, registry);
 */
export function buildVit(config: VitModelConfig, attention: AttentionSpec, registry: OperatorRegistry, options: BuildOptions = {}): VitModel {
  assertModelFits(config as unknown as Readonly<Record<string, unknown>>, vitModelSize);
  const store = createParameterStore(config.seed, options);
  const base = config.numLabels > 0 ? 'vit.' : '';
  const d = config.hiddenSize;
  const ps = config.pixelStage;
  const side = config.imageSize;
  const patch = ps ? ps.patchMerge : config.patchSize;
  const numPatches = (side / patch) ** 2;
  const stageLayers = ps?.layers ?? 0;
  const totalLayers = stageLayers + config.numLayers;
  const requirements = { pretrainedWeights: options.pretrainedWeights, training: options.training };
  const std = { normal: config.initializerRange };
  const common = { hooks: registry.hooks, model: 'ViT' as const, causal: false, init: std, outputInit: std, activation: config.hiddenAct, layerNormEps: config.layerNormEps };
  const layers: LayerOperator[] = [];
  const blocks: TransformerBlock[] = [];
  try {
    const makeBlock = (globalIndex: number, names: BlockNames, width: number, heads: number, inner: number, tokens: number) => {
      const layer = resolveLayerOperator(registry, attention, globalIndex, totalLayers, requirements, 'ViT', { heads, headDim: width / heads, valueDim: width / heads, modelDim: width, maxSeqLen: tokens });
      layers.push(layer);
      blocks.push(createTransformerBlock(store, layer, names, { ...common, hiddenSize: width, heads, intermediateSize: inner }));
    };
    let stage: { proj: Variable; projBias: Variable; cls: Variable; pos: Variable; mergeW: Variable; mergeB: Variable; clsW: Variable; clsB: Variable } | undefined;
    let patchW: Variable | undefined, patchB: Variable | undefined, cls: Variable | undefined;
    if (ps) {
      const sp = `${base}pixel_stage`;
      stage = {
        proj: store.add(`${sp}.embeddings.projection.weight`, [config.numChannels, ps.hiddenSize], std, 'linear'),
        projBias: store.add(`${sp}.embeddings.projection.bias`, [ps.hiddenSize], 'zeros'),
        cls: store.add(`${sp}.embeddings.cls_token`, [1, 1, ps.hiddenSize], std),
        pos: store.add(`${sp}.embeddings.position_embeddings`, [1, side * side + 1, ps.hiddenSize], std),
        mergeW: store.add(`${sp}.merge.patch.weight`, [patch * patch * ps.hiddenSize, d], std, 'linear'),
        mergeB: store.add(`${sp}.merge.patch.bias`, [d], 'zeros'),
        clsW: store.add(`${sp}.merge.cls.weight`, [ps.hiddenSize, d], std, 'linear'),
        clsB: store.add(`${sp}.merge.cls.bias`, [d], 'zeros'),
      };
      for (let i = 0; i < ps.layers; i++) {
        makeBlock(i, vitBlockNames(`${sp}.layer`, i, config.qkvBias), ps.hiddenSize, ps.heads, mlpWidth(ps.hiddenSize, ps.intermediateSize), side * side + 1);
      }
    } else {
      cls = store.add(`${base}embeddings.cls_token`, [1, 1, d], std);
      patchW = store.add(`${base}embeddings.patch_embeddings.projection.weight`, [config.numChannels * patch * patch, d], std, 'patch-conv', [d, config.numChannels, patch, patch]);
      patchB = store.add(`${base}embeddings.patch_embeddings.projection.bias`, [d], 'zeros');
    }
    const pos = store.add(`${base}embeddings.position_embeddings`, [1, numPatches + 1, d], std);
    for (let j = 0; j < config.numLayers; j++) {
      makeBlock(stageLayers + j, vitBlockNames(`${base}encoder.layer`, j, config.qkvBias), d, config.numHeads, mlpWidth(d, config.intermediateSize), numPatches + 1);
    }
    const [lnG, lnB] = [store.add(`${base}layernorm.weight`, [d], 'ones'), store.add(`${base}layernorm.bias`, [d], 'zeros')];
    const head = config.numLabels > 0 ? [store.add('classifier.weight', [d, config.numLabels], std, 'linear'), store.add('classifier.bias', [config.numLabels], 'zeros')] : undefined;
    const pooler = config.pooler ? [store.add('pooler.dense.weight', [d, d], std, 'linear'), store.add('pooler.dense.bias', [d], 'zeros')] : undefined;

    /** Runs everything up to (not including) the final layer norm: `[b·n, d]`. */
    const encode = (pixels: Tensor, call: ForwardOptions): Tensor2D => {
      const b = pixels.shape[0];
      let h: Tensor2D;
      let n: number;
      if (stage && ps) {
        n = side * side + 1;
        const perPixel = tf.reshape(tf.transpose(pixels, [0, 2, 3, 1]), [b * side * side, config.numChannels]);
        const tokens = tf.reshape(linear(perPixel as Tensor2D, stage.proj, stage.projBias), [b, side * side, ps.hiddenSize]);
        h = prependCls(stage.cls, tokens, stage.pos);
        for (let i = 0; i < ps.layers; i++) h = blocks[i].forward(h, b, n, call);
        const grid = tf.reshape(h, [b, n, ps.hiddenSize]);
        const clsIn = tf.reshape(tf.slice(grid, [0, 0, 0], [b, 1, ps.hiddenSize]), [b, ps.hiddenSize]) as Tensor2D;
        const pixelsOut = tf.slice(grid, [0, 1, 0], [b, side * side, ps.hiddenSize]);
        const merged = tf.reshape(linear(mergePixelSquares(pixelsOut, side, patch), stage.mergeW, stage.mergeB), [b, numPatches, d]);
        const clsOut = tf.reshape(linear(clsIn, stage.clsW, stage.clsB), [b, 1, d]);
        n = numPatches + 1;
        h = tf.reshape(tf.add(tf.concat([clsOut, merged], 1), pos), [b * n, d]);
      } else {
        n = numPatches + 1;
        const embedded = tf.reshape(linear(extractPatches(pixels, patch), patchW!, patchB), [b, numPatches, d]);
        h = prependCls(cls!, embedded, pos);
      }
      for (let j = 0; j < config.numLayers; j++) h = blocks[stageLayers + j].forward(h, b, n, call);
      return h;
    };

    const features = (pixels: Tensor, call: ForwardOptions = {}) => {
      checkPixels(pixels, config);
      const b = pixels.shape[0];
      return tf.tidy(() => {
        const h = layerNorm(encode(pixels, call), lnG, lnB, config.layerNormEps);
        const lastHiddenState = tf.reshape(h, [b, h.shape[0] / b, d]) as Tensor3D;
        if (!pooler) return { lastHiddenState };
        const clsRow = tf.reshape(tf.slice(lastHiddenState, [0, 0, 0], [b, 1, d]), [b, d]) as Tensor2D;
        return { lastHiddenState, pooled: tf.tanh(linear(clsRow, pooler[0], pooler[1])) };
      });
    };

    registry.hooks.modelBuilt.call({ model: 'ViT', operators: layers.map((l) => l.resolved.name) });
    return {
      kind: 'vit',
      modelConfig: config,
      config: toVitHfConfig(config, attention),
      layers,
      features,
      forward(pixels, call = {}) {
        checkPixels(pixels, config);
        const b = pixels.shape[0];
        return tf.tidy(() => {
          const h = encode(pixels, call);
          if (!head) return tf.reshape(layerNorm(h, lnG, lnB, config.layerNormEps), [b, h.shape[0] / b, d]);
          const clsRow = tf.reshape(tf.slice(tf.reshape(h, [b, h.shape[0] / b, d]), [0, 0, 0], [b, 1, d]), [b, d]) as Tensor2D;
          return linear(layerNorm(clsRow, lnG, lnB, config.layerNormEps), head[0], head[1]);
        });
      },
      parameters: () => store.list(),
      dispose() {
        store.dispose();
        for (const l of layers) l.operator.dispose();
      },
    };
  } catch (error) {
    store.dispose();
    for (const l of layers) l.operator.dispose();
    throw error;
  }
}
