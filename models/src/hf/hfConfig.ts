/**
 * Hugging Face `config.json` ↔ Swapformer model configs, for `ViTModel`,
 * `ViTForImageClassification`, `GPT2Model` and `GPT2LMHeadModel`.
 *
 * What transformers does not know (the attention selection, the pixel stage, the tokenizer)
 * travels in an extra `"swapformer"` block, which transformers ignores. A ViT with a pixel stage
 * is written with `model_type: "swapformer_vit"` so transformers does not mistake it for a ViT.
 */
import { SwapformerError } from '@swapformer/core';
import type { AttentionSpec } from '@swapformer/registry';
import { normalizeModelConfig, type GptModelConfig, type ModelConfig, type VitModelConfig } from '../models/modelConfig';

/** Architectures this loader builds, by `config.json` `architectures[0]`. */
export const SUPPORTED_ARCHITECTURES = ['ViTForImageClassification', 'ViTModel', 'SwapformerViTForImageClassification', 'SwapformerViTModel', 'GPT2LMHeadModel', 'GPT2Model'] as const;

/** What `fromHfConfig` understood. */
export interface HfModelDescription {
  readonly config: ModelConfig;
  /** The selection saved with the checkpoint (`swapformer.attention`), if any. */
  readonly attention?: AttentionSpec;
  readonly architecture: (typeof SUPPORTED_ARCHITECTURES)[number];
}

type Json = Record<string, unknown>;

/**
 * The HF-style `config.json` content for a model config.
 *
 * @example JSON.stringify(toHfConfig(config, { name: 'exact' }), null, 2)
 */
export function toHfConfig(config: ModelConfig, attention: AttentionSpec): Json {
  if (config.model === 'vit') {
    const ps = config.pixelStage;
    const labels = Array.from({ length: config.numLabels }, (_, i) => `LABEL_${i}`);
    return {
      architectures: [`${ps ? 'Swapformer' : ''}${config.numLabels > 0 ? 'ViTForImageClassification' : 'ViTModel'}`],
      model_type: ps ? 'swapformer_vit' : 'vit',
      hidden_size: config.hiddenSize,
      num_hidden_layers: config.numLayers,
      num_attention_heads: config.numHeads,
      intermediate_size: config.intermediateSize ?? 4 * config.hiddenSize,
      hidden_act: config.hiddenAct,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
      initializer_range: config.initializerRange,
      layer_norm_eps: config.layerNormEps,
      image_size: config.imageSize,
      patch_size: ps ? ps.patchMerge : config.patchSize,
      num_channels: config.numChannels,
      qkv_bias: config.qkvBias,
      ...(config.numLabels > 0 ? { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) } : {}),
      swapformer: {
        attention,
        seed: config.seed,
        pooler: config.pooler,
        ...(ps ? { pixel_stage: { layers: ps.layers, hidden_size: ps.hiddenSize, num_attention_heads: ps.heads, patch_merge: ps.patchMerge, intermediate_size: ps.intermediateSize ?? 4 * ps.hiddenSize } } : {}),
      },
    };
  }
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

function invalid(file: string, message: string): SwapformerError {
  return new SwapformerError('invalid-checkpoint', `${file}: ${message}`, { path: file });
}

function square(file: string, json: Json, key: string): number | undefined {
  const v = json[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 2 || v[0] !== v[1]) throw invalid(file, `${key} ${JSON.stringify(v)} is not square; only square images and patches are supported.`);
    return v[0] as number;
  }
  return v as number;
}

/** transformers' own defaults, for keys a config.json leaves out. */
const VIT_DEFAULTS: Json = { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu', layer_norm_eps: 1e-12, image_size: 224, patch_size: 16, num_channels: 3, qkv_bias: true, initializer_range: 0.02 };
const GPT2_DEFAULTS: Json = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, tie_word_embeddings: true };

const drop = <T extends Json>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

/**
 * Reads an HF `config.json` object into a validated model config. `hasKey` (a checkpoint key
 * test) settles what the config cannot say: whether a bare ViT has a pooler.
 *
 * @example const { config, architecture } = fromHfConfig(readJsonFile('ckpt/config.json') as object, 'ckpt/config.json');
 */
export function fromHfConfig(raw: Json, file = 'config.json', hasKey: (name: string) => boolean = () => false): HfModelDescription {
  // a config.json holding null, an array or a number parses as JSON; it must still fail as a config
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, `must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}.`);
  const modelType = raw.model_type;
  const json: Json = { ...(modelType === 'gpt2' ? GPT2_DEFAULTS : VIT_DEFAULTS), ...raw };
  const architectures = Array.isArray(json.architectures) ? (json.architectures as unknown[]) : [];
  const sw = (typeof json.swapformer === 'object' && json.swapformer !== null ? json.swapformer : {}) as Json;
  const attention = sw.attention as AttentionSpec | undefined;
  const named = architectures[0] as string | undefined;
  if (named !== undefined && typeof named !== 'string') throw invalid(file, `"architectures" must list names (strings), got ${JSON.stringify(named)?.slice(0, 80) ?? typeof named}.`);
  if (named !== undefined && !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(named)) {
    throw invalid(file, `architecture "${named}" is not supported. Supported: ${SUPPORTED_ARCHITECTURES.join(', ')}.`);
  }
  const wrap = (build: () => ModelConfig): ModelConfig => {
    try {
      return build();
    } catch (error) {
      throw invalid(file, `the config does not describe a model this loader can build:\n${(error as Error).message}`);
    }
  };
  if (modelType === 'vit' || modelType === 'swapformer_vit') {
    const architecture = (named ?? (hasKey('classifier.weight') ? 'ViTForImageClassification' : 'ViTModel')) as HfModelDescription['architecture'];
    if (architecture.startsWith('GPT2')) throw invalid(file, `model_type "${modelType}" does not match architecture "${architecture}".`);
    const classifier = architecture.endsWith('ForImageClassification');
    const numLabels = classifier ? (typeof json.id2label === 'object' && json.id2label !== null ? Object.keys(json.id2label).length : ((json.num_labels as number | undefined) ?? 2)) : 0;
    const ps = sw.pixel_stage as Json | undefined;
    if (modelType === 'swapformer_vit' && !ps) throw invalid(file, 'model_type "swapformer_vit" needs swapformer.pixel_stage.');
    const config = wrap(() =>
      normalizeModelConfig<VitModelConfig>(
        drop({
          model: 'vit' as const,
          imageSize: square(file, json, 'image_size'),
          patchSize: ps ? undefined : square(file, json, 'patch_size'),
          numChannels: json.num_channels,
          hiddenSize: json.hidden_size,
          numLayers: json.num_hidden_layers,
          numHeads: json.num_attention_heads,
          intermediateSize: json.intermediate_size,
          numLabels,
          pooler: !classifier && (sw.pooler === true || hasKey('pooler.dense.weight')),
          hiddenAct: json.hidden_act,
          layerNormEps: json.layer_norm_eps,
          qkvBias: json.qkv_bias,
          initializerRange: json.initializer_range,
          seed: sw.seed,
          pixelStage: ps ? drop({ layers: ps.layers, hiddenSize: ps.hidden_size, heads: ps.num_attention_heads, patchMerge: ps.patch_merge ?? square(file, json, 'patch_size'), intermediateSize: ps.intermediate_size }) : undefined,
        }) as never,
      ),
    );
    return { config, attention, architecture };
  }
  if (modelType === 'gpt2') {
    const architecture = (named ?? 'GPT2LMHeadModel') as HfModelDescription['architecture'];
    if (!architecture.startsWith('GPT2')) throw invalid(file, `model_type "gpt2" does not match architecture "${architecture}".`);
    if (json.add_cross_attention === true) throw invalid(file, 'add_cross_attention is true; GPT-2 cross-attention layers are not supported.');
    const config = wrap(() =>
      normalizeModelConfig<GptModelConfig>(
        drop({
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
        }) as never,
      ),
    );
    return { config, attention, architecture };
  }
  throw invalid(file, `model_type ${JSON.stringify(modelType)} is not supported. Supported: "vit", "swapformer_vit" (ViTModel, ViTForImageClassification) and "gpt2" (GPT2Model, GPT2LMHeadModel).`);
}
