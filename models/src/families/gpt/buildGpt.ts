/**
 * GPT-2 (Radford et al. 2019) as the Hugging Face `GPT2Model` / `GPT2LMHeadModel` compute it —
 * token + learned position embeddings, causal pre-norm blocks, final layer norm, LM head tied to
 * the token embedding — with every attention call going through the layer's resolved operator
 * (which must apply the causal mask itself: refused at build time otherwise).
 *
 * Incremental decoding runs each layer's `operator.decoder` (kv-cache or recurrent state) on
 * the new tokens only; positions continue from the state's length.
 *
 * Shapes: ids `[b, t]` int32; tokens flattened to `[b·t, d]` between blocks; logits `[b, t, V]`.
 */
import { assertModelFits } from '../../models/modelSizeLimits';
import { gptModelSize } from './gptConfig';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec, OperatorRegistry } from '@swapformer/registry';
import { toGptHfConfig } from './gptHfConfig';
import type { BuildOptions } from '../../models/buildOptions';
import { embeddingLookup, layerNorm, linear } from '../../models/layers';
import { mlpWidth } from '../../models/modelConfigBase';
import type { GptModelConfig } from './gptConfig';
import { createParameterStore, type ModelParameter } from '../../models/parameterStore';
import { resolveLayerOperator, type LayerOperator } from '../../models/selfAttention';
import type { ForwardOptions } from '../../models/SwapformerModel';
import { checkTokenIds, decodingSupportOf, stepDecoderBlocks, disposeDecoderState, initDecoderState, type DecoderModel, type DecoderState } from '../../models/DecoderModel';
import { createTransformerBlock, type BlockNames, type TransformerBlock } from '../../models/transformerBlock';

/** Decoding state of a whole GPT (the shared decoder state). */
export type GptDecodingState = DecoderState;

/** A built GPT. `forward` gives logits `[b, t, vocab]`, or the last hidden state `[b, t, d]` without an LM head. */
export interface GptModel extends DecoderModel {
  readonly kind: 'gpt';
  readonly modelConfig: GptModelConfig;
  parameters(): ModelParameter[];
}

function gptBlockNames(base: string, index: number): BlockNames {
  const p = `${base}h.${index}`;
  return {
    norm1: `${p}.ln_1`,
    norm2: `${p}.ln_2`,
    mlpIn: `${p}.mlp.c_fc`,
    mlpOut: `${p}.mlp.c_proj`,
    mlpLayout: 'as-is', // GPT-2 Conv1D weights are already [in, out]
    attention: { query: `${p}.attn.q_attn`, key: `${p}.attn.k_attn`, value: `${p}.attn.v_attn`, fusedQkv: `${p}.attn.c_attn`, output: `${p}.attn.c_proj`, operatorPrefix: `${p}.attn.operator`, layout: 'as-is', qkvBias: true },
  };
}

function checkIds(ids: Tensor, c: GptModelConfig, offset: number): void {
  checkTokenIds(ids, 'GPT', c.vocabSize);
  if (offset + ids.shape[1]! > c.nPositions) {
    throw new SwapformerError('invalid-input', `GPT: ${offset + ids.shape[1]!} tokens exceed the context of ${c.nPositions} positions (nPositions).`);
  }
}

/**
 * Builds a GPT graph from a normalized config; every layer's operator is resolved with
 * `{ causal: true }`, so a non-causal operator fails here naming the layer and capability.
 *
 * @example const gpt = buildGpt(normalizeModelConfig({ model: 'gpt', vocabSize: 65, nPositions: 64, hiddenSize: 32, numLayers: 2, numHeads: 2 }), { name: 'exact' }, registry);
 */
export function buildGpt(config: GptModelConfig, attention: AttentionSpec, registry: OperatorRegistry, options: BuildOptions = {}): GptModel {
  assertModelFits(config as unknown as Readonly<Record<string, unknown>>, gptModelSize);
  const store = createParameterStore(config.seed, options);
  const base = config.lmHead ? 'transformer.' : '';
  const d = config.hiddenSize;
  const heads = config.numHeads;
  const headDim = d / heads;
  const std = { normal: config.initializerRange };
  const projStd = { normal: config.initializerRange / Math.sqrt(2 * config.numLayers) }; // GPT-2's scaled residual init
  const layers: LayerOperator[] = [];
  const blocks: TransformerBlock[] = [];
  try {
    const wte = store.add(`${base}wte.weight`, [config.vocabSize, d], std);
    const wpe = store.add(`${base}wpe.weight`, [config.nPositions, d], std);
    for (let i = 0; i < config.numLayers; i++) {
      const layer = resolveLayerOperator(registry, attention, i, config.numLayers, { causal: true, pretrainedWeights: options.pretrainedWeights, training: options.training }, 'GPT', {
        heads,
        headDim,
        valueDim: headDim,
        modelDim: d,
        maxSeqLen: config.nPositions,
      });
      layers.push(layer);
      const scale = (config.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1) / (config.scaleAttnByInverseLayerIdx ? i + 1 : 1);
      blocks.push(
        createTransformerBlock(store, layer, gptBlockNames(base, i), {
          hooks: registry.hooks,
          model: 'GPT',
          hiddenSize: d,
          heads,
          causal: true,
          scale: config.scaleAttnWeights && !config.scaleAttnByInverseLayerIdx ? undefined : scale,
          init: std,
          outputInit: projStd,
          intermediateSize: mlpWidth(d, config.intermediateSize),
          activation: config.activation,
          layerNormEps: config.layerNormEps,
        }),
      );
    }
    const lnG = store.add(`${base}ln_f.weight`, [d], 'ones');
    const lnB = store.add(`${base}ln_f.bias`, [d], 'zeros');
    const untiedHead: Variable | undefined = config.lmHead && !config.tieWordEmbeddings ? store.add('lm_head.weight', [d, config.vocabSize], std, 'linear') : undefined;

    let cachedHead: { dataId: object; t: Tensor2D } | undefined;
    /** wteᵀ for decoding, transposed once per weight version (rank-2 matMul without transB). */
    const decodeHead = (): Tensor2D => {
      if (untiedHead) return untiedHead as Tensor2D;
      if (!cachedHead || cachedHead.dataId !== wte.dataId) {
        cachedHead?.t.dispose();
        cachedHead = { dataId: wte.dataId, t: tf.keep(tf.transpose(wte) as Tensor2D) };
      }
      return cachedHead.t;
    };
    const logitsOf = (h: Tensor2D, head: () => Tensor): Tensor2D => linear(layerNorm(h, lnG, lnB, config.layerNormEps), head());
    const embed = (ids: Tensor, offset: number): Tensor2D => {
      const [b, t] = ids.shape;
      const tokens = tf.reshape(embeddingLookup(wte, tf.reshape(ids, [b * t]) as Tensor1D), [b, t, d]);
      // decode steps gather their rows: tfjs-wasm's Slice first copies the whole table (nPositions·d floats) out of its heap
      const positions = offset === 0 ? tf.slice(wpe, [0, 0], [t, d]) : tf.gather(wpe, tf.range(offset, offset + t, 1, 'int32'));
      return tf.reshape(tf.add(tokens, positions), [b * t, d]) as Tensor2D;
    };

    const model: GptModel = {
      kind: 'gpt',
      modelConfig: config,
      config: toGptHfConfig(config, attention),
      layers,
      contextLength: config.nPositions,
      forward(ids, call: ForwardOptions = {}) {
        checkIds(ids, config, 0);
        const [b, t] = ids.shape;
        return tf.tidy(() => {
          let h = embed(ids, 0);
          for (const block of blocks) h = block.forward(h, b, t, call);
          if (!config.lmHead) return tf.reshape(layerNorm(h, lnG, lnB, config.layerNormEps), [b, t, d]);
          const logits = logitsOf(h, () => untiedHead ?? (tf.transpose(wte) as Tensor2D));
          return tf.reshape(logits, [b, t, config.vocabSize]);
        });
      },
      parameters: () => store.list(),
      decodingSupport: () => decodingSupportOf(layers),
      initDecoding: (batch) => initDecoderState('GPT', layers, batch),
      step(ids, state, options) {
        checkIds(ids, config, state.length);
        const [b, t] = ids.shape;
        if (b !== state.batch) throw new SwapformerError('invalid-input', `GPT: the decoding state holds ${state.batch} sequences, got input_ids for ${b}.`);
        const h = tf.tidy(() => embed(ids, state.length));
        return stepDecoderBlocks(
          blocks,
          h,
          b,
          t,
          state,
          (last, rows) => (config.lmHead ? (tf.reshape(logitsOf(last, decodeHead), [b, rows, config.vocabSize]) as Tensor3D) : (tf.reshape(layerNorm(last, lnG, lnB, config.layerNormEps), [b, rows, d]) as Tensor3D)),
          options,
        );
      },
      disposeDecoding: (state, keep) => disposeDecoderState(layers, state, keep),
      dispose() {
        cachedHead?.t.dispose();
        store.dispose();
        for (const l of layers) l.operator.dispose();
      },
    };
    registry.hooks.modelBuilt.call({ model: 'GPT', operators: layers.map((l) => l.resolved.name) });
    return model;
  } catch (error) {
    store.dispose();
    for (const l of layers) l.operator.dispose();
    throw error;
  }
}
