/** Hugging Face `config.json` ↔ GPT-2 configs (`GPT2Model`, `GPT2LMHeadModel`). */
import type { AttentionSpec } from '@swapformer/registry';
import { configFromFile, dropEmpty, invalidHf, namedArchitecture, swapformerBlock, type HfDescription, type Json } from '../hfConfigHelpers';
import { normalizeGptConfig, type GptModelConfig } from './gptConfig';

export const GPT2_ARCHITECTURES = ['GPT2LMHeadModel', 'GPT2Model'] as const;

/** transformers' own defaults, for keys a config.json leaves out. */
const GPT2_DEFAULTS: Json = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, tie_word_embeddings: true };

/** The HF-style `config.json` content of a GPT config. */
export function toGptHfConfig(config: GptModelConfig, attention: AttentionSpec): Json {
  return {
    architectures: [config.lmHead ? 'GPT2LMHeadModel' : 'GPT2Model'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.nPositions,
    n_embd: config.hiddenSize,
    n_layer: config.numLayers,
    n_head: config.numHeads,
    n_inner: config.intermediateSize ?? null,
    activation_function: config.activation,
    layer_norm_epsilon: config.layerNormEps,
    tie_word_embeddings: config.tieWordEmbeddings,
    scale_attn_weights: config.scaleAttnWeights,
    scale_attn_by_inverse_layer_idx: config.scaleAttnByInverseLayerIdx,
    reorder_and_upcast_attn: false,
    initializer_range: config.initializerRange,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    swapformer: { attention, seed: config.seed, decoding: config.decoding, ...(config.tokenizer ? { tokenizer: config.tokenizer } : {}) },
  };
}

/** Reads a GPT-2 `config.json` (the architecture defaults to GPT2LMHeadModel, as transformers' AutoModelForCausalLM). */
export function fromGptHfConfig(raw: Json, file: string): HfDescription<GptModelConfig> {
  const json: Json = { ...GPT2_DEFAULTS, ...raw };
  const sw = swapformerBlock(json);
  const architecture = namedArchitecture(file, json, GPT2_ARCHITECTURES, 'gpt2') ?? 'GPT2LMHeadModel';
  if (json.add_cross_attention === true) throw invalidHf(file, 'add_cross_attention is true; GPT-2 cross-attention layers are not supported.');
  const config = configFromFile(file, () =>
    normalizeGptConfig(
      dropEmpty({
        model: 'gpt' as const,
        vocabSize: json.vocab_size,
        nPositions: json.n_positions,
        hiddenSize: json.n_embd,
        numLayers: json.n_layer,
        numHeads: json.n_head,
        intermediateSize: json.n_inner,
        activation: json.activation_function,
        layerNormEps: json.layer_norm_epsilon,
        tieWordEmbeddings: architecture === 'GPT2Model' ? true : json.tie_word_embeddings,
        lmHead: architecture === 'GPT2LMHeadModel',
        scaleAttnWeights: json.scale_attn_weights,
        scaleAttnByInverseLayerIdx: json.scale_attn_by_inverse_layer_idx,
        initializerRange: json.initializer_range,
        seed: sw.seed,
        decoding: sw.decoding,
        tokenizer: sw.tokenizer,
      }),
    ),
  );
  return { config, attention: sw.attention as AttentionSpec | undefined, architecture };
}
