/**
 * Llama-family decoders as transformers' `LlamaForCausalLM` / `MistralForCausalLM` /
 * `Qwen2ForCausalLM` (and the bare `*Model`) compute them: token embedding, pre-norm blocks with
 * RMSNorm, rotary positions, grouped-query attention and a SwiGLU MLP, final RMSNorm, LM head
 * tied to the embedding or not. Every attention call goes through the layer's resolved operator
 * (causal, refused at build time otherwise); q and k reach it with the rotary embedding applied.
 *
 * Sliding-window attention (Mistral, Qwen2 with use_sliding_window) is not implemented: inputs
 * are limited to the window, where sliding and full attention give the same result.
 *
 * Shapes: ids `[b, t]` int32; tokens flattened to `[b·t, d]` between blocks; logits `[b, t, V]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import type { BuildOptions } from '../../models/buildOptions';
import { checkTokenIds, decodingSupportOf, stepDecoderBlocks, disposeDecoderState, initDecoderState, type DecoderModel } from '../../models/DecoderModel';
import { embeddingLookup, linear, rmsNorm } from '../../models/layers';
import { assertModelFits } from '../../models/modelSizeLimits';
import { createParameterStore, type ModelParameter } from '../../models/parameterStore';
import { resolveLayerOperator, type LayerOperator } from '../../models/selfAttention';
import type { ForwardOptions } from '../../models/SwapformerModel';
import type { TransformerBlock } from '../../models/transformerBlock';
import { createLlamaBlock, llamaBlockPrefix } from './llamaBlock';
import { llamaHeads, llamaModelSize, type LlamaModelConfig } from './llamaConfig';
import { toLlamaHfConfig } from './llamaHfConfig';
import { createRotaryEmbedding } from './rotaryEmbedding';

/** A built Llama-family decoder. `forward` gives logits `[b, t, vocab]`, or the last hidden state `[b, t, d]` without an LM head. */
export interface LlamaModel extends DecoderModel {
  readonly kind: 'llama';
  readonly modelConfig: LlamaModelConfig;
  parameters(): ModelParameter[];
}

function checkIds(ids: Tensor, c: LlamaModelConfig, offset: number): void {
  checkTokenIds(ids, 'Llama', c.vocabSize);
  if (c.slidingWindow !== undefined && offset + ids.shape[1]! > c.slidingWindow) {
    throw new SwapformerError(
      'unsupported',
      `Llama (${c.variant}): ${offset + ids.shape[1]!} tokens exceed the sliding window of ${c.slidingWindow}; sliding-window attention is not implemented, so sequences are limited to the window (where it equals full attention).`,
    );
  }
}

/**
 * Builds a Llama-family graph from a normalized config; every layer's operator is resolved with
 * `{ causal: true }` and the geometry's `kvHeads`.
 *
 * @example const llama = buildLlama(normalizeModelConfig({ model: 'llama', vocabSize: 64, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKeyValueHeads: 2 }), { name: 'exact' }, registry);
 */
export function buildLlama(config: LlamaModelConfig, attention: AttentionSpec, registry: OperatorRegistry, options: BuildOptions = {}): LlamaModel {
  assertModelFits(config as unknown as Readonly<Record<string, unknown>>, llamaModelSize);
  const store = createParameterStore(config.seed, options);
  const base = config.lmHead ? 'model.' : '';
  const d = config.hiddenSize;
  const { heads, kvHeads, headDim } = llamaHeads(config);
  const std = { normal: config.initializerRange };
  const rotary = createRotaryEmbedding(config.rope, headDim, config.maxPositionEmbeddings);
  const contextLength = config.slidingWindow ?? Number.POSITIVE_INFINITY;
  const layers: LayerOperator[] = [];
  const blocks: TransformerBlock[] = [];
  try {
    const embed = store.add(`${base}embed_tokens.weight`, [config.vocabSize, d], std);
    for (let i = 0; i < config.numLayers; i++) {
      const layer = resolveLayerOperator(registry, attention, i, config.numLayers, { causal: true, pretrainedWeights: options.pretrainedWeights, training: options.training }, 'Llama', {
        heads,
        kvHeads,
        headDim,
        valueDim: headDim,
        modelDim: d,
        maxSeqLen: Number.isFinite(contextLength) ? contextLength : config.maxPositionEmbeddings,
      });
      layers.push(layer);
      blocks.push(
        createLlamaBlock(store, layer, llamaBlockPrefix(base, i), {
          hooks: registry.hooks,
          model: 'Llama',
          hiddenSize: d,
          heads,
          kvHeads,
          headDim,
          causal: true,
          init: std,
          outputInit: std,
          outputBias: config.outputBias,
          rotary,
          intermediateSize: config.intermediateSize,
          activation: config.hiddenAct,
          rmsNormEps: config.rmsNormEps,
          qkvBias: config.attentionBias,
          mlpBias: config.mlpBias,
        }),
      );
    }
    const finalNorm = store.add(`${base}norm.weight`, [d], 'ones');
    const untiedHead: Variable | undefined = config.lmHead && !config.tieWordEmbeddings ? store.add('lm_head.weight', [d, config.vocabSize], std, 'linear') : undefined;

    let cachedHead: { dataId: object; t: Tensor2D } | undefined;
    /** The head `[d, V]`: the untied one, or the embedding transposed once per weight version. */
    const head = (): Tensor2D => {
      if (untiedHead) return untiedHead as Tensor2D;
      if (!cachedHead || cachedHead.dataId !== embed.dataId) {
        cachedHead?.t.dispose();
        cachedHead = { dataId: embed.dataId, t: tf.keep(tf.transpose(embed) as Tensor2D) };
      }
      return cachedHead.t;
    };
    const embedIds = (ids: Tensor): Tensor2D => embeddingLookup(embed, tf.reshape(ids, [ids.size]) as Tensor1D);
    /** Final norm, then the LM head (or the hidden state of a bare model) for `[b·t, d]` rows. */
    const output = (h: Tensor2D, b: number, t: number, training: boolean): Tensor3D => {
      const normed = rmsNorm(h, finalNorm, config.rmsNormEps);
      if (!config.lmHead) return tf.reshape(normed, [b, t, d]);
      // training differentiates through the transpose; inference reuses the cached one
      const weights = training && !untiedHead ? (tf.transpose(embed) as Tensor2D) : head();
      return tf.reshape(linear(normed, weights), [b, t, config.vocabSize]);
    };

    const model: LlamaModel = {
      kind: 'llama',
      modelConfig: config,
      config: toLlamaHfConfig(config, attention),
      layers,
      contextLength,
      forward(ids, call: ForwardOptions = {}) {
        checkIds(ids, config, 0);
        const [b, t] = ids.shape;
        return tf.tidy(() => {
          let h = embedIds(ids);
          for (const block of blocks) h = block.forward(h, b, t, call);
          return output(h, b, t, call.training ?? false);
        });
      },
      parameters: () => store.list(),
      decodingSupport: () => decodingSupportOf(layers),
      initDecoding: (batch) => initDecoderState('Llama', layers, batch),
      step(ids, state, options) {
        checkIds(ids, config, state.length);
        const [b, t] = ids.shape;
        if (b !== state.batch) throw new SwapformerError('invalid-input', `Llama: the decoding state holds ${state.batch} sequences, got input_ids for ${b}.`);
        const h = tf.tidy(() => embedIds(ids));
        return stepDecoderBlocks(blocks, h, b, t, state, (last, rows) => output(last, b, rows, false), options);
      },
      disposeDecoding: (state, keep) => disposeDecoderState(layers, state, keep),
      dispose() {
        cachedHead?.t.dispose();
        store.dispose();
        for (const l of layers) l.operator.dispose();
      },
    };
    const repeated = layers.filter((l) => l.keyValueHeads?.repeated).map((l) => l.layerIndex);
    registry.hooks.modelBuilt.call({ model: 'Llama', operators: layers.map((l) => l.resolved.name), ...(repeated.length ? { repeatedKeyValueHeads: repeated } : {}) });
    return model;
  } catch (error) {
    store.dispose();
    for (const l of layers) l.operator.dispose();
    throw error;
  }
}
