/**
 * Hugging Face `config.json` ↔ ViT configs (`ViTModel`, `ViTForImageClassification`). A ViT
 * with a pixel stage is written with `model_type: "swapformer_vit"` so transformers does not
 * mistake it for a ViT; the stage travels in the `"swapformer"` block.
 */
import type { AttentionSpec } from '@swapformer/registry';
import { configFromFile, dropEmpty, invalidHf, namedArchitecture, swapformerBlock, type HfDescription, type Json } from '../hfConfigHelpers';
import { normalizeVitConfig, type VitModelConfig } from './vitConfig';

export const VIT_ARCHITECTURES = ['ViTForImageClassification', 'ViTModel', 'SwapformerViTForImageClassification', 'SwapformerViTModel'] as const;

/** transformers' own defaults, for keys a config.json leaves out. */
const VIT_DEFAULTS: Json = { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu', layer_norm_eps: 1e-12, image_size: 224, patch_size: 16, num_channels: 3, qkv_bias: true, initializer_range: 0.02 };

/** The HF-style `config.json` content of a ViT config. */
export function toVitHfConfig(config: VitModelConfig, attention: AttentionSpec): Json {
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

function square(file: string, json: Json, key: string): number | undefined {
  const v = json[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 2 || v[0] !== v[1]) throw invalidHf(file, `${key} ${JSON.stringify(v)} is not square; only square images and patches are supported.`);
    return v[0] as number;
  }
  return v as number;
}

/** Reads a ViT `config.json`; `hasKey` settles whether a bare ViT has a pooler. */
export function fromVitHfConfig(raw: Json, file: string, hasKey: (name: string) => boolean): HfDescription<VitModelConfig> {
  const modelType = raw.model_type as string;
  const json: Json = { ...VIT_DEFAULTS, ...raw };
  const sw = swapformerBlock(json);
  const architecture = namedArchitecture(file, json, VIT_ARCHITECTURES, modelType) ?? (hasKey('classifier.weight') ? 'ViTForImageClassification' : 'ViTModel');
  const classifier = architecture.endsWith('ForImageClassification');
  const numLabels = classifier ? (typeof json.id2label === 'object' && json.id2label !== null ? Object.keys(json.id2label).length : ((json.num_labels as number | undefined) ?? 2)) : 0;
  const ps = sw.pixel_stage as Json | undefined;
  if (modelType === 'swapformer_vit' && !ps) throw invalidHf(file, 'model_type "swapformer_vit" needs swapformer.pixel_stage.');
  const config = configFromFile(file, () =>
    normalizeVitConfig(
      dropEmpty({
        model: 'vit' as const,
        imageSize: square(file, json, 'image_size'),
        patchSize: ps ? undefined : square(file, json, 'patch_size'),
        numChannels: json.num_channels,
        hiddenSize: json.hidden_size,
        numLayers: json.num_hidden_layers,
        numHeads: json.num_attention_heads,
        intermediateSize: json.intermediate_size,
        numLabels,
        pooler: !classifier && (sw.pooler === true || hasKey('pooler.dense.weight') || hasKey('vit.pooler.dense.weight')),
        hiddenAct: json.hidden_act,
        layerNormEps: json.layer_norm_eps,
        qkvBias: json.qkv_bias,
        initializerRange: json.initializer_range,
        seed: sw.seed,
        pixelStage: ps ? dropEmpty({ layers: ps.layers, hiddenSize: ps.hidden_size, heads: ps.num_attention_heads, patchMerge: ps.patch_merge ?? square(file, json, 'patch_size'), intermediateSize: ps.intermediate_size }) : undefined,
      }),
    ),
  );
  return { config, attention: sw.attention as AttentionSpec | undefined, architecture };
}
