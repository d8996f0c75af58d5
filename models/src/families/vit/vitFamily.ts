import type { ModelFamily } from '../ModelFamily';
import { buildVit, type VitModel } from './buildVit';
import { normalizeVitConfig, vitModelSize, type VitModelConfig } from './vitConfig';
import { fromVitHfConfig, toVitHfConfig, VIT_ARCHITECTURES } from './vitHfConfig';
import { SCHEMA_IDS } from '@swapformer/schemas';
import { num } from '../../models/modelSizeLimits';

/** ViT (`ViTModel`, `ViTForImageClassification`) and the Swapformer pixel-stage ViT. */
export const vitFamily: ModelFamily<VitModelConfig, VitModel> = {
  name: 'vit',
  label: 'ViT',
  description: 'ViT model: {"model": "vit", "imageSize": ..., "patchSize": ..., "hiddenSize": ..., "attention": {...}, "pixelStage"?: {...}}',
  schemaId: SCHEMA_IDS.vitModelConfig,
  normalize: normalizeVitConfig,
  modelSize: vitModelSize,
  attentionLayers: (c) => num((c.pixelStage ?? {}) as Record<string, unknown>, 'layers') + num(c, 'numLayers'),
  requirements: {},
  build: (config, attention, registry, options) => buildVit(config, attention, registry, options),
  hf: {
    modelTypes: ['vit', 'swapformer_vit'],
    architectures: VIT_ARCHITECTURES,
    basePrefix: 'vit.',
    ignoredKeys: [],
    tiedKeys: () => ({}),
    fromHfConfig: fromVitHfConfig,
    toHfConfig: toVitHfConfig,
  },
};
