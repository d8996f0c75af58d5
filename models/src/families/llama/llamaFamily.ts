import { SCHEMA_IDS } from '@swapformer/schemas';
import { num } from '../../models/modelSizeLimits';
import type { ModelFamily } from '../ModelFamily';
import { buildLlama, type LlamaModel } from './buildLlama';
import { llamaModelSize, normalizeLlamaConfig, type LlamaModelConfig } from './llamaConfig';
import { fromLlamaHfConfig, LLAMA_ARCHITECTURES, LLAMA_MODEL_TYPES, toLlamaHfConfig } from './llamaHfConfig';

/** Llama, Mistral and Qwen2 decoders (`*ForCausalLM`, bare `*Model`): one graph, three key-compatible checkpoint formats. */
export const llamaFamily: ModelFamily<LlamaModelConfig, LlamaModel> = {
  name: 'llama',
  label: 'Llama',
  description: 'Llama-family model: {"model": "llama", "vocabSize": ..., "hiddenSize": ..., "numHeads": ..., "numKeyValueHeads": ..., "rope": {...}, "attention": {...}} (every operator must support causal masking)',
  schemaId: SCHEMA_IDS.llamaModelConfig,
  normalize: normalizeLlamaConfig,
  modelSize: llamaModelSize,
  attentionLayers: (c) => num(c, 'numLayers'),
  requirements: { causal: true },
  build: (config, attention, registry, options) => buildLlama(config, attention, registry, options),
  hf: {
    modelTypes: LLAMA_MODEL_TYPES,
    architectures: LLAMA_ARCHITECTURES,
    basePrefix: 'model.',
    // rotary inverse frequencies some checkpoints saved as buffers (recomputed from the config here)
    ignoredKeys: [/(^|\.)rotary_emb\.inv_freq$/],
    tiedKeys: (c): Record<string, string> => (c.lmHead && c.tieWordEmbeddings ? { 'lm_head.weight': 'model.embed_tokens.weight' } : {}),
    fromHfConfig: (json, file) => fromLlamaHfConfig(json, file),
    toHfConfig: toLlamaHfConfig,
  },
};
