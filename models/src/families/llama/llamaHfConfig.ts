/**
 * Hugging Face `config.json` ↔ Llama-family configs: `LlamaForCausalLM`, `MistralForCausalLM`,
 * `Qwen2ForCausalLM` and their bare `*Model` forms. Rotary settings come in two forms:
 * transformers 4.x writes `rope_theta` + `rope_scaling` ({"rope_type" | "type", "factor", …} or
 * null), 5.x writes `rope_parameters` ({"rope_type", "rope_theta", …}, or one such object per
 * layer type). Both are read; both are written, so either version loads what we save.
 */
import type { AttentionSpec } from '@swapformer/registry';
import { configFromFile, dropEmpty, invalidHf, namedArchitecture, swapformerBlock, type HfDescription, type Json } from '../hfConfigHelpers';
import { llamaHeads, normalizeLlamaConfig, ROPE_TYPES, type LlamaModelConfig, type RopeConfig, type RopeType } from './llamaConfig';

const VARIANTS = {
  llama: { causalLm: 'LlamaForCausalLM', bare: 'LlamaModel' },
  mistral: { causalLm: 'MistralForCausalLM', bare: 'MistralModel' },
  qwen2: { causalLm: 'Qwen2ForCausalLM', bare: 'Qwen2Model' },
} as const;
type Variant = keyof typeof VARIANTS;

export const LLAMA_MODEL_TYPES = Object.keys(VARIANTS) as Variant[];
export const LLAMA_ARCHITECTURES = Object.values(VARIANTS).flatMap((v) => [v.causalLm, v.bare]);

/** transformers' defaults per model type, for keys a config.json leaves out. */
const DEFAULTS: Record<Variant, Json> = {
  llama: { vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 2048, rms_norm_eps: 1e-6, tie_word_embeddings: false, hidden_act: 'silu' },
  mistral: { vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 131072, rms_norm_eps: 1e-6, tie_word_embeddings: false, hidden_act: 'silu', sliding_window: 4096 },
  qwen2: { vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 32768, rms_norm_eps: 1e-6, tie_word_embeddings: false, hidden_act: 'silu', use_sliding_window: false, sliding_window: 4096 },
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rotary settings of either config form; an unknown scaling type is refused naming the supported ones. */
function readRope(file: string, json: Json): RopeConfig {
  let params: Json;
  let theta: unknown;
  if (isObject(json.rope_parameters)) {
    // 5.x: one object, or one per layer type ({"full_attention": {...}, "sliding_attention": {...}})
    params = isObject(json.rope_parameters.full_attention) ? json.rope_parameters.full_attention : json.rope_parameters;
    theta = params.rope_theta ?? json.rope_theta;
  } else {
    params = isObject(json.rope_scaling) ? json.rope_scaling : {};
    theta = json.rope_theta;
  }
  const type = (params.rope_type ?? params.type ?? 'default') as string;
  if (!(ROPE_TYPES as readonly string[]).includes(type)) {
    throw invalidHf(file, `rope scaling type ${JSON.stringify(type)} is not supported. Supported: ${ROPE_TYPES.join(', ')}.`);
  }
  if (json.partial_rotary_factor !== undefined && json.partial_rotary_factor !== 1) {
    throw invalidHf(file, `partial_rotary_factor ${JSON.stringify(json.partial_rotary_factor)} is not supported; only full rotary embeddings (1.0) are.`);
  }
  const scaled = type !== 'default';
  return dropEmpty({
    type: type as RopeType,
    theta: (theta ?? 10000) as number,
    factor: scaled ? (params.factor as number) : undefined,
    lowFreqFactor: type === 'llama3' ? (params.low_freq_factor as number) : undefined,
    highFreqFactor: type === 'llama3' ? (params.high_freq_factor as number) : undefined,
    originalMaxPositionEmbeddings: scaled ? (params.original_max_position_embeddings as number) : undefined,
  }) as RopeConfig;
}

/** The window of sliding-window attention, where the config turns it on. */
function slidingWindow(variant: Variant, json: Json): number | undefined {
  const window = typeof json.sliding_window === 'number' ? json.sliding_window : undefined;
  if (variant === 'mistral') return window;
  if (variant === 'qwen2') {
    const sliding = json.use_sliding_window === true || (Array.isArray(json.layer_types) && json.layer_types.includes('sliding_attention'));
    return sliding ? window : undefined;
  }
  return undefined;
}

/** Reads a Llama / Mistral / Qwen2 `config.json` (4.x or 5.x form). */
export function fromLlamaHfConfig(raw: Json, file: string): HfDescription<LlamaModelConfig> {
  const variant = (raw.model_type ?? 'llama') as Variant;
  const json: Json = { ...DEFAULTS[variant], ...raw };
  const names = VARIANTS[variant];
  const architecture = namedArchitecture(file, json, [names.causalLm, names.bare], variant) ?? names.causalLm;
  const sw = swapformerBlock(json);
  const heads = json.num_attention_heads as number;
  const kvHeads = (json.num_key_value_heads ?? heads) as number;
  if (Number.isInteger(heads) && Number.isInteger(kvHeads) && kvHeads > 0 && heads % kvHeads !== 0) {
    throw invalidHf(file, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}; grouped-query attention needs each key/value head shared by the same number of query heads.`);
  }
  const rope = readRope(file, json);
  const lmHead = architecture === names.causalLm;
  const llamaBias = json.attention_bias === true;
  const config = configFromFile(file, () =>
    normalizeLlamaConfig(
      dropEmpty({
        model: 'llama' as const,
        variant,
        vocabSize: json.vocab_size,
        hiddenSize: json.hidden_size,
        intermediateSize: json.intermediate_size,
        numLayers: json.num_hidden_layers,
        numHeads: heads,
        numKeyValueHeads: kvHeads,
        headDim: json.head_dim,
        maxPositionEmbeddings: json.max_position_embeddings,
        rmsNormEps: json.rms_norm_eps,
        rope,
        attentionBias: variant === 'qwen2' ? true : variant === 'llama' && llamaBias,
        outputBias: variant === 'llama' && llamaBias,
        mlpBias: variant === 'llama' && json.mlp_bias === true,
        hiddenAct: json.hidden_act,
        tieWordEmbeddings: lmHead ? json.tie_word_embeddings : undefined,
        lmHead,
        slidingWindow: slidingWindow(variant, json),
        initializerRange: json.initializer_range,
        seed: sw.seed,
        decoding: sw.decoding,
      }),
    ),
  );
  return { config, attention: sw.attention as AttentionSpec | undefined, architecture };
}

/** The HF-style `config.json` of a Llama-family config, rotary settings in both the 4.x and the 5.x form. */
export function toLlamaHfConfig(config: LlamaModelConfig, attention: AttentionSpec): Json {
  const names = VARIANTS[config.variant];
  const { kvHeads, headDim } = llamaHeads(config);
  const r = config.rope;
  const scaling = dropEmpty({ rope_type: r.type, factor: r.factor, low_freq_factor: r.lowFreqFactor, high_freq_factor: r.highFreqFactor, original_max_position_embeddings: r.originalMaxPositionEmbeddings });
  return {
    architectures: [config.lmHead ? names.causalLm : names.bare],
    model_type: config.variant,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    hidden_act: config.hiddenAct,
    tie_word_embeddings: config.lmHead ? config.tieWordEmbeddings : false,
    ...(config.variant === 'llama' ? { attention_bias: config.attentionBias, mlp_bias: config.mlpBias } : {}),
    ...(config.variant === 'mistral' ? { sliding_window: config.slidingWindow ?? null } : {}),
    ...(config.variant === 'qwen2' ? { use_sliding_window: config.slidingWindow !== undefined, sliding_window: config.slidingWindow ?? null } : {}),
    rope_theta: r.theta,
    rope_scaling: r.type === 'default' ? null : scaling,
    rope_parameters: { ...scaling, rope_theta: r.theta },
    attention_dropout: 0,
    initializer_range: config.initializerRange,
    swapformer: { attention, seed: config.seed, decoding: config.decoding },
  };
}
